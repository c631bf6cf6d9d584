"""Credits in and out for other domains (payments, admin jobs): legs to post in your own commit.

Everything here builds ``ledger.Leg`` values; nothing writes. A caller composes them into
its own atomic step (see ``atomic``), so a payment's record, its event marker and the credits
land in one commit::

    def step(attempt: Attempt) -> Plan[Result]:
        now = clock.now()
        entry = grants.grant_entry(f"stripe_{payment_id}")           # idempotency key
        got = attempt.get([user_ref, config_store.applied_ref(client), ledger.entry_ref(client, entry)])
        if got[ledger.entry_ref(client, entry).path].exists:
            return Plan(result=...)                                   # applied before
        config = config_store.load(attempt, got[config_store.applied_ref(client).path]).credits
        account = accounts.prepare(attempt, got[user_ref.path], None, config, now, None)
        leg = grants.bucket_grant_leg(entry, 500, grants.NewBucket("purchase", ref=f"payments/{payment_id}"), Reason.PURCHASE)
        plan = Plan()
        posting = account.post(plan, client, now=now, low_balance_below=config.lowBalanceThreshold, legs=(leg,))
        plan.put(payment_snapshot, {...})                             # your own documents
        return plan

Rules: post to one user at most once per plan (``Prepared.post`` writes the user document
once: put every leg for the user in one call); decide refusals before posting (``post``
raises ``AssertionError`` on a negative balance); the posting first expires what has expired.

- ``bucket_grant_leg``: a new bucket with a source, amount, expiry and ref, idempotent by its
  entry id (``grant_entry(key)``: read the entry, skip if it exists). At the bucket bound it
  merges into a live bucket of the same source and expiry, else ``post`` raises
  ``BucketLimit``.
- ``clawback``: take N credits, from bucket ``first`` (a payment's bucket) first, then in
  claw-back order (purchases last); returns the leg and the shortfall that could not be taken
  (payments record it as ``debt``; a balance never goes negative).
- ``start_period`` (``start_plan_period`` for a month from now): start or renew a plan period
  from an event (idempotent by key): the period's ``plan`` bucket and the user's new ``plan``
  field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from credits.features import plans
from credits.policy import buckets as bucket_policy
from credits.policy.buckets import Source
from credits.store import buckets as bucket_store
from credits.store.ledger import EntryId, EntryKind, Leg, Reason
from credits.vocab.config import CreditConfig
from credits.vocab.errors import InvalidRequest

if TYPE_CHECKING:
    from credits.features.accounts import Prepared


def grant_entry(key: str) -> EntryId:
    """The ledger entry (and bucket id) of a grant keyed by ``key`` (``[A-Za-z0-9_.:-]``)."""
    return EntryId(EntryKind.GRANT, key)


@dataclass(frozen=True)
class NewBucket:
    """The bucket a grant opens: where its credits come from, when they expire, what made it."""

    source: Source
    expires_at: dt.datetime | None = None
    ref: str | None = None


def bucket_grant_leg(
    entry: EntryId,
    amount: int,
    bucket: NewBucket,
    reason: Reason,
    *,
    note: str | None = None,
    fields: dict[str, Any] | None = None,
) -> Leg:
    """A grant of ``amount`` (> 0) credits into a new bucket named after ``entry``."""
    if amount <= 0:
        raise ValueError("a grant is positive")
    return Leg(
        amount,
        entry,
        reason,
        note=note,
        fields=fields,
        buckets=bucket_store.Open(str(entry), bucket.source, bucket.expires_at, bucket.ref),
    )


@dataclass(frozen=True)
class Clawback:
    """A claw-back's leg (None when nothing can be taken) and what could not be taken."""

    leg: Leg | None
    taken: int
    shortfall: int


@dataclass(frozen=True)
class ClawbackEntry:
    """The ledger entry a claw-back writes: its id and reason, and its note, actor and extra fields."""

    entry: EntryId
    reason: Reason
    note: str | None = None
    actor_id: str | None = None
    fields: dict[str, Any] | None = None


def clawback(
    account: Prepared, amount: int, record: ClawbackEntry, *, first: str | None = None, after: Sequence[Leg] = ()
) -> Clawback:
    """Take up to ``amount`` (> 0) from ``account``'s live buckets: bucket ``first`` first,
    then in claw-back order (reverse spend order, purchases last). ``after``: legs the same
    posting applies before this one (a grant whose bucket the claw-back may take from).
    """
    if amount <= 0:
        raise ValueError("a claw-back takes a positive amount")
    now = account.now or dt.datetime.now(dt.UTC)
    live = account.live_buckets()
    if after:
        book = bucket_store.Book(now, {b.id: b for b in live})
        for leg in after:
            if leg.delta:
                book.apply(leg.buckets if leg.buckets is not None else bucket_store.Spend(), leg.delta)
        live = bucket_policy.live(book.buckets.values(), now)
    _moves, shortfall = bucket_policy.claw_back(live, amount, now, first=first)
    taken = amount - shortfall
    if taken == 0:
        return Clawback(None, 0, shortfall)
    leg = Leg(
        -taken,
        record.entry,
        record.reason,
        actor_id=record.actor_id,
        note=record.note,
        fields=record.fields,
        buckets=bucket_store.ClawBack(first),
    )
    return Clawback(leg, taken, shortfall)


@dataclass(frozen=True)
class PlanPeriod:
    """What starting a plan period posts: its grant (None for 0 credits a month) and the
    user document's new ``plan`` field (pass it as ``fields`` to ``post``).
    """

    leg: Leg | None
    fields: dict[str, Any]
    period_start: dt.datetime
    period_end: dt.datetime


@dataclass(frozen=True)
class PeriodStart:
    """A plan period to start: the plan, the key that makes it idempotent (the entry
    ``plan_{key}``), its start and end (default: one month on) and how it renews. ``ref`` names
    what paid for the period (the bucket's ``ref``; default the plan and its period);
    ``actor_id`` and ``fields`` go on the grant's entry.
    """

    plan_id: str
    key: str
    start: dt.datetime
    end: dt.datetime | None = None
    renewal: plans.Renewal = "payment"
    ref: str | None = None
    actor_id: str | None = None
    fields: dict[str, Any] | None = None


def start_plan_period(
    account: Prepared, config: CreditConfig, plan_id: str, *, key: str, start: dt.datetime, renewal: plans.Renewal = "payment"
) -> PlanPeriod:
    """Start (or renew) a period of ``plan_id`` of one month from ``start`` (``start_period``)."""
    return start_period(account, config, PeriodStart(plan_id, key, start, renewal=renewal))


def start_period(account: Prepared, config: CreditConfig, period: PeriodStart) -> PlanPeriod:
    """Start (or renew) ``period`` for ``account``, idempotent by its key: read the entry
    ``plan_{key}`` before posting and skip if it exists. ``InvalidRequest`` for a plan the
    configuration does not have.
    """
    plan_id, key, start = period.plan_id, period.key, period.start
    ref, actor_id, fields = period.ref, period.actor_id, period.fields
    spec = config.plans.get(plan_id)
    if spec is None:
        raise InvalidRequest({"planId": "is not a configured plan"})
    end = period.end or plans.add_months(start, 1)
    if end <= start:
        raise InvalidRequest({"periodEnd": "must be after the period's start"})
    leg = plans.period_leg(account.uid, plan_id, spec, start, end, key=key)
    if leg is not None and (ref is not None or actor_id is not None or fields):
        opened = leg.buckets
        leg = dataclasses.replace(
            leg,
            actor_id=actor_id or leg.actor_id,
            fields={**(leg.fields or {}), **(fields or {})},
            buckets=dataclasses.replace(opened, ref=ref) if ref is not None and isinstance(opened, bucket_store.Open) else opened,
        )
    record = plans.UserPlan(plan_id, start, end, period.renewal).to_firestore()
    return PlanPeriod(leg, {plans.FIELD: record}, start, end)


def plan_entry(key: str) -> EntryId:
    """The ledger entry (and bucket id) of a plan period keyed by ``key``."""
    return EntryId(EntryKind.PLAN, key)
