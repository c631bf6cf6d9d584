"""The seam between payments and the account's grant buckets: what a paid grant and a
claw-back post, as ledger legs, through the buckets' own operations (``credits.features.grants``).

- A pack is a ``purchase`` bucket, ``purchase_{paymentId}`` (entry and bucket id), whose
  ``ref`` names the payment (``payments/{paymentId}``), expiring ``expiresInDays`` after the
  payment or never.
- A plan period is ``grants.start_plan_period``: one ``plan`` bucket, ``plan_{key}``, expiring
  at the period's end plus the plan's ``rolloverPeriods``, granted once per key; its ``ref``
  names the invoice's payment.
- A debt is paid first, out of the new bucket (``debtpay_{paymentId}``: a claw-back from that
  bucket), so the ledger shows the whole grant and what went to the debt.
- A claw-back takes from the payment's own bucket first, then in the buckets' claw-back
  order (reverse spend order, purchases last); what is not there is the shortfall, which the
  webhook records as ``debt`` (a balance never goes below zero).

The webhook hands over amounts, ids and the account; it gets legs and numbers back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from credits.features import grants as bucket_grants
from credits.features.accounts import Prepared
from credits.features.payments import policy
from credits.store.buckets import ClawBack
from credits.store.ledger import EntryId, EntryKind, Leg, Reason
from credits.vocab.config import CreditConfig

ACTOR = "stripe"


@dataclass(frozen=True)
class Granted:
    """The legs of a paid grant, its bucket and the debt left after it."""

    legs: tuple[Leg, ...]
    bucket_id: str | None  # None: nothing was granted (a plan of 0 credits a month)
    credits: int  # the grant as paid for
    credited: int  # what became spendable (the grant less what paid the debt)
    debt_after: int


def purchase_entry(payment_id: str) -> EntryId:
    """The entry (and bucket id) of a pack's purchase: ``purchase_{paymentId}``."""
    return EntryId(EntryKind.PURCHASE, payment_id)


def plan_key(subscription: str | None, period_start: int | None) -> str:
    """The key of a paid plan period: its subscription and the period's start (epoch seconds),
    so a period is granted once whichever invoices report it.
    """
    return f"{subscription}_{period_start or 0}"


def _with_debt(grant: Leg, bucket_id: str, payment_id: str, credits: int, debt: int) -> Granted:
    split = policy.credit(debt, credits)
    legs = [grant]
    if split.to_debt:
        legs.append(
            Leg(
                -split.to_debt,
                EntryId(EntryKind.DEBTPAY, payment_id),
                Reason.DEBT_PAYMENT,
                actor_id=ACTOR,
                note=f"{split.to_debt} of a debt of {debt} paid off",
                fields={"paymentId": payment_id},
                buckets=ClawBack(bucket_id),  # out of the new bucket, which holds it
            )
        )
    return Granted(tuple(legs), bucket_id, credits, split.to_balance, debt - split.to_debt)


def grant_pack(*, payment_id: str, credits: int, expires_at: dt.datetime | None, debt: int) -> Granted:
    """A pack's ``purchase`` bucket of ``credits``; the debt is paid off first."""
    entry = purchase_entry(payment_id)
    leg = bucket_grants.bucket_grant_leg(
        entry,
        credits,
        bucket_grants.NewBucket("purchase", expires_at, f"payments/{payment_id}"),
        Reason.PURCHASE,
        fields={"paymentId": payment_id, "source": "purchase"},
    )
    return _with_debt(dataclasses.replace(leg, actor_id=ACTOR), str(entry), payment_id, credits, debt)


@dataclass(frozen=True)
class PaidPeriod:
    """A plan period paid through Stripe: the payment, the period's key (its ledger id names
    it, ``plan_key``) and its bounds.
    """

    payment_id: str
    key: str
    start: dt.datetime
    end: dt.datetime


def grant_plan_period(
    account: Prepared, config: CreditConfig, plan_id: str, paid: PaidPeriod, *, debt: int
) -> tuple[Granted, bucket_grants.PlanPeriod]:
    """A paid period of ``plan_id`` (``grants.start_plan_period``, renewal by payment); the
    debt is paid off first. ``InvalidRequest`` for a plan the configuration does not have.
    """
    period = bucket_grants.start_period(
        account,
        config,
        bucket_grants.PeriodStart(
            plan_id,
            paid.key,
            paid.start,
            paid.end,
            renewal="payment",
            ref=f"payments/{paid.payment_id}",
            actor_id=ACTOR,
            fields={"paymentId": paid.payment_id, "source": "plan"},
        ),
    )
    if period.leg is None or period.leg.entry is None:
        return Granted((), None, 0, 0, debt), period
    return _with_debt(period.leg, str(period.leg.entry), paid.payment_id, period.leg.delta, debt), period


@dataclass(frozen=True)
class Clawed:
    """The leg of a claw-back (None when nothing could be taken) and its shortfall."""

    leg: Leg | None
    taken: int
    shortfall: int


@dataclass(frozen=True)
class Claw:
    """A claw-back for a payment: ``wanted`` credits, from the payment's bucket first.

    ``clawed_total`` is the payment's claw-back total after this one: it names the entry, so
    the same claw-back is never posted twice. ``why`` is the entry's note.
    """

    payment_id: str
    bucket_id: str | None
    wanted: int
    clawed_total: int
    why: str


def claw_back(account: Prepared, claw: Claw, *, after: Sequence[Leg] = ()) -> Clawed:
    """Take ``claw.wanted`` credits back for a payment (a refund's share, a dispute): from the
    payment's bucket first, then in claw-back order. ``after``: the legs this posting applies
    first (a grant that arrives with its reversal). What the buckets cannot cover is the
    shortfall, which becomes debt (never a negative balance).
    """
    if claw.wanted <= 0:
        return Clawed(None, 0, 0)
    entry = EntryId(EntryKind.CLAWBACK, f"{claw.payment_id}_{claw.clawed_total}")
    record = bucket_grants.ClawbackEntry(entry, Reason.PAYMENT_CLAWBACK, note=claw.why, actor_id=ACTOR)
    result = bucket_grants.clawback(account, claw.wanted, record, first=claw.bucket_id, after=after)
    leg = result.leg
    if leg is not None:
        fields = {"paymentId": claw.payment_id, "bucketId": claw.bucket_id, "shortfall": result.shortfall}
        leg = dataclasses.replace(leg, fields=fields)
    return Clawed(leg, result.taken, result.shortfall)
