"""The arithmetic of paid credits, told as stories (see credits.features.payments.policy)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from credits.features import accounts
from credits.features.payments import grants, policy
from credits.store import ledger
from credits.store.atomic import Plan
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_document import DocumentSnapshot

CLIENT = firestore.Client(project="demo-unit", credentials=AnonymousCredentials())
NOW = dt.datetime(2027, 3, 15, 12, 0, tzinfo=dt.UTC)


def prepared(buckets: dict[str, dict[str, Any]]) -> accounts.Prepared:
    data = {"credits": sum(b["remaining"] for b in buckets.values()), "status": "active", "buckets": buckets}
    snap = DocumentSnapshot(CLIENT.document("users/u"), data, True, NOW, NOW, NOW)
    account = accounts.parse(snap)
    assert account is not None
    return accounts.Prepared("u", snap, account, now=NOW)


def stored(source: str, remaining: int, expires: dt.datetime | None = None) -> dict[str, Any]:
    return {"source": source, "amount": remaining, "remaining": remaining, "expiresAt": expires, "ref": None, "createdAt": NOW}


def posted(account: accounts.Prepared, *legs: ledger.Leg) -> tuple[Plan[Any], ledger.Posting]:
    plan: Plan[Any] = Plan()
    return plan, account.post(plan, CLIENT, now=NOW, low_balance_below=0, legs=legs)


def entries(plan: Plan[Any]) -> dict[str, dict[str, Any]]:
    return {w.ref.id: w.data for w in plan.writes if w.ref.parent.id == "credit_logs"}


def test_a_partial_refund_takes_its_share_rounded_down_and_a_full_refund_everything() -> None:
    # 100 credits bought for $5.00: $1.25 back is a quarter, $3.33 back is 66.6% -> 66.
    assert policy.refunded_share(100, 500, 125) == 25
    assert policy.refunded_share(100, 500, 333) == 66
    assert policy.refunded_share(100, 500, 500) == 100
    assert policy.refunded_share(100, 500, 900) == 100  # never more than the payment granted
    assert policy.refunded_share(100, 500, 0) == 0
    assert policy.refunded_share(100, 0, 1) == 100  # a free payment refunded: all of it


def test_refunds_are_cumulative_so_a_repeated_or_older_total_takes_nothing_more() -> None:
    clawed = 0
    for total in (125, 125, 500, 125):  # a duplicate, then the rest, then an older total late
        target = policy.refunded_share(100, 500, total)
        clawed = max(clawed, target)
    assert clawed == 100


def test_the_next_payment_pays_the_debt_off_first() -> None:
    assert policy.credit(60, 100) == policy.Credit(to_debt=60, to_balance=40)
    assert policy.credit(150, 100) == policy.Credit(to_debt=100, to_balance=0)
    assert policy.credit(0, 100) == policy.Credit(to_debt=0, to_balance=100)


def test_a_pack_with_debt_is_a_purchase_bucket_that_pays_the_debt_first_naming_the_payment() -> None:
    granted = grants.grant_pack(payment_id="cs_test_1", credits=100, expires_at=dt.datetime(2027, 6, 1, tzinfo=dt.UTC), debt=60)
    assert [(leg.delta, str(leg.entry)) for leg in granted.legs] == [(100, "purchase_cs_test_1"), (-60, "debtpay_cs_test_1")]
    assert all((leg.fields or {}).get("paymentId") == "cs_test_1" for leg in granted.legs)
    assert granted.bucket_id == "purchase_cs_test_1" and granted.credited == 40 and granted.debt_after == 0
    account = prepared({"signup_u": stored("signup", 30)})
    plan, posting = posted(account, *granted.legs)
    logged = entries(plan)
    # The debt is paid out of the new bucket, not out of the sign-up credits.
    assert logged["debtpay_cs_test_1"]["buckets"] == [{"bucketId": "purchase_cs_test_1", "delta": -60}]
    assert logged["purchase_cs_test_1"]["newBuckets"][0]["ref"] == "payments/cs_test_1"
    assert {k: b.remaining for k, b in posting.buckets.items()} == {"purchase_cs_test_1": 40, "signup_u": 30}
    assert posting.balance_after == 70


def test_a_claw_back_takes_the_payments_bucket_first_then_in_claw_back_order_and_the_rest_is_debt() -> None:
    # 100 bought, 75 of them spent; a promo of 10 expiring; a sign-up grant of 5 never expiring.
    account = prepared(
        {
            "purchase_cs_test_1": stored("purchase", 25),
            "grant_promo": stored("promo", 10, dt.datetime(2027, 4, 1, tzinfo=dt.UTC)),
            "signup_u": stored("signup", 5),
        }
    )
    back = grants.claw_back(
        account, grants.Claw(payment_id="cs_test_1", bucket_id="purchase_cs_test_1", wanted=100, clawed_total=100, why="refund")
    )
    assert back.leg is not None and str(back.leg.entry) == "clawback_cs_test_1_100"
    assert back.taken == 40 and back.shortfall == 60 and (back.leg.fields or {})["shortfall"] == 60
    plan, posting = posted(account, back.leg)
    legs = entries(plan)["clawback_cs_test_1_100"]["buckets"]
    assert legs[0] == {"bucketId": "purchase_cs_test_1", "delta": -25}  # the payment's own bucket first
    assert posting.balance_after == 0  # never below zero: the 60 are the user's debt


def test_a_claw_back_in_the_same_posting_as_its_grant_takes_from_the_new_bucket() -> None:
    account = prepared({"signup_u": stored("signup", 30)})
    granted = grants.grant_pack(payment_id="cs_2", credits=50, expires_at=None, debt=0)
    back = grants.claw_back(
        account,
        grants.Claw(payment_id="cs_2", bucket_id=granted.bucket_id, wanted=20, clawed_total=20, why="refund"),
        after=granted.legs,
    )
    assert back.leg is not None and back.shortfall == 0
    plan, posting = posted(account, *granted.legs, back.leg)
    assert entries(plan)["clawback_cs_2_20"]["buckets"] == [{"bucketId": "purchase_cs_2", "delta": -20}]
    assert {k: b.remaining for k, b in posting.buckets.items()} == {"purchase_cs_2": 30, "signup_u": 30}
    nothing = grants.claw_back(account, grants.Claw(payment_id="cs_2", bucket_id=None, wanted=0, clawed_total=20, why="refund"))
    assert nothing.leg is None and nothing.shortfall == 0
