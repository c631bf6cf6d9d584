"""``getCreditStatus``: what a web client shows before a generation.

The balance, the account status, whether the balance is low, the prices, the caller's
remaining rate limits with their reset times, and optionally a preview of one generation
(``cost``, ``affordable``, ``allowed``, ``reason``, ``retryAfterSeconds``) computed by the
same pricing and the same checks as a charge, in the same order (input, IP block, account
status, rate limits: user then IP, balance), minus moderation, which needs a prompt.

It charges and records nothing; the writes it may make are the account's creation on
first use (with its sign-up grant in the ledger), so that a client can show the balance
right after sign-in, and a free plan's renewal when a new period has begun (the account
catching up with the calendar, exactly once, see ``plans``). Expired buckets are left out at
read time, not recorded here. It is not counted by any rate limit.

Revision 3 adds ``buckets`` (live, spend order), ``nextExpiry``, ``plan`` and ``debt``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from credits.features import plans
from credits.features.accounts import Prepared
from credits.features.charging import CallerState, checks_state, parse_caller, read_caller
from credits.features.command import Command
from credits.policy import buckets as bucket_policy, charge as charge_policy, window
from credits.policy.charge import Approval
from credits.store import buckets as bucket_store
from credits.store.atomic import Attempt, Plan
from credits.vocab.clock import to_millis
from credits.vocab.config import CreditConfig
from credits.vocab.context import ClientContext
from credits.vocab.contract.callables import CreditStatusResponse
from credits.vocab.pricing import GENERATION_TYPES, GenerationType, parse_quantity, price
from credits.vocab.validation import Fields


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
            quantity = parse_quantity(inner, "quantity", kind) if kind else None
            for name, message in inner.errors.items():
                f.fail(f"preview.{name}" if name != "data" else "preview", message)
            if kind is not None and quantity is not None:
                preview = Preview(kind, quantity)
        f.raise_if_any()
        return cls(preview)


def window_status(hits: Any, now_ms: int, limit: int, window_seconds: int) -> dict[str, int]:
    """``{limit, remaining, resetInSeconds}`` of one sliding window.

    ``resetInSeconds`` is when the window is whole again: the newest counted request
    leaves it (0 when nothing is counted).
    """
    live = window.prune(hits, now_ms, window_seconds)
    remaining = max(0, limit - len(live))
    expires = window.expires_at_ms(live, window_seconds)
    reset = 0 if expires is None else max(0, math.ceil((expires - now_ms) / 1000))
    return {"limit": limit, "remaining": remaining, "resetInSeconds": reset}


def credit_status(cmd: Command, query: StatusQuery) -> CreditStatusResponse:
    """The caller's credit status (opening the account on first use)."""
    client, clock, caller, ctx = cmd.client, cmd.clock, cmd.caller, cmd.ctx

    def step(attempt: Attempt) -> Plan[CreditStatusResponse]:
        now = clock.now()
        now_ms = to_millis(now)
        snap = read_caller(attempt, caller, ctx)
        read = parse_caller(attempt, snap, caller, ctx, now)
        config, account, limits = read.config, read.account, read.limits
        plan: Plan[CreditStatusResponse] = Plan()
        if account.must_write:
            account.post(plan, client, now=now, low_balance_below=config.lowBalanceThreshold)
        if account.granted_now and ctx.ip:
            plan.put(snap["ip"], read.ip_fields(ctx.ip, read.ip_record.hits))
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
        result.update(_holdings(account, config, now))
        if account.signup_rule:
            result["signupGrantRule"] = account.signup_rule
        if query.preview is not None:
            result["preview"] = _preview(read, query.preview, ctx)
        plan.result = CreditStatusResponse.model_validate(result)
        return plan

    return cmd.commit("getCreditStatus", step, lock_key=f"user:{cmd.uid}")


def _holdings(account: Prepared, config: CreditConfig, now: dt.datetime) -> dict[str, Any]:
    """``buckets`` (live, in spend order), ``nextExpiry``, ``plan`` and ``debt``, computed at read
    time: a bucket that has expired is not shown even before a posting or the job records it.
    """
    live = account.live_buckets()
    upcoming = bucket_policy.next_expiry(live, now)
    data = account.account.data if account.account is not None else (account.opening or {})
    plan_raw = account.fields.get(plans.FIELD, data.get(plans.FIELD))
    debt = data.get("debt", 0)
    return {
        "buckets": [bucket_store.public(b) for b in live],
        "nextExpiry": None
        if upcoming is None
        else {"credits": upcoming[0], "at": upcoming[1].isoformat().replace("+00:00", "Z")},
        "plan": plans.public(plan_raw, config, f"users/{account.uid}"),
        "debt": debt if isinstance(debt, int) and not isinstance(debt, bool) and debt > 0 else 0,
    }


def _preview(read: CallerState, preview: Preview, ctx: ClientContext) -> dict[str, Any]:
    """A charge's decision without a prompt: the same pricing, the same checks, in order."""
    _unit, cost = price(read.config.costs, preview.type, preview.quantity)
    state = checks_state(read, preview.type, cost, ctx, None)
    decision = charge_policy.decide(state)
    out: dict[str, Any] = {"cost": cost, "affordable": read.account.balance >= cost, "allowed": isinstance(decision, Approval)}
    if not isinstance(decision, Approval):
        out["reason"] = decision.reason
        retry = decision.error.details.get("retryAfterSeconds")
        if retry is not None:
            out["retryAfterSeconds"] = retry
    return out
