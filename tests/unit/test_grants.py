"""The functions payments build on (``credits.features.grants``): legs that post through the one door."""

import datetime as dt
from typing import Any

from credits.features import accounts, grants
from credits.store import ledger
from credits.store.atomic import Plan
from credits.store.ledger import Reason
from credits.vocab.config import CreditConfig
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_document import DocumentSnapshot

CLIENT = firestore.Client(project="demo-unit", credentials=AnonymousCredentials())
NOW = dt.datetime(2027, 3, 15, 12, 0, tzinfo=dt.UTC)


def prepared(buckets: dict[str, dict[str, Any]]) -> accounts.Prepared:
    credits = sum(b["remaining"] for b in buckets.values())
    data = {"credits": credits, "status": "active", "buckets": buckets}
    snap = DocumentSnapshot(CLIENT.document("users/u"), data, True, NOW, NOW, NOW)
    account = accounts.parse(snap)
    assert account is not None
    return accounts.Prepared("u", snap, account, now=NOW)


def stored(source: str, remaining: int, expires: dt.datetime | None = None) -> dict[str, Any]:
    return {"source": source, "amount": remaining, "remaining": remaining, "expiresAt": expires, "ref": None, "createdAt": NOW}


def posted(
    account: accounts.Prepared, *legs: ledger.Leg, fields: dict[str, Any] | None = None
) -> tuple[Plan[Any], ledger.Posting]:
    plan: Plan[Any] = Plan()
    posting = account.post(plan, CLIENT, now=NOW, low_balance_below=0, legs=legs, fields=fields)
    return plan, posting


def entries(plan: Plan[Any]) -> dict[str, dict[str, Any]]:
    return {w.ref.id: w.data for w in plan.writes if w.ref.parent.id == "credit_logs"}


def test_a_purchase_is_a_bucket_named_by_its_key() -> None:
    entry = grants.grant_entry("stripe_pi_123")
    leg = grants.bucket_grant_leg(entry, 500, grants.NewBucket("purchase", ref="payments/pi_123"), Reason.PURCHASE)
    plan, posting = posted(prepared({}), leg)
    logged = entries(plan)["grant_stripe_pi_123"]
    assert logged["buckets"] == [{"bucketId": "grant_stripe_pi_123", "delta": 500}]
    assert logged["newBuckets"][0]["ref"] == "payments/pi_123" and posting.balance_after == 500


def test_a_refund_claws_back_from_the_payment_first_and_reports_the_shortfall() -> None:
    account = prepared({"grant_pay": stored("purchase", 100), "signup_u": stored("signup", 30)})
    record = grants.ClawbackEntry(ledger.EntryId(ledger.EntryKind.CLAWBACK, "pay"), Reason.PAYMENT_CLAWBACK)
    back = grants.clawback(account, 150, record, first="grant_pay")
    assert back.taken == 130 and back.shortfall == 20 and back.leg is not None
    plan, posting = posted(account, back.leg)
    assert entries(plan)["clawback_pay"]["buckets"] == [
        {"bucketId": "grant_pay", "delta": -100},
        {"bucketId": "signup_u", "delta": -30},
    ]
    assert posting.balance_after == 0


def test_nothing_to_claw_back_is_no_leg() -> None:
    record = grants.ClawbackEntry(ledger.EntryId(ledger.EntryKind.CLAWBACK, "x"), Reason.PAYMENT_CLAWBACK)
    back = grants.clawback(prepared({}), 10, record)
    assert back.leg is None and back.shortfall == 10


def test_a_plan_period_grants_its_allowance_until_the_end_plus_rollover() -> None:
    config = CreditConfig.model_validate({"plans": {"pro": {"name": "Pro", "monthlyCredits": 1000, "rolloverPeriods": 1}}})
    period = grants.start_plan_period(prepared({}), config, "pro", key="in_1", start=NOW)
    assert period.period_end == dt.datetime(2027, 4, 15, 12, 0, tzinfo=dt.UTC)
    assert period.leg is not None
    plan, posting = posted(prepared({}), period.leg, fields=period.fields)
    opened = entries(plan)["plan_in_1"]["newBuckets"][0]
    assert opened["source"] == "plan" and opened["expiresAt"] == dt.datetime(2027, 5, 15, 12, 0, tzinfo=dt.UTC)
    user = next(w.data for w in plan.writes if w.ref.parent.id == "users")
    assert user["plan"]["id"] == "pro" and user["plan"]["renewal"] == "payment" and posting.balance_after == 1000
