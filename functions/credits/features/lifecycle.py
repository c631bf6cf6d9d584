"""``updateAIActivityStatus`` and the sweep: a generation's progress and its one ending.

Who may report what, the transition table and what an ending does to the money are decided
by ``policy.lifecycle`` (the trust model) and ``policy.settlement`` (the arithmetic); this module
reads the activity, the owner's account and the configuration, calls them, and commits the
outcome as one atomic batch: the activity's new state, the balance change and its ledger entry
(``settle_{id}`` or ``refund_{id}``, through ``ledger.post``), exactly one ``usage_logs/{id}``
entry, and, when the owner caused a refund past the refund-rate threshold, an abuse event.

Exactly once: the commit is guarded by the activity as read, and the entries' ids are
deterministic, so of two racing reports (the owner's cancel against the generator's
``processing``, the owner's ``completed`` against the generator's ``failed``, the sweep against a
late report) exactly one commits; the other re-reads a changed activity and is refused with
``invalid_transition`` naming the state it lost to.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from google.cloud import firestore

from credits.features import abuse, accounts
from credits.features.command import Command
from credits.policy import lifecycle as policy
from credits.policy.abuse import refund_rate_exceeded
from credits.policy.buckets import Drawn, returns_for
from credits.policy.lifecycle import Outcome, Report, Role
from credits.policy.settlement import Settlement
from credits.store import buckets as bucket_store, config_store, db
from credits.store.atomic import Attempt, Plan
from credits.store.buckets import Return
from credits.store.db import Snapshot
from credits.store.ledger import Change, EntryId, Leg
from credits.vocab import activity
from credits.vocab.activity import ActivityState, Status
from credits.vocab.config import CreditConfig
from credits.vocab.context import Caller, ClientContext
from credits.vocab.contract.callables import StatusResponse
from credits.vocab.errors import DataInvalid, NotFound
from credits.vocab.pricing import check_actual
from credits.vocab.validation import Fields

_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
REPORTABLE: tuple[Status, ...] = ("processing", "completed", "failed")


@dataclass(frozen=True)
class StatusRequest:
    """What ``updateAIActivityStatus`` accepts (see the contract)."""

    activity_id: str
    status: Status
    progress: Decimal | None = None
    actual_quantity: Decimal | None = None
    error: str | None = None

    FIELDS = frozenset({"activityId", "status", "progress", "actualQuantity", "error"})

    @classmethod
    def parse(cls, data: Any) -> StatusRequest:
        """Validate a request; ``InvalidRequest`` names every bad field."""
        f = Fields(data, set(cls.FIELDS))
        activity_id = f.document_id("activityId", pattern=_ID)
        status = f.choice("status", REPORTABLE)
        progress = None
        if f.present("progress"):
            progress = f.decimal("progress", above=Decimal(-1), high=Decimal(100))
            if progress is not None and progress < 0:
                f.fail("progress", "must be between 0 and 100")
            if status == "failed":
                f.fail("progress", "is not accepted with status failed")
        actual = None
        if f.present("actualQuantity"):
            if status != "completed":
                f.fail("actualQuantity", "is only accepted with status completed")
            else:
                actual = f.decimal("actualQuantity", above=Decimal(-1), high=Decimal(1_000_000))
                if actual is not None and actual < 0:
                    f.fail("actualQuantity", "must be >= 0")
        error = None
        if f.present("error"):
            if status != "failed":
                f.fail("error", "is only accepted with status failed")
            else:
                error = f.string("error", min_len=0, max_len=1000)
        f.raise_if_any()
        assert activity_id is not None and status is not None
        return cls(activity_id, status, progress, actual, error or None)

    def report(self) -> Report:
        """The report, without the activity id."""
        return Report(self.status, self.progress, self.actual_quantity, self.error)


def update_status(cmd: Command, request: StatusRequest) -> StatusResponse:
    """Apply one report; returns the contract's response or raises a refusal."""
    result = _apply(cmd, request, system=False, only_if_stuck=False)
    assert not isinstance(result, Skipped)  # only the sweep skips
    return result


@dataclass(frozen=True)
class Skipped:
    """What the sweep found: the activity is no longer stuck, so nothing was written."""

    activity_id: str
    status: str


Answer = StatusResponse | Skipped


def end_stuck(cmd: Command, request: StatusRequest) -> Answer:
    """The sweep's report (with the generator's authority) on an activity it found stuck: it
    re-checks inside the step that the activity is still unfinished and untouched for
    ``STUCK_AFTER``, so a sweep racing a live report does nothing (``Skipped``).
    """
    return _apply(cmd, request, system=True, only_if_stuck=True)


def _apply(cmd: Command, request: StatusRequest, *, system: bool, only_if_stuck: bool) -> Answer:
    client, clock, caller = cmd.client, cmd.clock, cmd.caller
    activity_ref = db.activity_ref(client, request.activity_id)
    report = request.report()
    # Marks this call's write on the activity: if a commit's answer is lost, the retry can
    # tell "my update applied" from "someone else's did" (see atomic.Attempt.ambiguous).
    token = uuid.uuid4().hex
    trusted = system or caller.is_admin or caller.is_generator
    # The owner's own report (the common case from a browser) knows whose account it
    # touches before reading: activity, account and configuration come in one round trip.
    first = [activity_ref, config_store.applied_ref(client)]
    if not trusted:
        first.append(accounts.user_ref(client, caller.uid))

    def step(attempt: Attempt) -> Plan[Answer]:
        now = clock.now()
        got = attempt.get(first)
        activity_snap = got[activity_ref.path]
        if not activity_snap.exists:
            raise NotFound("The activity")
        state = activity.parse(activity_ref.id, activity_snap.to_dict() or {})
        role = (
            Role.SYSTEM
            if system
            else policy.role_of(caller.uid, is_admin=caller.is_admin, is_generator=caller.is_generator, owner_uid=state.user_id)
        )
        last = state.last_update
        if attempt.ambiguous and last is not None and last.get("token") == token:
            return Plan(result=StatusResponse.model_validate(last.get("response") or {}))
        applied = config_store.load(attempt, got[config_store.applied_ref(client).path])
        owner_reports = applied.credits.lifecycle.ownerReportsOutcome
        if only_if_stuck and not policy.is_stuck(state, now):
            return Plan(result=Skipped(state.id, state.status))
        policy.authorize(role, state.status, report, owner_reports)
        if report.actual_quantity is not None:
            check_actual(state.type, report.actual_quantity)
        user_ref = accounts.user_ref(client, state.user_id)
        if user_ref.path not in got:  # a trusted report: now we know whose account to read
            got.update(attempt.get([user_ref]))
        account = accounts.prepare(
            attempt, got[user_ref.path], caller if role is Role.OWNER else None, applied.credits, now, None
        )
        outcome = policy.decide(state, report, role, balance=account.balance, owner_reports_outcome=owner_reports, now=now)
        return _plan(attempt, _Reported(activity_snap, state, outcome, role, caller, token, now), account, applied)

    return cmd.commit("updateAIActivityStatus", step, lock_key=f"activity:{request.activity_id}")


@dataclass(frozen=True)
class _Reported:
    """A report decided inside the step: the activity as read, what the report does, who made
    it, and the call's token and clock reading.
    """

    activity_snap: Snapshot
    state: ActivityState
    outcome: Outcome
    role: Role
    caller: Caller
    token: str
    now: dt.datetime


def _plan(attempt: Attempt, reported: _Reported, account: accounts.Prepared, applied: config_store.Applied) -> Plan[Answer]:
    """The plan of a decided report: the activity, and for an ending the posting and the usage log."""
    client = attempt.client
    config = applied.credits
    state, outcome, now = reported.state, reported.outcome, reported.now
    plan: Plan[Answer] = Plan()
    settlement = outcome.settlement
    if settlement is None:  # progress, or the owner's confirmation: the activity as it stands
        return _unsettled(plan, client, reported, account, config)
    fields = dict(outcome.activity_fields)
    drawn = _draws(state)
    legs = _settle_legs(reported, settlement, drawn)
    suspension = None
    if outcome.owner_refund:
        suspension = _refund_rate_check(attempt, plan, reported, account, applied)
    balance = account.balance
    if legs or outcome.usage or suspension or account.must_write:
        posting = account.post_change(
            plan, client, Change(legs, now, config.lowBalanceThreshold, usage=outcome.usage, fields=suspension)
        )
        balance = posting.balance_after
        if settlement.delta < 0 and posting.drawn:
            fields["bucketDraws"] = bucket_store.drawn_to_firestore([*drawn, *posting.drawn[0]])
    result = _response(state.id, outcome.status, settlement.final, settlement.refund, balance, outcome.processing_ms)
    fields["lastUpdate"] = {"token": reported.token, "response": result.model_dump(exclude_unset=True)}
    plan.put(reported.activity_snap, fields)
    _create_usage_log(plan, client, reported, settlement, fields)
    plan.result = result
    return plan


def _unsettled(
    plan: Plan[Answer], client: firestore.Client, reported: _Reported, account: accounts.Prepared, config: CreditConfig
) -> Plan[Answer]:
    """Progress, or the owner's confirmation: the activity as it stands, the balance unmoved."""
    state, outcome = reported.state, reported.outcome
    fields = dict(outcome.activity_fields)
    refunded, took = state.data.get("refundedCredits"), state.data.get("processingTimeMs")
    result = _response(
        state.id,
        outcome.status,
        state.credits_charged,
        refunded if isinstance(refunded, int) and not isinstance(refunded, bool) else 0,
        account.balance,
        took if isinstance(took, int) and not isinstance(took, bool) else None,
    )
    if account.must_write:
        account.post(plan, client, now=reported.now, low_balance_below=config.lowBalanceThreshold)
    if fields:  # empty: the owner's confirmation of an ended generation writes nothing
        fields["lastUpdate"] = {"token": reported.token, "response": result.model_dump(exclude_unset=True)}
        plan.put(reported.activity_snap, fields)
    plan.result = result
    return plan


def _settle_legs(reported: _Reported, settlement: Settlement, drawn: list[Drawn]) -> tuple[Leg, ...]:
    """The ledger leg of an ending that moves the balance (none when it does not)."""
    if reported.outcome.entry is None:
        return ()
    state = reported.state
    kind, reason = reported.outcome.entry
    return (
        Leg(
            settlement.delta,
            EntryId(kind, state.id),
            reason,
            activity_id=state.id,
            actor_id=reported.caller.uid,
            note=f"reported by {reported.role.value}",
            generation_type=state.type,
            # A refund goes back to the buckets the charge drew from; an extra charge
            # draws in spend order.
            buckets=Return(tuple(returns_for(drawn, settlement.delta))) if settlement.delta > 0 else None,
        ),
    )


def _create_usage_log(
    plan: Plan[Answer], client: firestore.Client, reported: _Reported, settlement: Settlement, fields: dict[str, Any]
) -> None:
    """``usage_logs/{activityId}``: the ended generation, as the statistics count it."""
    state, outcome, now = reported.state, reported.outcome, reported.now
    plan.create(
        client.collection(db.USAGE_LOGS).document(state.id),
        {
            "userId": state.user_id,
            "activityId": state.id,
            "type": state.type,
            "model": state.data.get("model"),
            "status": outcome.status,
            "quantity": state.data.get("quantity"),
            "actualQuantity": fields.get("actualQuantity"),
            "creditsCharged": settlement.final,
            "refundedCredits": settlement.refund,
            "uncollectedCredits": settlement.uncollected,
            "processingTimeMs": outcome.processing_ms,
            "failureSource": fields.get("failureSource"),
            "endedBy": reported.role.value,
            "ownerRefund": outcome.owner_refund,
            "startedAt": state.created_at,
            "completedAt": now,
            "createdAt": now,
        },
    )


def _draws(state: ActivityState) -> list[Drawn]:
    """What the charge drew from which bucket (``bucketDraws``). An activity charged before
    buckets existed drew from the balance, now the user's ``legacy`` bucket.
    """
    raw = state.data.get("bucketDraws")
    if raw is None:
        charged = state.credits_charged
        if charged <= 0:
            return []
        legacy = bucket_store.legacy_id(state.user_id)
        return [Drawn(legacy, charged, "legacy", None, None, state.created_at or dt.datetime(1970, 1, 1, tzinfo=dt.UTC))]
    drawn = bucket_store.drawn_from_firestore(raw)
    if drawn is None:
        raise DataInvalid(activity.path_of(state.id), {"bucketDraws": "must be a list of bucket draws"})
    return drawn


def _refund_rate_check(
    attempt: Attempt,
    plan: Plan[Answer],
    reported: _Reported,
    account: accounts.Prepared,
    applied: config_store.Applied,
) -> dict[str, Any] | None:
    """An owner refund past the refund-rate threshold is an abuse event (suspension fields
    back for the caller's own write of the account, or None).
    """
    state, now = reported.state, reported.now
    usage = reported.outcome.usage.apply(account.usage)
    thresholds = applied.abuse
    if not refund_rate_exceeded(
        usage["ownerRefunds"], usage["generations"], thresholds.refundRateMinGenerations, thresholds.refundRateThreshold
    ):
        return None
    who = abuse.Offender(state.user_id, account.status == "suspended", ClientContext(ip=state.ip), f"refund_{state.id}")
    recorded = abuse.record(
        attempt,
        plan,
        who,
        abuse.Event(
            kind="refund_rate",
            severity="medium",
            device_id=state.device_id,
            detail={
                "ownerRefunds": usage["ownerRefunds"],
                "generations": usage["generations"],
                "rate": float(Decimal(usage["ownerRefunds"]) / Decimal(max(1, usage["generations"]))),
                "activityId": state.id,
            },
        ),
        now=now,
        thresholds=thresholds,
    )
    return recorded.suspension


def _response(
    activity_id: str, status: Status, charged: int, refunded: int, remaining: int, processing_ms: int | None
) -> StatusResponse:
    response = StatusResponse(
        activityId=activity_id, status=status, creditsCharged=charged, refundedCredits=refunded, remainingCredits=remaining
    )
    # ``processingTimeMs`` only once the generation ended: set only then, so it is sent only then.
    return response if processing_ms is None else response.model_copy(update={"processingTimeMs": processing_ms})


__all__ = ["Skipped", "StatusRequest", "end_stuck", "update_status"]
