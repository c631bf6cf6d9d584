"""Buying credits on the demo page: a low balance, the upgrade prompt, a pack bought on the
local checkout page (the Stripe stand-in sends the signed webhook), the balance rising on the
open page; then a refund event, and the balance falls without a reload."""

from __future__ import annotations

from typing import Any

from credits.store import db as dbmod
from google.cloud.firestore_v1.base_query import FieldFilter
from playwright.sync_api import expect

from tests.browser.conftest import charge, configure, hosting_origin, sign_in_to_dashboard
from tests.support import emulators as emu, stripe_events as se

PRODUCTS = {
    "pack-100": {"kind": "pack", "priceId": "price_pack_small", "credits": 100, "expiresInDays": 365, "active": True},
    "plan-pro": {"kind": "plan", "priceId": "price_plan_pro", "planId": "pro", "active": True},
}
PLANS = {"pro": {"name": "Pro", "monthlyCredits": 1000}}


def balance(page: Any) -> int:
    return int(page.get_by_test_id("balance").inner_text().replace(",", ""))


def test_low_balance_upgrade_buy_a_pack_then_a_refund_takes_it_back(page: Any, admin: emu.User, shots: Any) -> None:
    configure(admin, {"plans": PLANS, "products": PRODUCTS, "payments": {"allowedOrigins": [hosting_origin()]}})
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


def test_the_admin_payments_view_shows_purchases_refunds_revenue_and_refused_signatures(
    dashboard: Any, admin: emu.User, shots: Any
) -> None:
    configure(admin, {"plans": PLANS, "products": PRODUCTS, "payments": {"allowedOrigins": [hosting_origin()]}})
    db = dbmod.make_client(emu.PROJECT)
    user = emu.sign_up()
    assert emu.call("getCreditStatus", {}, user).ok
    session_id = emu.call(
        "createCheckoutSession",
        {"productId": "pack-100", "successUrl": f"{hosting_origin()}/demo/", "cancelUrl": f"{hosting_origin()}/demo/"},
        user,
    ).result["sessionId"]
    customer = (db.collection("stripe_customers").document(user.uid).get().to_dict() or {})["customerId"]
    event = se.checkout_completed(uid=user.uid, customer=customer, product_id="pack-100", session_id=session_id)
    assert se.send(event).status_code == 200
    pi = event["data"]["object"]["payment_intent"]
    assert se.send(se.charge_refunded(payment_intent=pi, amount=500, amount_refunded=250)).status_code == 200
    assert se.send(event, secret="whsec_forged").status_code == 400
    page = dashboard
    sign_in_to_dashboard(page, admin, "#payments")
    expect(page.get_by_test_id("payments-tab")).to_be_visible()
    row = page.get_by_test_id(f"payment-{session_id}")
    expect(row).to_contain_text("pack-100")
    expect(row).to_contain_text("5.00 USD")
    expect(row).to_contain_text("50")
    expect(page.get_by_test_id("revenue-by-product")).to_contain_text("pack-100")
    assert int(page.get_by_test_id("pay-failures").inner_text().replace(",", "")) >= 1
    assert int(page.get_by_test_id("pay-refunds").inner_text().replace(",", "")) >= 1
    page.fill("#pay-user", user.uid)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("payments-table").locator("tbody tr")).to_have_count(1)
    page.screenshot(path=shots / "23-admin-payments.png")
