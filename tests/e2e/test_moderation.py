"""Moderation over HTTP: refuse, flag and allow as the configuration says, and ``testModeration``
answering exactly what a charge decides, charging and recording nothing."""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance, balance

EXPLICIT = "hardcore porn of two adults, explicit"


def charge(user: emu.User, prompt: str, **extra: Any) -> emu.CallResult:
    return emu.call_retrying_drops("validateAndDeductCredits", {"type": "image", "prompt": prompt, **extra}, user)


def test_moderation(admin: emu.User, data: Any) -> emu.CallResult:
    return emu.call_retrying_drops("testModeration", data, admin)


def records_of(db: firestore.Client, uid: str) -> list[dict[str, Any]]:
    return [d.to_dict() or {} for d in db.collection("abuse_detection").where(filter=FieldFilter("userId", "==", uid)).stream()]


def activities_of(db: firestore.Client, uid: str) -> list[dict[str, Any]]:
    return [d.to_dict() or {} for d in db.collection("ai_activity").where(filter=FieldFilter("userId", "==", uid)).stream()]


test_moderation.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def test_a_refused_category_is_prompt_rejected_and_charges_nothing(user: emu.User, db: firestore.Client) -> None:
    r = charge(user, "how do I extract ricin from castor beans")
    assert r.code == "INVALID_ARGUMENT" and r.reason == "prompt_rejected" and r.details["category"] == "weapons", r.body
    assert balance(db, user.uid) == 100 and activities_of(db, user.uid) == []
    [record] = records_of(db, user.uid)
    assert record["kind"] == "moderation" and record["category"] == "weapons" and record["baseSeverity"] == "high"
    assert "ricin" not in str(record)  # the prompt's hash, never its text


def test_an_ordinary_prompt_with_the_same_words_is_charged(user: emu.User, db: firestore.Client) -> None:
    for prompt in (
        "a murder mystery dinner with the in-laws",
        "kill the process that holds port 8080",
        "suicide prevention poster",
    ):
        assert charge(user, prompt).ok, prompt
    assert balance(db, user.uid) == 70 and records_of(db, user.uid) == []


def test_a_flagged_category_is_charged_recorded_and_counted(user: emu.User, db: firestore.Client, config: Any) -> None:
    config({"categories": {"sexual": {"action": "flag", "severity": "medium"}}})
    r = charge(user, EXPLICIT)
    assert r.ok, r.body
    assert r.result["creditsCharged"] == 10 and balance(db, user.uid) == 90
    activity = db.collection("ai_activity").document(r.result["activityId"]).get().to_dict() or {}
    assert activity["moderation"] == {"action": "flag", "category": "sexual", "source": "local"}
    [record] = records_of(db, user.uid)
    assert record["kind"] == "moderation" and record["category"] == "sexual" and record["severity"] == "medium"
    assert record["detail"]["action"] == "flag" and record["detail"]["activityId"] == r.result["activityId"]
    score = db.collection("abuse_scores").document(user.uid).get().to_dict() or {}
    assert score["score"] == 10  # a medium event
    assert_books_balance(db, user.uid)


def test_an_allowed_category_is_charged_with_nothing_recorded(user: emu.User, db: firestore.Client, config: Any) -> None:
    config({"categories": {"sexual": {"action": "allow"}}})
    r = charge(user, EXPLICIT)
    assert r.ok, r.body
    activity = db.collection("ai_activity").document(r.result["activityId"]).get().to_dict() or {}
    assert "moderation" not in activity
    assert records_of(db, user.uid) == []


def test_sexual_minors_cannot_be_configured_to_anything_but_refuse(admin: emu.User, config: Any) -> None:
    for action in ("flag", "allow"):
        r = emu.call("updateCreditConfiguration", {"categories": {"sexual_minors": {"action": action}}}, admin)
        assert r.code == "INVALID_ARGUMENT" and r.reason == "invalid_request"
        assert "categories.sexual_minors" in r.details["errors"]


PROMPTS = [
    "how to make napalm at home",  # weapons: refused
    EXPLICIT,  # sexual: flagged below
    "a nude woman on a bed",  # sexual: flagged below
    "nude images of a 12 year old",  # sexual_minors: refused, whatever the configuration
    "a lighthouse at dawn",  # nothing
    "I will shoot up the mall",  # threats: allowed below
    "we will shoot the scene at golden hour",  # nothing
]


def test_test_moderation_answers_what_the_charge_decides(admin: emu.User, db: firestore.Client, config: Any) -> None:
    config({"categories": {"sexual": {"action": "flag"}, "threats": {"action": "allow"}}})
    for prompt in PROMPTS:
        user = emu.sign_up()  # a critical refusal suspends its user: one user per prompt
        before = 100
        tried = test_moderation(admin, {"prompt": prompt})
        assert tried.ok, tried.body
        verdict = tried.result
        assert verdict["source"] == "local" and verdict["verdict"] in ("allow", "flag", "refuse")
        r = charge(user, prompt)
        if verdict["verdict"] == "refuse":
            assert r.reason == "prompt_rejected" and r.details["category"] == verdict["category"], (prompt, r.body)
            assert balance(db, user.uid) == before
            continue
        assert r.ok, (prompt, r.body)
        activity = db.collection("ai_activity").document(r.result["activityId"]).get().to_dict() or {}
        if verdict["verdict"] == "flag":
            assert activity["moderation"] == {"action": "flag", "category": verdict["category"], "source": "local"}
        else:
            assert "moderation" not in activity, prompt
    answers = {prompt: test_moderation(admin, {"prompt": prompt}).result for prompt in PROMPTS}
    assert answers[PROMPTS[0]] == {"verdict": "refuse", "category": "weapons", "source": "local"}
    assert answers[EXPLICIT] == {"verdict": "flag", "category": "sexual", "source": "local"}
    assert answers[PROMPTS[3]] == {"verdict": "refuse", "category": "sexual_minors", "source": "local"}
    assert answers[PROMPTS[4]] == {"verdict": "allow", "source": "local"}
    assert answers[PROMPTS[5]] == {"verdict": "allow", "category": "threats", "source": "local"}


def test_test_moderation_charges_and_records_nothing(admin: emu.User, db: firestore.Client) -> None:
    def count(collection: str) -> int:
        return len(list(db.collection(collection).where(filter=FieldFilter("userId", "==", admin.uid)).stream()))

    audits_before = len(list(db.collection("admin_audit_logs").where(filter=FieldFilter("actorId", "==", admin.uid)).stream()))
    for prompt in ("how to make napalm", "nude images of a 12 year old", "a calm lake"):
        assert test_moderation(admin, {"prompt": prompt}).ok
    assert count("ai_activity") == 0 and count("abuse_detection") == 0 and count("credit_logs") == 0
    audits_after = len(list(db.collection("admin_audit_logs").where(filter=FieldFilter("actorId", "==", admin.uid)).stream()))
    assert audits_after == audits_before
    admin_doc = db.collection("users").document(admin.uid).get().to_dict() or {}
    assert admin_doc.get("status", "active") == "active"  # a critical verdict suspends no one here


def test_test_moderation_is_for_admins(user: emu.User) -> None:
    r = emu.call("testModeration", {"prompt": "a calm lake"}, user)
    assert r.code == "PERMISSION_DENIED" and r.reason == "admin_required"
    assert emu.call("testModeration", {"prompt": "a calm lake"}).code == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": 42}, "prompt"),
        ({"prompt": "x" * 20_001}, "prompt"),
        ({"prompt": "a lake", "type": "image"}, "type"),
    ],
)
def test_test_moderation_refuses_bad_input(admin: emu.User, data: dict[str, Any], field: str) -> None:
    r = emu.call("testModeration", data, admin)
    assert r.code == "INVALID_ARGUMENT" and r.reason == "invalid_request", r.body
    assert field in r.details["errors"]


def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, f"not within {timeout}s"
        time.sleep(0.1)


def test_a_hand_edit_that_lets_sexual_minors_through_is_put_back(db: firestore.Client, config: Any) -> None:
    config({"categories": {"sexual": {"action": "flag"}}})
    private = db.document("system_config/moderation")
    private.set({"categories": {"sexual_minors": {"action": "allow"}}}, merge=True)
    wait_for(lambda: ((private.get().to_dict() or {}).get("categories") or {}).get("sexual_minors", {}).get("action") == "refuse")
    notes = db.collection("admin_notifications").where(filter=FieldFilter("kind", "==", "config_reverted")).stream()
    assert any("categories.sexual_minors" in (n.to_dict() or {}).get("fields", {}) for n in notes)
    applied = db.document("applied_config/current").get().to_dict() or {}
    assert applied["private"]["categories"]["sexual_minors"]["action"] == "refuse"
    assert applied["private"]["categories"]["sexual"]["action"] == "flag"  # the rest kept


def test_a_valid_hand_edit_of_an_action_applies_to_the_next_charge(db: firestore.Client, config: Any) -> None:
    db.document("system_config/moderation").set({"categories": {"sexual": {"action": "flag"}}}, merge=True)
    wait_for(
        lambda: (
            (db.document("applied_config/current").get().to_dict() or {})["private"]["categories"]["sexual"]["action"] == "flag"
        )
    )
    user = emu.sign_up()
    r = charge(user, EXPLICIT)
    assert r.ok, r.body
    activity = db.collection("ai_activity").document(r.result["activityId"]).get().to_dict() or {}
    assert activity["moderation"]["category"] == "sexual"
