"""createCheckoutSession and createBillingPortalSession over HTTP, against the Functions
emulator and the local Stripe stand-in (which records what the backend sent it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.cloud import firestore

from tests.e2e.payments_fixtures import ORIGIN, checkout, sell
from tests.support import emulators as emu, stripe_events as se


@pytest.fixture(autouse=True)
def _on_sale(db: firestore.Client, config: Any) -> Iterator[None]:
    sell(db)
    yield


def sent_to_stripe(path: str, customer: str | None = None, idempotency_key: str | None = None) -> list[dict[str, Any]]:
    requests_ = se.standin("/_standin/requests")["requests"]
    return [
        r
        for r in requests_
        if r["path"] == path
        and (customer is None or r["params"].get("customer") == customer)
        and (idempotency_key is None or r["idempotencyKey"] == idempotency_key)
    ]


def test_a_pack_opens_a_payment_mode_session_carrying_the_uid_and_product(db: firestore.Client) -> None:
    user = emu.sign_up()
    result = checkout(user, "pack-small").result
    assert result["sessionId"].startswith("cs_test_")
    assert result["url"].startswith(se.STANDIN + "/checkout/")
    customer = db.collection("stripe_customers").document(user.uid).get().to_dict()["customerId"]
    sent = [r for r in sent_to_stripe("/v1/checkout/sessions", customer)][-1]["params"]
    assert sent["mode"] == "payment"
    assert sent["client_reference_id"] == user.uid
    assert sent["metadata"] == {"uid": user.uid, "productId": "pack-small"}
    assert sent["payment_intent_data"] == {"metadata": {"uid": user.uid, "productId": "pack-small"}}
    assert "subscription_data" not in sent
    assert sent["line_items"] == [{"price": "price_pack_small", "quantity": "1"}]
    assert sent["success_url"].startswith(ORIGIN)


def test_a_plan_opens_a_subscription_mode_session_with_the_metadata_on_the_subscription(db: firestore.Client) -> None:
    user = emu.sign_up()
    assert checkout(user, "plan-pro").ok
    customer = db.collection("stripe_customers").document(user.uid).get().to_dict()["customerId"]
    sent = sent_to_stripe("/v1/checkout/sessions", customer)[-1]["params"]
    assert sent["mode"] == "subscription"
    assert sent["subscription_data"] == {"metadata": {"uid": user.uid, "productId": "plan-pro"}}
    assert "payment_intent_data" not in sent


def test_a_double_click_makes_one_session_and_the_customer_is_created_once(db: firestore.Client) -> None:
    user = emu.sign_up()
    first = checkout(user, "pack-small").result
    second = checkout(user, "pack-small").result
    assert first == second
    other = checkout(user, "pack-large").result
    assert other["sessionId"] != first["sessionId"]
    customer = db.collection("stripe_customers").document(user.uid).get().to_dict()["customerId"]
    created = [r for r in sent_to_stripe("/v1/customers") if r["params"].get("metadata", {}).get("uid") == user.uid]
    # Every customer request of this user carried the same key: Stripe made one customer.
    assert {r["idempotencyKey"] for r in created} == {f"customer-{user.uid}"}
    sessions = sent_to_stripe("/v1/checkout/sessions", customer)
    assert len(sessions) == 3 and all(r["params"]["customer"] == customer for r in sessions)
    assert sessions[0]["idempotencyKey"] == sessions[1]["idempotencyKey"] != sessions[2]["idempotencyKey"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"productId": "no-such-product"}, "productId"),
        ({"productId": "pack-retired"}, "productId"),
        ({"successUrl": "https://evil.example.com/x"}, "successUrl"),
        ({"cancelUrl": "javascript:alert(1)"}, "cancelUrl"),
        ({"productId": 7}, "productId"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_requests_are_invalid_and_reach_no_stripe(db: firestore.Client, data: dict[str, Any], field: str) -> None:
    user = emu.sign_up()
    body = {"productId": "pack-small", "successUrl": f"{ORIGIN}/ok", "cancelUrl": f"{ORIGIN}/no", **data}
    r = emu.call("createCheckoutSession", body, user)
    assert r.code == "INVALID_ARGUMENT" and r.reason == "invalid_request"
    assert field in r.details["errors"]
    assert not db.collection("stripe_customers").document(user.uid).get().exists


def test_a_suspended_user_and_a_blocked_address_are_refused_as_for_a_charge(db: firestore.Client, admin: emu.User) -> None:
    user = emu.sign_up()
    assert emu.call("getCreditStatus", {}, user).ok
    assert emu.call("setUserStatus", {"userId": user.uid, "status": "suspended", "reason": "test"}, admin).ok
    r = checkout(user)
    assert r.code == "PERMISSION_DENIED" and r.reason == "account_suspended"
    other = emu.sign_up()
    assert emu.call("setIpBlock", {"ip": other.ip, "blocked": True, "reason": "test"}, admin).ok
    try:
        r = emu.call(
            "createCheckoutSession",
            {"productId": "pack-small", "successUrl": f"{ORIGIN}/ok", "cancelUrl": f"{ORIGIN}/no"},
            other,
            ip=other.ip,
        )
        assert r.code == "PERMISSION_DENIED" and r.reason == "ip_blocked"
    finally:
        assert emu.call("setIpBlock", {"ip": other.ip, "blocked": False, "reason": "test"}, admin).ok
    assert not db.collection("stripe_customers").document(other.uid).get().exists


def test_without_a_token_the_call_is_unauthenticated() -> None:
    r = emu.call("createCheckoutSession", {"productId": "pack-small", "successUrl": f"{ORIGIN}/ok", "cancelUrl": f"{ORIGIN}/no"})
    assert r.code == "UNAUTHENTICATED"


def test_the_billing_portal_opens_for_the_users_customer(db: firestore.Client) -> None:
    user = emu.sign_up()
    assert checkout(user, "plan-pro").ok
    customer = db.collection("stripe_customers").document(user.uid).get().to_dict()["customerId"]
    url = emu.call("createBillingPortalSession", {"returnUrl": f"{ORIGIN}/account"}, user).result["url"]
    assert url.startswith(se.STANDIN + "/portal/")
    sent = sent_to_stripe("/v1/billing_portal/sessions", customer)[-1]["params"]
    assert sent == {"customer": customer, "return_url": f"{ORIGIN}/account"}
    r = emu.call("createBillingPortalSession", {"returnUrl": "https://elsewhere.example/"}, user)
    assert r.reason == "invalid_request" and "returnUrl" in r.details["errors"]


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)


def test_a_plan_paid_on_the_stand_ins_page_renews_and_ends_through_the_real_webhook(db: firestore.Client) -> None:
    """The whole loop with Stripe's side played by the stand-in: its checkout page's Pay sends
    ``checkout.session.completed`` and ``invoice.paid``, signed, to stripeWebhook."""
    user = emu.sign_up()
    assert emu.call("getCreditStatus", {}, user).ok
    session = checkout(user, "plan-pro").result
    paid = emu.session().post(f"{session['url']}/pay", allow_redirects=False, timeout=30)
    assert paid.status_code == 303 and paid.headers["Location"].startswith(f"{ORIGIN}/paid?s={session['sessionId']}")

    def credits() -> int:
        return int((db.collection("users").document(user.uid).get().to_dict() or {}).get("credits", 0))

    wait_for(lambda: credits() == 1100)
    state = (db.collection("users").document(user.uid).get().to_dict() or {})["subscription"]
    assert state["planId"] == "pro" and state["renews"] is True
    status = emu.call("getCreditStatus", {}, user).result
    assert status["plan"]["id"] == "pro" and status["plan"]["monthlyCredits"] == 1000 and status["debt"] == 0
    renewed = se.standin("/_standin/renew", {"subscription": state["id"]})
    assert renewed["webhookStatus"] == 200
    assert credits() == 2100
    portal = emu.call("createBillingPortalSession", {"returnUrl": f"{ORIGIN}/account"}, user).result["url"]
    cancel = emu.session().post(f"{portal}/cancel/{state['id']}", allow_redirects=False, timeout=30)
    assert cancel.status_code == 303
    wait_for(lambda: (db.collection("users").document(user.uid).get().to_dict() or {})["subscription"]["status"] == "canceled")
    assert emu.call("getCreditStatus", {}, user).result["plan"] is None
    assert credits() == 2100
