"""``getCreditStatus``: what a web client shows before a generation.

The balance, the account status, whether the balance is low, the prices, the caller's
remaining rate limits with their reset times, and optionally a preview of one generation
(``cost``, ``affordable``, ``allowed``, ``reason``, ``retryAfterSeconds``) computed by the
same pricing and the same checks as a charge, in the same order (input, IP block, account
status, rate limits: user then IP, balance), minus moderation, which needs a prompt.

It charges and records nothing; the one write it may make is the account's creation on
first use (with its sign-up grant in the ledger), so that a client can show the balance
right after sign-in. It is not counted by any rate limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from google.cloud import firestore

from . import accounts, config_store, ip_blocks, notifications, rate_limit
from .atomic import Attempt, Deadline, Plan, Stats, run
from .charging import checks_state
from .clock import Clock, to_millis
from .config import CreditConfig
from .context import Caller, ClientContext
from .policy import charge as charge_policy
from .policy.charge import Approval
from .policy.signup import live_grants, with_grant
from .pricing import GENERATION_TYPES, GenerationType, parse_quantity, price
from .validation import Fields


@dataclass(frozen=True)
class Preview:
    """The generation to preview: a type and its quantity (the charge's rules)."""

    type: GenerationType
    quantity: Decimal


@dataclass(frozen=True)
class StatusQuery:
    """What ``getCreditStatus`` accepts: ``{}`` or ``{preview: {type, quantity?}}``."""

    preview: Preview | None = None

    @classmethod
    def parse(cls, data: Any) -> StatusQuery:
        """Validate; ``None`` counts as ``{}`` (``httpsCallable(fn)()`` sends no data)."""
        f = Fields({} if data is None else data, {"preview"})
        preview = None
        if f.present("preview"):
            inner = Fields(f.data["preview"], {"type", "quantity"})
            kind = inner.choice("type", GENERATION_TYPES)
            quantity = parse_quantity(inner, "quantity", kind) if kind else None  # type: ignore[arg-type]
            for name, message in inner.errors.items():
                f.fail(f"preview.{name}" if name != "data" else "preview", message)
            if kind is not None and quantity is not None:
                preview = Preview(kind, quantity)  # type: ignore[arg-type]
        f.raise_if_any()
        return cls(preview)


def window_status(hits: Any, now_ms: int, limit: int, window_seconds: int) -> dict[str, int]:
    """``{limit, remaining, resetInSeconds}`` of one sliding window.

    ``resetInSeconds`` is when the window is whole again: the newest counted request
    leaves it (0 when nothing is counted).
    """
    live = rate_limit.prune(hits, now_ms, window_seconds)
    remaining = max(0, limit - len(live))
    expires = rate_limit.expires_at_ms(live, window_seconds)
    reset = 0 if expires is None else max(0, math.ceil((expires - now_ms) / 1000))
    return {"limit": limit, "remaining": remaining, "resetInSeconds": reset}


def credit_status(
    client: firestore.Client,
    clock: Clock,
    caller: Caller,
    ctx: ClientContext,
    query: StatusQuery,
    *,
    deadline: Deadline | None = None,
    stats_out: Stats | None = None,
) -> dict[str, Any]:
    """The caller's credit status (opening the account on first use)."""
    uid = caller.uid

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        now_ms = to_millis(now)
        refs = {
            "config": config_store.applied_ref(client),
            "user": accounts.user_ref(client, uid),
            "limits": rate_limit.user_ref(client, uid),
        }
        if ctx.ip:
            refs["ip"] = rate_limit.ip_ref(client, ctx.ip)
            refs["block"], refs["ranges"] = ip_blocks.refs_for(client, ctx.ip)
        got = attempt.get(list(refs.values()))
        snap = {name: got[ref.path] for name, ref in refs.items()}
        applied = config_store.load(attempt, snap["config"])
        config = applied.credits
        blocked = ip_blocks.is_blocked(ctx.ip, snap.get("block"), snap.get("ranges"))
        ip_record = rate_limit.parse_ip_record(snap["ip"].to_dict() if ctx.ip and snap["ip"].exists else None)
        limits_snap = snap["limits"]
        limits = rate_limit.parse_user_limits(limits_snap.reference.path, limits_snap.to_dict() if limits_snap.exists else None)
        grants = live_grants(list(ip_record.grants), now_ms)
        account = accounts.prepare(
            attempt, snap["user"], caller, config, now, accounts.SignupFacts(ctx.ip is not None, blocked, grants)
        )
        plan: Plan[dict[str, Any]] = Plan()
        if account.must_write:
            account.post(plan, client, now=now, low_balance_below=config.lowBalanceThreshold)
        if account.granted_now and ctx.ip:
            rates = config.rateLimits
            new_grants = with_grant(grants, now_ms, config.signup.grantsPerIpPerDay)
            plan.put(
                snap["ip"],
                rate_limit.ip_record_fields(ctx.ip, ip_record.hits, new_grants, rates.ipRequests, rates.ipWindowSeconds, now),
            )
        credits = account.balance
        rates = config.rateLimits
        result: dict[str, Any] = {
            "credits": credits,
            "status": account.status,
            "lowBalance": credits < config.lowBalanceThreshold,
            "lowBalanceThreshold": config.lowBalanceThreshold,
            "costs": config.to_firestore()["costs"],
            "rateLimits": {
                kind: window_status(limits.hits(kind), now_ms, rates.of(kind), rates.windowSeconds) for kind in GENERATION_TYPES
            },
            "signupGrant": account.signup_grant,
        }
        if account.signup_rule:
            result["signupGrantRule"] = account.signup_rule
        if query.preview is not None:
            result["preview"] = _preview(config, query.preview, account, limits, ip_record, blocked, ctx, now_ms)
        plan.result = result
        return plan

    with notifications.reporting(client, clock, "getCreditStatus"):
        return run(client, step, lock_key=f"user:{uid}", deadline=deadline, stats=stats_out)


def _preview(
    config: CreditConfig,
    preview: Preview,
    account: accounts.Prepared,
    limits: rate_limit.UserLimits,
    ip_record: rate_limit.IpRecord,
    blocked: bool,
    ctx: ClientContext,
    now_ms: int,
) -> dict[str, Any]:
    """A charge's decision without a prompt: the same pricing, the same checks, in order."""
    _unit, cost = price(config.costs, preview.type, preview.quantity)
    state = checks_state(config, preview.type, cost, account, limits, ip_record, blocked, ctx, None, now_ms)
    decision = charge_policy.decide(state)
    out: dict[str, Any] = {"cost": cost, "affordable": account.balance >= cost, "allowed": isinstance(decision, Approval)}
    if not isinstance(decision, Approval):
        out["reason"] = decision.reason
        retry = decision.error.details.get("retryAfterSeconds")
        if retry is not None:
            out["retryAfterSeconds"] = retry
    return out
