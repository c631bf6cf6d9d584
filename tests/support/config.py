"""Changing the configuration in tests, the way an admin does: through the domain's update
(validated, applied at once, audited), never by writing documents that the trigger would then
have to check. ``reset`` puts every setting back to its default, so a test that changes the
configuration leaves the next one the defaults."""

from __future__ import annotations

import datetime as dt
from typing import Any

from credits.store import config_store
from credits.vocab.clock import SystemClock
from credits.vocab.config import OPEN_MAPS, CreditConfig, PrivateConfig
from credits.vocab.context import Caller, ClientContext
from google.cloud import firestore

TEST_ADMIN = Caller(uid="test-admin", email="test-admin@example.com", is_admin=True)


def apply(client: firestore.Client, patch: dict[str, Any]) -> dict[str, Any]:
    """Merge ``patch`` into the configuration in force; returns ``{version, config}``."""
    return config_store.update(client, SystemClock(), TEST_ADMIN, ClientContext(user_agent="tests"), patch).model_dump()


def defaults() -> dict[str, Any]:
    """Every setting at its default, as a patch."""
    return {**CreditConfig().content(), **PrivateConfig().content()}


def reset(client: firestore.Client) -> None:
    """Put every setting back to its default (one versioned, audited update). The open maps
    (``plans``, ``products``) merge by key, so their entries are removed one by one (``null``)."""
    patch = defaults()
    stored = config_store.editable_ref(client, "credits").get().to_dict() or {}
    for name in OPEN_MAPS:
        entries = stored.get(name)
        if isinstance(entries, dict) and entries:
            patch[name] = dict.fromkeys(entries)
    apply(client, patch)


def wait_applied(client: firestore.Client, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
    """Poll ``applied_config/current`` until ``predicate(doc)`` holds; returns the document."""
    import time

    end = time.monotonic() + timeout
    ref = config_store.applied_ref(client)
    while True:
        snap = ref.get()
        doc = snap.to_dict() or {}
        if snap.exists and predicate(doc):
            return doc
        if time.monotonic() > end:
            raise AssertionError(f"applied configuration did not reach the expected state in {timeout}s: {doc}")
        time.sleep(0.1)


__all__ = ["TEST_ADMIN", "apply", "defaults", "dt", "reset", "wait_applied"]
