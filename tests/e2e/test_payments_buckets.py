"""Paid credits in grant buckets, end to end: signed events to the real ``stripeWebhook``, the
buckets read back through ``getCreditStatus`` and Firestore.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from credits.features.plans import add_months
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.e2e.payments_fixtures import PLANS, balance, buyer, sell, user_doc
from tests.support import emulators as emu, stripe_events as se


@pytest.fixture(autouse=True)
def _on_sale(db: firestore.Client, config: Any) -> Iterator[None]:
    config({"defaultCredits": 0})  # no sign-up bucket: every credit here is paid for
    sell(db)
    yield


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def status(user: emu.User) -> dict[str, Any]:
    r = emu.call("getCreditStatus", {}, user)
    assert r.ok, r.body
    result: dict[str, Any] = r.result
    return result


def when(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def books(db: firestore.Client, uid: str) -> list[dict[str, Any]]:
    docs = db.collection("credit_logs").where(filter=FieldFilter("userId", "==", uid)).stream()
    return [{**(d.to_dict() or {}), "_id": d.id} for d in docs]


def assert_books_balance(db: firestore.Client, uid: str) -> None:
    entries = books(db, uid)
    assert sum(e["delta"] for e in entries) == balance(db, uid) >= 0
    for e in entries:  # every entry that moves credits names the buckets it moved
        if e["delta"]:
            assert sum(leg["delta"] for leg in e.get("buckets", [])) == e["delta"], e


def test_a_pack_purchase_is_a_purchase_bucket_with_the_products_expiry(db: firestore.Client) -> None:
    b = buyer(db, "pack-small")  # 100 credits, expiring 365 days after payment
    assert status(b.user)["credits"] == 0
    before = dt.datetime.now(dt.UTC)
    event = se.checkout_completed(uid=b.user.uid, customer=b.customer, product_id="pack-small", session_id=b.session_id)
    assert ok(se.send(event))["outcome"] == "granted"
    got = status(b.user)
    assert got["credits"] == 100 and got["debt"] == 0
    [bucket] = got["buckets"]
    assert bucket["source"] == "purchase" and bucket["remaining"] == 100
    expires = when(bucket["expiresAt"])
    assert (
        before + dt.timedelta(days=365) - dt.timedelta(minutes=5) <= expires <= dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
    )
    assert got["nextExpiry"] == {"credits": 100, "at": bucket["expiresAt"]}
    stored = user_doc(db, b.user.uid)["buckets"][f"purchase_{b.session_id}"]
    assert stored["ref"] == f"payments/{b.session_id}" and stored["amount"] == 100
    payment = db.collection("payments").document(b.session_id).get().to_dict() or {}
    assert payment["bucketId"] == f"purchase_{b.session_id}" and payment["credits"] == 100
    # A pack without expiresInDays never expires.
    b2 = buyer(db, "pack-large")
    ok(se.send(se.checkout_completed(uid=b2.user.uid, customer=b2.customer, product_id="pack-large", session_id=b2.session_id)))
    got = status(b2.user)
    assert got["buckets"] == [{"source": "purchase", "remaining": 500, "expiresAt": None}] and got["nextExpiry"] is None
    assert_books_balance(db, b.user.uid)


def test_a_refund_after_part_of_the_pack_was_spent_claws_back_the_rest_and_records_debt(db: firestore.Client) -> None:
    b = buyer(db, "pack-small")
    uid = b.user.uid
    event = se.checkout_completed(uid=uid, customer=b.customer, product_id="pack-small", session_id=b.session_id)
    ok(se.send(event))
    # 30 of the 100 spent (3 images at 10).
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a heron in the reeds", "quantity": 3}, b.user)
    assert r.ok, r.body
    assert status(b.user)["buckets"][0]["remaining"] == 70
    pi = str(event["data"]["object"]["payment_intent"])
    assert ok(se.send(se.charge_refunded(payment_intent=pi, amount=500, amount_refunded=500)))["outcome"] == "refunded"
    got = status(b.user)
    assert got["credits"] == 0 and got["debt"] == 30 and got["buckets"] == []
    [claw] = [e for e in books(db, uid) if e["_id"].startswith("clawback_")]
    assert claw["delta"] == -70 and claw["paymentId"] == b.session_id and claw["shortfall"] == 30
    assert claw["buckets"] == [{"bucketId": f"purchase_{b.session_id}", "delta": -70}]
    payment = db.collection("payments").document(b.session_id).get().to_dict() or {}
    assert payment["status"] == "refunded" and payment["clawedBack"] == 100 and payment["debtCreated"] == 30
    # The next purchase pays the debt first, out of its own bucket.
    b2_session = se.new_id("cs_test")
    ok(se.send(se.checkout_completed(uid=uid, customer=b.customer, product_id="pack-large", session_id=b2_session)))
    got = status(b.user)
    assert got["credits"] == 470 and got["debt"] == 0
    assert got["buckets"] == [{"source": "purchase", "remaining": 470, "expiresAt": None}]
    debtpay = db.collection("credit_logs").document(f"debtpay_{b2_session}").get().to_dict() or {}
    assert debtpay["delta"] == -30 and debtpay["buckets"] == [{"bucketId": f"purchase_{b2_session}", "delta": -30}]
    assert_books_balance(db, uid)


def test_a_refund_takes_the_payments_bucket_before_other_credits(db: firestore.Client, admin: emu.User) -> None:
    b = buyer(db, "pack-large")  # 500, never expiring
    uid = b.user.uid
    event = se.checkout_completed(uid=uid, customer=b.customer, product_id="pack-large", session_id=b.session_id)
    ok(se.send(event))
    promo = emu.call(
        "grantCreditsToUser",
        {"userId": uid, "amount": 50, "reason": "launch week", "source": "promo"},
        admin,
    )
    assert promo.ok, promo.body
    pi = str(event["data"]["object"]["payment_intent"])
    ok(se.send(se.charge_refunded(payment_intent=pi, amount=500, amount_refunded=250)))  # half: 250 back
    got = status(b.user)
    assert got["credits"] == 300 and got["debt"] == 0
    assert sorted((x["source"], x["remaining"]) for x in got["buckets"]) == [("promo", 50), ("purchase", 250)]
    assert_books_balance(db, uid)


def test_invoice_paid_twice_for_one_period_grants_one_plan_bucket(db: firestore.Client) -> None:
    b = buyer(db, "plan-pro")  # Pro: 1000 a month, one period of rollover
    uid = b.user.uid
    assert status(b.user)["plan"] is None
    sub = se.new_id("sub")
    start = int(time.time()) - 60
    first = se.invoice_paid(uid=uid, customer=b.customer, product_id="plan-pro", subscription=sub, start=start)
    assert ok(se.send(first))["outcome"] == "granted"
    assert ok(se.send(first))["outcome"] == "duplicate"  # the same delivery again
    again = se.invoice_paid(uid=uid, customer=b.customer, product_id="plan-pro", subscription=sub, start=start)
    assert ok(se.send(again))["outcome"] == "period_already_granted"  # another invoice of the period
    got = status(b.user)
    assert got["credits"] == 1000
    period_end = dt.datetime.fromtimestamp(start + 30 * 86_400, dt.UTC)
    [bucket] = got["buckets"]
    assert bucket["source"] == "plan" and bucket["remaining"] == 1000
    assert when(bucket["expiresAt"]) == add_months(period_end, 1)  # the period's end plus one period of rollover
    assert got["plan"] == {
        "id": "pro",
        "name": PLANS["pro"]["name"],
        "monthlyCredits": 1000,
        "periodEnd": period_end.isoformat().replace("+00:00", "Z"),
    }
    plan_entries = [e for e in books(db, uid) if e["_id"].startswith("plan_")]
    assert [e["_id"] for e in plan_entries] == [f"plan_{sub}_{start}"]
    assert plan_entries[0]["paymentId"] == first["data"]["object"]["id"]
    # The renewal is a new period and a new bucket.
    renewal = se.invoice_paid(uid=uid, customer=b.customer, product_id="plan-pro", subscription=sub, start=start + 30 * 86_400)
    assert ok(se.send(renewal))["outcome"] == "granted"
    got = status(b.user)
    assert got["credits"] == 2000 and len(got["buckets"]) == 2
    # The end of the subscription ends the plan; the buckets keep their expiry.
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
    got = status(b.user)
    assert got["plan"] is None and got["credits"] == 2000 and len(got["buckets"]) == 2
    assert_books_balance(db, uid)
