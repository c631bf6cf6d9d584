"""validateAndDeductCredits over HTTP, as the web client calls it."""

from __future__ import annotations

import hashlib

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import ledger_sum


def charge(user: emu.User, **data: object) -> emu.CallResult:
    payload = {"type": "image", "prompt": "a lighthouse at dawn, oil painting"}
    payload.update(data)
    return emu.call("validateAndDeductCredits", payload, user)


def test_first_image_charges_ten_of_the_default_hundred(user: emu.User, db: firestore.Client) -> None:
    r = charge(user)
    assert r.result["creditsCharged"] == 10
    assert r.result["remainingCredits"] == 90
    assert r.result["status"] == "pending"
    doc = db.collection("users").document(user.uid).get().to_dict()
    assert doc["credits"] == 90
    assert ledger_sum(db, user.uid) == 90


def test_first_use_grant_is_in_the_ledger_exactly_once(user: emu.User, db: firestore.Client) -> None:
    for _ in range(3):
        assert charge(user).ok
    grants = [
        e
        for e in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", user.uid)).stream()
        if e.to_dict()["reason"] == "signup_grant"
    ]
    assert len(grants) == 1
    assert grants[0].to_dict()["delta"] == 100
    assert ledger_sum(db, user.uid) == 70


def test_thousand_chat_tokens_cost_exactly_ten(user: emu.User) -> None:
    r = charge(user, type="chat", quantity=1000)
    assert r.result["creditsCharged"] == 10


def test_fractional_charge_rounds_up(user: emu.User) -> None:
    # 1 token x 0.01 = 0.01 -> 1 credit; 2.5 s of video x 5 = 12.5 -> 13
    assert charge(user, type="chat", quantity=1).result["creditsCharged"] == 1
    assert charge(user, type="video", quantity=2.5).result["creditsCharged"] == 13


def test_activity_document_records_the_generation_without_the_prompt(user: emu.User, db: firestore.Client) -> None:
    prompt = "x" * 150 + " secret tail"
    r = emu.call(
        "validateAndDeductCredits",
        {"type": "voice", "prompt": prompt, "quantity": 2, "model": "tts-1", "deviceId": "dev-42"},
        user,
        headers={"User-Agent": "test-agent/1.0", "X-Appengine-Country": "de"},
    )
    activity = db.collection("ai_activity").document(r.result["activityId"]).get().to_dict()
    assert activity["status"] == "pending"
    assert activity["type"] == "voice"
    assert activity["model"] == "tts-1"
    assert activity["quantity"] == 2
    assert activity["creditsCharged"] == 6
    assert activity["promptPreview"] == prompt[:100]
    assert activity["promptHash"] == hashlib.sha256(prompt.encode()).hexdigest()
    assert "secret tail" not in str(activity)
    assert activity["userEmail"] == user.email
    assert activity["ip"] == user.ip
    assert activity["country"] == "DE"
    assert activity["userAgent"] == "test-agent/1.0"
    assert activity["deviceId"] == "dev-42"
    assert activity["createdAt"] is not None


def test_insufficient_credits_reports_required_and_available(user: emu.User, db: firestore.Client) -> None:
    r = charge(user, type="video", quantity=30)  # 150 > 100
    assert r.code == "FAILED_PRECONDITION"
    assert r.reason == "insufficient_credits"
    assert r.details["required"] == 150
    assert r.details["available"] == 100
    # a refused first call still opens the account (with its grant), and charges nothing
    assert db.collection("users").document(user.uid).get().to_dict()["credits"] == 100
    assert not [
        e.id
        for e in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", user.uid)).stream()
        if e.id.startswith("charge_")
    ]


def test_no_token_is_unauthenticated() -> None:
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "hi"})
    assert r.code == "UNAUTHENTICATED"


def test_suspended_account_is_refused(user: emu.User, db: firestore.Client) -> None:
    assert charge(user).ok
    db.collection("users").document(user.uid).update({"status": "suspended"})
    r = charge(user)
    assert r.code == "PERMISSION_DENIED"
    assert r.reason == "account_suspended"
