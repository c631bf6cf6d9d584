"""Buying credits on the demo page: a low balance, the upgrade prompt, a pack bought on the
local checkout page (the Stripe stand-in sends the signed webhook), the balance rising on the
open page; then a refund event, and the balance falls without a reload."""

from __future__ import annotations

from typing import Any

from credits import db as dbmod
from google.cloud.firestore_v1.base_query import FieldFilter
from playwright.sync_api import expect

from tests.browser.conftest import charge, configure, hosting_origin
from tests.support import emulators as emu
from tests.support import stripe_events as se

PRODUCTS = {
    "pack-100": {"kind": "pack", "priceId": "price_pack_small", "credits": 100, "expiresInDays": 365, "active": True},
    "plan-pro": {"kind": "plan", "priceId": "price_plan_pro", "planId": "pro", "credits": 1000, "active": True},
}


def balance(page: Any) -> int:
    return int(page.get_by_test_id("balance").inner_text().replace(",", ""))


def test_low_balance_upgrade_buy_a_pack_then_a_refund_takes_it_back(page: Any, admin: emu.User, shots: Any) -> None:
    configure(admin, {"products": PRODUCTS, "payments": {"allowedOrigins": [hosting_origin()]}})
    user = emu.sign_up()
    page.goto("/demo/")
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    page.click("#sign-in")
    expect(page.get_by_test_id("balance")).to_have_text("100")
    expect(page.get_by_test_id("low-balance-prompt")).to_be_hidden()
    # Spend 90 elsewhere (another tab, a script): the open page shows the low balance live.
    assert charge(user, type="image", prompt="a red kite over the downs", quantity=9).ok
    expect(page.get_by_test_id("balance")).to_have_text("10")
    expect(page.get_by_test_id("low-balance-prompt")).to_be_visible()
    page.get_by_test_id("low-balance-buy").click()
    shop = page.get_by_test_id("shop")
    expect(shop).to_be_visible()
    expect(page.get_by_test_id("product-pack-100")).to_contain_text("100 credits")
    expect(page.get_by_test_id("product-plan-pro")).to_contain_text("1,000 credits every month")
    page.screenshot(path=shots / "20-get-credits.png")
    page.get_by_test_id("buy-pack-100").click()
    # Stripe's (the stand-in's) checkout page.
    page.wait_for_url(se.STANDIN + "/checkout/*")
    expect(page.locator("#amount")).to_contain_text("5.00 USD")
    page.screenshot(path=shots / "21-checkout.png")
    page.click("#pay")
    page.wait_for_url("**/demo/?checkout=success")
    page.evaluate("window.__noReload = true")
    expect(page.get_by_test_id("checkout-return")).to_contain_text("Payment received")
    expect(page.get_by_test_id("balance")).to_have_text("110", timeout=20_000)
    expect(page.get_by_test_id("low-balance-prompt")).to_be_hidden()
    page.screenshot(path=shots / "22-credits-arrived.png")
    # The payment is refunded in Stripe: the webhook claws the pack back; the open page follows.
    db = dbmod.make_client(emu.PROJECT)
    payments = list(db.collection("payments").where(filter=FieldFilter("userId", "==", user.uid)).stream())
    assert len(payments) == 1
    pi = (payments[0].to_dict() or {})["stripe"]["paymentIntent"]
    sent = se.standin("/_standin/refund", {"payment_intent": pi})
    assert sent["webhookStatus"] == 200
    expect(page.get_by_test_id("balance")).to_have_text("10", timeout=20_000)
    assert page.evaluate("window.__noReload") is True
    expect(page.get_by_test_id("low-balance-prompt")).to_be_visible()
