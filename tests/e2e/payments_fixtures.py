"""What the payment tests share: products on sale, and a user who has a Stripe customer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.cloud import firestore

from tests.support import config as cfg, emulators as emu

ORIGIN = "http://localhost:5173"
PRODUCTS: dict[str, Any] = {
    "pack-small": {"kind": "pack", "priceId": "price_pack_small", "credits": 100, "expiresInDays": 365, "active": True},
    "pack-large": {"kind": "pack", "priceId": "price_pack_large", "credits": 500, "active": True},
    "pack-retired": {"kind": "pack", "priceId": "price_pack_small", "credits": 50, "active": False},
    "plan-pro": {"kind": "plan", "priceId": "price_plan_pro", "planId": "pro", "active": True},
    "plan-team": {"kind": "plan", "priceId": "price_plan_team", "planId": "team", "active": True},
}
PLANS: dict[str, Any] = {
    "pro": {"name": "Pro", "monthlyCredits": 1000, "rolloverPeriods": 1},
    "team": {"name": "Team", "monthlyCredits": 5000},
}


def sell(db: firestore.Client) -> None:
    """Put the test products (and the plans they sell) on sale, returning to ``ORIGIN``."""
    cfg.apply(db, {"plans": PLANS, "products": PRODUCTS, "payments": {"allowedOrigins": [ORIGIN]}})


@dataclass
class Buyer:
    user: emu.User
    customer: str
    session_id: str


def checkout(user: emu.User, product_id: str = "pack-small", **extra: Any) -> emu.CallResult:
    data = {
        "productId": product_id,
        "successUrl": f"{ORIGIN}/paid?s={{CHECKOUT_SESSION_ID}}",
        "cancelUrl": f"{ORIGIN}/cancel",
        **extra,
    }
    return emu.call("createCheckoutSession", data, user)


def buyer(db: firestore.Client, product_id: str = "pack-small") -> Buyer:
    """A new user who opened a checkout (so Stripe knows them as a customer)."""
    user = emu.sign_up()
    result = checkout(user, product_id).result
    customer = (db.collection("stripe_customers").document(user.uid).get().to_dict() or {})["customerId"]
    return Buyer(user, customer, result["sessionId"])


def balance(db: firestore.Client, uid: str) -> int:
    return int((db.collection("users").document(uid).get().to_dict() or {}).get("credits", 0))


def user_doc(db: firestore.Client, uid: str) -> dict[str, Any]:
    return db.collection("users").document(uid).get().to_dict() or {}
