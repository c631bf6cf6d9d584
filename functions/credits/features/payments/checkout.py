"""``createCheckoutSession`` and ``createBillingPortalSession``: sending a user to Stripe.

Order of a checkout: input; then, in one atomic step, the account (opened on first use, as
every call does), the refusals a charge would make (a blocked address, a suspended account),
the product (known and active) and the return urls (on the configured origins); then the
Stripe customer of the user (created once, kept in ``stripe_customers/{uid}``, which no client
may read); then the session, with an idempotency key so that a double click makes one.

Nothing is granted here: credits come only from the verified webhook (``webhook``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from google.cloud import firestore

from credits.features import charging
from credits.features.command import Command
from credits.features.payments import stripe_api
from credits.features.payments.stripe_api import StripeKeys
from credits.store import db
from credits.store.atomic import Attempt, Plan
from credits.vocab.config import CreditConfig, Product
from credits.vocab.contract.callables import CheckoutResponse, PortalResponse
from credits.vocab.errors import AccountSuspended, InvalidRequest, IpBlocked
from credits.vocab.validation import Fields, Shape

_PRODUCT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_URL = 2048
# A double click (or a client retry) within this window makes one Checkout Session.
IDEMPOTENCY_WINDOW_SECONDS = 600


@dataclass(frozen=True)
class CheckoutRequest:
    """What ``createCheckoutSession`` accepts."""

    product_id: str
    success_url: str
    cancel_url: str

    @classmethod
    def parse(cls, data: Any) -> CheckoutRequest:
        """Validate a request; ``InvalidRequest`` names every bad field."""
        f = Fields(data, {"productId", "successUrl", "cancelUrl"})
        product_id = f.string("productId", max_len=64, pattern=Shape(_PRODUCT_ID, "is not a product id"))
        success = _url(f, "successUrl")
        cancel = _url(f, "cancelUrl")
        f.raise_if_any()
        assert product_id is not None and success is not None and cancel is not None
        return cls(product_id, success, cancel)


@dataclass(frozen=True)
class PortalRequest:
    """What ``createBillingPortalSession`` accepts."""

    return_url: str

    @classmethod
    def parse(cls, data: Any) -> PortalRequest:
        """Validate a request; ``InvalidRequest`` names every bad field."""
        f = Fields(data if data is not None else {}, {"returnUrl"})
        url = _url(f, "returnUrl")
        f.raise_if_any()
        assert url is not None
        return cls(url)


def _url(f: Fields, name: str) -> str | None:
    value = f.string(name, max_len=MAX_URL)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        f.fail(name, "must be an absolute http(s) url")
        return None
    return value


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a url, lower-cased as browsers compare origins."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def check_origins(config: CreditConfig, urls: dict[str, str]) -> None:
    """Refuse a return url whose origin is not on ``payments.allowedOrigins`` (an open redirect)."""
    allowed = {o.lower().rstrip("/") for o in config.payments.allowedOrigins}
    errors = {name: "must be on an allowed origin" for name, url in urls.items() if origin_of(url) not in allowed}
    if errors:
        raise InvalidRequest(errors)


def customer_ref(client: firestore.Client, uid: str) -> firestore.DocumentReference:
    """``stripe_customers/{uid}``: the user's Stripe customer (server only)."""
    return client.collection(db.STRIPE_CUSTOMERS).document(uid)


@dataclass(frozen=True)
class _Admitted:
    config: CreditConfig
    product: Product | None
    customer: str | None


def _admit(cmd: Command, urls: dict[str, str], product_id: str | None) -> _Admitted:
    """The checks before Stripe is called, in one atomic step (it may open the account)."""
    client, clock, caller, ctx = cmd.client, cmd.clock, cmd.caller, cmd.ctx
    ref = customer_ref(client, caller.uid)

    def step(attempt: Attempt) -> Plan[_Admitted]:
        now = clock.now()
        snap = charging.read_caller(attempt, caller, ctx, {"customer": ref})
        read = charging.parse_caller(attempt, snap, caller, ctx, now)
        config, account = read.config, read.account
        plan: Plan[_Admitted] = Plan()
        if account.must_write:
            account.post(plan, client, now=now, low_balance_below=config.lowBalanceThreshold)
        if account.granted_now and ctx.ip:
            plan.put(snap["ip"], read.ip_fields(ctx.ip, read.ip_record.hits))
        product: Product | None = None
        try:
            if read.blocked:
                raise IpBlocked()
            if account.status == "suspended":
                raise AccountSuspended()
            if product_id is not None:
                product = config.products.get(product_id)
                if product is None or not product.active:
                    raise InvalidRequest({"productId": "is not a product on sale"})
            check_origins(config, urls)
        except (IpBlocked, AccountSuspended, InvalidRequest) as err:
            plan.error = err  # the account's opening still commits, as for any first call
            return plan
        stored = snap["customer"].to_dict() if snap["customer"].exists else None
        customer = stored.get("customerId") if stored else None
        plan.result = _Admitted(config, product, customer if isinstance(customer, str) else None)
        return plan

    return cmd.commit("checkout", step, lock_key=f"user:{caller.uid}")


def _customer(cmd: Command, keys: StripeKeys, known: str | None) -> str:
    """The user's Stripe customer: the stored one, or a new one stored once.

    Racing first calls send the same idempotency key and get the same customer; the first
    commit keeps it, and a later one finds it stored and uses it.
    """
    if known:
        return known
    client, caller = cmd.client, cmd.caller
    created = stripe_api.create_customer(keys, uid=caller.uid, email=caller.email)
    ref = customer_ref(client, caller.uid)

    def step(attempt: Attempt) -> Plan[str]:
        snap = attempt.get([ref])[ref.path]
        stored = (snap.to_dict() or {}).get("customerId") if snap.exists else None
        if isinstance(stored, str) and stored:
            return Plan(result=stored)
        plan: Plan[str] = Plan(result=created)
        plan.put(snap, {"customerId": created, "userId": caller.uid, "createdAt": cmd.clock.now()})
        return plan

    return cmd.commit("checkout", step, lock_key=f"user:{caller.uid}")


def _key(*parts: Any) -> str:
    return hashlib.sha256("\n".join(str(p) for p in parts).encode()).hexdigest()[:48]


def checkout_params(uid: str, customer: str, product_id: str, product: Product, request: CheckoutRequest) -> dict[str, Any]:
    """The Checkout Session's parameters: ``payment`` mode for a pack, ``subscription`` for a plan.

    The uid travels as ``client_reference_id`` and, with the product, as metadata on the
    session and on what it creates (the payment intent or the subscription, whose invoices
    carry it), so every webhook event names its user and product without a call to Stripe.
    """
    metadata = {"uid": uid, "productId": product_id}
    params: dict[str, Any] = {
        "mode": "payment" if product.kind == "pack" else "subscription",
        "customer": customer,
        "client_reference_id": uid,
        "line_items": [{"price": product.priceId, "quantity": 1}],
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "metadata": metadata,
    }
    if product.kind == "pack":
        params["payment_intent_data"] = {"metadata": metadata}
    else:
        params["subscription_data"] = {"metadata": metadata}
    return params


def create_checkout_session(cmd: Command, request: CheckoutRequest, keys: StripeKeys) -> CheckoutResponse:
    """A Checkout Session for one product; ``{sessionId, url}``."""
    keys.require_api()
    admitted = _admit(cmd, {"successUrl": request.success_url, "cancelUrl": request.cancel_url}, request.product_id)
    assert admitted.product is not None
    uid = cmd.uid
    customer = _customer(cmd, keys, admitted.customer)
    params = checkout_params(uid, customer, request.product_id, admitted.product, request)
    window = int(cmd.clock.now().timestamp()) // IDEMPOTENCY_WINDOW_SECONDS
    key = "checkout-" + _key(
        uid, customer, request.product_id, admitted.product.priceId, request.success_url, request.cancel_url, window
    )
    session_id, url = stripe_api.create_checkout_session(keys, params, key)
    return CheckoutResponse(sessionId=session_id, url=url)


def create_billing_portal_session(cmd: Command, request: PortalRequest, keys: StripeKeys) -> PortalResponse:
    """A billing portal session for the user's customer; ``{url}``."""
    keys.require_api()
    admitted = _admit(cmd, {"returnUrl": request.return_url}, None)
    customer = _customer(cmd, keys, admitted.customer)
    window = int(cmd.clock.now().timestamp()) // 60
    url = stripe_api.create_portal_session(
        keys,
        customer=customer,
        return_url=request.return_url,
        idempotency_key="portal-" + _key(cmd.uid, customer, request.return_url, window),
    )
    return PortalResponse(url=url)
