"""The life of a generation: the transition table, who may report what, and what an ending does.

Transitions (the contract's, and nothing else)::

    pending    -> processing | completed | failed
    processing -> processing | completed | failed
    completed, failed: final

Who may report what (the money is at stake, so the owner's word is not enough):

* the generator (the pipeline that runs the models), an admin, and the sweep: every
  transition, with ``actualQuantity`` and ``error``, on any activity;
* the owner, by default: ``processing`` with ``progress``; ``completed`` without
  ``actualQuantity`` as a *confirmation* only (contract revision 3: recorded as
  ``ownerConfirmedAt`` and answered with the activity as it stands, in any state; it never
  ends the generation, so it cannot cut off the generator's settlement); ``failed`` only while
  ``pending`` (a cancel before work started, refunded);
* the owner, when ``lifecycle.ownerReportsOutcome`` is on (products whose web client calls the
  model itself): also ``completed`` with ``actualQuantity`` and ``failed`` from ``processing``;
* anyone else: ``not_owner``.

A field the owner may never send (``actualQuantity``, ``error``) is ``not_allowed`` whatever the
state. A cancel that arrives once work has started is ``invalid_transition`` (from
``processing``): in a race between the owner's cancel and the generator's ``processing``
exactly one commit wins and the loser learns the state it lost to, whichever it is.

Every refund the owner causes (a cancel, a failure or a settlement below the charge they
report, and, when owner reports are on, an abandoned generation the sweep refunds) is an
*owner refund*: it counts toward the user's refund rate and, past the threshold, their abuse
score. Refunds for the generator's, an admin's or (owner reports off) the sweep's reports are
the product's failures, not the user's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from credits.policy.settlement import Settlement, keep, refund_all, settle
from credits.vocab import money
from credits.vocab.activity import FINAL, ActivityState, Status
from credits.vocab.entries import EntryKind, Reason, UsageChange
from credits.vocab.errors import InvalidTransition, NotAllowed, NotOwner

TRANSITIONS: dict[Status, frozenset[Status]] = {
    "pending": frozenset({"processing", "completed", "failed"}),
    "processing": frozenset({"processing", "completed", "failed"}),
    "completed": frozenset(),
    "failed": frozenset(),
}
STUCK_AFTER = dt.timedelta(minutes=30)


class Role(StrEnum):
    """Who reports, relative to the activity."""

    OWNER = "owner"
    GENERATOR = "generator"
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True)
class Report:
    """What a caller reports about a generation (an ``updateAIActivityStatus`` request)."""

    status: Status
    progress: Decimal | None = None
    actual_quantity: Decimal | None = None
    error: str | None = None


def role_of(caller_uid: str, *, is_admin: bool, is_generator: bool, owner_uid: str) -> Role:
    """The caller's role for an activity owned by ``owner_uid``; ``NotOwner`` for strangers."""
    if is_admin:
        return Role.ADMIN
    if is_generator:
        return Role.GENERATOR
    if caller_uid == owner_uid:
        return Role.OWNER
    raise NotOwner()


def is_confirmation(role: Role, report: Report, owner_reports_outcome: bool) -> bool:
    """Whether ``report`` is the owner's confirmation: ``completed`` without units while the
    owner does not report outcomes. It is recorded and ends nothing (contract revision 3).
    """
    return (
        role is Role.OWNER
        and not owner_reports_outcome
        and report.status == "completed"
        and report.actual_quantity is None
        and report.error is None
    )


def authorize(role: Role, current: Status, report: Report, owner_reports_outcome: bool) -> None:
    """Raise ``NotAllowed`` or ``InvalidTransition`` unless ``role`` may report ``report`` now."""
    owner_limited = role is Role.OWNER and not owner_reports_outcome
    if owner_limited and report.actual_quantity is not None:
        raise NotAllowed("actualQuantity", "Only the generator reports how many units a generation really produced.")
    if owner_limited and report.error is not None:
        raise NotAllowed("error", "Only the generator reports why a generation failed; an owner can only cancel.")
    if is_confirmation(role, report, owner_reports_outcome):
        return  # a confirmation changes no state, so every state accepts it
    if report.status not in TRANSITIONS[current]:
        raise InvalidTransition(current, report.status)
    if owner_limited and report.status == "failed" and current != "pending":
        raise InvalidTransition(current, report.status)  # a cancel once work has started


def is_stuck(activity: ActivityState, now: dt.datetime) -> bool:
    """Unfinished and untouched for ``STUCK_AFTER``."""
    return activity.status not in FINAL and now - activity.updated_at > STUCK_AFTER


@dataclass(frozen=True)
class Outcome:
    """What one accepted report does: to the activity, the balance, the ledger and usage."""

    status: Status
    activity_fields: dict[str, Any]
    settlement: Settlement | None = None  # None: not an ending
    entry: tuple[EntryKind, Reason] | None = None  # the ledger entry when the balance moves
    usage: UsageChange = field(default_factory=UsageChange)
    owner_refund: bool = False
    processing_ms: int | None = None

    @property
    def delta(self) -> int:
        """The change to the user's balance."""
        return 0 if self.settlement is None else self.settlement.delta


def decide(
    activity: ActivityState,
    report: Report,
    role: Role,
    *,
    balance: int,
    owner_reports_outcome: bool,
    now: dt.datetime,
) -> Outcome:
    """What an authorized report does (call ``authorize`` first)."""
    if is_confirmation(role, report, owner_reports_outcome):
        # Not ``updatedAt``: a confirmation is no sign of life from the pipeline, so a
        # generation the generator abandoned is still swept after 30 minutes. An ended
        # generation is answered as it stands and not written again.
        confirmed = {} if activity.status in FINAL else {"ownerConfirmedAt": now}
        return Outcome(status=activity.status, activity_fields=confirmed)
    fields: dict[str, Any] = {"status": report.status, "updatedAt": now}
    if activity.status == "pending" and report.status == "processing":
        fields["startedAt"] = now
    if report.status == "processing":
        if report.progress is not None:
            fields["progress"] = money.decimal_to_json(report.progress)
        return Outcome(status="processing", activity_fields=fields)

    started = activity.started_at or activity.created_at
    processing_ms = max(0, int((now - started).total_seconds() * 1000))
    fields.update({"completedAt": now, "processingTimeMs": processing_ms, "endedBy": role.value})
    settlement, entry, failures = _ending(activity, report, role, balance, fields)
    owner_refund = settlement.refund > 0 and (role is Role.OWNER or (role is Role.SYSTEM and owner_reports_outcome))
    fields.update({"creditsCharged": settlement.final, "refundedCredits": settlement.refund, "ownerRefund": owner_refund})
    usage = UsageChange(
        credits_used=settlement.extra - settlement.refund,
        refunds=1 if settlement.refund else 0,
        failures=failures,
        owner_refunds=1 if owner_refund else 0,
        owner_refunded_credits=settlement.refund if owner_refund else 0,
    )
    return Outcome(
        status=report.status,
        activity_fields=fields,
        settlement=settlement,
        entry=entry,
        usage=usage,
        owner_refund=owner_refund,
        processing_ms=processing_ms,
    )


def _ending(
    activity: ActivityState, report: Report, role: Role, balance: int, fields: dict[str, Any]
) -> tuple[Settlement, tuple[EntryKind, Reason] | None, int]:
    """How a completion or a failure settles the charge: the settlement, its ledger entry (None
    when the balance does not move) and the failures it counts; the activity's fields it sets
    go into ``fields``.
    """
    charged = activity.credits_charged
    entry: tuple[EntryKind, Reason] | None = None
    if report.status == "completed":
        fields["progress"] = 100
        if report.actual_quantity is None:
            settlement = keep(charged)
        else:
            settlement = settle(charged, activity.unit_cost, report.actual_quantity, balance)
            fields["actualQuantity"] = money.decimal_to_json(report.actual_quantity)
        if settlement.delta:
            reason = Reason.SETTLEMENT_REFUND if settlement.delta > 0 else Reason.SETTLEMENT_CHARGE
            entry = (EntryKind.SETTLE, reason)
        if settlement.uncollected:
            fields["uncollectedCredits"] = settlement.uncollected
        failures = 0
    else:
        settlement = refund_all(charged)
        fields["error"] = report.error
        fields["failureSource"] = role.value
        if settlement.refund:
            entry = (EntryKind.REFUND, Reason.FAILURE_REFUND)
        failures = 1
    return settlement, entry, failures
