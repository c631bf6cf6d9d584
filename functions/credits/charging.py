"""``validateAndDeductCredits``: price a generation, check it, charge it, open its activity.

The contract's order of checks: input, IP block, account status, rate limits (user, then
IP), moderation, balance. Then, in one atomic commit: the deduction, its ledger entry and
``ai_activity/{activityId}`` with status ``pending`` (plus the rate-limit logs and the
usage counters). The whole decision is one optimistic step (see ``atomic``), so N parallel
calls for one user with balance B and cost c charge exactly ``min(N, B // c)`` times.

Idempotency: with a ``requestId`` the activity id is derived from ``(uid, requestId)``, so
the activity document *is* the idempotency record. Its creation is part of the charge
commit: two concurrent calls with the same key cannot both create it, and the loser, on
its retry, finds the activity and returns the stored first response. A reused key with
other parameters (type, quantity, model or prompt) is refused as ``invalid_request`` on
``requestId``. Keys live as long as their activity (``retentionDays``, at least one day).
A call without a key still never double-charges on an ambiguous commit (timeout after
sending): its retry looks for the activity it tried to create before writing again.

Rejected calls write nothing but what the contract names: the IP request log (it counts
every request that reaches it, refused ones included, except those refused by the IP limit
itself, so that ``retryAfterSeconds`` stays honest), the user's refusal counter and abuse
records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from google.cloud import firestore

from . import abuse, db, ledger, money, rate_limit
from .atomic import Attempt, Plan, Stats, run
from .clock import Clock, from_millis, to_millis
from .config import GENERATION_TYPES, CreditConfig, from_document
from .context import Caller, ClientContext
from .errors import (
    AccountSuspended,
    InsufficientCredits,
    InvalidRequest,
    IpBlocked,
    PromptRejected,
    RateLimited,
)
from .ip_blocks import is_blocked
from .moderation import moderator_for
from .validation import Fields, request_key

PROMPT_MAX = 20_000
PREVIEW_CHARS = 100

# Per type: (integer units?, lower bound exclusive, upper bound inclusive, default)
QUANTITY_RULES: dict[str, tuple[bool, Decimal, Decimal, Decimal | None]] = {
    "image": (True, Decimal(0), Decimal(10), Decimal(1)),
    "video": (False, Decimal(0), Decimal(600), None),
    "voice": (False, Decimal(0), Decimal(60), None),
    "chat": (True, Decimal(0), Decimal(1_000_000), None),
}


@dataclass(frozen=True)
class ChargeRequest:
    """What ``validateAndDeductCredits`` accepts (see the contract)."""

    type: str
    prompt: str
    quantity: Decimal
    model: str | None = None
    request_id: str | None = None
    device_id: str | None = None

    FIELDS = frozenset({"type", "prompt", "quantity", "model", "requestId", "deviceId"})

    @classmethod
    def parse(cls, data: Any) -> ChargeRequest:
        f = Fields(data, set(cls.FIELDS))
        kind = f.choice("type", GENERATION_TYPES)
        prompt = f.string("prompt", max_len=PROMPT_MAX)
        quantity = parse_quantity(f, "quantity", kind, allow_default=True) if kind else None
        model = f.string("model", required=False, min_len=0, max_len=64)
        request_id = request_key(f)
        device_id = f.string("deviceId", required=False, min_len=0, max_len=128)
        f.raise_if_any()
        assert kind is not None and prompt is not None and quantity is not None
        return cls(kind, prompt, quantity, model or None, request_id, device_id or None)

    def fingerprint(self) -> str:
        """What makes two calls "the same request" for an idempotency key."""
        canonical = json.dumps(
            {
                "type": self.type,
                "quantity": str(self.quantity.normalize()),
                "model": self.model,
                "prompt": prompt_hash(self.prompt),
            },
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_quantity(f: Fields, name: str, kind: str, *, allow_default: bool, allow_zero: bool = False) -> Decimal | None:
    integer, low, high, default = QUANTITY_RULES[kind]
    if not f.present(name):
        if allow_default and default is not None:
            return default
        f.fail(name, f"is required for {kind}")
        return None
    if integer:
        value = f.integer(name, low=0 if allow_zero else int(low) + 1, high=int(high))
        return None if value is None else Decimal(value)
    if allow_zero:
        return f.decimal(name, above=Decimal(-1), high=high) if _non_negative(f, name) else None
    return f.decimal(name, above=low, high=high)


def _non_negative(f: Fields, name: str) -> bool:
    value = f.data.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        f.fail(name, "must be >= 0")
        return False
    return True


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def activity_id_for(uid: str, request_id: str) -> str:
    """The activity id an idempotency key maps to (per user: keys of two users never collide)."""
    return "r_" + hashlib.sha256(f"{uid}\n{request_id}".encode()).hexdigest()[:40]


def price(config: CreditConfig, kind: str, quantity: Decimal) -> tuple[Decimal, int]:
    unit = config.costs.of(kind)
    return unit, money.charge_for(quantity, unit)


def config_ref(client: firestore.Client) -> Any:
    return client.collection(db.SYSTEM_CONFIG).document(db.CONFIG_DOC)


def ip_blocks_ref(client: firestore.Client) -> Any:
    return client.collection(db.IP_BLOCKS).document(db.IP_BLOCKS_DOC)


def user_limits_ref(client: firestore.Client, uid: str) -> Any:
    return client.collection(db.RATE_LIMITS).document(f"u_{uid}")


def ip_limits_ref(client: firestore.Client, ip: str) -> Any:
    return client.collection(db.RATE_LIMITS).document(f"ip_{ip}")


def charge(
    client: firestore.Client,
    clock: Clock,
    caller: Caller,
    ctx: ClientContext,
    request: ChargeRequest,
    *,
    stats_out: Stats | None = None,
) -> dict[str, Any]:
    """Run the whole check-and-charge; return the contract's response or raise a refusal."""
    uid = caller.uid
    activity_ref = client.collection(db.AI_ACTIVITY).document(
        activity_id_for(uid, request.request_id) if request.request_id else None
    )
    fingerprint = request.fingerprint()
    p_hash = prompt_hash(request.prompt)

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        refs = {
            "config": config_ref(client),
            "blocks": ip_blocks_ref(client),
            "user": client.collection(db.USERS).document(uid),
            "limits": user_limits_ref(client, uid),
        }
        if ctx.ip:
            refs["ip"] = ip_limits_ref(client, ctx.ip)
        # The activity is read only when it may exist: a key was given, or an earlier commit
        # of this very call may have applied. A fresh random id cannot exist.
        if request.request_id or attempt.ambiguous:
            refs["activity"] = activity_ref
        got = attempt.get(list(refs.values()))
        snap = {name: got[ref.path] for name, ref in refs.items()}
        plan: Plan[dict[str, Any]] = Plan()

        if "activity" in snap and snap["activity"].exists:
            return Plan(result=_replay(snap["activity"].to_dict() or {}, uid, fingerprint))

        config = from_document(snap["config"].to_dict() if snap["config"].exists else None)
        blocks = snap["blocks"].to_dict() if snap["blocks"].exists else {}
        if is_blocked((blocks or {}).get("entries"), ctx.ip):
            return Plan(error=IpBlocked())

        user = snap["user"]
        user_data = user.to_dict() if user.exists else None
        if user_data is not None and user_data.get("status") == "suspended":
            return Plan(error=AccountSuspended())

        now_ms = to_millis(now)
        limits = config.rateLimits
        limits_doc = (snap["limits"].to_dict() if snap["limits"].exists else None) or {}
        windows = dict(limits_doc.get("windows") or {})
        type_window = windows.get(request.type) or {}
        user_decision = rate_limit.decide(type_window.get("hits"), now_ms, limits.of(request.type), limits.windowSeconds)

        ip_decision = None
        ip_doc: dict[str, Any] = {}
        if "ip" in snap:
            ip_doc = (snap["ip"].to_dict() if snap["ip"].exists else None) or {}
            ip_decision = rate_limit.decide(ip_doc.get("hits"), now_ms, limits.ipRequests, limits.ipWindowSeconds)

        def count_ip() -> None:
            if ip_decision is None or not ip_decision.allowed:
                return
            hits = ip_decision.with_hit(now_ms, limits.ipRequests)
            plan.put(
                snap["ip"],
                {
                    "ip": ctx.ip,
                    "hits": hits,
                    "limit": limits.ipRequests,
                    "windowSeconds": limits.ipWindowSeconds,
                    "expiresAt": _expires(hits, limits.ipWindowSeconds),
                    "updatedAt": now,
                },
            )

        refusal: RateLimited | None = None
        if not user_decision.allowed:
            refusal = RateLimited("user", limits.of(request.type), limits.windowSeconds, user_decision.retry_after_seconds)
        elif ip_decision is not None and not ip_decision.allowed:
            refusal = RateLimited("ip", limits.ipRequests, limits.ipWindowSeconds, ip_decision.retry_after_seconds)
        if refusal is not None:
            count_ip()
            _record_refusal(attempt, plan, now, config, caller, user, snap["limits"], limits_doc, ctx, request, refusal)
            plan.error = refusal
            return plan

        verdict = moderator_for(config.moderation.terms).check(request.prompt)
        if verdict is not None:
            count_ip()
            abuse.record(
                attempt,
                plan,
                now=now,
                config=config,
                uid=uid,
                caller=caller,
                user=user,
                ctx=ctx,
                event=abuse.Event(
                    kind=abuse.MODERATION,
                    severity=verdict.severity,
                    category=verdict.category,
                    prompt_hash=p_hash,
                    device_id=request.device_id,
                    detail={"type": request.type},
                ),
            )
            plan.error = PromptRejected(verdict.category)
            return plan

        unit_cost, cost = price(config, request.type, request.quantity)
        first_use = user_data is None
        balance = config.defaultCredits if first_use else ledger.balance_of(user_data)
        if balance < cost:
            count_ip()
            plan.error = InsufficientCredits(required=cost, available=balance)
            return plan

        remaining = balance - cost
        response = {
            "activityId": activity_ref.id,
            "creditsCharged": cost,
            "remainingCredits": remaining,
            "status": "pending",
        }
        usage = ledger.usage_of(user_data)
        usage["generations"] = int(usage.get("generations", 0)) + 1
        usage["creditsUsed"] = int(usage.get("creditsUsed", 0)) + cost
        user_fields: dict[str, Any] = {
            "credits": remaining,
            "usage": usage,
            "lastGenerationAt": now,
            "updatedAt": now,
        }
        if first_use:
            ledger.create_user(plan, client, user, uid, caller, config, now, user_fields)
        else:
            plan.put(user, user_fields)
        if cost:
            plan.create(
                ledger.ref(client, f"charge_{activity_ref.id}"),
                ledger.entry(
                    uid,
                    -cost,
                    remaining,
                    ledger.GENERATION_CHARGE,
                    now,
                    activity_id=activity_ref.id,
                    generation_type=request.type,
                ),
            )
        plan.create(
            activity_ref,
            {
                "userId": uid,
                "type": request.type,
                "model": request.model,
                "quantity": money.decimal_to_json(request.quantity),
                "unitCost": money.decimal_to_json(unit_cost),
                "creditsCharged": cost,
                "initialCharge": cost,
                "refundedCredits": 0,
                "status": "pending",
                "progress": 0,
                "promptPreview": request.prompt[:PREVIEW_CHARS],
                "promptHash": p_hash,
                "promptLength": len(request.prompt),
                "userEmail": caller.email,
                "userName": caller.name,
                **ctx.as_fields(),
                "deviceId": request.device_id,
                "requestId": request.request_id,
                "requestFingerprint": fingerprint,
                "response": response,
                "configVersion": config.version,
                "createdAt": now,
                "updatedAt": now,
            },
        )
        hits = user_decision.with_hit(now_ms, limits.of(request.type))
        windows[request.type] = {"hits": hits, "limit": limits.of(request.type), "windowSeconds": limits.windowSeconds}
        plan.put(
            snap["limits"],
            {
                "userId": uid,
                "windows": windows,
                "expiresAt": _windows_expiry(windows),
                "updatedAt": now,
            },
        )
        count_ip()
        plan.result = response
        return plan

    return run(client, step, lock_key=f"user:{uid}", stats=stats_out)


def _replay(activity: dict[str, Any], uid: str, fingerprint: str) -> dict[str, Any]:
    if activity.get("userId") != uid:  # ids are derived from uid, so only a forged id gets here
        raise InvalidRequest({"requestId": "belongs to another request"})
    if activity.get("requestFingerprint") != fingerprint:
        raise InvalidRequest({"requestId": "was already used with different parameters"})
    response = activity.get("response")
    if not isinstance(response, dict):
        raise InvalidRequest({"requestId": "belongs to a request that cannot be replayed"})
    return dict(response)


def _expires(hits: list[int], window_seconds: int) -> dt.datetime | None:
    ms = rate_limit.expires_at_ms(hits, window_seconds)
    return None if ms is None else from_millis(ms)


def _windows_expiry(windows: dict[str, Any]) -> dt.datetime | None:
    latest: dt.datetime | None = None
    for window in windows.values():
        if not isinstance(window, dict):
            continue
        hits = window.get("hits")
        seconds = window.get("windowSeconds")
        if isinstance(hits, list) and hits and isinstance(seconds, int):
            expiry = _expires(hits, seconds)
            if expiry is not None and (latest is None or expiry > latest):
                latest = expiry
    return latest


def _record_refusal(
    attempt: Attempt,
    plan: Plan[Any],
    now: dt.datetime,
    config: CreditConfig,
    caller: Caller,
    user: Any,
    limits_snap: Any,
    limits_doc: dict[str, Any],
    ctx: ClientContext,
    request: ChargeRequest,
    refusal: RateLimited,
) -> None:
    """Count a rate-limit refusal on the user's limits document; past milestones, an abuse event."""
    refusals = dict(limits_doc.get("refusals") or {})
    since = refusals.get("since")
    if not isinstance(since, dt.datetime) or (now - since).total_seconds() >= abuse.REFUSAL_WINDOW_SECONDS:
        refusals = {"count": 0, "since": now}
    count = int(refusals.get("count", 0)) + 1
    refusals["count"] = count
    refusals["lastScope"] = refusal.scope
    fields: dict[str, Any] = {"userId": caller.uid, "refusals": refusals, "updatedAt": now}
    if not limits_snap.exists:
        fields.update({"windows": {}, "expiresAt": now + dt.timedelta(seconds=abuse.REFUSAL_WINDOW_SECONDS)})
    plan.put(limits_snap, fields)
    severity = abuse.refusal_milestone(count)
    if severity is not None:
        abuse.record(
            attempt,
            plan,
            now=now,
            config=config,
            uid=caller.uid,
            caller=caller,
            user=user,
            ctx=ctx,
            event=abuse.Event(
                kind=abuse.RATE_LIMIT,
                severity=severity,
                device_id=request.device_id,
                detail={"refusals": count, "scope": refusal.scope, "type": request.type},
            ),
        )
