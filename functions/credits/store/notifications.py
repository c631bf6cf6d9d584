"""Admin notifications: ``admin_notifications/{id}``, what a dashboard listens to.

Written for high and critical abuse events and suspensions (``abuse``), for configuration hand
edits that were reverted (``config_store``), and for damaged documents (``data_invalid``).
A damaged document is reported once per kind of damage, however many calls or job runs meet
it: the notification's id is derived from the document's path and its problems, and created
only if absent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from google.api_core import exceptions as gexc
from google.cloud import firestore

from credits.store import db
from credits.store.atomic import Plan
from credits.vocab.clock import Clock
from credits.vocab.errors import ConfigurationInvalid, DataInvalid

log = logging.getLogger(__name__)

Kind = Literal[
    "abuse",
    "data_invalid",
    "config_reverted",
    "config_invalid",
    "account_restored",
    "signup_cap",
    "proxy_hops",
    "chargeback",
    "payment_unmatched",
]

_seen: set[str] = set()
_seen_guard = threading.Lock()
_SEEN_LIMIT = 10_000


def ref(client: firestore.Client, key: str | None = None) -> firestore.DocumentReference:
    """A notification document (random id when ``key`` is None)."""
    return client.collection(db.ADMIN_NOTIFICATIONS).document(key)


def document(kind: Kind, severity: str, message: str, now: dt.datetime, **fields: Any) -> dict[str, Any]:
    """The stored shape of a notification."""
    return {"kind": kind, "severity": severity, "message": message, "read": False, "createdAt": now, **fields}


def add(plan: Plan[Any], client: firestore.Client, data: dict[str, Any], key: str | None = None) -> str:
    """Add a notification to a plan (committed with the change it reports)."""
    target = ref(client, key)
    plan.create(target, data)
    return str(target.id)


def once(client: firestore.Client, key: str, data: dict[str, Any]) -> None:
    """Create the notification ``key`` unless it exists; outside any plan, best effort.

    Used where the call itself is refused and writes nothing else (a damaged document): a
    failure to notify must not turn a clean refusal into an error, so it is logged instead.
    """
    with _seen_guard:
        if key in _seen:
            return
    try:
        ref(client, key).create(data, retry=None, timeout=3.0)
    except gexc.AlreadyExists:
        pass
    except gexc.GoogleAPICallError as err:
        log.warning("could not write admin notification %s: %s", key, type(err).__name__)
        return
    with _seen_guard:
        if len(_seen) >= _SEEN_LIMIT:
            _seen.clear()
        _seen.add(key)


def _key(prefix: str, *parts: Any) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:40]
    return f"{prefix}_{digest}"


def data_invalid(client: firestore.Client, err: DataInvalid, now: dt.datetime, *, seen_by: str) -> None:
    """Tell the admins about a damaged document (once per document and kind of damage)."""
    key = _key("data_invalid", err.document, sorted(err.problems.items()))
    fields = ", ".join(sorted(err.problems)) or "its shape"
    once(
        client,
        key,
        document(
            "data_invalid",
            "high",
            f"{err.document} is damaged ({fields}); {seen_by} skipped it until it is repaired",
            now,
            document=err.document,
            fields=err.problems,
            seenBy=seen_by,
        ),
    )


def config_invalid(client: firestore.Client, err: ConfigurationInvalid, now: dt.datetime) -> None:
    """Tell the admins that no valid configuration could be found at all."""
    key = _key("config_invalid", sorted(err.errors.items()))
    once(
        client,
        key,
        document(
            "config_invalid",
            "critical",
            "no valid configuration could be read; calls that need it are refused until it is repaired",
            now,
            fields=err.errors,
        ),
    )


def damaged_record(client: firestore.Client, path: str, now: dt.datetime, seen_by: str) -> None:
    """Tell the admins that a shared record was damaged and has been replaced (once)."""
    once(
        client,
        _key("damaged_record", path),
        document(
            "data_invalid",
            "medium",
            f"{path} was damaged; it was read as empty and rewritten by {seen_by}",
            now,
            document=path,
            seenBy=seen_by,
        ),
    )


@contextmanager
def reporting(client: firestore.Client, clock: Clock, seen_by: str) -> Iterator[None]:
    """Around a call or a job's unit of work: a damaged document or configuration it meets is
    reported to the admins (once) before the refusal goes on to the caller.
    """
    try:
        yield
    except DataInvalid as err:
        data_invalid(client, err, clock.now(), seen_by=seen_by)
        raise
    except ConfigurationInvalid as err:
        config_invalid(client, err, clock.now())
        raise
