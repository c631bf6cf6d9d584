"""What admins do: grants and claw-backs, configuration, account status, IP blocks, statistics.

Every action is one atomic commit holding the change and its ``admin_audit_logs`` entry.
Admin identity is checked by the transport (the ID token's ``admin`` claim); these
functions take the verified ``Caller``. Money moves only through ``ledger.post``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from credits.features import accounts, charging, grants, plans, rollup, stats
from credits.features.command import Command
from credits.policy.buckets import Source
from credits.store import audit, config_store, db, ip_blocks, ledger
from credits.store.atomic import DEFAULT_BUDGET_SECONDS, Attempt, Deadline, Plan, run
from credits.store.buckets import ClawBack
from credits.store.ledger import EntryId, EntryKind, Leg, Reason
from credits.vocab import idempotency
from credits.vocab.config import CreditConfig
from credits.vocab.context import Caller
from credits.vocab.contract.base import Wire
from credits.vocab.contract.callables import (
    ConfigurationResponse,
    GrantResponse,
    SetIpBlockResponse,
    SetUserPlanResponse,
    SetUserStatusResponse,
    TestModerationResponse,
    UsageStatsResponse,
)
from credits.vocab.errors import DataInvalid, InsufficientCredits, InvalidRequest, NotFound
from credits.vocab.validation import Fields, request_key

_UID = re.compile(r"^[^/\s]{1,128}$")
MAX_GRANT = 1_000_000

# Whether a Firebase Auth account exists for a uid; injected so the domain does not import
# the Admin SDK's auth module (and tests can use the Auth emulator through it).
UserExists = Callable[[str], bool]


def _user_id(f: Fields) -> str | None:
    return f.document_id("userId", pattern=_UID)


def _reason(f: Fields) -> str | None:
    return f.string("reason", max_len=500)


def _known(snapshot: db.Snapshot, user_exists: UserExists) -> None:
    """Refuse an unknown user: no ``users`` document (as read in the step) and no Auth account."""
    if not snapshot.exists and not user_exists(snapshot.id):
        raise NotFound("The user")


# ------------------------------------------------------------------ grants


GRANT_SOURCES: tuple[Source, ...] = ("admin", "promo")


def parse_expiry(f: Fields, name: str = "expiresAt") -> dt.datetime | None:
    """An optional ISO 8601 UTC timestamp (``Z`` or ``+00:00``); that it lies in the future is
    checked against the clock by the step.
    """
    if not f.present(name) or f.data[name] is None:
        return None
    text = f.string(name, max_len=40)
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        f.fail(name, "must be an ISO 8601 timestamp in UTC, such as 2026-12-31T23:59:59Z")
        return None
    if when.tzinfo is None or when.utcoffset() != dt.timedelta(0):
        f.fail(name, "must be in UTC (end with Z)")
        return None
    return when.astimezone(dt.UTC)


@dataclass(frozen=True)
class GrantRequest:
    """What ``grantCreditsToUser`` accepts."""

    user_id: str
    amount: int
    reason: str
    request_id: str | None = None
    expires_at: dt.datetime | None = None
    source: Source = "admin"
    user_note: str | None = None

    @classmethod
    def parse(cls, data: Any) -> GrantRequest:
        """Validate a request; ``InvalidRequest`` names every bad field."""
        f = Fields(data, {"userId", "amount", "reason", "requestId", "expiresAt", "source", "userNote"})
        user_id = _user_id(f)
        amount = f.integer("amount", low=-MAX_GRANT, high=MAX_GRANT)
        if amount == 0:
            f.fail("amount", "must not be zero")
        reason = _reason(f)
        request_id = request_key(f)
        expires_at = parse_expiry(f)
        source = f.choice("source", GRANT_SOURCES, required=False) or "admin"
        user_note = f.string("userNote", required=False, min_len=0, max_len=500) or None
        if amount is not None and amount < 0:
            if expires_at is not None:
                f.fail("expiresAt", "is only accepted with a positive amount")
            if f.present("source"):
                f.fail("source", "is only accepted with a positive amount")
        f.raise_if_any()
        assert user_id is not None and amount is not None and reason is not None
        return cls(user_id, amount, reason, request_id, expires_at, source, user_note)

    def fingerprint(self) -> str:
        """What makes two grants "the same request" for an idempotency key."""
        return idempotency.fingerprint(
            {
                "userId": self.user_id,
                "amount": self.amount,
                "reason": self.reason,
                "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
                "source": self.source,
                "userNote": self.user_note,
            }
        )


def grant_key(actor: Caller, request_id: str) -> str:
    """The ledger key of an idempotent grant (per admin: two admins' keys never collide)."""
    return idempotency.key(actor.uid, request_id)


def _granted(entry: Mapping[str, Any], entry_id: str) -> GrantResponse:
    """A grant's answer, from its ledger entry."""
    return GrantResponse(userId=entry["userId"], newBalance=entry["balanceAfter"], ledgerEntryId=entry_id)


def grant(cmd: Command, request: GrantRequest, user_exists: UserExists) -> GrantResponse:
    """Add (or claw back) credits: one ledger entry with the admin as actor, and its audit entry."""
    client, actor = cmd.client, cmd.caller
    user_ref = accounts.user_ref(client, request.user_id)
    key = grant_key(actor, request.request_id) if request.request_id else ledger.new_random_key(client)
    entry = EntryId(EntryKind.GRANT, key)
    entry_ref = ledger.entry_ref(client, entry)
    fingerprint = request.fingerprint()

    def step(attempt: Attempt) -> Plan[GrantResponse]:
        now = cmd.clock.now()
        refs = [user_ref, config_store.applied_ref(client)]
        if request.request_id or attempt.ambiguous:
            refs.append(entry_ref)
        got = attempt.get(refs)
        existing = got.get(entry_ref.path)
        if existing is not None and existing.exists:
            return Plan(result=idempotency.replay(existing.to_dict() or {}, fingerprint, lambda e: _granted(e, entry_ref.id)))
        _known(got[user_ref.path], user_exists)
        if request.expires_at is not None and request.expires_at <= now:
            raise InvalidRequest({"expiresAt": "must be in the future"})
        config = config_store.load(attempt, got[config_store.applied_ref(client).path]).credits
        account = accounts.prepare(attempt, got[user_ref.path], None, config, now, None)
        before = account.balance
        if before + request.amount < 0:
            raise InsufficientCredits(required=-request.amount, available=before)
        plan: Plan[GrantResponse] = Plan()
        audit_ref = audit.new_ref(client)
        leg = _grant_leg(
            request, entry, f"{db.ADMIN_AUDIT_LOGS}/{audit_ref.id}", idempotency.record(request.request_id, fingerprint)
        )
        posting = account.post(plan, client, now=now, low_balance_below=config.lowBalanceThreshold, legs=(leg,))
        change = _grant_change(request, before, posting, entry_ref.id)
        audit.add(plan, client, audit.entry(actor, cmd.ctx, change, now), ref=audit_ref)
        plan.result = GrantResponse(userId=request.user_id, newBalance=posting.balance_after, ledgerEntryId=entry_ref.id)
        return plan

    return cmd.commit("grantCreditsToUser", step, lock_key=f"user:{request.user_id}")


def _grant_leg(request: GrantRequest, entry: EntryId, audit_path: str, extra: dict[str, Any]) -> Leg:
    """The grant's leg: a new bucket for a positive amount, a claw-back in reverse spend order
    for a negative one. What the user reads (their ledger) carries the note meant for them; the
    admin's reason and identity stay in the audit entry (the bucket's ``ref`` links the two).
    """
    if request.amount < 0:
        return Leg(request.amount, entry, Reason.ADMIN_CLAWBACK, note=request.user_note, fields=extra, buckets=ClawBack())
    return grants.bucket_grant_leg(
        entry,
        request.amount,
        grants.NewBucket(request.source, request.expires_at, audit_path),
        Reason.PROMO_GRANT if request.source == "promo" else Reason.ADMIN_GRANT,
        note=request.user_note,
        fields=extra,
    )


def _grant_change(request: GrantRequest, before: int, posting: ledger.Posting, entry_id: str) -> audit.Change:
    """The grant as its audit entry tells it: the balance before and after, and the buckets moved."""
    moves = [{"bucketId": m.bucket_id, "delta": m.delta} for m in (posting.moves[0] if posting.moves else ())]
    after = {
        "credits": posting.balance_after,
        "amount": request.amount,
        "ledgerEntryId": entry_id,
        "source": request.source if request.amount > 0 else None,
        "expiresAt": request.expires_at,
        "userNote": request.user_note,
        "buckets": moves,
    }
    return audit.Change(
        "grant_credits",
        f"users/{request.user_id}",
        {"credits": before},
        after,
        request_id=request.request_id,
        note=request.reason,
    )


# ------------------------------------------------------------------ configuration


def update_configuration(cmd: Command, patch: Any) -> ConfigurationResponse:
    """Validate and merge a partial configuration of either document, audit before and after."""
    return config_store.update(cmd.client, cmd.clock, cmd.caller, cmd.ctx, patch, deadline=cmd.deadline)


# ------------------------------------------------------------------ audited actions

R = TypeVar("R", bound=Wire)


@dataclass(frozen=True)
class Action:
    """What an admin action's step gets: the attempt, the time, the plan to fill and the id of
    the audit entry the action will write.
    """

    attempt: Attempt
    now: dt.datetime
    audit_id: str


# A step of an admin action: the answer and the audited change (None: nothing changed, so
# nothing is written or audited), with the writes added to the plan.
ActionStep = Callable[[Action, Plan[R]], tuple[R, audit.Change | None]]


def _audited(cmd: Command, name: str, response: type[R], act: ActionStep[R], *, lock_key: str) -> R:
    """Run an admin action as one commit with its audit entry, which keeps the answer: a retry
    after a lost answer finds the entry (its id is chosen once per call) and answers from it.
    """
    audit_ref = audit.new_ref(cmd.client)

    def step(attempt: Attempt) -> Plan[R]:
        now = cmd.clock.now()
        replayed = audit.replay(attempt, audit_ref)
        if replayed is not None:
            return Plan(result=response.model_validate(replayed))
        plan: Plan[R] = Plan()
        result, change = act(Action(attempt, now, audit_ref.id), plan)
        plan.result = result
        if change is not None:
            entry = audit.entry(cmd.caller, cmd.ctx, change, now)
            audit.add(plan, cmd.client, entry, ref=audit_ref, result=result.model_dump(exclude_unset=True))
        return plan

    return cmd.commit(name, step, lock_key=lock_key)


# ------------------------------------------------------------------ account status


@dataclass(frozen=True)
class StatusChange:
    """What ``setUserStatus`` accepts."""

    user_id: str
    status: str
    reason: str

    @classmethod
    def parse(cls, data: Any) -> StatusChange:
        """Validate a request; ``InvalidRequest`` names every bad field."""
        f = Fields(data, {"userId", "status", "reason"})
        user_id = _user_id(f)
        status = f.choice("status", ("active", "suspended"))
        reason = _reason(f)
        f.raise_if_any()
        assert user_id is not None and status is not None and reason is not None
        return cls(user_id, status, reason)


def set_user_status(cmd: Command, request: StatusChange, user_exists: UserExists) -> SetUserStatusResponse:
    """Suspend or reactivate an account (opening it, grant pending, if it does not exist yet)."""
    client = cmd.client
    user_ref = accounts.user_ref(client, request.user_id)

    def act(action: Action, plan: Plan[SetUserStatusResponse]) -> tuple[SetUserStatusResponse, audit.Change]:
        attempt, now = action.attempt, action.now
        got = attempt.get([user_ref, config_store.applied_ref(client)])
        user = got[user_ref.path]
        _known(user, user_exists)
        config = config_store.load(attempt, got[config_store.applied_ref(client).path]).credits
        fields = {
            "status": request.status,
            "statusReason": request.reason,
            "statusChangedAt": now,
            "statusChangedBy": cmd.uid,
            "updatedAt": now,
        }
        try:
            account = accounts.prepare(attempt, user, None, config, now, None)
            before: str | None = account.status if account.account is not None else None
            account.post(plan, client, now=now, low_balance_below=config.lowBalanceThreshold, fields=fields)
        except DataInvalid:
            # A damaged account can still be suspended: the status is all this writes.
            if not user.exists:
                raise
            before = str((user.to_dict() or {}).get("status"))
            plan.put(user, fields)
        # A damaged account's stored status may be anything: the answer names only a real one.
        previous = before if before in ("active", "suspended") else None
        result = SetUserStatusResponse.model_validate(
            {"userId": request.user_id, "status": request.status, "previousStatus": previous}
        )
        change = audit.Change(
            "set_user_status", f"users/{request.user_id}", {"status": before}, {"status": request.status}, note=request.reason
        )
        return result, change

    return _audited(cmd, "setUserStatus", SetUserStatusResponse, act, lock_key=f"user:{request.user_id}")


# ------------------------------------------------------------------ plans

_PLAN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class PlanChange:
    """What ``setUserPlan`` accepts: a configured ``planId``, or null to end the user's plan."""

    user_id: str
    plan_id: str | None

    @classmethod
    def parse(cls, data: Any) -> PlanChange:
        """Validate a request; ``InvalidRequest`` names every bad field."""
        f = Fields(data, {"userId", "planId"})
        user_id = _user_id(f)
        plan_id = None
        if "planId" not in f.data:  # null is a value here: it ends the plan
            f.fail("planId", "is required (null ends the user's plan)")
        elif f.data["planId"] is not None:
            plan_id = f.document_id("planId", max_len=64, pattern=_PLAN_ID)
        f.raise_if_any()
        assert user_id is not None
        return cls(user_id, plan_id)


def set_user_plan(cmd: Command, request: PlanChange, user_exists: UserExists) -> SetUserPlanResponse:
    """Put a user on a plan (renewed lazily, see ``plans``): the new plan's period and allowance
    start now; the old period's bucket keeps its expiry. The same plan again changes nothing.
    Audited; a retried call is answered from its audit entry.
    """
    client = cmd.client
    user_ref = accounts.user_ref(client, request.user_id)

    def act(action: Action, plan: Plan[SetUserPlanResponse]) -> tuple[SetUserPlanResponse, audit.Change | None]:
        attempt, now = action.attempt, action.now
        got = attempt.get([user_ref, config_store.applied_ref(client)])
        user = got[user_ref.path]
        _known(user, user_exists)
        config = config_store.load(attempt, got[config_store.applied_ref(client).path]).credits
        if request.plan_id is not None and request.plan_id not in config.plans:
            raise InvalidRequest({"planId": "is not a configured plan"})
        account = accounts.prepare(attempt, user, None, config, now, None)
        stored = account.account.data.get(plans.FIELD) if account.account is not None else None
        current = plans.parse_user_plan(accounts.path_of(request.user_id), account.fields.get(plans.FIELD, stored))
        before = current.id if current is not None else None
        if before == request.plan_id:
            # Nothing to change (a renewal that is due waits for the user's own call).
            return SetUserPlanResponse(userId=request.user_id, planId=request.plan_id, previousPlanId=before, changed=False), None
        legs, fields, period_end = _plan_change(
            account, config, request, key=f"{request.user_id}_{request.plan_id}_{action.audit_id}", now=now
        )
        posting = account.post(plan, client, now=now, low_balance_below=config.lowBalanceThreshold, legs=legs, fields=fields)
        result = SetUserPlanResponse(
            userId=request.user_id,
            planId=request.plan_id,
            previousPlanId=before,
            changed=True,
            periodEnd=period_end.isoformat() if period_end else None,
        )
        after = {"plan": request.plan_id, "periodEnd": period_end, "credits": posting.balance_after}
        return result, audit.Change("set_user_plan", f"users/{request.user_id}", {"plan": before}, after)

    return _audited(cmd, "setUserPlan", SetUserPlanResponse, act, lock_key=f"user:{request.user_id}")


def _plan_change(
    account: accounts.Prepared, config: CreditConfig, request: PlanChange, *, key: str, now: dt.datetime
) -> tuple[tuple[Leg, ...], dict[str, Any], dt.datetime | None]:
    """The change to ``request.plan_id`` starting ``now``: the new period's bucket grant (if
    any), the account's plan fields (None: the plan ends) and the new period's end.
    """
    # The old plan's renewal, if one was due, gives way to the new plan starting now.
    account.legs = [leg for leg in account.legs if leg.entry is None or leg.entry.kind is not EntryKind.PLAN]
    if request.plan_id is None:
        return (), {plans.FIELD: None}, None
    period = grants.start_plan_period(account, config, request.plan_id, key=key, start=now, renewal="auto")
    return ((period.leg,) if period.leg is not None else ()), period.fields, period.period_end


# ------------------------------------------------------------------ IP blocks


@dataclass(frozen=True)
class IpBlockChange:
    """What ``setIpBlock`` accepts."""

    target: ip_blocks.Target
    blocked: bool
    reason: str

    @classmethod
    def parse(cls, data: Any) -> IpBlockChange:
        """Validate a request; ``InvalidRequest`` names every bad field."""
        f = Fields(data, {"ip", "blocked", "reason"})
        raw = f.string("ip", max_len=64)
        target = None
        if raw is not None:
            target = ip_blocks.parse_target(raw)
            if target is None:
                f.fail("ip", "must be an IPv4/IPv6 address or a CIDR range")
        blocked = f.boolean("blocked")
        reason = _reason(f)
        f.raise_if_any()
        assert target is not None and blocked is not None and reason is not None
        return cls(target, blocked, reason)


def set_ip_block(cmd: Command, request: IpBlockChange) -> SetIpBlockResponse:
    """Block or unblock an address bucket (one document) or a range (the bounded index)."""
    client, target = cmd.client, request.target
    ranges_ref = ip_blocks.ranges_ref(client)
    doc_ref = ip_blocks.address_ref(client, target.key) if target.kind == "address" else ip_blocks.range_ref(client, target.key)

    def act(action: Action, plan: Plan[SetIpBlockResponse]) -> tuple[SetIpBlockResponse, audit.Change]:
        now = action.now
        got = action.attempt.get([doc_ref, ranges_ref])
        doc, index = got[doc_ref.path], got[ranges_ref.path]
        was_blocked = doc.exists
        if target.kind == "range":
            was_blocked = was_blocked or target.key in ip_blocks.stored_cidrs(index)
            cidrs = _ranges_after(request, ip_blocks.stored_cidrs(index))
            if cidrs != ip_blocks.stored_cidrs(index) or not index.exists:
                plan.put(index, {"cidrs": cidrs, "updatedAt": now, "updatedBy": cmd.uid})
        if request.blocked:
            detail = {"target": target.key, "kind": target.kind, "reason": request.reason, "blockedAt": now, "blockedBy": cmd.uid}
            if doc.exists:
                plan.put(doc, detail)
            else:
                plan.create(doc_ref, detail)
        else:
            plan.delete(doc)
        result = SetIpBlockResponse(ip=target.key, blocked=request.blocked, kind=target.kind)
        change = audit.Change(
            "set_ip_block", target.key, {"blocked": was_blocked}, {"blocked": request.blocked}, note=request.reason
        )
        return result, change

    return _audited(cmd, "setIpBlock", SetIpBlockResponse, act, lock_key="ip_blocks")


def _ranges_after(request: IpBlockChange, cidrs: list[str]) -> list[str]:
    """The blocked ranges once ``request`` is applied (bounded by ``ip_blocks.MAX_RANGES``)."""
    key = request.target.key
    if not request.blocked:
        return [c for c in cidrs if c != key]
    if key in cidrs:
        return cidrs
    if len(cidrs) >= ip_blocks.MAX_RANGES:
        raise InvalidRequest({"ip": f"at most {ip_blocks.MAX_RANGES} ranges can be blocked; block addresses, or a wider range"})
    return [*cidrs, key]


# ------------------------------------------------------------------ statistics


def usage_stats(cmd: Command, data: Any) -> UsageStatsResponse:
    """``getUsageStats {range?}``: the range's figures at a bounded, reported cost (see
    ``stats``), and an audit entry of the look.
    """
    f = Fields(data if data is not None else {}, {"range"})
    range_name = f.choice("range", tuple(rollup.RANGES), required=False) or "24h"
    f.raise_if_any()
    now = cmd.clock.now()
    result, cost = stats.usage_stats(cmd.client, now, range_name)
    reads = cost.total
    audit_ref = audit.new_ref(cmd.client)

    def step(attempt: Attempt) -> Plan[None]:
        plan: Plan[None] = Plan()
        if audit.replay(attempt, audit_ref) is not None:
            return plan
        entry = audit.entry(cmd.caller, cmd.ctx, audit.Change("get_usage_stats", range_name, None, None), now)
        audit.add(plan, cmd.client, entry, ref=audit_ref, result={"documentsRead": reads})
        return plan

    run(cmd.client, step)
    return UsageStatsResponse.model_validate(result)


# ------------------------------------------------------------------ moderation


def test_moderation(cmd: Command, data: Any) -> TestModerationResponse:
    """``testModeration {prompt}``: the verdict a charge with this prompt would get now,
    ``{verdict, category?, source}``, from the same configuration and the same code
    (``charging.prompt_verdict``). It charges, records and audits nothing: it is a read.
    """
    f = Fields(data, {"prompt"})
    prompt = f.string("prompt", max_len=charging.PROMPT_MAX)
    f.raise_if_any()
    assert prompt is not None
    client = cmd.client
    attempt = Attempt(client=client, number=1, ambiguous=False, deadline=cmd.deadline or Deadline(DEFAULT_BUDGET_SECONDS))
    ref = config_store.applied_ref(client)
    applied = config_store.load(attempt, attempt.get([ref])[ref.path])
    return TestModerationResponse.model_validate(charging.prompt_verdict(attempt, applied, prompt).to_json())
