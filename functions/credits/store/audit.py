"""The admin audit trail: ``admin_audit_logs``, one immutable entry per admin action.

An entry is created in the same atomic commit as the change it describes, so there is no
change without its entry and no entry for a change that did not happen. Entries are never
updated or deleted (the rules deny clients; no server path does), and the retention job
never touches the collection.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from google.cloud import firestore

from credits.store import db
from credits.store.atomic import Plan
from credits.vocab.context import Caller, ClientContext


@dataclass(frozen=True)
class Change:
    """What an admin action did: ``action`` to ``target``, the state ``before`` and ``after``,
    the call's ``request_id`` and the admin's ``note`` (their reason).
    """

    action: str
    target: str | None
    before: Any
    after: Any
    request_id: str | None = None
    note: str | None = None


def entry(actor: Caller, ctx: ClientContext, change: Change, now: dt.datetime) -> dict[str, Any]:
    """The fields of an audit entry: who (``actor``, from where ``ctx``) made ``change`` at ``now``."""
    return {
        "actorId": actor.uid,
        "actorEmail": actor.email,
        "action": change.action,
        "target": change.target,
        "before": change.before,
        "after": change.after,
        "ip": ctx.ip,
        "userAgent": ctx.user_agent,
        "country": ctx.country,
        "requestId": change.request_id,
        "note": change.note,
        "createdAt": now,
    }


def add(plan: Plan[Any], client: firestore.Client, data: dict[str, Any], ref: Any = None, result: Any = None) -> str:
    """Add the entry to the plan; ``ref`` (from ``new_ref``) when the caller must find it
    again, ``result`` the action's response, kept for ``replay``.
    """
    ref = ref or new_ref(client)
    if result is not None:
        data = {**data, "result": result}
    plan.create(ref, data)
    return str(ref.id)


def new_ref(client: firestore.Client) -> Any:
    """A new entry's document under a fresh random id (not yet written)."""
    return client.collection(db.ADMIN_AUDIT_LOGS).document()


def replay(attempt: Any, ref: Any) -> dict[str, Any] | None:
    """After a commit whose answer was lost: the stored result if that commit applied.

    An admin action's audit entry is created in the action's own commit with an id chosen
    once per call, so its existence says the action applied; the entry keeps the result.
    """
    if not attempt.ambiguous:
        return None
    snap = attempt.get([ref])[ref.path]
    if snap.exists:
        return dict((snap.to_dict() or {}).get("result") or {})
    return None
