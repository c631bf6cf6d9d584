"""Who may end a generation, with real ID tokens for the owner, the generator, an admin and a
stranger: every cell of the contract's table, and each way a user used to get generations for
free, now failing to get credits back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from credits.features.command import Command
from credits.features.lifecycle import StatusRequest, end_stuck
from credits.vocab.clock import ManualClock
from credits.vocab.context import SYSTEM, ClientContext
from credits.vocab.contract.callables import StatusResponse
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance, balance

Report = dict[str, Any]


def start(user: emu.User, kind: str = "video", quantity: float = 10) -> str:
    """A charged generation (video: 10 seconds at 5 = 50 credits by default)."""
    data: dict[str, Any] = {"type": kind, "prompt": "a paper boat on a pond", "quantity": quantity}
    return str(emu.call("validateAndDeductCredits", data, user).result["activityId"])


def report(by: emu.User, activity: str, status: str, **extra: Any) -> emu.CallResult:
    return emu.call("updateAIActivityStatus", {"activityId": activity, "status": status, **extra}, by)


def activity_doc(db: firestore.Client, activity: str) -> dict[str, Any]:
    return db.collection("ai_activity").document(activity).get().to_dict() or {}


def sweep(db: firestore.Client, activity: str) -> StatusResponse:
    """What the hourly sweep does to one stuck activity, 31 minutes from now."""
    clock = ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31))
    request = StatusRequest(activity_id=activity, status="failed", error="timed out")
    result = end_stuck(Command(db, clock, SYSTEM, ClientContext()), request)
    assert isinstance(result, StatusResponse), result
    return result


def usage(db: firestore.Client, user: emu.User) -> dict[str, int]:
    return (db.collection("users").document(user.uid).get().to_dict() or {}).get("usage", {})


# ------------------------------------------------------------------ generator and admin: every transition


@pytest.mark.parametrize("who", ["generator", "admin"])
@pytest.mark.parametrize(
    "path,final,extra,refunded",
    [
        ([], "processing", {"progress": 30}, 0),
        ([], "completed", {"actualQuantity": 4}, 30),
        ([], "failed", {"error": "model unavailable"}, 50),
        (["processing"], "processing", {"progress": 80}, 0),
        (["processing"], "completed", {"actualQuantity": 10}, 0),
        (["processing"], "failed", {"error": "out of memory"}, 50),
    ],
)
def test_trusted_reporters_may_report_every_transition(
    who: str,
    path: list[str],
    final: str,
    extra: Report,
    refunded: int,
    user: emu.User,
    request: pytest.FixtureRequest,
    db: firestore.Client,
) -> None:
    reporter: emu.User = request.getfixturevalue(who)
    activity = start(user)
    for step in path:
        assert report(reporter, activity, step).ok
    r = report(reporter, activity, final, **extra)
    assert r.result["status"] == final and r.result["refundedCredits"] == refunded
    assert balance(db, user.uid) == 50 + refunded
    assert usage(db, user).get("ownerRefunds", 0) == 0  # the product's report, not the user's
    assert_books_balance(db, user.uid)


# ------------------------------------------------------------------ the owner, by default


def test_the_owner_reports_progress(user: emu.User, db: firestore.Client) -> None:
    activity = start(user)
    assert report(user, activity, "processing", progress=40).result["status"] == "processing"
    assert activity_doc(db, activity)["progress"] == 40


def test_the_owners_completion_is_a_confirmation_that_ends_nothing(user: emu.User, db: firestore.Client) -> None:
    """Contract revision 3: recorded (``ownerConfirmedAt``), answered with the activity as it stands."""
    activity = start(user)
    r = report(user, activity, "completed").result
    assert (r["status"], r["creditsCharged"], r["refundedCredits"], r["remainingCredits"]) == ("pending", 50, 0, 50)
    doc = activity_doc(db, activity)
    assert doc["status"] == "pending" and doc.get("ownerConfirmedAt") is not None and "completedAt" not in doc
    assert not db.collection("usage_logs").document(activity).get().exists
    assert balance(db, user.uid) == 50


def test_the_owners_completion_does_not_cut_off_the_generators_settlement(
    user: emu.User, generator: emu.User, db: firestore.Client
) -> None:
    """Was: after the generator's ``processing`` the owner sent ``completed`` (no units), the
    activity was final, and the generator's ``completed`` with ``actualQuantity`` 1,000 tokens on
    a 1-credit charge (100 tokens at 0.01) was refused: charged 1 instead of 10."""
    activity = start(user, "chat", 100)
    assert report(generator, activity, "processing").ok
    confirmed = report(user, activity, "completed")
    assert confirmed.ok and confirmed.result["status"] == "processing", confirmed.body
    assert activity_doc(db, activity)["status"] == "processing"
    r = report(generator, activity, "completed", actualQuantity=1000)
    assert r.ok, r.body
    assert (r.result["status"], r.result["creditsCharged"]) == ("completed", 10)
    assert balance(db, user.uid) == 90
    doc = activity_doc(db, activity)
    assert doc["status"] == "completed" and doc["endedBy"] == "generator" and doc.get("ownerConfirmedAt") is not None
    assert_books_balance(db, user.uid)


def test_exploit_owner_settles_to_zero_units_is_not_allowed(user: emu.User, db: firestore.Client) -> None:
    """Was: charge a 10-second video (50), report completed with actualQuantity 0, get 50 back."""
    activity = start(user)
    r = report(user, activity, "completed", actualQuantity=0)
    assert r.code == "PERMISSION_DENIED" and r.reason == "not_allowed" and r.details["action"] == "actualQuantity"
    assert balance(db, user.uid) == 50
    assert activity_doc(db, activity)["status"] == "pending"


def test_the_owner_may_cancel_before_work_started_and_it_counts(
    user: emu.User, generator: emu.User, db: firestore.Client
) -> None:
    activity = start(user)
    r = report(user, activity, "failed").result
    assert r["refundedCredits"] == 50 and balance(db, user.uid) == 100
    assert usage(db, user)["ownerRefunds"] == 1 and usage(db, user)["ownerRefundedCredits"] == 50
    assert activity_doc(db, activity)["failureSource"] == "owner"
    # a cancelled generation can no longer be started
    late = report(generator, activity, "processing")
    assert late.reason == "invalid_transition" and (late.details["from"], late.details["to"]) == ("failed", "processing")
    assert_books_balance(db, user.uid)


def test_a_cancel_after_work_started_is_an_invalid_transition(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    activity = start(user)
    assert report(generator, activity, "processing").ok
    r = report(user, activity, "failed")
    assert r.reason == "invalid_transition" and (r.details["from"], r.details["to"]) == ("processing", "failed")
    assert balance(db, user.uid) == 50


def test_the_owner_may_not_give_a_failure_reason(user: emu.User, db: firestore.Client) -> None:
    activity = start(user)
    r = report(user, activity, "failed", error="the model was slow")
    assert r.reason == "not_allowed" and r.details["action"] == "error"
    assert balance(db, user.uid) == 50


def test_a_stranger_is_not_the_owner(user: emu.User, db: firestore.Client) -> None:
    stranger = emu.sign_up()
    activity = start(user)
    for status, extra in (("processing", {}), ("completed", {}), ("failed", {})):
        r = report(stranger, activity, status, **extra)
        assert r.code == "PERMISSION_DENIED" and r.reason == "not_owner"
    assert balance(db, user.uid) == 50


# ------------------------------------------------------------------ the owner, when owners report outcomes


def test_with_owner_reports_on_the_owner_settles_and_it_counts(
    user: emu.User, config: Callable[[Report], Report], db: firestore.Client
) -> None:
    config({"lifecycle": {"ownerReportsOutcome": True}})
    activity = start(user)
    assert report(user, activity, "processing").ok
    r = report(user, activity, "completed", actualQuantity=4).result
    assert r["refundedCredits"] == 30 and balance(db, user.uid) == 80
    assert usage(db, user)["ownerRefunds"] == 1 and usage(db, user)["ownerRefundedCredits"] == 30
    other = start(user)
    assert report(user, other, "processing").ok
    assert report(user, other, "failed", error="browser closed").result["refundedCredits"] == 50
    assert usage(db, user)["ownerRefunds"] == 2
    assert_books_balance(db, user.uid)


def test_owner_refunds_past_the_threshold_score_and_suspend(
    user: emu.User, config: Callable[[Report], Report], db: firestore.Client
) -> None:
    """A user who reports every generation as worthless is suspended, and the refunds stop."""
    config(
        {
            "costs": {"image": 1},
            "lifecycle": {"ownerReportsOutcome": True},
            "abuse": {"refundRateMinGenerations": 4, "refundRateThreshold": 0.5, "suspendScore": 30},
        }
    )
    outcomes = []
    for _ in range(12):
        charged = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a red kite"}, user)
        if not charged.ok:
            outcomes.append(charged.reason)
            break
        outcomes.append(report(user, charged.result["activityId"], "completed", actualQuantity=0).reason or "refunded")
    assert outcomes[-1] == "account_suspended", outcomes
    records = list(db.collection("abuse_detection").where(filter=FieldFilter("userId", "==", user.uid)).stream())
    assert records and all(r.to_dict()["kind"] == "refund_rate" for r in records)
    assert (db.collection("users").document(user.uid).get().to_dict() or {})["status"] == "suspended"
    assert_books_balance(db, user.uid)


def test_exploit_abandoned_generations_count_when_owners_report(
    user: emu.User, config: Callable[[Report], Report], db: firestore.Client
) -> None:
    """Was: charge, never report, and after 30 minutes the sweep refunds it as a system failure."""
    config({"lifecycle": {"ownerReportsOutcome": True}})
    activity = start(user)
    assert sweep(db, activity).refundedCredits == 50
    doc = activity_doc(db, activity)
    assert doc["status"] == "failed" and doc["failureSource"] == "system" and doc["ownerRefund"] is True
    assert usage(db, user)["ownerRefunds"] == 1  # on the user's refund rate, toward suspension


def test_abandoned_generations_are_the_products_failure_when_the_generator_reports(user: emu.User, db: firestore.Client) -> None:
    """By default the pipeline runs the model: a generation nobody finished was the pipeline's
    fault, the user got nothing, and the refund is not held against them."""
    activity = start(user)
    assert sweep(db, activity).refundedCredits == 50
    assert activity_doc(db, activity)["ownerRefund"] is False
    assert usage(db, user).get("ownerRefunds", 0) == 0


# ------------------------------------------------------------------ races: exactly one wins


def test_owner_cancel_races_generator_processing(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(4):
        activity = start(user, quantity=2)
        emu.warm_workers("updateAIActivityStatus", 2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            cancel = pool.submit(report, user, activity, "failed")
            begin = pool.submit(report, generator, activity, "processing")
            results = [cancel.result(), begin.result()]
        winners = [r for r in results if r.ok]
        losers = [r for r in results if not r.ok]
        assert len(winners) == 1 and len(losers) == 1, [r.body for r in results]
        assert losers[0].reason == "invalid_transition"
        assert activity_doc(db, activity)["status"] == winners[0].result["status"]
    assert_books_balance(db, user.uid)


def test_owner_confirmation_races_generator_failure(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    """The owner's confirmation ends nothing, so both reports are accepted and the generator's
    failure is the one ending: refunded exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(4):
        activity = start(user, quantity=2)
        assert report(generator, activity, "processing").ok
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = pool.submit(report, user, activity, "completed")
            fail = pool.submit(report, generator, activity, "failed", error="crashed")
            results = [done.result(), fail.result()]
        assert all(r.ok for r in results), [r.body for r in results]
        doc = activity_doc(db, activity)
        assert doc["status"] == "failed" and doc["refundedCredits"] == 10
        assert db.collection("credit_logs").document(f"refund_{activity}").get().exists
    assert_books_balance(db, user.uid)
