"""Stripe events as this backend reads them: plain data out of the event's JSON.

Only the fields the webhook uses, each read defensively (a field Stripe moved between API
versions is looked for in both places). Nothing here calls Stripe: an event carries all it
needs (the uid and product travel as metadata set at checkout).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

PAID_CHECKOUT = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
INVOICE_PAID = "invoice.paid"
SUBSCRIPTION_CHANGED = frozenset({"customer.subscription.updated", "customer.subscription.deleted"})
CHARGE_REFUNDED = "charge.refunded"
DISPUTE_CREATED = "charge.dispute.created"
DISPUTE_CLOSED = "charge.dispute.closed"
HANDLED = PAID_CHECKOUT | SUBSCRIPTION_CHANGED | {INVOICE_PAID, CHARGE_REFUNDED, DISPUTE_CREATED, DISPUTE_CLOSED}


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])  # an expanded object
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Event:
    """The envelope: id, type, when Stripe created it, and its object."""

    id: str
    type: str
    created: int
    obj: dict[str, Any]
    livemode: bool

    @classmethod
    def parse(cls, body: Any) -> Event | None:
        """The event, or None when the body is not an event's shape."""
        if not isinstance(body, dict):
            return None
        event_id, kind = body.get("id"), body.get("type")
        obj = _dict(body.get("data")).get("object")
        if not isinstance(event_id, str) or not event_id.startswith("evt_") or len(event_id) > 255 or "/" in event_id:
            return None
        if not isinstance(kind, str) or not isinstance(obj, dict):
            return None
        return cls(event_id, kind, _int(body.get("created")) or 0, obj, body.get("livemode") is True)


@dataclass(frozen=True)
class Paid:
    """A payment to grant: a paid pack's Checkout Session, or a subscription's paid Invoice."""

    payment_id: str  # the Checkout Session's or the Invoice's id: one payment, one grant
    kind: Literal["pack", "plan"]
    uid: str | None
    customer: str | None
    product_id: str | None
    amount: int
    currency: str
    payment_intent: str | None
    subscription: str | None = None
    period_start: int | None = None
    period_end: int | None = None
    price_id: str | None = None  # the invoice line's price: the product when metadata lacks it

    def stripe_ids(self) -> dict[str, str]:
        """The Stripe ids a payment record keeps."""
        ids = {
            "checkoutSession" if self.kind == "pack" else "invoice": self.payment_id,
            "customer": self.customer,
            "paymentIntent": self.payment_intent,
            "subscription": self.subscription,
        }
        return {k: v for k, v in ids.items() if v}


def paid_checkout(obj: dict[str, Any]) -> Paid | None:
    """A paid pack from a Checkout Session; None when it is not one (unpaid yet, a subscription's)."""
    session_id = _str(obj.get("id"))
    if session_id is None or obj.get("mode") != "payment" or obj.get("payment_status") != "paid":
        return None
    metadata = _dict(obj.get("metadata"))
    return Paid(
        payment_id=session_id,
        kind="pack",
        uid=_str(obj.get("client_reference_id")) or _str(metadata.get("uid")),
        customer=_str(obj.get("customer")),
        product_id=_str(metadata.get("productId")),
        amount=_int(obj.get("amount_total")) or 0,
        currency=str(obj.get("currency") or ""),
        payment_intent=_str(obj.get("payment_intent")),
    )


def _invoice_subscription(obj: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The subscription and its metadata: ``parent.subscription_details`` (newer API
    versions) or ``subscription`` / ``subscription_details`` (older ones).
    """
    details = _dict(_dict(obj.get("parent")).get("subscription_details")) or _dict(obj.get("subscription_details"))
    subscription = _str(details.get("subscription")) or _str(obj.get("subscription"))
    metadata = _dict(details.get("metadata"))
    line = _first_line(obj)
    return subscription, metadata or _dict(line.get("metadata"))


def _first_line(obj: dict[str, Any]) -> dict[str, Any]:
    lines = _dict(obj.get("lines")).get("data")
    return _dict(lines[0]) if isinstance(lines, list) and lines else {}


def _invoice_payment_intent(obj: dict[str, Any]) -> str | None:
    direct = _str(obj.get("payment_intent"))
    if direct:
        return direct
    payments = _dict(obj.get("payments")).get("data")
    if isinstance(payments, list):
        for item in payments:
            found = _str(_dict(_dict(item).get("payment")).get("payment_intent"))
            if found:
                return found
    return None


def paid_invoice(obj: dict[str, Any]) -> Paid | None:
    """A paid plan period from an Invoice; None for an invoice of no subscription."""
    invoice_id = _str(obj.get("id"))
    subscription, metadata = _invoice_subscription(obj)
    if invoice_id is None or subscription is None:
        return None
    line = _first_line(obj)
    period = _dict(line.get("period"))
    price = _str(_dict(line.get("price")).get("id")) or _str(_dict(_dict(line.get("pricing")).get("price_details")).get("price"))
    return Paid(
        payment_id=invoice_id,
        kind="plan",
        uid=_str(metadata.get("uid")),
        customer=_str(obj.get("customer")),
        product_id=_str(metadata.get("productId")),
        amount=_int(obj.get("amount_paid")) or 0,
        currency=str(obj.get("currency") or ""),
        payment_intent=_invoice_payment_intent(obj),
        subscription=subscription,
        period_start=_int(period.get("start")) or _int(obj.get("period_start")),
        period_end=_int(period.get("end")) or _int(obj.get("period_end")),
        price_id=price,
    )


@dataclass(frozen=True)
class Reversal:
    """A refund or a dispute of a payment, matched by its payment intent."""

    payment_intent: str | None
    charge: str | None
    amount: int  # what was charged (minor units)
    amount_refunded: int  # cumulative; a dispute takes back everything
    dispute: str | None = None
    dispute_status: str | None = None


def refund(obj: dict[str, Any]) -> Reversal:
    """``charge.refunded``: the charge with its cumulative ``amount_refunded``."""
    return Reversal(
        payment_intent=_str(obj.get("payment_intent")),
        charge=_str(obj.get("id")),
        amount=_int(obj.get("amount")) or 0,
        amount_refunded=_int(obj.get("amount_refunded")) or 0,
    )


def dispute(obj: dict[str, Any]) -> Reversal:
    """``charge.dispute.*``: the disputed charge and the dispute's status."""
    amount = _int(obj.get("amount")) or 0
    return Reversal(
        payment_intent=_str(obj.get("payment_intent")),
        charge=_str(obj.get("charge")),
        amount=amount,
        amount_refunded=amount,
        dispute=_str(obj.get("id")),
        dispute_status=_str(obj.get("status")),
    )


@dataclass(frozen=True)
class Subscription:
    """``customer.subscription.*``: which plan, and whether it goes on renewing."""

    id: str
    uid: str | None
    customer: str | None
    product_id: str | None
    price_id: str | None
    status: str
    cancel_at_period_end: bool
    period_end: int | None


def subscription(obj: dict[str, Any]) -> Subscription | None:
    """The subscription, None without an id."""
    sub_id = _str(obj.get("id"))
    if sub_id is None:
        return None
    metadata = _dict(obj.get("metadata"))
    items = _dict(obj.get("items")).get("data")
    item = _dict(items[0]) if isinstance(items, list) and items else {}
    return Subscription(
        id=sub_id,
        uid=_str(metadata.get("uid")),
        customer=_str(obj.get("customer")),
        product_id=_str(metadata.get("productId")),
        price_id=_str(_dict(item.get("price")).get("id")),
        status=str(obj.get("status") or ""),
        cancel_at_period_end=obj.get("cancel_at_period_end") is True,
        period_end=_int(item.get("current_period_end")) or _int(obj.get("current_period_end")),
    )
