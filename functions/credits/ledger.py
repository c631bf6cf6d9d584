"""The ledger: ``credit_logs``, immutable, one entry per balance change.

Invariant (per user, at every commit): ``sum(delta) == users/{uid}.credits >= 0``, and each
entry's ``balanceAfter`` is the balance its own commit left. Entries are only ever created,
in the same atomic commit as the balance change they record, never updated or deleted (the
rules deny clients; no server path edits them).

Entry ids are deterministic wherever "exactly once" matters, so that a document's
uniqueness enforces it even if two commits race: ``signup_{uid}`` for the first-use grant,
``charge_{activityId}``, ``settle_{activityId}`` and ``refund_{activityId}`` for a
generation, ``grant_{key}`` for an idempotent admin grant. A second commit that tries to
create the same entry fails as a whole and retries against the new state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.cloud import firestore

from . import db
from .config import CreditConfig
from .context import Caller

# ``reason`` values, stable for clients that display the ledger.
SIGNUP_GRANT = "signup_grant"
GENERATION_CHARGE = "generation_charge"
SETTLEMENT_CHARGE = "settlement_charge"
SETTLEMENT_REFUND = "settlement_refund"
FAILURE_REFUND = "failure_refund"
ADMIN_GRANT = "admin_grant"
ADMIN_CLAWBACK = "admin_clawback"


def entry(
    uid: str,
    delta: int,
    balance_after: int,
    reason: str,
    now: dt.datetime,
    *,
    activity_id: str | None = None,
    actor_id: str | None = None,
    note: str | None = None,
    generation_type: str | None = None,
) -> dict[str, Any]:
    if balance_after < 0:  # the one invariant no caller may break
        raise AssertionError(f"ledger entry would leave {uid} at {balance_after}")
    data: dict[str, Any] = {
        "userId": uid,
        "delta": delta,
        "balanceAfter": balance_after,
        "reason": reason,
        "createdAt": now,
    }
    if activity_id is not None:
        data["activityId"] = activity_id
    if generation_type is not None:  # what the usage rollups group by (see ``rollup``)
        data["type"] = generation_type
    if actor_id is not None:
        data["actorId"] = actor_id
    if note is not None:
        data["note"] = note
    return data


def ref(client: firestore.Client, entry_id: str) -> Any:
    return client.collection(db.CREDIT_LOGS).document(entry_id)


def signup_ref(client: firestore.Client, uid: str) -> Any:
    return ref(client, f"signup_{uid}")


EMPTY_USAGE = {"generations": 0, "creditsUsed": 0, "refunds": 0, "failures": 0, "clientFailures": 0}


def usage_of(user: dict[str, Any] | None) -> dict[str, Any]:
    """The user's usage counters, every one present."""
    stored = (user or {}).get("usage")
    return {**EMPTY_USAGE, **(stored if isinstance(stored, dict) else {})}


def new_user(uid: str, caller: Caller | None, config: CreditConfig, now: dt.datetime) -> dict[str, Any]:
    """A first-use ``users/{uid}`` document holding the default grant."""
    return {
        "uid": uid,
        "email": caller.email if caller else None,
        "displayName": caller.name if caller else None,
        "credits": config.defaultCredits,
        "status": "active",
        "role": "user",
        "usage": dict(EMPTY_USAGE),
        "createdAt": now,
        "updatedAt": now,
    }


def signup_entry(uid: str, config: CreditConfig, now: dt.datetime) -> dict[str, Any]:
    return entry(uid, config.defaultCredits, config.defaultCredits, SIGNUP_GRANT, now, actor_id="system")


def balance_of(user: dict[str, Any] | None) -> int:
    """A stored balance, defensively: anything but a non-negative int is a corrupted document."""
    if user is None:
        return 0
    credits = user.get("credits", 0)
    if isinstance(credits, bool) or not isinstance(credits, int) or credits < 0:
        raise ValueError(f"users/{user.get('uid')}.credits is not a non-negative integer: {credits!r}")
    return credits


def create_user(
    plan: Any,
    client: firestore.Client,
    user: Any,
    uid: str,
    caller: Caller | None,
    config: CreditConfig,
    now: dt.datetime,
    fields: dict[str, Any],
) -> None:
    """Add a first-use ``users/{uid}`` (defaults overlaid with ``fields``) and its signup
    grant to ``plan``: the one way an account comes into existence, so the grant is in the
    ledger exactly once (``signup_{uid}``) whichever call happens to be first."""
    doc = new_user(uid, caller, config, now)
    doc.update(fields)
    plan.put(user, doc)
    if config.defaultCredits:
        plan.create(signup_ref(client, uid), signup_entry(uid, config, now))
