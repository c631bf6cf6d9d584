"""requestId: the first call's result, charged once, however often and concurrently sent."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance, balance


def charge(user: emu.User, request_id: str, **extra: object) -> emu.CallResult:
    data = {"type": "image", "prompt": "a paper boat", "requestId": request_id, **extra}
    return emu.call_retrying_drops("validateAndDeductCredits", data, user)


def test_replay_returns_the_first_result_and_charges_nothing_more(user: emu.User, db: firestore.Client) -> None:
    key = f"req-{uuid.uuid4()}"
    first = charge(user, key).result
    for _ in range(3):
        assert charge(user, key).result == first
    assert balance(db, user.uid) == 90
    assert_books_balance(db, user.uid)


def test_twenty_concurrent_sends_make_one_charge_and_one_activity(user: emu.User, db: firestore.Client) -> None:
    key = f"burst:{uuid.uuid4()}"
    emu.warm_workers("validateAndDeductCredits", 20)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: charge(user, key), range(20)))
    assert all(r.ok for r in results), [r.body for r in results if not r.ok]
    assert len({r.result["activityId"] for r in results}) == 1
    assert len({r.result["remainingCredits"] for r in results}) == 1
    assert balance(db, user.uid) == 90
    assert len(list(db.collection("ai_activity").where(filter=FieldFilter("userId", "==", user.uid)).stream())) == 1
    assert_books_balance(db, user.uid)


def test_same_key_with_other_parameters_is_refused(user: emu.User, db: firestore.Client) -> None:
    key = f"req-{uuid.uuid4()}"
    assert charge(user, key).ok
    r = charge(user, key, quantity=2)
    assert r.code == "INVALID_ARGUMENT" and r.reason == "invalid_request"
    assert "requestId" in r.details["errors"]
    r = charge(user, key, prompt="another prompt")
    assert r.code == "INVALID_ARGUMENT"
    assert balance(db, user.uid) == 90


def test_keys_are_per_user(user: emu.User) -> None:
    key = f"shared-{uuid.uuid4()}"
    other = emu.sign_up()
    a = charge(user, key).result
    b = charge(other, key).result
    assert a["activityId"] != b["activityId"]


def test_replay_after_completion_still_returns_the_first_result(user: emu.User) -> None:
    key = f"req-{uuid.uuid4()}"
    first = charge(user, key).result
    emu.call("updateAIActivityStatus", {"activityId": first["activityId"], "status": "completed"}, user)
    assert charge(user, key).result == first


def test_refused_first_call_does_not_burn_the_key(user: emu.User, db: firestore.Client) -> None:
    key = f"req-{uuid.uuid4()}"
    r = emu.call("validateAndDeductCredits", {"type": "video", "prompt": "long film", "quantity": 30, "requestId": key}, user)
    assert r.reason == "insufficient_credits"
    admin = emu.make_admin()
    assert emu.call("grantCreditsToUser", {"userId": user.uid, "amount": 100, "reason": "top-up"}, admin).ok
    r = emu.call("validateAndDeductCredits", {"type": "video", "prompt": "long film", "quantity": 30, "requestId": key}, user)
    assert r.result["creditsCharged"] == 150
    assert balance(db, user.uid) == 50
    assert_books_balance(db, user.uid)
