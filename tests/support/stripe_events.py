"""Stripe events for tests: built in Stripe's documented shapes and signed as Stripe signs
them (``Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.body" with the endpoint
secret>``), then POSTed to the real ``stripeWebhook`` on the Functions emulator.

Only tests sign by hand; the backend verifies with ``stripe.Webhook.construct_event``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import requests

from . import emulators as emu

ROOT = Path(__file__).resolve().parents[2]
STANDIN = os.environ.get("CREDITS_STRIPE_API_BASE", "http://127.0.0.1:12111")
WEBHOOK_URL = f"{emu.FUNCTIONS_URL}/stripeWebhook"


def secret_local(name: str) -> str:
    """A value of the committed, test-only ``functions/.secret.local``."""
    for line in (ROOT / "functions" / ".secret.local").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    raise KeyError(name)


WEBHOOK_SECRET = secret_local("STRIPE_WEBHOOK_SECRET")


def signature(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The header Stripe sends with ``payload``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def send(
    event: dict[str, Any] | bytes,
    *,
    header: str | None = "sign",
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    session: requests.Session | None = None,
    timeout: float = 60,
) -> requests.Response:
    """POST an event to the webhook; ``header="sign"`` signs it, None sends no signature, any
    other string is sent as the header."""
    payload = event if isinstance(event, bytes) else json.dumps(event).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if header == "sign":
        headers["Stripe-Signature"] = signature(payload, secret, timestamp)
    elif header is not None:
        headers["Stripe-Signature"] = header
    return (session or emu.session()).post(WEBHOOK_URL, data=payload, headers=headers, timeout=timeout)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None) -> dict[str, Any]:
    """An event envelope as Stripe sends it."""
    return {
        "id": event_id or new_id("evt"),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created if created is not None else int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": kind,
        "data": {"object": obj},
    }


def checkout_completed(
    *,
    uid: str,
    customer: str,
    product_id: str,
    amount: int = 500,
    session_id: str | None = None,
    payment_intent: str | None = None,
    payment_status: str = "paid",
    kind: str = "checkout.session.completed",
) -> dict[str, Any]:
    """A pack's Checkout Session, completed."""
    return event(
        kind,
        {
            "id": session_id or new_id("cs_test"),
            "object": "checkout.session",
            "mode": "payment",
            "status": "complete",
            "payment_status": payment_status,
            "client_reference_id": uid,
            "customer": customer,
            "metadata": {"uid": uid, "productId": product_id},
            "amount_total": amount,
            "currency": "usd",
            "payment_intent": payment_intent or new_id("pi"),
            "livemode": False,
        },
    )


def invoice_paid(
    *,
    uid: str,
    customer: str,
    product_id: str,
    subscription: str,
    start: int,
    amount: int = 1500,
    invoice_id: str | None = None,
    payment_intent: str | None = None,
    period_days: int = 30,
) -> dict[str, Any]:
    """A subscription's Invoice, paid (the newer API's ``parent.subscription_details``)."""
    end = start + period_days * 86_400
    return event(
        "invoice.paid",
        {
            "id": invoice_id or new_id("in"),
            "object": "invoice",
            "customer": customer,
            "status": "paid",
            "amount_paid": amount,
            "currency": "usd",
            "payment_intent": payment_intent or new_id("pi"),
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription, "metadata": {"uid": uid, "productId": product_id}},
            },
            "lines": {
                "object": "list",
                "data": [{"object": "line_item", "amount": amount, "period": {"start": start, "end": end}}],
            },
        },
    )


def charge_refunded(*, payment_intent: str, amount: int, amount_refunded: int) -> dict[str, Any]:
    """A charge, refunded in part or whole (``amount_refunded`` is cumulative)."""
    return event(
        "charge.refunded",
        {
            "id": "ch_" + payment_intent.removeprefix("pi_"),
            "object": "charge",
            "amount": amount,
            "amount_refunded": amount_refunded,
            "refunded": amount_refunded >= amount,
            "currency": "usd",
            "payment_intent": payment_intent,
        },
    )


def dispute(
    *,
    payment_intent: str,
    amount: int,
    kind: str = "charge.dispute.created",
    status: str = "needs_response",
    dispute_id: str | None = None,
) -> dict[str, Any]:
    """A dispute of a charge."""
    return event(
        kind,
        {
            "id": dispute_id or new_id("dp"),
            "object": "dispute",
            "amount": amount,
            "currency": "usd",
            "charge": "ch_" + payment_intent.removeprefix("pi_"),
            "payment_intent": payment_intent,
            "reason": "fraudulent",
            "status": status,
        },
    )


def subscription_event(
    kind: str,
    *,
    uid: str,
    customer: str,
    product_id: str,
    subscription: str,
    price: str,
    status: str = "active",
    cancel_at_period_end: bool = False,
    created: int | None = None,
) -> dict[str, Any]:
    """``customer.subscription.updated`` / ``.deleted``."""
    return event(
        kind,
        {
            "id": subscription,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "cancel_at_period_end": cancel_at_period_end,
            "metadata": {"uid": uid, "productId": product_id},
            "items": {
                "object": "list",
                "data": [{"price": {"id": price, "object": "price"}, "current_period_end": int(time.time()) + 30 * 86_400}],
            },
        },
        created=created,
    )


def standin(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ask the Stripe stand-in (GET without ``body``, POST with it)."""
    url = f"{STANDIN}{path}"
    r = emu.session().post(url, json=body, timeout=60) if body is not None else emu.session().get(url, timeout=60)
    r.raise_for_status()
    result: dict[str, Any] = r.json()
    return result
