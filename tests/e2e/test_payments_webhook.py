"""stripeWebhook end to end: events signed as Stripe signs them, POSTed to the real function
on the Functions emulator, their effects read back from Firestore.

Each story starts from a user who opened a checkout (so their Stripe customer exists), as a
real purchase does.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from credits.features import reconcile
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.e2e.payments_fixtures import Buyer, balance, buyer, sell, user_doc
from tests.support import emulators as emu, stripe_events as se


@pytest.fixture(autouse=True)
def _on_sale(db: firestore.Client, config: Any) -> Iterator[None]:
    sell(db)
    yield


@pytest.fixture
def pack_buyer(db: firestore.Client) -> Buyer:
    b = buyer(db)
    emu.call("getCreditStatus", {}, b.user).result  # noqa: B018 - opens the account (100 at sign-up)
    return b


def paid(b: Buyer, **kw: Any) -> dict[str, Any]:
    return se.checkout_completed(
        uid=b.user.uid,
        customer=b.customer,
        product_id=kw.pop("product_id", "pack-small"),
        session_id=kw.pop("session_id", b.session_id),
        **kw,
    )


def pi_of(event: dict[str, Any]) -> str:
    return str(event["data"]["object"]["payment_intent"])


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def entries(db: firestore.Client, uid: str) -> list[dict[str, Any]]:
    docs = db.collection("credit_logs").where(filter=FieldFilter("userId", "==", uid)).stream()
    return [{**(d.to_dict() or {}), "_id": d.id} for d in docs]


def assert_books_balance(db: firestore.Client, uid: str) -> None:
    assert sum(e["delta"] for e in entries(db, uid)) == balance(db, uid) >= 0


def failures(db: firestore.Client) -> int:
    return sum(int((d.to_dict() or {}).get("count", 0)) for d in db.collection("stripe_webhook_failures").stream())


# ------------------------------------------------------------------ packs


def test_a_paid_checkout_grants_the_pack_once_with_a_ledger_entry_naming_the_payment(
    db: firestore.Client, pack_buyer: Buyer
) -> None:
    event = paid(pack_buyer)
    assert ok(se.send(event))["outcome"] == "granted"
    uid = pack_buyer.user.uid
    assert balance(db, uid) == 200
    payment = db.collection("payments").document(pack_buyer.session_id).get().to_dict()
    assert payment is not None
    assert payment["userId"] == uid and payment["credits"] == 100 and payment["status"] == "paid"
    assert payment["amount"] == 500 and payment["currency"] == "usd" and payment["productId"] == "pack-small"
    assert payment["stripe"]["paymentIntent"] == pi_of(event) and payment["stripe"]["customer"] == pack_buyer.customer
    entry = db.collection("credit_logs").document(f"purchase_{pack_buyer.session_id}").get().to_dict()
    assert entry is not None and entry["delta"] == 100 and entry["paymentId"] == pack_buyer.session_id
    recorded = db.collection("stripe_events").document(event["id"]).get().to_dict()
    assert recorded is not None and recorded["outcome"] == "granted"
    # The same event again, and the async success of the same session: nothing more.
    assert ok(se.send(event))["outcome"] == "duplicate"
    again = paid(pack_buyer, kind="checkout.session.async_payment_succeeded")
    assert ok(se.send(again))["outcome"] == "already_applied"
    assert balance(db, uid) == 200
    assert_books_balance(db, uid)


def deliver_until_answered(event: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Deliver as Stripe does: again when no answer came. The Functions emulator, starting
    workers for a burst on two cores, sometimes drops a request (HTTP 500 without our body)
    or never answers it; those are counted apart, never as the webhook's answers."""
    drops = 0
    while True:
        try:
            r = se.send(event, timeout=20)
        except requests.exceptions.RequestException:
            drops += 1
            continue
        if r.status_code == 500 and "received" not in r.text and "error" not in r.text:
            drops += 1
            continue
        return ok(r), drops


def test_ten_parallel_deliveries_of_one_event_grant_once(db: firestore.Client, pack_buyer: Buyer) -> None:
    event = paid(pack_buyer)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: deliver_until_answered(event), range(10)))
    outcomes = sorted(body["outcome"] for body, _ in answers)
    assert outcomes.count("granted") == 1 and outcomes.count("duplicate") == 9, outcomes
    assert balance(db, pack_buyer.user.uid) == 200
    assert_books_balance(db, pack_buyer.user.uid)


def test_an_unpaid_session_and_an_unknown_event_type_write_nothing(db: firestore.Client, pack_buyer: Buyer) -> None:
    unpaid = paid(pack_buyer, payment_status="unpaid")
    assert ok(se.send(unpaid))["outcome"] == "ignored"
    other = se.event("customer.created", {"id": "cus_x", "object": "customer"})
    assert ok(se.send(other))["outcome"] == "ignored"
    assert not db.collection("stripe_events").document(unpaid["id"]).get().exists
    assert not db.collection("stripe_events").document(other["id"]).get().exists
    assert not db.collection("payments").document(pack_buyer.session_id).get().exists
    assert balance(db, pack_buyer.user.uid) == 100


@pytest.mark.parametrize(
    "how",
    ["tampered", "stale", "wrong_secret", "missing", "garbage_header"],
)
def test_a_delivery_that_fails_verification_is_400_writes_nothing_and_is_counted(
    db: firestore.Client, pack_buyer: Buyer, how: str
) -> None:
    event = paid(pack_buyer)
    payload = json.dumps(event).encode()
    before = failures(db)
    if how == "tampered":
        header = se.signature(payload)
        forged = payload.replace(b'"amount_total": 500', b'"amount_total": 5')
        assert forged != payload
        r = se.send(forged, header=header)
    elif how == "stale":
        r = se.send(event, timestamp=int(time.time()) - 600)
    elif how == "wrong_secret":
        r = se.send(event, secret="whsec_someone_else")
    elif how == "missing":
        r = se.send(event, header=None)
    else:
        r = se.send(event, header="t=abc,v1=zzz")
    assert r.status_code == 400
    assert not db.collection("stripe_events").document(event["id"]).get().exists
    assert not db.collection("payments").document(pack_buyer.session_id).get().exists
    assert balance(db, pack_buyer.user.uid) == 100
    assert failures(db) == before + 1


def test_the_webhook_takes_only_post() -> None:
    r = emu.session().get(se.WEBHOOK_URL, timeout=30)
    assert r.status_code == 405


def test_an_event_for_an_unknown_customer_is_recorded_for_admins_and_grants_nothing(
    db: firestore.Client, pack_buyer: Buyer
) -> None:
    # No uid anywhere, and a customer no user has.
    stranger = se.checkout_completed(uid="x", customer="cus_not_ours", product_id="pack-small")
    stranger["data"]["object"]["client_reference_id"] = None
    stranger["data"]["object"]["metadata"] = {"productId": "pack-small"}
    assert ok(se.send(stranger))["outcome"] == "unknown_customer"
    # A uid that is no account and no Firebase Auth user.
    nobody = se.checkout_completed(uid="no-such-user", customer="cus_not_ours", product_id="pack-small")
    assert ok(se.send(nobody))["outcome"] == "unknown_customer"
    odd_product = paid(pack_buyer, product_id="no-such-product")
    assert ok(se.send(odd_product))["outcome"] == "unknown_product"
    for event in (stranger, nobody, odd_product):
        recorded = db.collection("stripe_events").document(event["id"]).get().to_dict()
        assert recorded is not None and recorded["outcome"] in ("unknown_customer", "unknown_product")
        note = db.collection("admin_notifications").document(f"payment_unmatched_{event['id']}").get().to_dict()
        assert note is not None and note["kind"] == "payment_unmatched"
    assert balance(db, pack_buyer.user.uid) == 100
    assert not db.collection("payments").document(pack_buyer.session_id).get().exists
    assert not db.collection("users").document("no-such-user").get().exists


def test_a_payment_for_a_user_who_never_called_opens_the_account_and_keeps_the_customer(db: firestore.Client) -> None:
    user = emu.sign_up()  # a Firebase Auth user with no account document yet
    event = se.checkout_completed(uid=user.uid, customer=se.new_id("cus"), product_id="pack-small")
    assert ok(se.send(event))["outcome"] == "granted"
    assert balance(db, user.uid) == 100
    stored = db.collection("stripe_customers").document(user.uid).get().to_dict()
    assert stored is not None and stored["customerId"] == event["data"]["object"]["customer"]
    # The user's first own call decides the sign-up grant, once: 100 more.
    assert emu.call("getCreditStatus", {}, user).result["credits"] == 200
    assert_books_balance(db, user.uid)


def test_an_invoice_without_metadata_is_matched_by_its_customer_and_price(db: firestore.Client) -> None:
    b = buyer(db, "plan-pro")
    assert emu.call("getCreditStatus", {}, b.user).ok
    event = se.invoice_paid(
        uid=b.user.uid, customer=b.customer, product_id="plan-pro", subscription=se.new_id("sub"), start=int(time.time())
    )
    obj = event["data"]["object"]
    obj["parent"]["subscription_details"]["metadata"] = {}
    obj["lines"]["data"][0]["pricing"] = {"type": "price_details", "price_details": {"price": "price_plan_pro"}}
    assert ok(se.send(event))["outcome"] == "granted"
    assert balance(db, b.user.uid) == 1100
    payment = db.collection("payments").document(obj["id"]).get().to_dict()
    assert payment is not None and payment["productId"] == "plan-pro" and payment["planId"] == "pro"


# ------------------------------------------------------------------ refunds, debt, disputes


def test_refunds_claw_back_their_share_from_the_payment_and_a_spent_share_becomes_debt(
    db: firestore.Client, pack_buyer: Buyer, generator: emu.User
) -> None:
    uid = pack_buyer.user.uid
    event = paid(pack_buyer)
    ok(se.send(event))
    pi = pi_of(event)
    assert balance(db, uid) == 200
    # A quarter refunded: 25 of the 100 credits come back.
    ok(se.send(se.charge_refunded(payment_intent=pi, amount=500, amount_refunded=125)))
    assert balance(db, uid) == 175
    # Spend down to 15, then the rest is refunded: 75 wanted, 15 taken, 60 owed.
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a lighthouse at dusk", "quantity": 10}, pack_buyer.user)
    assert r.ok, r.body
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a lighthouse at dawn", "quantity": 6}, pack_buyer.user)
    assert r.ok, r.body
    assert balance(db, uid) == 15
    full = se.charge_refunded(payment_intent=pi, amount=500, amount_refunded=500)
    assert ok(se.send(full))["outcome"] == "refunded"
    assert balance(db, uid) == 0
    doc = user_doc(db, uid)
    assert doc["debt"] == 60
    payment = db.collection("payments").document(pack_buyer.session_id).get().to_dict()
    assert (
        payment is not None
        and payment["status"] == "refunded"
        and payment["clawedBack"] == 100
        and payment["refundedAmount"] == 500
    )
    # An older refund total delivered late takes nothing more.
    ok(se.send(se.charge_refunded(payment_intent=pi, amount=500, amount_refunded=125)))
    assert balance(db, uid) == 0 and user_doc(db, uid)["debt"] == 60
    # The next purchase pays the debt off first: 100 credits, 60 to the debt, 40 spendable.
    second = buyer_session(db, pack_buyer)
    ok(se.send(paid(pack_buyer, session_id=second)))
    assert balance(db, uid) == 40
    assert user_doc(db, uid)["debt"] == 0
    assert db.collection("credit_logs").document(f"debtpay_{second}").get().to_dict()["delta"] == -60
    clawbacks = [e for e in entries(db, uid) if e["_id"].startswith("clawback_")]
    assert {e["paymentId"] for e in clawbacks} == {pack_buyer.session_id}
    assert sum(e["delta"] for e in clawbacks) == -40
    assert_books_balance(db, uid)


def buyer_session(db: firestore.Client, b: Buyer) -> str:
    """Another checkout of the same buyer (another product, so another session)."""
    r = emu.call(
        "createCheckoutSession",
        {"productId": "pack-large", "successUrl": "http://localhost:5173/ok", "cancelUrl": "http://localhost:5173/no"},
        b.user,
    )
    return str(r.result["sessionId"])


def test_a_refund_before_its_payment_is_kept_and_applied_when_the_payment_arrives(
    db: firestore.Client, pack_buyer: Buyer
) -> None:
    uid = pack_buyer.user.uid
    event = paid(pack_buyer)
    pi = pi_of(event)
    refund = se.charge_refunded(payment_intent=pi, amount=500, amount_refunded=250)
    assert ok(se.send(refund))["outcome"] == "deferred"
    assert balance(db, uid) == 100
    assert ok(se.send(event))["outcome"] == "granted_and_reversed"
    assert balance(db, uid) == 150
    payment = db.collection("payments").document(pack_buyer.session_id).get().to_dict()
    assert payment is not None and payment["clawedBack"] == 50 and payment["refundedAmount"] == 250
    link = db.collection("stripe_payment_refs").document(pi).get().to_dict()
    assert link is not None and "pending" not in link and link["paymentId"] == pack_buyer.session_id
    assert ok(se.send(refund))["outcome"] == "duplicate"
    assert balance(db, uid) == 150
    assert_books_balance(db, uid)


def test_a_dispute_claws_back_everything_suspends_for_chargeback_and_winning_it_lifts_nothing(
    db: firestore.Client, pack_buyer: Buyer
) -> None:
    uid = pack_buyer.user.uid
    event = paid(pack_buyer)
    ok(se.send(event))
    pi = pi_of(event)
    dispute = se.dispute(payment_intent=pi, amount=500)
    assert ok(se.send(dispute))["outcome"] == "disputed"
    doc = user_doc(db, uid)
    assert doc["credits"] == 100 and doc["status"] == "suspended" and doc["statusReason"] == "chargeback"
    payment = db.collection("payments").document(pack_buyer.session_id).get().to_dict()
    assert payment is not None and payment["status"] == "disputed" and payment["clawedBack"] == 100
    note = db.collection("admin_notifications").document(f"chargeback_{pack_buyer.session_id}").get().to_dict()
    assert note is not None and note["kind"] == "chargeback" and note["userId"] == uid
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a quiet harbour"}, pack_buyer.user)
    assert r.reason == "account_suspended"
    won = se.dispute(
        payment_intent=pi, amount=500, kind="charge.dispute.closed", status="won", dispute_id=dispute["data"]["object"]["id"]
    )
    assert ok(se.send(won))["outcome"] == "dispute_closed"
    assert user_doc(db, uid)["status"] == "suspended"
    assert db.collection("payments").document(pack_buyer.session_id).get().to_dict()["disputeStatus"] == "won"
    assert_books_balance(db, uid)


def test_a_dispute_before_its_payment_suspends_when_the_payment_arrives(db: firestore.Client, pack_buyer: Buyer) -> None:
    uid = pack_buyer.user.uid
    event = paid(pack_buyer)
    assert ok(se.send(se.dispute(payment_intent=pi_of(event), amount=500)))["outcome"] == "deferred"
    assert user_doc(db, uid)["status"] == "active"
    assert ok(se.send(event))["outcome"] == "granted_and_reversed"
    doc = user_doc(db, uid)
    assert doc["credits"] == 100 and doc["status"] == "suspended" and doc["statusReason"] == "chargeback"
    assert_books_balance(db, uid)


# ------------------------------------------------------------------ plans


def test_invoice_paid_grants_a_plan_period_once_per_period_in_any_order(db: firestore.Client) -> None:
    b = buyer(db, "plan-pro")
    uid = b.user.uid
    assert emu.call("getCreditStatus", {}, b.user).ok
    sub = se.new_id("sub")
    start = int(time.time())
    period = 30 * 86_400

    def invoice(n: int, **kw: Any) -> dict[str, Any]:
        return se.invoice_paid(
            uid=uid, customer=b.customer, product_id="plan-pro", subscription=sub, start=start + n * period, **kw
        )

    renewal = invoice(1)
    creation = invoice(0)
    # The renewal arrives before the creation: each period is granted once, the newer stands.
    assert ok(se.send(renewal))["outcome"] == "granted"
    assert ok(se.send(creation))["outcome"] == "granted"
    assert balance(db, uid) == 100 + 2000
    state = user_doc(db, uid)["subscription"]
    assert state["id"] == sub and state["periodStart"] == start + period and state["planId"] == "pro"
    user_plan = user_doc(db, uid)["plan"]  # the newer period is the plan's, whatever the order
    assert user_plan["id"] == "pro" and user_plan["renewal"] == "payment"
    assert int(user_plan["periodStart"].timestamp()) == start + period
    # The same invoice again; another invoice for a period already granted: nothing more.
    assert ok(se.send(renewal))["outcome"] == "duplicate"
    assert ok(se.send(invoice(1, invoice_id=se.new_id("in"))))["outcome"] == "period_already_granted"
    assert balance(db, uid) == 2100
    assert db.collection("credit_logs").document(f"plan_{sub}_{start + period}").get().to_dict()["delta"] == 1000
    # Cancelled in the portal: no more renewals, the credits stay.
    cancel = se.subscription_event(
        "customer.subscription.deleted",
        uid=uid,
        customer=b.customer,
        product_id="plan-pro",
        subscription=sub,
        price="price_plan_pro",
        status="canceled",
    )
    assert ok(se.send(cancel))["outcome"] == "subscription_ended"
    state = user_doc(db, uid)["subscription"]
    assert state["status"] == "canceled" and state["renews"] is False
    assert user_doc(db, uid)["plan"] is None
    late_update = se.subscription_event(
        "customer.subscription.updated",
        uid=uid,
        customer=b.customer,
        product_id="plan-pro",
        subscription=sub,
        price="price_plan_team",
        created=int(time.time()) - 60,
    )
    assert ok(se.send(late_update))["outcome"] == "stale"
    assert user_doc(db, uid)["subscription"]["status"] == "canceled"
    assert balance(db, uid) == 2100
    assert_books_balance(db, uid)


def test_a_plan_change_in_the_portal_names_the_new_plan(db: firestore.Client) -> None:
    b = buyer(db, "plan-pro")
    uid = b.user.uid
    assert emu.call("getCreditStatus", {}, b.user).ok
    sub = se.new_id("sub")
    ok(se.send(se.invoice_paid(uid=uid, customer=b.customer, product_id="plan-pro", subscription=sub, start=int(time.time()))))
    change = se.subscription_event(
        "customer.subscription.updated",
        uid=uid,
        customer=b.customer,
        product_id="plan-pro",
        subscription=sub,
        price="price_plan_team",
    )
    assert ok(se.send(change))["outcome"] == "subscription_updated"
    state = user_doc(db, uid)["subscription"]
    assert state["planId"] == "team" and state["productId"] == "plan-team" and state["renews"] is True
    # The plan is Team for the rest of the period; its allowance comes with the next invoice.
    assert emu.call("getCreditStatus", {}, b.user).result["plan"]["id"] == "team"
    assert balance(db, uid) == 1100


def test_reconciliation_finds_no_drift_after_payments(db: firestore.Client, pack_buyer: Buyer) -> None:
    event = paid(pack_buyer)
    ok(se.send(event))
    ok(se.send(se.charge_refunded(payment_intent=pi_of(event), amount=500, amount_refunded=500)))
    drifts = [d for d in reconcile.reconcile(db) if d.user_id == pack_buyer.user.uid]
    assert drifts == []
