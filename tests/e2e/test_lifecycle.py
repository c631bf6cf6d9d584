"""updateAIActivityStatus over HTTP: transitions, settlement, refunds, exactly once.

The generator (the pipeline's identity) reports endings here; who else may report what is
tests/e2e/test_trust_model.py."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance, balance


def start(user: emu.User, **data: object) -> dict:
    payload = {"type": "image", "prompt": "a quiet harbour"}
    payload.update(data)
    return emu.call("validateAndDeductCredits", payload, user).result


def update(user: emu.User, activity_id: str, status: str, **data: object) -> emu.CallResult:
    return emu.call("updateAIActivityStatus", {"activityId": activity_id, "status": status, **data}, user)


ALLOWED = [
    ([], "processing"),
    ([], "completed"),
    ([], "failed"),
    (["processing"], "processing"),
    (["processing"], "completed"),
    (["processing"], "failed"),
]
REFUSED = [
    (["completed"], "processing", "completed"),
    (["completed"], "completed", "completed"),
    (["completed"], "failed", "completed"),
    (["failed"], "processing", "failed"),
    (["failed"], "completed", "failed"),
    (["failed"], "failed", "failed"),
    (["processing", "completed"], "failed", "completed"),
]


@pytest.mark.parametrize("path,to", ALLOWED, ids=[f"{'-'.join(p) or 'pending'}->{t}" for p, t in ALLOWED])
def test_allowed_transition(path: list[str], to: str, user: emu.User, generator: emu.User) -> None:
    activity = start(user)["activityId"]
    for step in path:
        assert update(generator, activity, step).ok
    r = update(generator, activity, to)
    assert r.result["status"] == to


@pytest.mark.parametrize("path,to,frm", REFUSED, ids=[f"{'-'.join(p)}->{t}" for p, t, _ in REFUSED])
def test_refused_transition_reports_from_and_to(
    path: list[str], to: str, frm: str, user: emu.User, generator: emu.User, db: firestore.Client
) -> None:
    activity = start(user)["activityId"]
    for step in path:
        assert update(generator, activity, step).ok
    before = balance(db, user.uid)
    r = update(generator, activity, to)
    assert r.code == "FAILED_PRECONDITION"
    assert r.reason == "invalid_transition"
    assert r.details["from"] == frm and r.details["to"] == to
    assert balance(db, user.uid) == before


def test_processing_records_progress_and_start(user: emu.User, db: firestore.Client) -> None:
    activity = start(user)["activityId"]
    r = update(user, activity, "processing", progress=40)
    assert r.result == {
        "activityId": activity,
        "status": "processing",
        "creditsCharged": 10,
        "refundedCredits": 0,
        "remainingCredits": 90,
    }
    doc = db.collection("ai_activity").document(activity).get().to_dict()
    assert doc["progress"] == 40
    assert doc["startedAt"] is not None


def test_completed_without_actual_quantity_keeps_the_charge(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    activity = start(user, quantity=2)["activityId"]
    r = update(generator, activity, "completed")  # the owner's own is a confirmation (contract revision 3)
    assert r.result["creditsCharged"] == 20
    assert r.result["refundedCredits"] == 0
    assert r.result["remainingCredits"] == 80
    assert "processingTimeMs" in r.result
    usage = db.collection("usage_logs").document(activity).get().to_dict()
    assert usage["status"] == "completed" and usage["creditsCharged"] == 20
    assert_books_balance(db, user.uid)


def test_settlement_refunds_the_surplus(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    # 1000 chat tokens reserved (10 credits), 250 produced: ceil(2.5) = 3, refund 7
    activity = start(user, type="chat", quantity=1000)["activityId"]
    r = update(generator, activity, "completed", actualQuantity=250)
    assert r.result["creditsCharged"] == 3
    assert r.result["refundedCredits"] == 7
    assert r.result["remainingCredits"] == 97
    entry = db.collection("credit_logs").document(f"settle_{activity}").get().to_dict()
    assert entry["delta"] == 7 and entry["reason"] == "settlement_refund" and entry["activityId"] == activity
    assert_books_balance(db, user.uid)


def test_settlement_charges_the_shortfall(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    # 10 s of video reserved (50), 12 s rendered: 60, so 10 more
    activity = start(user, type="video", quantity=10)["activityId"]
    r = update(generator, activity, "completed", actualQuantity=12)
    assert r.result["creditsCharged"] == 60
    assert r.result["remainingCredits"] == 40
    entry = db.collection("credit_logs").document(f"settle_{activity}").get().to_dict()
    assert entry["delta"] == -10 and entry["reason"] == "settlement_charge"
    assert_books_balance(db, user.uid)


def test_shortfall_is_charged_only_up_to_the_balance(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    # 18 s of video = 90 of 100; 30 s rendered would be 150: only the 10 left are taken
    activity = start(user, type="video", quantity=18)["activityId"]
    r = update(generator, activity, "completed", actualQuantity=30)
    assert r.result["remainingCredits"] == 0
    assert r.result["creditsCharged"] == 100
    doc = db.collection("ai_activity").document(activity).get().to_dict()
    assert doc["uncollectedCredits"] == 50
    assert balance(db, user.uid) == 0
    assert_books_balance(db, user.uid)


def test_failed_refunds_the_whole_charge_once(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    activity = start(user, quantity=3)["activityId"]
    r = update(generator, activity, "failed", error="model crashed")
    assert r.result["refundedCredits"] == 30
    assert r.result["creditsCharged"] == 0
    assert r.result["remainingCredits"] == 100
    doc = db.collection("ai_activity").document(activity).get().to_dict()
    assert doc["error"] == "model crashed" and doc["failureSource"] == "generator"
    usage = db.collection("usage_logs").document(activity).get().to_dict()
    assert usage["refundedCredits"] == 30 and usage["status"] == "failed" and usage["endedBy"] == "generator"
    user_doc = db.collection("users").document(user.uid).get().to_dict()
    assert user_doc["usage"]["failures"] == 1 and user_doc["usage"]["ownerRefunds"] == 0
    assert_books_balance(db, user.uid)


def test_concurrent_failed_reports_refund_exactly_once(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    activity = start(user, quantity=5)["activityId"]
    emu.warm_workers("updateAIActivityStatus", 20)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: update(generator, activity, "failed"), range(20)))
    outcomes = Counter("dropped" if r.dropped else r.reason if r.code else "ok" for r in results)
    # A request the emulator drops before answering ("dropped") may or may not have been the
    # one that applied; every answered one is the single success or invalid_transition.
    assert outcomes["ok"] == 1 or (outcomes["ok"] == 0 and outcomes["dropped"] >= 1), outcomes
    assert outcomes["ok"] + outcomes["invalid_transition"] + outcomes["dropped"] == 20, outcomes
    refunds = [
        e
        for e in db.collection("credit_logs").where(filter=FieldFilter("activityId", "==", activity)).stream()
        if e.id.startswith("refund_")
    ]
    assert len(refunds) == 1
    assert balance(db, user.uid) == 100
    assert_books_balance(db, user.uid)


def test_concurrent_completion_and_failure_settle_once(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    activity = start(user, type="chat", quantity=1000)["activityId"]
    calls = [("completed", {"actualQuantity": 100}), ("failed", {})] * 5
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda c: update(generator, activity, c[0], **c[1]), calls))
    assert sum(r.ok for r in results) == 1 or (sum(r.ok for r in results) == 0 and any(r.dropped for r in results))
    assert all(r.ok or r.dropped or r.reason == "invalid_transition" for r in results)
    assert db.collection("usage_logs").document(activity).get().exists
    assert_books_balance(db, user.uid)


def test_another_user_cannot_touch_the_activity(user: emu.User) -> None:
    activity = start(user)["activityId"]
    other = emu.sign_up()
    r = update(other, activity, "failed")
    assert r.code == "PERMISSION_DENIED" and r.reason == "not_owner"


def test_admin_can_fail_any_activity(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    activity = start(user)["activityId"]
    r = update(admin, activity, "failed", error="operator stopped it")
    assert r.result["refundedCredits"] == 10
    assert db.collection("ai_activity").document(activity).get().to_dict()["failureSource"] == "admin"
    assert db.collection("users").document(user.uid).get().to_dict()["usage"]["ownerRefunds"] == 0


def test_unknown_activity_is_not_found(user: emu.User) -> None:
    r = update(user, "does-not-exist", "processing")
    assert r.code == "NOT_FOUND" and r.reason == "not_found"


BAD_UPDATES = [
    ({}, "activityId"),
    ({"activityId": "x"}, "status"),
    ({"activityId": "x", "status": "pending"}, "status"),
    ({"activityId": "x", "status": "done"}, "status"),
    ({"activityId": "a/b", "status": "processing"}, "activityId"),
    ({"activityId": "x", "status": "processing", "progress": 101}, "progress"),
    ({"activityId": "x", "status": "processing", "progress": -1}, "progress"),
    ({"activityId": "x", "status": "processing", "progress": "50"}, "progress"),
    ({"activityId": "x", "status": "processing", "actualQuantity": 3}, "actualQuantity"),
    ({"activityId": "x", "status": "completed", "actualQuantity": -3}, "actualQuantity"),
    ({"activityId": "x", "status": "completed", "error": "e"}, "error"),
    ({"activityId": "x", "status": "failed", "error": "e" * 1001}, "error"),
    ({"activityId": "x", "status": "failed", "refund": 100}, "refund"),
]


@pytest.mark.parametrize("payload,field", BAD_UPDATES, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_UPDATES)])
def test_malformed_update_is_invalid_argument(payload: dict, field: str, user: emu.User) -> None:
    r = emu.call("updateAIActivityStatus", payload, user)
    assert r.code == "INVALID_ARGUMENT" and r.reason == "invalid_request"
    assert field in r.details["errors"]


def test_actual_quantity_outside_the_type_bounds_is_refused(user: emu.User, generator: emu.User, db: firestore.Client) -> None:
    activity = start(user)["activityId"]
    r = update(generator, activity, "completed", actualQuantity=2.5)  # images are whole
    assert r.code == "INVALID_ARGUMENT" and "actualQuantity" in r.details["errors"]
    r = update(generator, activity, "completed", actualQuantity=11)
    assert r.code == "INVALID_ARGUMENT"
    assert db.collection("ai_activity").document(activity).get().to_dict()["status"] == "pending"
