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

from . import db, ledger, rate_limit
from .atomic import Attempt, Plan, run
from .charging import config_ref, ip_blocks_ref, ip_limits_ref, parse_quantity, price, user_limits_ref
from .clock import Clock, to_millis
from .config import GENERATION_TYPES, CreditConfig, from_document
from .context import Caller, ClientContext
from .ip_blocks import is_blocked
from .validation import Fields


@dataclass(frozen=True)
class Preview:
    """The generation to preview: a type and its quantity (the charge's rules)."""

    type: str
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
            quantity = parse_quantity(inner, "quantity", kind, allow_default=True) if kind else None
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
    live = rate_limit.prune(hits, now_ms, window_seconds)
    remaining = max(0, limit - len(live))
    expires = rate_limit.expires_at_ms(live, window_seconds)
    reset = 0 if expires is None else max(0, math.ceil((expires - now_ms) / 1000))
    return {"limit": limit, "remaining": remaining, "resetInSeconds": reset}


def credit_status(
    client: firestore.Client, clock: Clock, caller: Caller, ctx: ClientContext, query: StatusQuery
) -> dict[str, Any]:
    """The caller's credit status (creating the account on first use)."""
    uid = caller.uid
    user_ref = client.collection(db.USERS).document(uid)

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        refs = {"config": config_ref(client), "user": user_ref, "limits": user_limits_ref(client, uid)}
        if query.preview is not None:
            refs["blocks"] = ip_blocks_ref(client)
            if ctx.ip:
                refs["ip"] = ip_limits_ref(client, ctx.ip)
        got = attempt.get(list(refs.values()))
        snap = {name: got[ref.path] for name, ref in refs.items()}
        config = from_document(snap["config"].to_dict() if snap["config"].exists else None)
        plan: Plan[dict[str, Any]] = Plan()
        user = snap["user"]
        if user.exists:
            user_data = user.to_dict() or {}
        else:
            user_data = ledger.new_user(uid, caller, config, now)
            ledger.create_user(plan, client, user, uid, caller, config, now, {})
        credits = ledger.balance_of(user_data)
        status = str(user_data.get("status", "active"))
        now_ms = to_millis(now)
        windows = ((snap["limits"].to_dict() or {}) if snap["limits"].exists else {}).get("windows") or {}
        limits = config.rateLimits
        rate_limits = {
            kind: window_status((windows.get(kind) or {}).get("hits"), now_ms, limits.of(kind), limits.windowSeconds)
            for kind in GENERATION_TYPES
        }
        result: dict[str, Any] = {
            "credits": credits,
            "status": status,
            "lowBalance": credits < config.lowBalanceThreshold,
            "lowBalanceThreshold": config.lowBalanceThreshold,
            "costs": config.to_firestore()["costs"],
            "rateLimits": rate_limits,
            "signupGrant": str(user_data.get("signupGrant", "granted")),
        }
        if query.preview is not None:
            result["preview"] = _preview(config, query.preview, snap, windows, ctx, status, credits, now_ms)
        plan.result = result
        return plan

    return run(client, step, lock_key=f"user:{uid}")


def _preview(
    config: CreditConfig,
    preview: Preview,
    snap: dict[str, Any],
    windows: dict[str, Any],
    ctx: ClientContext,
    status: str,
    credits: int,
    now_ms: int,
) -> dict[str, Any]:
    _unit, cost = price(config, preview.type, preview.quantity)
    out: dict[str, Any] = {"cost": cost, "affordable": credits >= cost, "allowed": True}
    limits = config.rateLimits
    blocks = (snap["blocks"].to_dict() or {}) if snap["blocks"].exists else {}
    user_decision = rate_limit.decide(
        (windows.get(preview.type) or {}).get("hits"), now_ms, limits.of(preview.type), limits.windowSeconds
    )
    ip_decision = None
    if "ip" in snap:
        ip_doc = (snap["ip"].to_dict() or {}) if snap["ip"].exists else {}
        ip_decision = rate_limit.decide(ip_doc.get("hits"), now_ms, limits.ipRequests, limits.ipWindowSeconds)
    if is_blocked(blocks.get("entries"), ctx.ip):
        out.update(allowed=False, reason="ip_blocked")
    elif status == "suspended":
        out.update(allowed=False, reason="account_suspended")
    elif not user_decision.allowed:
        out.update(allowed=False, reason="rate_limited", retryAfterSeconds=user_decision.retry_after_seconds)
    elif ip_decision is not None and not ip_decision.allowed:
        out.update(allowed=False, reason="rate_limited", retryAfterSeconds=ip_decision.retry_after_seconds)
    elif credits < cost:
        out.update(allowed=False, reason="insufficient_credits")
    return out
