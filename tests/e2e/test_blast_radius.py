"""One damaged or missing thing stays local: keys safe for ever, a deleted account rebuilt from the
ledger, a user document at its size bound still suspendable, damage answered ``data_invalid``."""

from __future__ import annotations

import time
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance, balance


def charge(user: emu.User, **extra: Any) -> emu.CallResult:
    return emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a lighthouse", **extra}, user)


def test_a_key_whose_activity_was_cleaned_up_is_answered_at_once(
    user: emu.User, generator: emu.User, db: firestore.Client
) -> None:
    """Was: the key's activity was gone, the charge retried for 30 s into aborted/contention."""
    first = charge(user, requestId="kept-for-ever").result
    assert emu.call("updateAIActivityStatus", {"activityId": first["activityId"], "status": "completed"}, generator).ok
    db.collection("ai_activity").document(first["activityId"]).delete()  # what cleanupOldData does after retention
    started = time.monotonic()
    r = charge(user, requestId="kept-for-ever")
    assert time.monotonic() - started < 5
    assert r.code == "INVALID_ARGUMENT" and r.reason == "invalid_request" and "requestId" in r.details["errors"]
    assert balance(db, user.uid) == 90  # charged once, never again
    assert_books_balance(db, user.uid)


def test_a_deleted_user_document_is_rebuilt_from_the_ledger(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    """Was: deleting users/{uid} in the console locked the user out (or granted again)."""
    assert charge(user).ok and charge(user, requestId="before-delete").ok
    assert emu.call("grantCreditsToUser", {"userId": user.uid, "amount": 7, "reason": "goodwill"}, admin).ok
    db.collection("users").document(user.uid).delete()
    status = emu.call("getCreditStatus", {}, user).result
    assert status["credits"] == 87 and status["signupGrant"] == "granted"
    doc = db.collection("users").document(user.uid).get().to_dict() or {}
    assert doc["credits"] == 87 and doc.get("restoredAt") is not None
    entries = [s.id for s in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", user.uid)).stream()]
    assert sum(1 for e in entries if e.startswith("signup_")) == 1
    assert sum(1 for e in entries if e.startswith("restore_")) == 1
    notes = [
        s.to_dict() for s in db.collection("admin_notifications").where(filter=FieldFilter("userId", "==", user.uid)).stream()
    ]
    assert [n["kind"] for n in notes] == ["account_restored"]
    # the same key still replays; a new charge works
    assert charge(user, requestId="before-delete").ok
    assert charge(user).result["remainingCredits"] == 77
    assert_books_balance(db, user.uid)


def test_a_deleted_suspended_account_comes_back_suspended_without_a_second_grant(
    user: emu.User, admin: emu.User, db: firestore.Client
) -> None:
    """Was: deleting a suspended user's document in the console brought the account back active,
    and the restore said "status active". The latest setUserStatus audit entry decides."""
    assert charge(user).ok
    for status in ("suspended", "active", "suspended"):
        r = emu.call("setUserStatus", {"userId": user.uid, "status": status, "reason": "review"}, admin)
        assert r.ok, r.body
    db.collection("users").document(user.uid).delete()
    got = emu.call("getCreditStatus", {}, user).result
    assert (got["credits"], got["status"], got["signupGrant"]) == (90, "suspended", "granted"), got
    assert charge(user).reason == "account_suspended"
    doc = db.collection("users").document(user.uid).get().to_dict() or {}
    assert doc["status"] == "suspended" and doc["statusChangedBy"] == admin.uid
    entries = [s.id for s in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", user.uid)).stream()]
    assert sum(1 for e in entries if e.startswith("signup_")) == 1
    assert_books_balance(db, user.uid)


def test_a_deleted_account_suspended_by_the_abuse_score_comes_back_suspended(user: emu.User, db: firestore.Client) -> None:
    r = charge(user, prompt="c h i l d p o r n")
    assert r.reason == "prompt_rejected"
    assert charge(user).reason == "account_suspended"
    db.collection("users").document(user.uid).delete()
    got = emu.call("getCreditStatus", {}, user).result
    assert (got["credits"], got["status"]) == (100, "suspended"), got
    assert charge(user).reason == "account_suspended"


def test_a_user_document_at_its_size_bound_can_still_be_suspended(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    """Was: a user grew their own document toward 1 MiB through preferences; suspending failed."""
    assert emu.call("getCreditStatus", {}, user).ok
    at_bound = {
        "displayName": "n" * 100,
        "photoURL": "https://example.com/" + "p" * 2028,
        "locale": "l" * 35,
        "preferences": {f"{i:02d}" + "k" * 30: "v" * 256 for i in range(32)},
    }
    db.collection("users").document(user.uid).update(at_bound)
    r = emu.call("setUserStatus", {"userId": user.uid, "status": "suspended", "reason": "review"}, admin)
    assert r.ok, r.body
    assert charge(user).reason == "account_suspended"


def test_a_damaged_balance_refuses_that_user_alone_and_tells_the_admins(
    user: emu.User, admin: emu.User, db: firestore.Client
) -> None:
    """Was: credits stored as a string (the console's default type) answered internal."""
    other = emu.sign_up()
    assert charge(user).ok and charge(other).ok
    db.collection("users").document(user.uid).update({"credits": "90"})
    for name, data in (
        ("validateAndDeductCredits", {"type": "image", "prompt": "a lighthouse"}),
        ("getCreditStatus", {}),
    ):
        r = emu.call(name, data, user)
        assert r.code == "FAILED_PRECONDITION" and r.reason == "data_invalid", r.body
        assert r.details == {"reason": "data_invalid", "document": f"users/{user.uid}"}  # no field names for users
    r = emu.call("grantCreditsToUser", {"userId": user.uid, "amount": 5, "reason": "x"}, admin)
    assert r.reason == "data_invalid" and "credits" in r.details["errors"]  # admins see what is wrong
    assert charge(other).ok  # everyone else goes on
    notes = [
        s.to_dict()
        for s in db.collection("admin_notifications").where(filter=FieldFilter("document", "==", f"users/{user.uid}")).stream()
    ]
    assert len(notes) == 1 and notes[0]["kind"] == "data_invalid"


def test_malformed_or_expired_tokens_get_the_same_refusal_as_a_missing_one(user: emu.User) -> None:
    missing = emu.call("getCreditStatus", {})
    forged = emu.call("getCreditStatus", {}, token=user.id_token[:-4] + "AAAA")
    garbage = emu.call("getCreditStatus", {}, token="not-a-jwt")
    for r in (missing, forged, garbage):
        assert r.status == 401 and r.code == "UNAUTHENTICATED" and r.reason == "unauthenticated", r.body
