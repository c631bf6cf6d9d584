"""``validateAndDeductCredits``: price a generation, check it, charge it, open its activity.

The decision (the contract's order of checks, what a refusal records) is
``policy.charge.decide``; this module reads what it needs in one batched read, calls it, and
turns the answer into one atomic commit: the deduction and its ledger entry (through
``ledger.post``, with the account's opening on a first call), ``ai_activity/{activityId}``
with status ``pending``, the user's rate-limit windows (a map on the user's document, written
with the account) and the address's log. The whole step is optimistic (see ``atomic``), so N
parallel calls for one user with balance B and cost c charge exactly ``min(N, B // c)`` times.

Idempotency: with a ``requestId`` the activity id is derived from ``(uid, requestId)``, so the
activity document *is* the idempotency record: two concurrent calls with the same key cannot
both create it, and the loser, on its retry, finds it and returns the stored first response.
A reused key with other parameters (type, quantity, model or prompt) is ``invalid_request`` on
``requestId``. Keys are safe for ever: the charge's ledger entry ``charge_{activityId}`` is
permanent (written even for a free generation), so a key whose activity was cleaned up is
answered at once with ``invalid_request`` instead of charging again. A call without a key
never double-charges on an ambiguous commit either: its retry looks for the activity it tried
to create, and a refusal's retry for its own mark (``lastCall``, its abuse record).

Reads per call: the applied configuration, the user (its rate-limit windows included), and
with a known address its record and two block documents (one by id, the small range index); a
key adds the activity and its charge entry. A first call adds the sign-up lookup (an aggregation and one
document); a new moderation version adds the terms once per instance.

Moderation (``prompt_verdict``, shared with ``testModeration``): the category rules, the
operator's terms and the configured actions decide locally; a refused prompt is
``prompt_rejected``, a flagged one is charged and carries ``moderation: {action: "flag",
category, source}`` on its activity and an abuse event. With the provider switched on, the
second opinion is asked once per call (not once per optimistic attempt), within what is
left of the call's time budget.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from google.cloud import firestore
from pydantic import ValidationError

from credits.features import abuse, accounts
from credits.features.command import Command
from credits.moderation import ModerationUnavailable, Verdict, installed, judge
from credits.policy import abuse as abuse_policy, charge as charge_policy
from credits.policy.charge import Approval, ChargeState, Refusal, Window
from credits.policy.signup import live_grants, with_grant
from credits.store import buckets as bucket_store, config_store, db, ip_blocks, ledger, notifications, rate_limit
from credits.store.atomic import Attempt, Plan
from credits.store.db import Snapshot
from credits.store.ledger import EntryId, EntryKind, Leg, Reason, UsageChange
from credits.vocab import idempotency, money
from credits.vocab.activity import activity_id_for
from credits.vocab.clock import to_millis
from credits.vocab.config import CreditConfig
from credits.vocab.context import Caller, ClientContext
from credits.vocab.contract.callables import ChargeResponse
from credits.vocab.errors import InvalidRequest, ModerationProviderUnavailable
from credits.vocab.pricing import GENERATION_TYPES, GenerationType, parse_quantity, price
from credits.vocab.validation import Fields, request_key

PROMPT_MAX = 20_000
PREVIEW_CHARS = 100


@dataclass(frozen=True)
class ChargeRequest:
    """What ``validateAndDeductCredits`` accepts (see the contract)."""

    type: GenerationType
    prompt: str
    quantity: Decimal
    model: str | None = None
    request_id: str | None = None
    device_id: str | None = None

    FIELDS = frozenset({"type", "prompt", "quantity", "model", "requestId", "deviceId"})

    @functools.cached_property
    def prompt_hash(self) -> str:
        """The prompt's SHA-256 (what is stored instead of its text), computed once per call."""
        return prompt_hash(self.prompt)

    @classmethod
    def parse(cls, data: Any) -> ChargeRequest:
        """Validate a request; ``InvalidRequest`` names every bad field."""
        f = Fields(data, set(cls.FIELDS))
        kind = f.choice("type", GENERATION_TYPES)
        prompt = f.string("prompt", max_len=PROMPT_MAX)
        quantity = parse_quantity(f, "quantity", kind) if kind else None
        model = f.string("model", required=False, min_len=0, max_len=64)
        request_id = request_key(f)
        device_id = f.string("deviceId", required=False, min_len=0, max_len=128)
        f.raise_if_any()
        assert kind is not None and prompt is not None and quantity is not None
        return cls(kind, prompt, quantity, model or None, request_id, device_id or None)

    def fingerprint(self) -> str:
        """What makes two calls "the same request" for an idempotency key."""
        return idempotency.fingerprint(
            {
                "type": self.type,
                "quantity": str(self.quantity.normalize()),
                "model": self.model,
                "prompt": self.prompt_hash,
            }
        )


def prompt_hash(prompt: str) -> str:
    """The SHA-256 of a prompt: what is stored instead of its text."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Call:
    """One charge call: who, from where, what, and its marks."""

    client: firestore.Client
    caller: Caller
    ctx: ClientContext
    request: ChargeRequest
    target: firestore.DocumentReference
    fingerprint: str
    token: str  # marks this call's writes, so an ambiguous retry can recognise them

    @property
    def uid(self) -> str:
        """The caller's uid."""
        return self.caller.uid


@dataclass(frozen=True)
class CallerState:
    """What a charge (or ``getCreditStatus``) read about its caller, parsed: the configuration
    in force, the account ready to post to, the user's limits, the address's record and block.
    """

    snap: dict[str, Snapshot]
    applied: config_store.Applied
    account: accounts.Prepared
    limits: rate_limit.UserLimits
    ip_record: rate_limit.IpRecord
    blocked: bool
    now: dt.datetime

    @property
    def config(self) -> CreditConfig:
        """The public configuration in force."""
        return self.applied.credits

    @property
    def user_tag(self) -> str:
        """The caller's tag in its address's log."""
        return rate_limit.user_tag(self.account.uid)

    def ip_fields(
        self, ip: str, hits: list[int] | tuple[int, ...], users: list[str] | tuple[str, ...] | None = None
    ) -> dict[str, Any]:
        """The address record to store: ``hits`` (tagged by ``users``, as stored if None), and
        its sign-up grant log with this call's grant.
        """
        now_ms = to_millis(self.now)
        grants = list(live_grants(list(self.ip_record.grants), now_ms))
        if self.account.granted_now:
            grants = with_grant(grants, now_ms, self.config.signup.grantsPerIpPerDay)
        rates = self.config.rateLimits
        tags = self.ip_record.users if users is None else users
        record = rate_limit.IpRecord(tuple(hits), tuple(grants), users=tuple(tags))
        return rate_limit.ip_record_fields(ip, record, rates.ipRequests, rates.ipWindowSeconds, self.now)


def read_caller(
    attempt: Attempt,
    caller: Caller,
    ctx: ClientContext,
    extra: dict[str, firestore.DocumentReference] | None = None,
) -> dict[str, Snapshot]:
    """The caller's documents (and ``extra``) in one round trip, by name: ``config``, ``user``
    (with the user's rate-limit windows), and with a known address ``ip``, ``block`` and
    ``ranges``.
    """
    client = attempt.client
    refs: dict[str, firestore.DocumentReference] = {
        "config": config_store.applied_ref(client),
        "user": accounts.user_ref(client, caller.uid),
    }
    if ctx.ip:
        refs["ip"] = rate_limit.ip_ref(client, ctx.ip)
        refs["block"], refs["ranges"] = ip_blocks.refs_for(client, ctx.ip)
    refs.update(extra or {})
    got = attempt.get(list(refs.values()))
    return {name: got[ref.path] for name, ref in refs.items()}


def parse_caller(
    attempt: Attempt, snap: dict[str, Snapshot], caller: Caller, ctx: ClientContext, now: dt.datetime
) -> CallerState:
    """What ``read_caller`` read, checked and parsed; the account prepared under the sign-up policy."""
    applied = config_store.load(attempt, snap["config"])
    blocked = ip_blocks.is_blocked(ctx.ip, snap.get("block"), snap.get("ranges"))
    ip_record = rate_limit.parse_ip_record(snap["ip"].to_dict() if "ip" in snap and snap["ip"].exists else None)
    facts = accounts.SignupFacts(ctx.ip is not None, blocked, live_grants(list(ip_record.grants), to_millis(now)), ctx.ip)
    account = accounts.prepare(attempt, snap["user"], caller, applied.credits, now, facts)
    # The windows are a map on the user's document, which the account has already read.
    limits = rate_limit.parse_user_limits(snap["user"].reference.path, account.account.data if account.account else None)
    return CallerState(snap, applied, account, limits, ip_record, blocked, now)


# What a provider call may use of the call's budget: the rest is kept for the commit.
_COMMIT_RESERVE_SECONDS = 2.0


def prompt_verdict(attempt: Attempt, applied: config_store.Applied, prompt: str) -> Verdict:
    """The moderation verdict on ``prompt`` under the configuration in force: what a charge
    decides, and what ``testModeration`` answers (one code path for both).

    Raises ``ModerationProviderUnavailable`` when the provider could not answer and its
    ``failMode`` is ``closed``.
    """
    policy = config_store.moderation_policy(attempt, applied)
    budget = attempt.deadline.remaining() - _COMMIT_RESERVE_SECONDS
    # The provider's module (and Google's client with it) is imported only once it is switched
    # on: an instance that never asks pays nothing for it, not even on its first charge.
    provider = installed() if policy.provider.enabled else None
    try:
        return judge(prompt, policy, provider, budget)
    except ModerationUnavailable:
        raise ModerationProviderUnavailable() from None


def checks_state(read: CallerState, kind: GenerationType, cost: int, ctx: ClientContext, verdict: Verdict | None) -> ChargeState:
    """What the charge's checks decide on, from what a charge (or a preview) has read.

    The one place both build it, so that a preview and the charge never check different things.
    """
    rates = read.config.rateLimits
    return ChargeState(
        ip_blocked=read.blocked,
        suspended=read.account.status == "suspended",
        balance=read.account.balance,
        cost=cost,
        user_window=Window(read.limits.hits(kind), rates.of(kind), rates.windowSeconds),
        ip_window=Window(read.ip_record.hits, rates.ipRequests, rates.ipWindowSeconds) if ctx.ip else None,
        verdict=verdict,
        now_ms=to_millis(read.now),
        ip_share=Window(read.ip_record.hits_of(read.user_tag), rates.ip_share(), rates.ipWindowSeconds) if ctx.ip else None,
    )


def charge(cmd: Command, request: ChargeRequest) -> ChargeResponse:
    """Run the whole check-and-charge; return the contract's response or raise a refusal."""
    client, clock, caller, ctx, uid = cmd.client, cmd.clock, cmd.caller, cmd.ctx, cmd.uid
    call = _Call(
        client=client,
        caller=caller,
        ctx=ctx,
        request=request,
        target=db.activity_ref(client, activity_id_for(uid, request.request_id) if request.request_id else None),
        fingerprint=request.fingerprint(),
        token=uuid.uuid4().hex,
    )
    damaged_ip: list[bool] = [False]
    verdicts: dict[int, Verdict] = {}  # per moderation version: asked once per call, not per attempt

    def step(attempt: Attempt) -> Plan[ChargeResponse]:
        now = clock.now()
        snap = _read(attempt, call)
        if "activity" in snap and snap["activity"].exists:
            return Plan(result=_replay(snap["activity"].to_dict() or {}, uid, call.fingerprint))
        if request.request_id and snap["key"].exists:
            raise InvalidRequest({"requestId": "was already used by an earlier generation"})

        read = parse_caller(attempt, snap, caller, ctx, now)
        damaged_ip[0] = read.ip_record.damaged
        version = read.applied.moderation_version
        if version not in verdicts:
            verdicts[version] = prompt_verdict(attempt, read.applied, request.prompt)
        verdict = verdicts[version]
        unit_cost, cost = price(read.config.costs, request.type, request.quantity)
        state = checks_state(read, request.type, cost, ctx, None if verdict.action == "allow" else verdict)
        decision = charge_policy.decide(state)
        if isinstance(decision, Refusal):
            if attempt.ambiguous and _refusal_applied(snap, call.token):
                return Plan(error=decision.error)  # an earlier, unanswered commit recorded it
            return _refusal_plan(attempt, call, read, decision, state)
        return _approval_plan(attempt, call, read, decision, unit_cost)

    result = cmd.commit("validateAndDeductCredits", step, lock_key=f"user:{uid}")
    if damaged_ip[0] and ctx.ip:
        notifications.damaged_record(client, rate_limit.ip_ref(client, ctx.ip).path, clock.now(), "validateAndDeductCredits")
    return result


def _read(attempt: Attempt, call: _Call) -> dict[str, Snapshot]:
    """Everything a charge needs, in one round trip."""
    extra: dict[str, firestore.DocumentReference] = {}
    if call.request.request_id or attempt.ambiguous:
        # A fresh random id cannot exist: the activity is read only when it may.
        extra["activity"] = call.target
        extra["key"] = ledger.entry_ref(call.client, EntryId(EntryKind.CHARGE, call.target.id))
    if attempt.ambiguous:
        extra["moderation_record"] = abuse.record_ref(call.client, call.token, "moderation")
        extra["refusal_record"] = abuse.record_ref(call.client, call.token, "rate_limit")
    return read_caller(attempt, call.caller, call.ctx, extra)


def _approval_plan(
    attempt: Attempt, call: _Call, read: CallerState, approval: Approval, unit_cost: Decimal
) -> Plan[ChargeResponse]:
    """An approval's commit: the charge posted, the activity ``pending``, the rate-limit logs."""
    client, request, target, now, config = call.client, call.request, call.target, read.now, read.config
    plan: Plan[ChargeResponse] = Plan()
    account_fields: dict[str, Any] = {"lastGenerationAt": now, **_approved_limits(call, read, approval)}
    moderation: dict[str, Any] | None = None
    if approval.flagged is not None:
        moderation, suspension = _flag(attempt, plan, call, read, approval.flagged)
        account_fields.update(suspension or {})
    charge = Leg(
        -approval.cost,
        EntryId(EntryKind.CHARGE, target.id),
        Reason.GENERATION_CHARGE,
        activity_id=target.id,
        generation_type=request.type,
    )
    posting = read.account.post_change(
        plan,
        client,
        ledger.Change(
            (charge,),
            now,
            config.lowBalanceThreshold,
            usage=UsageChange(generations=1, credits_used=approval.cost),
            fields=account_fields,
        ),
    )
    response = ChargeResponse(
        activityId=target.id, creditsCharged=approval.cost, remainingCredits=posting.balance_after, status="pending"
    )
    _create_activity(plan, call, read, _Approved(approval, unit_cost, posting, response, moderation))
    if approval.ip_hits is not None and call.ctx.ip:
        _count_in_ip(plan, call, read)
    plan.result = response
    return plan


def _flag(
    attempt: Attempt, plan: Plan[ChargeResponse], call: _Call, read: CallerState, flagged: Verdict
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A prompt charged and allowed, but recorded for review and counted toward the abuse
    score: the activity's ``moderation`` field, and the account's suspension fields (or None).
    """
    request = call.request
    moderation = {"action": "flag", "category": flagged.category, "source": flagged.source}
    who = abuse.Offender(call.uid, read.account.status == "suspended", call.ctx, call.token)
    outcome = abuse.record(
        attempt,
        plan,
        who,
        abuse.Event(
            kind="moderation",
            severity=flagged.severity or "low",
            category=flagged.category,
            prompt_hash=request.prompt_hash,
            device_id=request.device_id,
            detail={"type": request.type, "action": "flag", "activityId": call.target.id},
        ),
        now=read.now,
        thresholds=read.applied.abuse,
    )
    return moderation, outcome.suspension


@dataclass(frozen=True)
class _Approved:
    """An approved charge as posted: what the activity document records of it."""

    approval: Approval
    unit_cost: Decimal
    posting: ledger.Posting
    response: ChargeResponse
    moderation: dict[str, Any] | None


def _create_activity(plan: Plan[ChargeResponse], call: _Call, read: CallerState, approved: _Approved) -> None:
    """``ai_activity/{activityId}``, ``pending``, with the answer a retried call replays."""
    request, target, now, config = call.request, call.target, read.now, read.config
    cost, posting, moderation = approved.approval.cost, approved.posting, approved.moderation
    plan.create(
        target,
        {
            "userId": call.uid,
            "shard": db.index_shard(target.id),
            "type": request.type,
            "model": request.model,
            "quantity": money.decimal_to_json(request.quantity),
            "unitCost": money.decimal_to_json(approved.unit_cost),
            "creditsCharged": cost,
            "initialCharge": cost,
            "refundedCredits": 0,
            "status": "pending",
            "progress": 0,
            "promptPreview": request.prompt[:PREVIEW_CHARS],
            "promptHash": request.prompt_hash,
            "promptLength": len(request.prompt),
            "userEmail": call.caller.email,
            "userName": call.caller.name,
            **call.ctx.as_fields(),
            "deviceId": request.device_id,
            **idempotency.record(request.request_id, call.fingerprint),
            # Which buckets the charge drew from: a refund returns the credits there.
            "bucketDraws": bucket_store.drawn_to_firestore(list(posting.drawn[0]) if posting.drawn else []),
            "response": approved.response.model_dump(),
            "configVersion": config.version,
            **({"moderation": moderation} if moderation is not None else {}),
            "createdAt": now,
            "updatedAt": now,
        },
    )


def _approved_limits(call: _Call, read: CallerState, approval: Approval) -> dict[str, dict[str, Any]]:
    """The user's ``rateLimits`` with the approved call in the window of its type (written
    with the account, on ``users/{uid}``).
    """
    config = read.config
    windows = read.limits.stored_windows()
    windows[call.request.type] = {
        "hits": approval.user_hits,
        "limit": config.rateLimits.of(call.request.type),
        "windowSeconds": config.rateLimits.windowSeconds,
    }
    return rate_limit.user_limits_fields(call.uid, windows, read.limits.refusals, call.token)


def _count_in_ip(plan: Plan[ChargeResponse], call: _Call, read: CallerState) -> None:
    """The approved call in the address's window."""
    assert call.ctx.ip is not None
    rates = read.config.rateLimits
    hits, users = read.ip_record.with_request(to_millis(read.now), rates.ipWindowSeconds, rates.ipRequests, read.user_tag)
    plan.put(read.snap["ip"], {**read.ip_fields(call.ctx.ip, hits, users), "lastCall": call.token})


def _refusal_plan(attempt: Attempt, call: _Call, read: CallerState, refusal: Refusal, state: ChargeState) -> Plan[ChargeResponse]:
    """A refusal's commit: only what the contract names (address log, refusal counter, abuse
    record, the account's opening), then the refusal is raised.
    """
    plan: Plan[ChargeResponse] = Plan(error=refusal.error)
    request, now, account = call.request, read.now, read.account
    suspension: dict[str, Any] | None = None
    if call.ctx.ip and account.granted_now:  # a refusal takes no place in the address's window
        _put_ip(plan, call, read, list(read.ip_record.hits))
    event: abuse.Event | None = None
    limits: dict[str, dict[str, Any]] = {}
    if refusal.user_refusal:
        counter = abuse_policy.count_refusal(read.limits.refusals, now)
        scope = str(refusal.error.details.get("scope", "user"))
        counter["lastScope"] = scope
        limits = rate_limit.user_limits_fields(call.uid, read.limits.stored_windows(), counter, call.token)
        milestone = abuse_policy.refusal_milestone(int(counter["count"]))
        if milestone is not None:
            detail = {"refusals": counter["count"], "scope": scope, "reason": refusal.reason, "type": request.type}
            event = abuse.Event(kind="rate_limit", severity=milestone, device_id=request.device_id, detail=detail)
    if refusal.abuse_severity is not None and state.verdict is not None:
        event = abuse.Event(
            kind="moderation",
            severity=refusal.abuse_severity,
            category=state.verdict.category,
            prompt_hash=request.prompt_hash,
            device_id=request.device_id,
            detail={"type": request.type},
        )
    if event is not None:
        who = abuse.Offender(call.uid, account.status == "suspended", call.ctx, call.token)
        outcome = abuse.record(attempt, plan, who, event, now=now, thresholds=read.applied.abuse)
        suspension = outcome.suspension
    if account.must_write or suspension:
        fields = {**(suspension or {}), **limits}
        account.post(plan, call.client, now=now, low_balance_below=read.config.lowBalanceThreshold, fields=fields)
    elif limits:  # the refusal counter alone, on the account as read
        plan.put(read.snap["user"], limits)
    return plan


def _put_ip(plan: Plan[ChargeResponse], call: _Call, read: CallerState, hits: list[int]) -> None:
    """Store the address record: its request log and its sign-up grants (with this call's)."""
    assert call.ctx.ip is not None
    plan.put(read.snap["ip"], {**read.ip_fields(call.ctx.ip, hits), "lastCall": call.token})


def _refusal_applied(snap: dict[str, Snapshot], call_token: str) -> bool:
    """Whether an earlier, unanswered commit of this call already recorded its refusal."""
    ip, user = snap.get("ip"), snap["user"]
    if ip is not None and ip.exists and (ip.to_dict() or {}).get("lastCall") == call_token:
        return True
    if user.exists and rate_limit.last_call(user.to_dict()) == call_token:
        return True
    return any(snap[name].exists for name in ("moderation_record", "refusal_record") if name in snap)


def _replay(activity: dict[str, Any], uid: str, fingerprint: str) -> ChargeResponse:
    if activity.get("userId") != uid:  # ids are derived from uid, so only a forged id gets here
        raise InvalidRequest({"requestId": "belongs to another request"})
    return idempotency.replay(activity, fingerprint, _first_response)


def _first_response(activity: Mapping[str, Any]) -> ChargeResponse:
    response = activity.get("response")
    if not isinstance(response, dict):
        raise InvalidRequest({"requestId": "belongs to a request that cannot be replayed"})
    try:
        return ChargeResponse.model_validate(response)
    except ValidationError:
        raise InvalidRequest({"requestId": "belongs to a request that cannot be replayed"}) from None


__all__ = ["PROMPT_MAX", "ChargeRequest", "activity_id_for", "charge", "prompt_hash", "prompt_verdict"]
