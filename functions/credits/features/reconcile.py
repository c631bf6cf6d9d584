"""Checking the books, and repairing a balance the ledger contradicts.

``reconcile`` checks every ledger invariant and returns the drifts (an empty list means the
books balance). ``repair_balance`` rebuilds one user's balance from the ledger, the record of
truth: the balance becomes the sum of the entries, a 0-delta ``repair`` entry records what was
stored before, and an audit entry says who did it. Both read entry ids through
``ledger.EntryId``, the scheme ``ledger.post`` writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from credits.features import accounts
from credits.store import audit, buckets as bucket_store, config_store, db, ledger
from credits.store.atomic import Attempt, Plan, run
from credits.store.ledger import EntryId, EntryKind, Leg, Reason
from credits.vocab.clock import Clock
from credits.vocab.context import Caller, ClientContext
from credits.vocab.errors import NotFound


@dataclass(frozen=True)
class Drift:
    """One broken invariant."""

    user_id: str
    kind: str
    detail: str


def reconcile(client: firestore.Client) -> list[Drift]:
    """Check every ledger invariant; an empty list means the books balance.

    * per user: the ledger's deltas sum to ``users/{uid}.credits``, which is a non-negative
      integer; every entry's ``balanceAfter`` is a non-negative integer (clocks of different
      instances may disagree by milliseconds, so entries are not replayed in time order); at
      most one sign-up decision;
    * per bucket (``_bucket_drifts``): live buckets sum to ``credits``; every entry's bucket
      legs sum to its delta; every bucket's legs sum to its ``remaining``;
    * per activity: at most one charge, one refund, one settlement; a failure refund returns
      at most the net charge; no activity is both refunded and settled.
    """
    books = _Books.read(client)
    drifts: list[Drift] = []
    for uid in sorted(set(books.users) | set(books.by_user)):
        drifts += _user_drifts(uid, books)
    for activity, kinds in books.by_activity.items():
        drifts += _activity_drifts(activity, kinds)
    return drifts


@dataclass
class _Books:
    """The whole ledger and every user document, as ``reconcile`` reads them: the entries by
    user, the generations' entries by activity and kind, the sign-up entries per user.
    """

    by_user: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    by_activity: dict[str, dict[EntryKind, list[dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    signups: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, client: firestore.Client) -> _Books:
        """Stream ``credit_logs`` and ``users``."""
        books = cls()
        for snap in client.collection(db.CREDIT_LOGS).stream():
            data = snap.to_dict() or {}
            data["_id"] = snap.id
            books.by_user[str(data.get("userId"))].append(data)
            parsed = EntryId.parse(snap.id)
            if parsed is not None and parsed.kind in (EntryKind.CHARGE, EntryKind.SETTLE, EntryKind.REFUND):
                books.by_activity[parsed.key][parsed.kind].append(data)
            elif parsed is not None and parsed.kind is EntryKind.SIGNUP:
                books.signups[str(data.get("userId"))] += 1
        for snap in client.collection(db.USERS).stream():
            books.users[snap.id] = snap.to_dict() or {}
        return books


def _user_drifts(uid: str, books: _Books) -> list[Drift]:
    """A user's invariants: the balance, the entries' sum and ``balanceAfter``, one sign-up, the buckets."""
    entries = books.by_user.get(uid, [])
    total = sum(int(e.get("delta", 0)) for e in entries)
    if uid not in books.users:
        return [Drift(uid, "missing_user", f"{len(entries)} ledger entries but no users document")]
    balance = books.users[uid].get("credits", 0)
    if isinstance(balance, bool) or not isinstance(balance, int):
        return [Drift(uid, "damaged_balance", f"credits={balance!r}; ledger sums to {total}")]
    drifts: list[Drift] = []
    if balance < 0:
        drifts.append(Drift(uid, "negative_balance", f"credits={balance}"))
    if total != balance:
        drifts.append(Drift(uid, "ledger_mismatch", f"ledger sums to {total}, balance is {balance}"))
    for e in entries:
        after = e.get("balanceAfter")
        if not isinstance(after, int) or after < 0:
            drifts.append(Drift(uid, "bad_balance_after", f"{e['_id']}: balanceAfter={after!r}"))
    if books.signups[uid] > 1:
        drifts.append(Drift(uid, "double_signup_grant", "more than one sign-up entry"))
    drifts += _bucket_drifts(uid, books.users.get(uid, {}), entries)
    return drifts


def _activity_drifts(activity: str, kinds: dict[EntryKind, list[dict[str, Any]]]) -> list[Drift]:
    """A generation's invariants: one entry of each kind, no refund past the net charge."""
    drifts: list[Drift] = []
    for kind in (EntryKind.CHARGE, EntryKind.REFUND, EntryKind.SETTLE):
        if len(kinds.get(kind, [])) > 1:
            drifts.append(Drift(activity, f"double_{kind.value}", f"{len(kinds[kind])} {kind.value} entries"))
    charge = sum(-int(e.get("delta", 0)) for e in kinds.get(EntryKind.CHARGE, []))
    refund = sum(int(e.get("delta", 0)) for e in kinds.get(EntryKind.REFUND, []))
    settle = sum(int(e.get("delta", 0)) for e in kinds.get(EntryKind.SETTLE, []))
    if kinds.get(EntryKind.REFUND) and kinds.get(EntryKind.SETTLE):
        drifts.append(Drift(activity, "refund_and_settlement", "an activity both failed and settled"))
    if refund > charge + max(0, -settle):
        drifts.append(Drift(activity, "over_refund", f"refunded {refund} of a {charge} charge"))
    if settle > charge:
        drifts.append(Drift(activity, "over_settlement", f"settlement refunded {settle} of a {charge} charge"))
    return drifts


def _bucket_drifts(uid: str, user: dict[str, Any], entries: list[dict[str, Any]]) -> list[Drift]:
    """The books by bucket: the stored buckets sum to ``credits``; each entry's bucket legs
    sum to its delta; each bucket's legs sum to what it holds (0 once it left the map). Entries
    from before buckets count toward the ``legacy`` bucket, which an account without a
    ``buckets`` field holds implicitly (``buckets.parse``).
    """
    drifts: list[Drift] = []
    raw = user.get(bucket_store.FIELD)
    if raw is None:
        stored = {bucket_store.legacy_id(uid): user.get("credits", 0)} if user.get("credits") else {}
    elif isinstance(raw, dict):
        stored = {}
        for key, bucket in raw.items():
            remaining = bucket.get("remaining") if isinstance(bucket, dict) else None
            if isinstance(remaining, bool) or not isinstance(remaining, int) or remaining < 0:
                drifts.append(Drift(uid, "damaged_bucket", f"buckets.{key}: {bucket!r}"[:300]))
                continue
            stored[str(key)] = remaining
        if not drifts and sum(stored.values()) != user.get("credits"):
            drifts.append(
                Drift(uid, "buckets_mismatch", f"buckets hold {sum(stored.values())}, credits is {user.get('credits')!r}")
            )
    else:
        return [Drift(uid, "damaged_bucket", "buckets is not a map")]
    sums: dict[str, int] = defaultdict(int)
    for e in entries:
        legs = e.get("buckets")
        delta = int(e.get("delta", 0))
        if isinstance(legs, list) and legs:
            total = 0
            for leg in legs:
                if isinstance(leg, dict) and isinstance(leg.get("bucketId"), str) and isinstance(leg.get("delta"), int):
                    sums[leg["bucketId"]] += leg["delta"]
                    total += leg["delta"]
            if total != delta:
                drifts.append(Drift(uid, "bucket_legs_mismatch", f"{e['_id']}: legs sum to {total}, delta is {delta}"))
        elif delta:
            sums[bucket_store.legacy_id(uid)] += delta
    for bucket_id in sorted(set(sums) | set(stored)):
        if sums.get(bucket_id, 0) != stored.get(bucket_id, 0):
            drifts.append(
                Drift(
                    uid,
                    "bucket_drift",
                    f"{bucket_id}: ledger legs sum to {sums.get(bucket_id, 0)}, it holds {stored.get(bucket_id, 0)}",
                )
            )
    return drifts


@dataclass(frozen=True)
class Repaired:
    """A rebuilt balance: the value stored before (whatever it was), the balance after and the
    ledger entry that records the repair.
    """

    user_id: str
    before: Any
    after: int
    entry_id: str


def repair_balance(client: firestore.Client, clock: Clock, uid: str, actor: Caller) -> Repaired:
    """Rebuild ``users/{uid}.credits`` from the ledger.

    Other damaged server fields are put right on the way (an unknown ``status`` becomes
    ``active``, non-integer usage counters are dropped) and listed in the audit entry.
    """
    user_ref = accounts.user_ref(client, uid)

    def step(attempt: Attempt) -> Plan[Repaired]:
        now = clock.now()
        got = attempt.get([user_ref, config_store.applied_ref(client)])
        user = got[user_ref.path]
        if not user.exists:
            raise NotFound("The user")
        config = config_store.load(attempt, got[config_store.applied_ref(client).path]).credits
        entries = list(client.collection(db.CREDIT_LOGS).where(filter=FieldFilter("userId", "==", uid)).stream())
        attempt.reads += max(1, len(entries))
        # The buckets are rebuilt from the entries' bucket legs; the balance is what they hold.
        held = bucket_store.rebuild(attempt, uid)
        total = sum(b.remaining for b in held.values())
        stored = user.to_dict() or {}
        fixes, changed = _fixes(stored, now)
        plan: Plan[Repaired] = Plan()
        repair = Leg(
            0,
            EntryId(EntryKind.REPAIR, f"{uid}_{len(entries)}"),
            Reason.BALANCE_REPAIR,
            actor_id=actor.uid,
            note=f"balance rebuilt from {len(entries)} entries; stored value was {stored.get('credits')!r}",
        )
        posting = ledger.post(
            plan,
            client,
            ledger.Holder(uid, user, None, opening=fixes, opening_balance=total, opening_buckets=held),
            ledger.Change([repair], now, config.lowBalanceThreshold),
        )
        before = {name: stored.get(name) for name in changed}
        after = {"credits": posting.balance_after, **{k: fixes[k] for k in changed if k in fixes}}
        audit.add(
            plan,
            client,
            audit.entry(
                actor,
                ClientContext(user_agent="scripts/reconcile.py"),
                audit.Change("repair_balance", f"users/{uid}", before, after),
                now,
            ),
        )
        plan.result = Repaired(uid, stored.get("credits"), posting.balance_after, posting.entry_ids[0])
        return plan

    return run(client, step, lock_key=f"user:{uid}")


def _fixes(stored: dict[str, Any], now: dt.datetime) -> tuple[dict[str, Any], list[str]]:
    """The damaged server fields a repair puts right (an unknown ``status`` becomes ``active``,
    non-integer usage counters are dropped), and the names of the fields it changes.
    """
    usage = {k: v for k, v in (stored.get("usage") or {}).items() if isinstance(v, int) and not isinstance(v, bool)}
    fixes: dict[str, Any] = {"usage": usage, "repairedAt": now}
    changed = ["credits", "buckets"]
    if stored.get("status", "active") not in ("active", "suspended"):
        fixes["status"] = "active"
        changed.append("status")
    if usage != stored.get("usage"):
        changed.append("usage")
    return fixes, changed
