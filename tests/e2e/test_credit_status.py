"""getCreditStatus over HTTP: the balance at sign-in, prices, remaining limits, a cost preview."""

from __future__ import annotations

from google.cloud import firestore

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance


def status(user: emu.User, data: object = None) -> emu.CallResult:
    return emu.call("getCreditStatus", data, user)


def test_a_new_user_sees_the_granted_balance_before_any_generation(user: emu.User, db: firestore.Client) -> None:
    result = status(user).result
    assert result["credits"] == 100
    assert result["status"] == "active"
    assert result["lowBalance"] is False
    assert result["signupGrant"] == "granted"
    doc = db.collection("users").document(user.uid).get()
    assert doc.exists and doc.to_dict()["credits"] == 100
    assert db.collection("credit_logs").document(f"signup_{user.uid}").get().exists
    assert_books_balance(db, user.uid)


def test_calling_twice_grants_once(user: emu.User, db: firestore.Client) -> None:
    assert status(user).result["credits"] == 100
    assert status(user).result["credits"] == 100
    assert_books_balance(db, user.uid)


def test_costs_and_untouched_limits(user: emu.User) -> None:
    result = status(user, {}).result
    assert result["costs"] == {"image": 10, "video": 5, "voice": 3, "chat": 0.01}
    assert result["rateLimits"]["image"] == {"limit": 50, "remaining": 50, "resetInSeconds": 0}
    assert set(result["rateLimits"]) == {"image", "video", "voice", "chat"}


def test_a_charge_uses_one_of_the_remaining_slots(user: emu.User) -> None:
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a red kite"}, user).ok
    image = status(user).result["rateLimits"]["image"]
    assert image["remaining"] == 49
    assert 3590 <= image["resetInSeconds"] <= 3600


def test_preview_prices_like_a_charge(user: emu.User) -> None:
    preview = status(user, {"preview": {"type": "chat", "quantity": 1001}}).result["preview"]
    assert preview == {"cost": 11, "affordable": True, "allowed": True}
    charged = emu.call("validateAndDeductCredits", {"type": "chat", "prompt": "hello", "quantity": 1001}, user).result
    assert charged["creditsCharged"] == preview["cost"]


def test_preview_of_an_unaffordable_generation(user: emu.User) -> None:
    preview = status(user, {"preview": {"type": "video", "quantity": 30}}).result["preview"]
    assert preview == {"cost": 150, "affordable": False, "allowed": False, "reason": "insufficient_credits"}


def test_bad_preview_is_invalid_request_and_creates_nothing(user: emu.User, db: firestore.Client) -> None:
    r = status(user, {"preview": {"type": "video"}})
    assert r.reason == "invalid_request"
    assert "preview.quantity" in r.details["errors"]
    r = status(user, {"preview": {"type": "image"}, "extra": 1})
    assert r.reason == "invalid_request" and "extra" in r.details["errors"]
    assert not db.collection("users").document(user.uid).get().exists


def test_no_token_is_unauthenticated() -> None:
    r = emu.call("getCreditStatus", {})
    assert r.code == "UNAUTHENTICATED"
