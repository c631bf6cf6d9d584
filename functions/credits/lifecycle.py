"""The life of a generation after its charge: progress, completion with settlement, failure.

Transitions (the contract's, and nothing else)::

    pending    -> processing | completed | failed
    processing -> processing | completed | failed
    completed, failed: final

``completed`` with ``actualQuantity`` settles at the unit cost charged (the activity keeps
it; a later price change does not touch a running generation): the surplus is refunded, or
the shortfall charged up to the available balance, never below zero (what could not be
collected is recorded as ``uncollectedCredits``). ``failed`` refunds the whole net charge.
Each is one ledger entry with a deterministic id (``settle_{id}`` / ``refund_{id}``) in the
same atomic commit as the balance change, the final activity state and exactly one
``usage_logs/{id}`` entry; so concurrent or repeated updates refund and settle at most once:
the loser of a race re-reads a final activity and is refused with ``invalid_transition``.

Client-reported failures are a refund path a client could abuse (generate, then report
``failed``). They stay, but each refund records its source, the user's counters
(``usage.clientFailures`` against ``usage.generations``) make the refund rate visible, and a
rate past ``config.abuse.refundRateThreshold`` raises an abuse event (at most once a day).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from google.cloud import firestore

from . import abuse, db, ledger, money
from .atomic import Attempt, Plan, Stats, run
from .charging import QUANTITY_RULES, config_ref
from .clock import Clock
from .config import from_document
from .context import Caller, ClientContext
from .errors import InvalidRequest, InvalidTransition, NotFound, NotOwner
from .validation import Fields

_ID = __import__("re").compile(r"^[A-Za-z0-9_-]{1,128}$")

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing", "completed", "failed"}),
    "processing": frozenset({"processing", "completed", "failed"}),
    "completed": frozenset(),
    "failed": frozenset(),
}
FINAL = frozenset({"completed", "failed"})
STUCK_AFTER = dt.timedelta(minutes=30)

# Who reported a failure: a client's own report counts toward its refund rate.
SOURCE_CLIENT = "client"
SOURCE_ADMIN = "admin"
SOURCE_SYSTEM = "system"


@dataclass(frozen=True)
class StatusRequest:
    """What ``updateAIActivityStatus`` accepts (see the contract)."""

    activity_id: str
    status: str
    progress: Decimal | None = None
    actual_quantity: Decimal | None = None
    error: str | None = None

    FIELDS = frozenset({"activityId", "status", "progress", "actualQuantity", "error"})

    @classmethod
    def parse(cls, data: Any) -> StatusRequest:
        f = Fields(data, set(cls.FIELDS))
        activity_id = f.document_id("activityId", pattern=_ID)
        status = f.choice("status", ("processing", "completed", "failed"))
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


def check_actual(kind: str, actual: Decimal) -> None:
    """``actualQuantity`` in the activity type's units and bounds (zero allowed)."""
    integer, _low, high, _default = QUANTITY_RULES.get(kind, (False, Decimal(0), Decimal(0), None))
    if integer and actual != actual.to_integral_value():
        raise InvalidRequest({"actualQuantity": f"must be a whole number for {kind}"})
    if actual > high:
        raise InvalidRequest({"actualQuantity": f"must be at most {money.decimal_to_json(high)} for {kind}"})


def update_status(
    client: firestore.Client,
    clock: Clock,
    caller: Caller,
    ctx: ClientContext,
    request: StatusRequest,
    *,
    source: str | None = None,
    only_if_stuck: bool = False,
    stats_out: Stats | None = None,
) -> dict[str, Any]:
    """Apply one status update; returns the contract's response or raises a refusal.

    ``only_if_stuck`` (the sweep) re-checks inside the step that the activity is still
    unfinished and untouched for ``STUCK_AFTER``, so a sweep racing a live update does nothing.
    """
    activity_ref = client.collection(db.AI_ACTIVITY).document(request.activity_id)
    failure_source = source or (SOURCE_ADMIN if caller.is_admin else SOURCE_CLIENT)
    # Marks this call's write on the activity: if a commit's answer is lost, the retry can
    # tell "my update applied" from "someone else's did" (see atomic.Attempt.ambiguous).
    token = uuid.uuid4().hex

    needs_config = request.status == "failed" and failure_source == SOURCE_CLIENT
    cfg_ref = config_ref(client)
    # The owner's own update (the common case) knows whose balance it touches before reading:
    # activity, user and configuration then come in one round trip instead of two.
    caller_ref = client.collection(db.USERS).document(caller.uid)

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        first = [activity_ref, caller_ref, cfg_ref] if needs_config else [activity_ref, caller_ref]
        got = attempt.get(first if not caller.is_admin else [activity_ref])
        activity_snap = got[activity_ref.path]
        if not activity_snap.exists:
            raise NotFound("The activity")
        activity = activity_snap.to_dict() or {}
        uid = activity.get("userId")
        if uid != caller.uid and not caller.is_admin:
            raise NotOwner()
        last = activity.get("lastUpdate")
        if attempt.ambiguous and isinstance(last, dict) and last.get("token") == token:
            return Plan(result=dict(last.get("response") or {}))
        current = activity.get("status")
        if not isinstance(current, str) or request.status not in TRANSITIONS.get(current, frozenset()):
            raise InvalidTransition(str(current), request.status)
        if only_if_stuck and not _is_stuck(activity, now):
            return Plan(result={"activityId": activity_ref.id, "status": current, "skipped": True})
        if request.actual_quantity is not None:
            check_actual(str(activity.get("type")), request.actual_quantity)

        user_ref = client.collection(db.USERS).document(str(uid))
        if user_ref.path not in got:  # an admin's update: now we know whose user to read
            got.update(attempt.get([user_ref, cfg_ref] if needs_config else [user_ref]))
        user = got[user_ref.path]
        if not user.exists:
            raise NotFound("The activity's user")
        user_data = user.to_dict() or {}
        balance = ledger.balance_of(user_data)
        charged = int(activity.get("creditsCharged", 0))
        kind = str(activity.get("type"))
        plan: Plan[dict[str, Any]] = Plan()

        fields: dict[str, Any] = {"status": request.status, "updatedAt": now}
        if current == "pending" and request.status != "pending":
            fields["startedAt"] = now if request.status == "processing" else activity.get("startedAt")
        if request.status == "processing":
            if request.progress is not None:
                fields["progress"] = money.decimal_to_json(request.progress)
            plan.result = _response(activity_ref.id, "processing", charged, 0, balance, None)
            fields["lastUpdate"] = {"token": token, "response": plan.result}
            plan.put(activity_snap, fields)
            return plan

        started = activity.get("startedAt") or activity.get("createdAt") or now
        processing_ms = max(0, int((now - started).total_seconds() * 1000))
        fields.update({"completedAt": now, "processingTimeMs": processing_ms})
        delta = 0  # change to the user's balance
        refund = 0
        extra = 0
        uncollected = 0
        usage = ledger.usage_of(user_data)

        if request.status == "completed":
            fields["progress"] = 100
            if request.actual_quantity is not None:
                unit = money.to_decimal(activity.get("unitCost", 0))
                final = money.charge_for(request.actual_quantity, unit)
                fields["actualQuantity"] = money.decimal_to_json(request.actual_quantity)
                if final < charged:
                    refund = charged - final
                elif final > charged:
                    extra = min(final - charged, balance)
                    uncollected = final - charged - extra
                delta = refund - extra
            if delta:
                reason = ledger.SETTLEMENT_REFUND if delta > 0 else ledger.SETTLEMENT_CHARGE
                plan.create(
                    ledger.ref(client, f"settle_{activity_ref.id}"),
                    ledger.entry(
                        str(uid),
                        delta,
                        balance + delta,
                        reason,
                        now,
                        activity_id=activity_ref.id,
                        actor_id=caller.uid,
                        generation_type=kind,
                    ),
                )
            if uncollected:
                fields["uncollectedCredits"] = uncollected
        else:
            refund = charged
            delta = refund
            fields["error"] = request.error
            fields["failureSource"] = failure_source
            if refund:
                plan.create(
                    ledger.ref(client, f"refund_{activity_ref.id}"),
                    ledger.entry(
                        str(uid),
                        refund,
                        balance + refund,
                        ledger.FAILURE_REFUND,
                        now,
                        activity_id=activity_ref.id,
                        actor_id=caller.uid,
                        note=f"failure reported by {failure_source}",
                        generation_type=kind,
                    ),
                )
            usage["failures"] = int(usage.get("failures", 0)) + 1
            if failure_source == SOURCE_CLIENT:
                usage["clientFailures"] = int(usage.get("clientFailures", 0)) + 1

        net = charged - refund + extra
        fields.update({"creditsCharged": net, "refundedCredits": refund})
        if refund:
            usage["refunds"] = int(usage.get("refunds", 0)) + 1
        usage["creditsUsed"] = int(usage.get("creditsUsed", 0)) - refund + extra
        user_fields: dict[str, Any] = {"usage": usage, "updatedAt": now}
        if delta:
            user_fields["credits"] = balance + delta

        if needs_config:
            config = from_document(got[cfg_ref.path].to_dict() if got[cfg_ref.path].exists else None)
            suspension = _refund_rate_event(attempt, plan, now, config, caller, user, usage, ctx, activity)
            if suspension:
                user_fields.update(suspension)
        if delta or usage != ledger.usage_of(user_data) or "status" in user_fields:
            # A plain completion changes nothing on the user: one write less per generation.
            plan.put(user, user_fields)
        result = _response(activity_ref.id, request.status, net, refund, balance + delta, processing_ms)
        fields["lastUpdate"] = {"token": token, "response": result}
        plan.put(activity_snap, fields)
        plan.create(
            client.collection(db.USAGE_LOGS).document(activity_ref.id),
            {
                "userId": uid,
                "activityId": activity_ref.id,
                "type": kind,
                "model": activity.get("model"),
                "status": request.status,
                "quantity": activity.get("quantity"),
                "actualQuantity": fields.get("actualQuantity"),
                "creditsCharged": net,
                "refundedCredits": refund,
                "uncollectedCredits": uncollected,
                "processingTimeMs": processing_ms,
                "failureSource": fields.get("failureSource"),
                "startedAt": activity.get("createdAt"),
                "completedAt": now,
                "createdAt": now,
            },
        )
        plan.result = result
        return plan

    return run(client, step, lock_key=f"activity:{request.activity_id}", stats=stats_out)


def _response(
    activity_id: str, status: str, charged: int, refunded: int, remaining: int, processing_ms: int | None
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "activityId": activity_id,
        "status": status,
        "creditsCharged": charged,
        "refundedCredits": refunded,
        "remainingCredits": remaining,
    }
    if processing_ms is not None:
        result["processingTimeMs"] = processing_ms
    return result


def _is_stuck(activity: dict[str, Any], now: dt.datetime) -> bool:
    if activity.get("status") not in ("pending", "processing"):
        return False
    touched = activity.get("updatedAt") or activity.get("createdAt")
    return isinstance(touched, dt.datetime) and now - touched > STUCK_AFTER


def _refund_rate_event(
    attempt: Attempt,
    plan: Plan[Any],
    now: dt.datetime,
    config: Any,
    caller: Caller,
    user: Any,
    usage: dict[str, Any],
    ctx: ClientContext,
    activity: dict[str, Any],
) -> dict[str, Any] | None:
    """A client-reported failure may push the refund rate past the threshold: record it.

    Returns the suspension fields to merge into the user's update when the event suspends
    (``abuse.record`` cannot write the user itself here: this plan already does).
    """
    generations = int(usage.get("generations", 0))
    failures = int(usage.get("clientFailures", 0))
    if generations < config.abuse.refundRateMinGenerations:
        return None
    rate = Decimal(failures) / Decimal(generations)
    if rate < config.abuse.refundRateThreshold:
        return None
    score_ref = abuse.score_ref(attempt, str(activity.get("userId")))
    score = attempt.get([score_ref])[score_ref.path]
    previous = (score.to_dict() or {}).get("lastRefundRateEventAt")
    if isinstance(previous, dt.datetime) and now - previous < dt.timedelta(hours=24):
        return None
    uid = str(activity.get("userId"))
    outcome = abuse.record(
        attempt,
        plan,
        now=now,
        config=config,
        uid=uid,
        caller=caller,
        user=user,
        ctx=ctx,
        event=abuse.Event(
            kind=abuse.REFUND_RATE,
            severity="medium",
            device_id=activity.get("deviceId"),
            detail={"clientFailures": failures, "generations": generations, "rate": float(rate)},
        ),
        write_user=False,
        score_snapshot=score,
    )
    return outcome.suspension
