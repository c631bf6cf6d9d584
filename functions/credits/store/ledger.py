"""The ledger: ``credit_logs``, immutable, one entry per balance change, and the one door to it.

Invariant (per user, at every commit): ``sum(delta) == users/{uid}.credits >= 0``, and each
entry's ``balanceAfter`` is the balance its own commit left.

``post`` is the only code that writes a balance. It puts the new balance, the user's usage
counters and low-balance flag, and the immutable entry into the caller's ``Plan`` (one
atomic commit, guarded by the user document as read), and ``atomic.Plan`` refuses a
``credits`` write that does not come through here. Like django-hordak's "the legs of a
transaction sum to zero", no code path can move money without its entry.

Entry ids say what an entry is, ``{kind}_{key}`` (``EntryId``), and are deterministic wherever
"exactly once" matters, so that a document's uniqueness enforces it even if two commits race:
``signup_{uid}`` (the sign-up decision, granted or withheld), ``charge_{activityId}``,
``settle_{activityId}`` and ``refund_{activityId}`` for a generation, ``grant_{hash}`` for an
idempotent admin grant (random for a grant without key), ``restore_{uid}_{n}`` and
``repair_{uid}_{n}`` for bookkeeping entries. A second commit that tries to create the same
entry fails as a whole and retries against the new state. ``reconcile`` reads the same ids
back through ``EntryId.parse``.

Worked example (an accountant's story; ``tests/unit/test_ledger.py`` tells it): a user signs
up and is granted 100 (``signup_u``: +100, after 100); generates an image at 10 (``charge_a``:
-10, after 90); asks for 1,001 chat tokens at 0.01 (``charge_b``: -11, after 79); the model
produces 600 tokens and the generation settles at 6 (``settle_b``: +5, after 84); a 30-second
video at 5 a second would cost 150 and is refused, writing nothing. The deltas sum to 84, the
balance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.cloud import firestore

from credits.store import db
from credits.store.atomic import BALANCE_FIELD, Plan, Write
from credits.store.db import Snapshot
from credits.vocab.entries import USAGE_FIELDS as USAGE_FIELDS
from credits.vocab.entries import EntryId as EntryId
from credits.vocab.entries import EntryKind as EntryKind
from credits.vocab.entries import Reason as Reason
from credits.vocab.entries import UsageChange as UsageChange

if TYPE_CHECKING:
    from credits.features.accounts import Account


# Kinds whose entry is written even when the balance does not move: the sign-up decision
# (a withheld grant is recorded too), every charge (the permanent record of a generation's
# key, see ``charging``), and the bookkeeping of restored or repaired accounts.
_RECORDED_AT_ZERO = frozenset({EntryKind.SIGNUP, EntryKind.CHARGE, EntryKind.RESTORE, EntryKind.REPAIR})


@dataclass(frozen=True)
class Leg:
    """One entry of a posting: a change of the balance and what it records."""

    delta: int
    entry: EntryId | None
    reason: Reason
    activity_id: str | None = None
    actor_id: str | None = None
    note: str | None = None
    generation_type: str | None = None
    fields: dict[str, Any] | None = None  # extra fields of the entry (an idempotency fingerprint, ...)


@dataclass(frozen=True)
class Posting:
    """What ``post`` added to the plan."""

    balance_after: int
    entry_ids: tuple[str, ...]
    usage: dict[str, int] = field(default_factory=dict)


def entry_ref(client: firestore.Client, entry_id: EntryId | str) -> firestore.DocumentReference:
    """The document of a ledger entry."""
    return client.collection(db.CREDIT_LOGS).document(str(entry_id))


def new_random_key(client: firestore.Client) -> str:
    """A fresh key for an entry that needs no idempotency (an unkeyed admin grant)."""
    key: str = client.collection(db.CREDIT_LOGS).document().id
    return key


def post(
    plan: Plan[Any],
    client: firestore.Client,
    *,
    uid: str,
    account: Account | None,
    snapshot: Snapshot,
    legs: Sequence[Leg],
    now: dt.datetime,
    low_balance_below: int,
    usage: UsageChange | None = None,
    fields: dict[str, Any] | None = None,
    opening: dict[str, Any] | None = None,
    opening_balance: int = 0,
) -> Posting:
    """Post ``legs`` to ``users/{uid}``: one write of the user document, one entry per leg.

    ``account`` is the user as read; None when ``opening`` creates the document, whose other
    fields ``opening`` holds and whose balance starts at ``opening_balance`` (non-zero only
    for an account rebuilt from entries that already sum to it). The legs apply in order;
    each entry's ``balanceAfter`` is the balance after its own leg. ``fields`` are other fields
    of the user document written in the same write (a plan writes a document once). An entry
    is written when its leg moves the balance, and for kinds recorded even at zero (sign-up,
    charge, restore, repair). Raises ``AssertionError`` if the balance would go below zero or a
    balance change has no entry: callers decide refusals first.
    """
    if (account is None) != (opening is not None):
        raise AssertionError("post: give exactly one of an existing account or an opening document")
    balance = opening_balance if account is None else account.credits
    records: list[tuple[EntryId, dict[str, Any]]] = []
    for leg in legs:
        balance += leg.delta
        if balance < 0:  # the one invariant no caller may break
            raise AssertionError(f"a posting would leave users/{uid} at {balance}")
        if leg.entry is None:
            if leg.delta:
                raise AssertionError("a balance change needs a ledger entry")
            continue
        if not leg.delta and leg.entry.kind not in _RECORDED_AT_ZERO:
            continue
        record: dict[str, Any] = {
            "userId": uid,
            "delta": leg.delta,
            "balanceAfter": balance,
            "reason": leg.reason.value,
            "createdAt": now,
        }
        for name, value in (
            ("activityId", leg.activity_id),
            ("actorId", leg.actor_id),
            ("note", leg.note),
            ("type", leg.generation_type),
        ):
            if value is not None:
                record[name] = value
        record.update(leg.fields or {})
        records.append((leg.entry, record))

    current_usage = (opening or {}).get("usage", {}) if account is None else account.usage
    new_usage = (usage or UsageChange()).apply(current_usage)
    data: dict[str, Any] = dict(fields or {})
    if account is None:
        data = {**(opening or {}), **data, "usage": new_usage}
    elif usage:
        data["usage"] = new_usage
    if account is None or balance != account.credits:
        data[BALANCE_FIELD] = balance
    low = balance < low_balance_below
    if account is None or account.low_balance is not low:
        data["lowBalance"] = low
    data.setdefault("updatedAt", now)
    plan._post_balance(Write("put", snapshot.reference, data, snapshot))
    for entry, record in records:
        plan.create(entry_ref(client, entry), record)
    return Posting(balance_after=balance, entry_ids=tuple(str(e) for e, _ in records), usage=new_usage)
