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

from credits.policy.buckets import Bucket, Drawn, Move
from credits.store import buckets as bucket_store, db
from credits.store.atomic import BALANCE_FIELD, MapPatch, Plan, Write
from credits.store.buckets import Book, Expire, Rule, Spend
from credits.store.db import Snapshot
from credits.vocab.entries import (
    USAGE_FIELDS as USAGE_FIELDS,
    EntryId as EntryId,
    EntryKind as EntryKind,
    Reason as Reason,
    UsageChange as UsageChange,
)

if TYPE_CHECKING:
    from credits.features.accounts import Account


EXPIRY_RECORDED_AT = "expiryRecordedAt"
"""On ``expired`` entries only: when the entry was written (its ``createdAt``). Only these
entries carry the field, so its index holds them alone: the statistics count credits expired
per hour on it without an index over every entry of the ledger (``rollup``).
"""


def expire_leg(bucket: Bucket) -> Leg:
    """The entry that expires what is left of a bucket (exactly once: ``expire_{bucketId}``)."""
    return Leg(
        -bucket.remaining,
        EntryId(EntryKind.EXPIRE, bucket.id),
        Reason.EXPIRED,
        actor_id="system",
        fields={"expiredAt": bucket.expires_at, "source": bucket.source},
        buckets=Expire(bucket.id),
    )


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
    buckets: Rule | None = None  # what the leg does to the buckets; a negative leg spends by default


@dataclass(frozen=True)
class Posting:
    """What ``post`` added to the plan."""

    balance_after: int
    entry_ids: tuple[str, ...]
    usage: dict[str, int] = field(default_factory=dict)
    moves: tuple[tuple[Move, ...], ...] = ()  # per leg of the call, the buckets it moved
    drawn: tuple[tuple[Drawn, ...], ...] = ()  # per leg of the call, what it drew (for refunds)
    buckets: dict[str, Bucket] = field(default_factory=dict)  # the map after the posting


def entry_ref(client: firestore.Client, entry_id: EntryId | str) -> firestore.DocumentReference:
    """The document of a ledger entry."""
    return client.collection(db.CREDIT_LOGS).document(str(entry_id))


def new_random_key(client: firestore.Client) -> str:
    """A fresh key for an entry that needs no idempotency (an unkeyed admin grant)."""
    key: str = client.collection(db.CREDIT_LOGS).document().id
    return key


@dataclass(frozen=True)
class Holder:
    """Whose balance a posting moves: ``users/{uid}`` as read, or the document it opens.

    ``account`` is the user as read; None when ``opening`` creates the document, whose other
    fields ``opening`` holds and whose balance starts at ``opening_balance`` held in
    ``opening_buckets`` (non-zero only for an account rebuilt from entries that already sum
    to it). Exactly one of ``account`` and ``opening`` is given.
    """

    uid: str
    snapshot: Snapshot
    account: Account | None
    opening: dict[str, Any] | None = None
    opening_balance: int = 0
    opening_buckets: dict[str, Bucket] | None = None


@dataclass(frozen=True)
class Change:
    """What a posting does: its legs at ``now``, and what else the user document records.

    ``fields`` are other fields of the user document written in the same write (a plan writes
    a document once); ``usage`` moves its usage counters; ``low_balance_below`` sets its
    low-balance flag. ``first_leg``: how many of ``legs`` are the account's own (the
    ``Posting``'s per-leg moves start after them).
    """

    legs: Sequence[Leg]
    now: dt.datetime
    low_balance_below: int
    usage: UsageChange | None = None
    fields: dict[str, Any] | None = None
    first_leg: int = 0


@dataclass
class _Journal:
    """The entries of one posting as its legs apply (mutable, private to ``post``)."""

    uid: str
    now: dt.datetime
    balance: int
    records: list[tuple[EntryId, dict[str, Any]]] = field(default_factory=list)
    per_leg: list[tuple[Move, ...]] = field(default_factory=list)
    per_leg_drawn: list[tuple[Drawn, ...]] = field(default_factory=list)


def post(plan: Plan[Any], client: firestore.Client, holder: Holder, change: Change) -> Posting:
    """Post ``change.legs`` to ``users/{uid}``: one write of the user document, one entry per leg.

    First every bucket that has expired by ``now`` is expired (its ``expire_{id}`` entry), so
    no leg ever spends one; then the legs apply in order, each moving the buckets as its
    ``buckets`` rule says, and each entry's ``balanceAfter`` is the balance after its own leg.
    An entry is written when its leg moves the balance, and for kinds recorded even at zero
    (sign-up, charge, restore, repair). Raises ``AssertionError`` if the balance would go
    below zero or a balance change has no entry: callers decide refusals first;
    ``BucketLimit`` for a grant past the bound.
    """
    account = holder.account
    if (account is None) != (holder.opening is not None):
        raise AssertionError("post: give exactly one of an existing account or an opening document")
    balance = holder.opening_balance if account is None else account.credits
    stored = dict(holder.opening_buckets or {}) if account is None else dict(account.buckets)
    if sum(b.remaining for b in stored.values()) != balance:
        raise AssertionError(f"the buckets of users/{holder.uid} do not hold its balance")
    book = Book(change.now, stored)
    all_legs = [expire_leg(bucket) for bucket in book.catch_up()] + list(change.legs)
    skip = len(all_legs) - len(change.legs) + change.first_leg
    journal = _Journal(holder.uid, change.now, balance)
    for index, leg in enumerate(all_legs):
        _apply_leg(journal, book, leg, keep=index >= skip)
    data, new_usage = _user_data(holder, change, journal.balance, book)
    plan._post_balance(Write("put", holder.snapshot.reference, data, holder.snapshot))
    for entry, record in journal.records:
        plan.create(entry_ref(client, entry), record)
    return Posting(
        balance_after=journal.balance,
        entry_ids=tuple(str(e) for e, _ in journal.records),
        usage=new_usage,
        moves=tuple(journal.per_leg),
        drawn=tuple(journal.per_leg_drawn),
        buckets={k: b for k, b in book.buckets.items() if b.remaining > 0},
    )


def _apply_leg(journal: _Journal, book: Book, leg: Leg, *, keep: bool) -> None:
    """Apply one leg to the buckets and the balance and record its entry (and the entries of
    credits it returned to buckets that have expired meanwhile). ``keep``: the leg is one of
    the call's own, whose moves the ``Posting`` reports.
    """
    moves: list[Move] = []
    lapsed: list[Move] = []
    drawn: list[Drawn] = []
    if leg.delta and leg.entry is None:
        raise AssertionError("a balance change needs a ledger entry")
    if leg.delta:
        before = dict(book.buckets)
        rule = leg.buckets if leg.buckets is not None else (Spend() if leg.delta < 0 else None)
        if rule is None:
            raise AssertionError("a positive leg must say which bucket it fills")
        moves, lapsed = book.apply(rule, leg.delta)
        if leg.delta < 0:
            drawn = bucket_store.drawn_from(moves, before)
    opened = list(book.opened) if leg.delta else []
    if keep:
        journal.per_leg.append(tuple(moves))
        journal.per_leg_drawn.append(tuple(drawn))
    journal.balance += leg.delta
    if journal.balance < 0:  # the one invariant no caller may break
        raise AssertionError(f"a posting would leave users/{journal.uid} at {journal.balance}")
    if leg.entry is None:
        if leg.delta:
            raise AssertionError("a balance change needs a ledger entry")
        return
    if not leg.delta and leg.entry.kind not in _RECORDED_AT_ZERO:
        return
    _record_entry(journal, leg, moves, opened)
    for move in lapsed:  # returned to a bucket that has expired meanwhile: expires at once
        journal.balance += move.delta
        journal.records.append(_lapsed_record(journal, move, leg.entry))


def _record_entry(journal: _Journal, leg: Leg, moves: list[Move], opened: list[dict[str, Any]]) -> None:
    """Add the entry of a leg to the journal, its ``balanceAfter`` the journal's balance after it."""
    assert leg.entry is not None
    record: dict[str, Any] = {
        "userId": journal.uid,
        "delta": leg.delta,
        "balanceAfter": journal.balance,
        "reason": leg.reason.value,
        "createdAt": journal.now,
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
    if leg.reason is Reason.EXPIRED:
        record[EXPIRY_RECORDED_AT] = journal.now
    if moves:
        record["buckets"] = [{"bucketId": m.bucket_id, "delta": m.delta} for m in moves]
    if opened:
        record["newBuckets"] = opened
    journal.records.append((leg.entry, record))


def _lapsed_record(journal: _Journal, move: Move, returned_by: EntryId) -> tuple[EntryId, dict[str, Any]]:
    """The entry that expires credits ``returned_by`` gave back to a bucket already expired."""
    return (
        EntryId(EntryKind.EXPIRE, f"{move.bucket_id}~{returned_by}"),
        {
            "userId": journal.uid,
            "delta": move.delta,
            "balanceAfter": journal.balance,
            "reason": Reason.EXPIRED.value,
            "actorId": "system",
            "createdAt": journal.now,
            "buckets": [{"bucketId": move.bucket_id, "delta": move.delta}],
            "returnedBy": str(returned_by),
            EXPIRY_RECORDED_AT: journal.now,
        },
    )


def _user_data(holder: Holder, change: Change, balance: int, book: Book) -> tuple[dict[str, Any], dict[str, int]]:
    """The user document's write after the legs (only what changed for an existing account),
    and its usage counters.
    """
    account = holder.account
    current_usage = (holder.opening or {}).get("usage", {}) if account is None else account.usage
    new_usage = (change.usage or UsageChange()).apply(current_usage)
    data: dict[str, Any] = dict(change.fields or {})
    if account is None:
        data = {**(holder.opening or {}), **data, "usage": new_usage}
    elif change.usage:
        data["usage"] = new_usage
    if account is None or balance != account.credits:
        data[BALANCE_FIELD] = balance
    new_map = book.stored()
    old_map = account.stored_buckets if account is not None else None
    if account is None or not isinstance(old_map, dict):
        data[bucket_store.FIELD] = new_map  # the account's first stored map
    elif old_map != new_map:
        # Only the buckets that changed: a charge moves one or two of up to 32 (see MapPatch).
        patch = MapPatch({key: value for key, value in new_map.items() if old_map.get(key) != value})
        patch.update({key: firestore.DELETE_FIELD for key in old_map if key not in new_map})
        data[bucket_store.FIELD] = patch
    next_expiry = book.next_expiry_at()
    if account is None or account.data.get(bucket_store.NEXT_EXPIRY_FIELD) != next_expiry:
        data[bucket_store.NEXT_EXPIRY_FIELD] = next_expiry
    low = balance < change.low_balance_below
    if account is None or account.low_balance is not low:
        data["lowBalance"] = low
    data.setdefault("updatedAt", change.now)
    return data, new_usage
