"""Grant buckets: which credits a charge spends, a refund returns and a claw-back takes.

A user's balance is held in *buckets*, one per grant: ``{source, amount, remaining,
expiresAt | None, ref, createdAt}``. A bucket is *live* at ``now`` when it has no expiry or
``now < expiresAt``; the spendable balance is the sum of the live buckets' ``remaining``.
These functions are pure: plain values and a clock in, decisions out.

Spend order (``spend_order``): soonest ``expiresAt`` first, never-expiring last; among equal
expiries the source priority (default ``promo, plan, signup, admin, legacy, refund,
purchase``: what was given away goes before what was paid for), then the older bucket, then
the id, so the order is total and every replica of a decision agrees.

Claw-back order (``clawback_order``): the reverse of spend order, except that purchased
credits go last: an admin or a payment's refund takes first what lasts longest of what was
given, and touches what the user paid for only when nothing else is left.

A refund returns credits to the buckets its charge drew from (``returns_for``): a partial
refund gives back the last-drawn credits first, so what the generation finally keeps is
exactly what a charge of the final amount would have drawn.

Worked example (``tests/unit/test_policy_buckets.py`` tells it): a user holds a plan
allowance of 100 expiring on 31 Jan, a promo of 20 expiring on 10 Jan and a purchase of 500
without expiry. A charge of 50 on 5 Jan draws 20 from the promo and 30 from the plan. The
generation fails on 12 Jan: 30 return to the plan bucket, and 20 return to the promo, which
expired on 10 Jan, so those 20 expire at once (their own ``expired`` entry). An admin's
claw-back of 80 then takes 70 from the plan and 10 from the purchase.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

Source = Literal["signup", "plan", "purchase", "promo", "admin", "legacy", "refund"]
SOURCES: tuple[Source, ...] = ("signup", "plan", "purchase", "promo", "admin", "legacy", "refund")
DEFAULT_PRIORITY: tuple[Source, ...] = ("promo", "plan", "signup", "admin", "legacy", "refund", "purchase")
"""Ties among equal expiries are spent in this order (the contract's default, with ``legacy``
balances, which predate purchases, after admin grants and ``refund`` buckets before purchases).
"""

MAX_LIVE_BUCKETS = 32
"""New grants a user may hold at once. At the bound a grant merges into a live bucket of the
same source and expiry, or is refused (``bucket_limit``). Refunds may re-create the buckets
their charge drew from up to ``HARD_MAX_BUCKETS``; past that they merge (see ``return_into``).
"""
HARD_MAX_BUCKETS = 64

_FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Bucket:
    """One grant's credits as stored on ``users/{uid}.buckets[id]``."""

    id: str
    source: Source
    amount: int
    remaining: int
    expires_at: dt.datetime | None
    ref: str | None
    created_at: dt.datetime

    def live(self, now: dt.datetime) -> bool:
        """Whether the bucket may be spent at ``now`` (it has not expired)."""
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class Move:
    """Credits moved into (``delta > 0``) or out of (``delta < 0``) one bucket."""

    bucket_id: str
    delta: int


def _rank(priority: Sequence[Source], source: Source) -> int:
    return priority.index(source) if source in priority else len(priority)


def spend_key(bucket: Bucket, priority: Sequence[Source] = DEFAULT_PRIORITY) -> tuple[dt.datetime, int, dt.datetime, str]:
    """The sort key of spend order (smaller is spent first)."""
    return (bucket.expires_at or _FAR_FUTURE, _rank(priority, bucket.source), bucket.created_at, bucket.id)


def spend_order(buckets: Iterable[Bucket], priority: Sequence[Source] = DEFAULT_PRIORITY) -> list[Bucket]:
    """The buckets in the order a charge spends them."""
    return sorted(buckets, key=lambda b: spend_key(b, priority))


def clawback_order(buckets: Iterable[Bucket], priority: Sequence[Source] = DEFAULT_PRIORITY) -> list[Bucket]:
    """The buckets in the order a claw-back takes them: reverse spend order, purchases last."""
    ordered = list(reversed(spend_order(buckets, priority)))
    return [b for b in ordered if b.source != "purchase"] + [b for b in ordered if b.source == "purchase"]


def live(buckets: Iterable[Bucket], now: dt.datetime) -> list[Bucket]:
    """The buckets that may be spent at ``now`` and hold credits."""
    return [b for b in buckets if b.live(now) and b.remaining > 0]


def expired(buckets: Iterable[Bucket], now: dt.datetime) -> list[Bucket]:
    """The buckets whose expiry has passed and that still hold credits, soonest first."""
    gone = [b for b in buckets if not b.live(now) and b.remaining > 0]
    return sorted(gone, key=lambda b: (b.expires_at or _FAR_FUTURE, b.id))


def live_balance(buckets: Iterable[Bucket], now: dt.datetime) -> int:
    """What the user may spend at ``now``."""
    return sum(b.remaining for b in live(buckets, now))


class Shortfall(AssertionError):
    """The buckets do not hold what a draw asks for: a caller that did not check the balance first."""


def draw(buckets: Iterable[Bucket], amount: int, now: dt.datetime, priority: Sequence[Source] = DEFAULT_PRIORITY) -> list[Move]:
    """Take ``amount`` (> 0) from the live buckets in spend order; raises ``Shortfall``."""
    return _take(spend_order(live(buckets, now), priority), amount, strict=True)[0]


def claw_back(
    buckets: Iterable[Bucket],
    amount: int,
    now: dt.datetime,
    *,
    first: str | None = None,
    priority: Sequence[Source] = DEFAULT_PRIORITY,
) -> tuple[list[Move], int]:
    """Take up to ``amount`` from the live buckets, bucket ``first`` first, then in claw-back
    order. Returns the moves and the shortfall (what could not be taken).
    """
    pool = live(buckets, now)
    ordered = clawback_order(pool, priority)
    if first is not None:
        ordered = [b for b in ordered if b.id == first] + [b for b in ordered if b.id != first]
    moves, left = _take(ordered, amount, strict=False)
    return moves, left


def _take(ordered: Sequence[Bucket], amount: int, *, strict: bool) -> tuple[list[Move], int]:
    if amount <= 0:
        raise ValueError("a draw takes a positive amount")
    moves: list[Move] = []
    left = amount
    for bucket in ordered:
        if left == 0:
            break
        take = min(left, bucket.remaining)
        if take > 0:
            moves.append(Move(bucket.id, -take))
            left -= take
    if left and strict:
        raise Shortfall(f"the buckets hold {amount - left} of {amount}")
    return moves, left


@dataclass(frozen=True)
class Drawn:
    """What a charge drew from one bucket, with enough of the bucket to re-create it for a
    refund once it emptied and left the map (stored on the activity).
    """

    bucket_id: str
    credits: int  # > 0
    source: Source
    expires_at: dt.datetime | None
    ref: str | None
    created_at: dt.datetime


def returns_for(drawn: Sequence[Drawn], refund: int) -> list[Drawn]:
    """Which of a charge's draws a refund of ``refund`` credits gives back: the last drawn
    first (see the module docstring). Each returned ``Drawn`` carries the credits returned.
    """
    if refund <= 0:
        return []
    out: list[Drawn] = []
    left = refund
    for item in reversed(drawn):
        give = min(left, item.credits)
        if give > 0:
            out.append(replace(item, credits=give))
            left -= give
        if left == 0:
            break
    if left:
        raise Shortfall(f"a refund of {refund} exceeds what the charge drew")
    return out


def merge_target(buckets: Iterable[Bucket], source: Source, expires_at: dt.datetime | None) -> Bucket | None:
    """At the bound, the live bucket a new grant of ``source`` and ``expires_at`` merges into."""
    same = [b for b in buckets if b.source == source and b.expires_at == expires_at]
    return min(same, key=lambda b: (b.created_at, b.id)) if same else None


def return_into(buckets: Iterable[Bucket], now: dt.datetime, expires_at: dt.datetime | None) -> Bucket | None:
    """Past ``HARD_MAX_BUCKETS``, the live bucket that takes credits returned to a bucket that
    left the map: the one expiring soonest but not before ``expires_at`` would have (so no
    returned credit outlives its grant by much), else the one expiring soonest.
    """
    pool = [b for b in buckets if b.live(now)]
    if not pool:
        return None
    key = expires_at or _FAR_FUTURE
    later = [b for b in pool if (b.expires_at or _FAR_FUTURE) >= key]
    chosen = later or pool
    return min(chosen, key=lambda b: (b.expires_at or _FAR_FUTURE, b.id))


def next_expiry(buckets: Iterable[Bucket], now: dt.datetime) -> tuple[int, dt.datetime] | None:
    """The credits that expire next and when: all live credits sharing the soonest expiry."""
    dated = [b for b in live(buckets, now) if b.expires_at is not None]
    if not dated:
        return None
    at = min(b.expires_at for b in dated if b.expires_at is not None)
    return sum(b.remaining for b in dated if b.expires_at == at), at


def next_expiry_at(buckets: Iterable[Bucket]) -> dt.datetime | None:
    """The soonest expiry of any bucket holding credits (what the expiry job looks for)."""
    dates = [b.expires_at for b in buckets if b.remaining > 0 and b.expires_at is not None]
    return min(dates) if dates else None
