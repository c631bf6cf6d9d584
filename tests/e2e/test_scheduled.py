"""The scheduled functions as the Functions emulator runs them: registered (with the Pub/Sub
emulator running) and run through their trigger URL, as the schedule would run them.

The functions' clock is moved with the emulator-only offset file (``clock`` fixture), so a
generation charged now is 31 minutes old to the job."""

from __future__ import annotations

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance, balance

SCHEDULES = {"resetRateLimits": "every 1 hours", "cleanupOldData": "every 24 hours"}


def test_scheduled_functions_are_registered_with_their_schedules_and_topics() -> None:
    backends = emu.session().get(f"http://{emu.FUNCTIONS_HOST}/backends", timeout=30).json()["backends"]
    triggers = {t["name"]: t for backend in backends for t in backend["functionTriggers"]}
    for name, schedule in SCHEDULES.items():
        assert triggers[name]["schedule"]["schedule"] == schedule
        assert triggers[name]["eventTrigger"]["eventType"] == "pubsub"
    topics = emu.session().get(f"http://{emu.PUBSUB_HOST}/v1/projects/{emu.PROJECT}/topics", timeout=30).json()["topics"]
    names = {t["name"] for t in topics}
    assert {f"projects/{emu.PROJECT}/topics/firebase-schedule-{name}" for name in SCHEDULES} <= names


def charge(user: emu.User) -> str:
    result = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a lighthouse at dawn"}, user)
    return str(result.result["activityId"])


def test_reset_rate_limits_fails_and_refunds_a_generation_stuck_for_30_minutes(
    user: emu.User, db: firestore.Client, clock: None
) -> None:
    activity = charge(user)
    assert balance(db, user.uid) == 90
    ref = db.collection("ai_activity").document(activity)

    emu.set_clock_offset(29 * 60)  # not yet stuck
    assert emu.run_scheduled("resetRateLimits").status_code == 200
    assert ref.get().to_dict()["status"] == "pending"
    assert balance(db, user.uid) == 90

    emu.set_clock_offset(31 * 60)
    # Every generation the earlier tests left running is stuck too, now: a run stops at its
    # page and time budget ("more"), and the next hourly run goes on, as here.
    for _ in range(20):
        assert emu.run_scheduled("resetRateLimits").status_code == 200
        swept = ref.get().to_dict()
        if swept["status"] != "pending":
            break
    assert (swept["status"], swept["failureSource"]) == ("failed", "system")
    assert balance(db, user.uid) == 100
    refunds = [
        e.to_dict()
        for e in db.collection("credit_logs").where(filter=FieldFilter("activityId", "==", activity)).stream()
        if e.to_dict()["delta"] > 0
    ]
    assert [r["delta"] for r in refunds] == [10]

    assert emu.run_scheduled("resetRateLimits").status_code == 200  # again: nothing more
    assert balance(db, user.uid) == 100
    assert_books_balance(db, user.uid)


def test_cleanup_old_data_runs_through_its_trigger(user: emu.User, db: firestore.Client, clock: None) -> None:
    activity = charge(user)
    emu.set_clock_offset(31 * 60)
    assert emu.run_scheduled("resetRateLimits").status_code == 200  # fails it: only final ones go
    assert db.collection("ai_activity").document(activity).get().to_dict()["status"] == "failed"
    emu.set_clock_offset(91 * 86400)  # past the default retention of 90 days
    assert emu.run_scheduled("cleanupOldData").status_code == 200
    assert not db.collection("ai_activity").document(activity).get().exists
    assert db.collection("usage_logs").document(activity).get().exists  # the permanent record stays


@pytest.mark.parametrize("name", ["noSuchJob", "validateAndDeductCredits"])
def test_only_scheduled_functions_have_a_trigger_url(name: str) -> None:
    assert emu.run_scheduled(name).status_code == 404
