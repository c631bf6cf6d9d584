"""Buckets as stored: ``users/{uid}.buckets``, their checked shape, and how a posting moves them.

The live buckets live *inside* the user document (a map keyed by bucket id), which every
posting already reads and writes, so spending across buckets costs no extra document read
or write. Invariants, kept by ``ledger.post`` (the only writer):

- ``users/{uid}.credits == sum(remaining)`` over the stored map; a bucket that empties
  leaves the map (its history stays in the ledger), so the map holds at most
  ``policy.buckets.HARD_MAX_BUCKETS`` entries and the document stays far from 1 MiB
  (a bucket is about 200 bytes).
- Every ledger entry that moves credits names its buckets, ``buckets: [{bucketId, delta}]``,
  whose deltas sum to the entry's ``delta``; an entry that opens a bucket also carries
  ``newBucket: {bucketId, source, expiresAt, ref}``, so the ledger alone can rebuild the map
  (``accounts`` restores a deleted account so) and ``reconcile`` can check every bucket.
- Expiry is exact without a job: every posting first expires what has expired (one
  ``expire_{bucketId}`` entry per bucket), and readers count only live buckets.

A bucket id is the id of the ledger entry that opened it (``signup_{uid}``, ``grant_{key}``,
``plan_{uid}_{period}``, ...), so it names its origin; ``legacy_{uid}`` is the balance an
account held before buckets existed (see ``parse``).

What each leg of a posting does to the buckets is a ``Rule``: ``Open`` a bucket (a grant),
``Spend`` in spend order (a charge), ``ClawBack`` in claw-back order, ``Return`` to the
buckets a charge drew from (a refund), ``Expire`` one bucket.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from google.cloud.firestore_v1.base_query import FieldFilter

from credits.policy import buckets as policy
from credits.policy.buckets import Bucket, Drawn, Move, Source
from credits.store import db
from credits.store.atomic import StaleRead
from credits.vocab.errors import BucketLimit

if TYPE_CHECKING:
    from credits.store.atomic import Attempt

FIELD = "buckets"
NEXT_EXPIRY_FIELD = "nextExpiryAt"


def plain(when: dt.datetime) -> dt.datetime:
    """A timestamp as read from Firestore (``DatetimeWithNanoseconds``) as a plain UTC
    ``datetime``: arithmetic on the former (``replace``) builds objects the client cannot
    encode again.
    """
    return dt.datetime(
        when.year, when.month, when.day, when.hour, when.minute, when.second, when.microsecond, tzinfo=when.tzinfo or dt.UTC
    )


def legacy_id(uid: str) -> str:
    """The bucket of a balance held before buckets existed."""
    return f"legacy_{uid}"


def parse(uid: str, data: dict[str, Any], credits: int, problems: dict[str, str]) -> dict[str, Bucket]:
    """The stored buckets of a user document; problems go into ``problems`` (``data_invalid``).

    A document without a ``buckets`` field predates buckets: its whole balance is one
    ``legacy`` bucket without expiry (which the next posting stores, and ``scripts/migrate.py``
    stores for every user ahead of time).
    """
    raw = data.get(FIELD)
    created = data.get("createdAt")
    if raw is None:
        if credits <= 0:
            return {}
        when = plain(created) if isinstance(created, dt.datetime) else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        bucket_id = legacy_id(uid)
        return {bucket_id: Bucket(bucket_id, "legacy", credits, credits, None, None, when)}
    if not isinstance(raw, dict):
        problems[FIELD] = "must be a map of buckets"
        return {}
    out: dict[str, Bucket] = {}
    for key, value in raw.items():
        bucket = _parse_one(str(key), value, problems)
        if bucket is not None:
            out[str(key)] = bucket
    if len(out) > policy.HARD_MAX_BUCKETS:
        problems[FIELD] = f"holds more than {policy.HARD_MAX_BUCKETS} buckets"
    if not problems and sum(b.remaining for b in out.values()) != credits:
        problems[FIELD] = "remaining credits do not sum to credits"
    return out


def _parse_one(key: str, value: Any, problems: dict[str, str]) -> Bucket | None:
    where = f"{FIELD}.{key}"
    if not isinstance(value, dict):
        problems[where] = "must be a map"
        return None
    bad: list[str] = []
    source = value.get("source")
    if source not in policy.SOURCES:
        bad.append("source must be one of " + ", ".join(policy.SOURCES))
    amount, remaining = value.get("amount"), value.get("remaining")
    for name, number in (("amount", amount), ("remaining", remaining)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            bad.append(f"{name} must be a non-negative integer")
    expires = value.get("expiresAt")
    if expires is not None and not isinstance(expires, dt.datetime):
        bad.append("expiresAt must be a timestamp or null")
    created = value.get("createdAt")
    if not isinstance(created, dt.datetime):
        bad.append("createdAt must be a timestamp")
    ref = value.get("ref")
    if ref is not None and not isinstance(ref, str):
        bad.append("ref must be a string or null")
    if bad:
        problems[where] = "; ".join(bad)
        return None
    return Bucket(
        id=key,
        source=cast(Source, source),
        amount=cast(int, amount),
        remaining=cast(int, remaining),
        expires_at=plain(expires) if isinstance(expires, dt.datetime) else None,
        ref=cast("str | None", ref),
        created_at=plain(cast(dt.datetime, created)),
    )


def to_firestore(bucket: Bucket) -> dict[str, Any]:
    """A bucket as stored in the map (its id is the key)."""
    return {
        "source": bucket.source,
        "amount": bucket.amount,
        "remaining": bucket.remaining,
        "expiresAt": bucket.expires_at,
        "ref": bucket.ref,
        "createdAt": bucket.created_at,
    }


def public(bucket: Bucket) -> dict[str, Any]:
    """A bucket as ``getCreditStatus`` shows it."""
    return {
        "source": bucket.source,
        "remaining": bucket.remaining,
        "expiresAt": bucket.expires_at.isoformat().replace("+00:00", "Z") if bucket.expires_at else None,
    }


# ------------------------------------------------------------------ rules of a leg


@dataclass(frozen=True)
class Open:
    """A grant (positive leg): a new bucket, or at the bound a merge into a live bucket of
    the same source and expiry; with neither, ``BucketLimit``.
    """

    bucket_id: str
    source: Source
    expires_at: dt.datetime | None = None
    ref: str | None = None


@dataclass(frozen=True)
class Spend:
    """A charge (negative leg): the live buckets in spend order."""


@dataclass(frozen=True)
class ClawBack:
    """A claw-back (negative leg): bucket ``first`` first, then claw-back order.

    The leg's amount must be available (callers compute the shortfall first with
    ``policy.buckets.claw_back``).
    """

    first: str | None = None


@dataclass(frozen=True)
class Expire:
    """The expiry of one bucket (negative leg of its whole remaining)."""

    bucket_id: str


@dataclass(frozen=True)
class Return:
    """A refund (positive leg): back to the buckets a charge drew from (``returns_for``)."""

    drawn: tuple[Drawn, ...]


Rule: TypeAlias = Open | Spend | ClawBack | Expire | Return


@dataclass
class Book:
    """The buckets of one posting as it applies its legs (mutable, private to ``ledger.post``)."""

    now: dt.datetime
    buckets: dict[str, Bucket]
    priority: tuple[Source, ...] = policy.DEFAULT_PRIORITY
    opened: list[dict[str, Any]] = field(default_factory=list)

    def catch_up(self) -> list[Bucket]:
        """The buckets that have expired with credits left (each needs its ``expired`` entry)."""
        return policy.expired(self.buckets.values(), self.now)

    def apply(self, rule: Rule, delta: int) -> tuple[list[Move], list[Move]]:
        """Apply one leg; returns its moves and the moves of credits that returned to an
        expired bucket and so expire at once (each needs its own entry).
        """
        self.opened = []
        if isinstance(rule, Open):
            return [self._open(rule, delta)], []
        if isinstance(rule, Spend):
            moves = policy.draw(self.buckets.values(), -delta, self.now, self.priority)
        elif isinstance(rule, ClawBack):
            moves, short = policy.claw_back(self.buckets.values(), -delta, self.now, first=rule.first, priority=self.priority)
            if short:
                raise policy.Shortfall(f"a claw-back of {-delta} finds {-delta - short}")
        elif isinstance(rule, Expire):
            moves = [Move(rule.bucket_id, delta)]
        else:
            return self._return(rule, delta)
        for move in moves:
            self._add(move.bucket_id, move.delta)
        return moves, []

    def _open(self, rule: Open, delta: int) -> Move:
        if delta <= 0:
            raise AssertionError("a bucket opens with a positive amount")
        existing = self.buckets.get(rule.bucket_id)
        if existing is not None:  # the grant has committed since: its entry was read before it
            raise StaleRead(f"bucket {rule.bucket_id} exists")
        holding = [b for b in self.buckets.values() if b.remaining > 0]
        if len(holding) >= policy.MAX_LIVE_BUCKETS:
            target = policy.merge_target(holding, rule.source, rule.expires_at)
            if target is None:
                raise BucketLimit(policy.MAX_LIVE_BUCKETS)
            self.buckets[target.id] = Bucket(
                target.id,
                target.source,
                target.amount + delta,
                target.remaining + delta,
                target.expires_at,
                target.ref,
                target.created_at,
            )
            return Move(target.id, delta)
        self._create(rule.bucket_id, rule.source, delta, rule.expires_at, rule.ref, self.now)
        return Move(rule.bucket_id, delta)

    def _create(
        self, bucket_id: str, source: Source, credits: int, expires: dt.datetime | None, ref: str | None, created: dt.datetime
    ) -> None:
        self.buckets[bucket_id] = Bucket(bucket_id, source, credits, credits, expires, ref, created)
        self.opened.append(
            {"bucketId": bucket_id, "source": source, "amount": credits, "expiresAt": expires, "ref": ref, "createdAt": created}
        )

    def _return(self, rule: Return, delta: int) -> tuple[list[Move], list[Move]]:
        if sum(item.credits for item in rule.drawn) != delta:
            raise AssertionError("a refund's returns must sum to its delta")
        moves: list[Move] = []
        lapsed: list[Move] = []
        for item in rule.drawn:
            gone = item.expires_at is not None and self.now >= item.expires_at
            target = item.bucket_id
            if target in self.buckets:
                self._add(target, item.credits)
            elif gone or len(self.buckets) < policy.HARD_MAX_BUCKETS:
                # Re-open the emptied bucket (an expired one only for the moment of its
                # entry: its credits expire at once below and it leaves the map again).
                self._create(target, item.source, item.credits, item.expires_at, item.ref, item.created_at)
            else:
                into = policy.return_into(self.buckets.values(), self.now, item.expires_at)
                if into is None:
                    self._create(target, item.source, item.credits, item.expires_at, item.ref, item.created_at)
                else:
                    target = into.id
                    self._add(target, item.credits)
            moves.append(Move(target, item.credits))
            if gone:
                self._add(target, -item.credits)
                lapsed.append(Move(target, -item.credits))
        return moves, lapsed

    def _add(self, bucket_id: str, delta: int) -> None:
        bucket = self.buckets.get(bucket_id)
        if bucket is None:
            raise AssertionError(f"no bucket {bucket_id}")
        remaining = bucket.remaining + delta
        if remaining < 0:
            raise AssertionError(f"bucket {bucket_id} would hold {remaining}")
        self.buckets[bucket_id] = Bucket(
            bucket.id, bucket.source, bucket.amount, remaining, bucket.expires_at, bucket.ref, bucket.created_at
        )

    def stored(self) -> dict[str, Any]:
        """The map to store: buckets holding credits (an empty one leaves; the ledger keeps it)."""
        return {key: to_firestore(b) for key, b in sorted(self.buckets.items()) if b.remaining > 0}

    def next_expiry_at(self) -> dt.datetime | None:
        """The soonest expiry among stored buckets (the expiry job's query field)."""
        return policy.next_expiry_at(self.buckets.values())


def drawn_from(moves: list[Move], buckets: dict[str, Bucket]) -> list[Drawn]:
    """A charge's draws with what a refund needs of each bucket."""
    out = []
    for move in moves:
        b = buckets[move.bucket_id]
        out.append(Drawn(b.id, -move.delta, b.source, b.expires_at, b.ref, b.created_at))
    return out


def drawn_to_firestore(drawn: list[Drawn]) -> list[dict[str, Any]]:
    """Draws as stored on an activity (``bucketDraws``)."""
    return [
        {
            "bucketId": d.bucket_id,
            "credits": d.credits,
            "source": d.source,
            "expiresAt": d.expires_at,
            "ref": d.ref,
            "createdAt": d.created_at,
        }
        for d in drawn
    ]


def drawn_from_firestore(raw: Any) -> list[Drawn] | None:
    """Draws as stored on an activity; None when absent or malformed."""
    if not isinstance(raw, list):
        return None
    out: list[Drawn] = []
    for item in raw:
        if not isinstance(item, dict):
            return None
        credits, source = item.get("credits"), item.get("source")
        expires, created = item.get("expiresAt"), item.get("createdAt")
        if (
            not isinstance(item.get("bucketId"), str)
            or isinstance(credits, bool)
            or not isinstance(credits, int)
            or credits <= 0
            or source not in policy.SOURCES
            or (expires is not None and not isinstance(expires, dt.datetime))
            or not isinstance(created, dt.datetime)
        ):
            return None
        ref = item.get("ref")
        out.append(
            Drawn(item["bucketId"], credits, cast(Source, source), expires, ref if isinstance(ref, str) else None, created)
        )
    return out


def rebuild(attempt: Attempt, uid: str) -> dict[str, Bucket]:
    """A deleted account's buckets, rebuilt from its ledger entries' bucket legs.

    Every entry's ``buckets`` legs are summed per bucket; an entry without them predates
    buckets and counts toward ``legacy_{uid}``. A bucket's source, expiry and ref come from
    the entry that opened it (``newBuckets``). Reads the user's whole ledger (only fields it
    needs): the restore of a deleted document is rare, and correctness matters more there.
    """
    query = (
        attempt.client.collection(db.CREDIT_LOGS)
        .where(filter=FieldFilter("userId", "==", uid))
        .select(["delta", "buckets", "newBuckets", "createdAt"])
    )
    sums: dict[str, int] = {}
    meta: dict[str, dict[str, Any]] = {}
    count = 0
    for snap in query.stream(retry=None, timeout=max(0.05, attempt.deadline.remaining())):
        count += 1
        entry = snap.to_dict() or {}
        delta = entry.get("delta")
        legs = entry.get("buckets")
        if isinstance(legs, list) and legs:
            for leg in legs:
                if isinstance(leg, dict) and isinstance(leg.get("bucketId"), str) and isinstance(leg.get("delta"), int):
                    sums[leg["bucketId"]] = sums.get(leg["bucketId"], 0) + int(leg["delta"])
        elif isinstance(delta, int) and not isinstance(delta, bool) and delta:
            sums[legacy_id(uid)] = sums.get(legacy_id(uid), 0) + delta
        for opened in entry.get("newBuckets") or []:
            if isinstance(opened, dict) and isinstance(opened.get("bucketId"), str):
                meta.setdefault(opened["bucketId"], opened)
    attempt.reads += max(1, count)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    out: dict[str, Bucket] = {}
    for bucket_id, remaining in sorted(sums.items()):
        if remaining <= 0:
            continue
        info = meta.get(bucket_id, {})
        source = info.get("source") if info.get("source") in policy.SOURCES else "legacy"
        expires_raw, created_raw, ref_raw, amount_raw = (info.get(k) for k in ("expiresAt", "createdAt", "ref", "amount"))
        expires = plain(expires_raw) if isinstance(expires_raw, dt.datetime) else None
        created = plain(created_raw) if isinstance(created_raw, dt.datetime) else epoch
        ref = ref_raw if isinstance(ref_raw, str) else None
        amount = amount_raw if isinstance(amount_raw, int) else remaining
        out[bucket_id] = Bucket(bucket_id, cast(Source, source), max(amount, remaining), remaining, expires, ref, created)
    return out
