"""Malformed input of every shape: invalid-argument with a reason, nothing written."""

from __future__ import annotations

import json

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu

OK = {"type": "image", "prompt": "a red fox in snow"}

# (payload, the field the error must name)
BAD_CHARGES: list[tuple[object, str]] = [
    (None, "data"),
    ([], "data"),
    ("image", "data"),
    (42, "data"),
    ({}, "type"),
    ({"prompt": "x"}, "type"),
    ({"type": "audio", "prompt": "x"}, "type"),
    ({"type": 1, "prompt": "x"}, "type"),
    ({"type": ["image"], "prompt": "x"}, "type"),
    ({"type": "image"}, "prompt"),
    ({"type": "image", "prompt": ""}, "prompt"),
    ({"type": "image", "prompt": "   \n\t "}, "prompt"),
    ({"type": "image", "prompt": "x" * 20_001}, "prompt"),
    ({"type": "image", "prompt": 5}, "prompt"),
    ({"type": "image", "prompt": {"text": "x"}}, "prompt"),
    ({"type": "image", "prompt": "bad \ud800 surrogate"}, "prompt"),
    ({"type": "image", "prompt": "x", "quantity": 0}, "quantity"),
    ({"type": "image", "prompt": "x", "quantity": 11}, "quantity"),
    ({"type": "image", "prompt": "x", "quantity": 1.5}, "quantity"),
    ({"type": "image", "prompt": "x", "quantity": -1}, "quantity"),
    ({"type": "image", "prompt": "x", "quantity": True}, "quantity"),
    ({"type": "image", "prompt": "x", "quantity": "2"}, "quantity"),
    ({"type": "image", "prompt": "x", "quantity": 10**30}, "quantity"),
    ({"type": "video", "prompt": "x"}, "quantity"),
    ({"type": "video", "prompt": "x", "quantity": 0}, "quantity"),
    ({"type": "video", "prompt": "x", "quantity": 600.5}, "quantity"),
    ({"type": "video", "prompt": "x", "quantity": -0.0}, "quantity"),
    ({"type": "voice", "prompt": "x", "quantity": 61}, "quantity"),
    ({"type": "voice", "prompt": "x", "quantity": 1e308}, "quantity"),
    ({"type": "chat", "prompt": "x"}, "quantity"),
    ({"type": "chat", "prompt": "x", "quantity": 0}, "quantity"),
    ({"type": "chat", "prompt": "x", "quantity": 1_000_001}, "quantity"),
    ({"type": "chat", "prompt": "x", "quantity": 10.5}, "quantity"),
    ({**OK, "model": "m" * 65}, "model"),
    ({**OK, "model": 7}, "model"),
    ({**OK, "requestId": ""}, "requestId"),
    ({**OK, "requestId": "a" * 129}, "requestId"),
    ({**OK, "requestId": "has space"}, "requestId"),
    ({**OK, "requestId": "slash/inside"}, "requestId"),
    ({**OK, "requestId": 12345}, "requestId"),
    ({**OK, "deviceId": "d" * 129}, "deviceId"),
    ({**OK, "deviceId": {"id": 1}}, "deviceId"),
    ({**OK, "credits": 1000}, "credits"),
    ({**OK, "userId": "someone-else"}, "userId"),
]


@pytest.mark.parametrize("payload,field", BAD_CHARGES, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_CHARGES)])
def test_malformed_charge_is_invalid_argument_naming_the_field(
    payload: object, field: str, user: emu.User, db: firestore.Client
) -> None:
    r = emu.call("validateAndDeductCredits", payload, user)
    assert r.code == "INVALID_ARGUMENT", r.body
    assert r.reason == "invalid_request"
    assert field in r.details["errors"], r.details
    assert not db.collection("users").document(user.uid).get().exists
    assert not list(db.collection("ai_activity").where(filter=FieldFilter("userId", "==", user.uid)).limit(1).stream())


def test_nan_and_infinity_in_the_body_are_refused(user: emu.User) -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        body = '{"data": {"type": "video", "prompt": "x", "quantity": ' + literal + "}}"
        r = emu.call("validateAndDeductCredits", user=user, raw_body=body)
        assert r.code == "INVALID_ARGUMENT", (literal, r.body)
        assert r.details["errors"] == {"quantity": "must be a finite number"}


RAW_BODIES = [
    ("not json", "application/json"),
    ("{", "application/json"),
    ("[1, 2]", "application/json"),
    ('"just a string"', "application/json"),
    ("{}", "application/json"),
    ('{"data": {}, "extra": 1}', "application/json"),
    ('{"data": {}}', "text/plain"),
    ("[" * 100_000 + "]" * 100_000, "application/json"),
    ('{"data": ' + "[" * 5000 + "]" * 5000 + "}", "application/json"),
]


@pytest.mark.parametrize("body,content_type", RAW_BODIES, ids=[f"raw{i}" for i in range(len(RAW_BODIES))])
def test_transport_garbage_is_invalid_argument_not_internal(body: str, content_type: str, user: emu.User) -> None:
    r = emu.call("validateAndDeductCredits", user=user, raw_body=body, headers={"Content-Type": content_type})
    assert r.code == "INVALID_ARGUMENT", r.body
    assert r.reason == "invalid_request"


def test_get_request_is_invalid_argument(user: emu.User) -> None:
    r = emu.session().get(f"{emu.FUNCTIONS_URL}/validateAndDeductCredits", timeout=30)
    assert r.status_code == 400
    assert r.json()["error"]["details"]["reason"] == "invalid_request"


def test_garbage_token_is_unauthenticated() -> None:
    r = emu.call("validateAndDeductCredits", OK, token="not-a-jwt")
    assert r.code == "UNAUTHENTICATED"


def test_all_errors_at_once_are_reported_together(user: emu.User) -> None:
    r = emu.call("validateAndDeductCredits", {"type": "chat", "prompt": "", "model": 1, "zzz": 0}, user)
    assert set(r.details["errors"]) == {"prompt", "quantity", "model", "zzz"}


def test_integral_float_counts_as_integer(user: emu.User) -> None:
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "x", "quantity": 2.0}, user)
    assert r.result["creditsCharged"] == 20


def test_error_messages_never_echo_the_prompt(user: emu.User) -> None:
    secret = "confidential-marker-" + "y" * 20_000
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": secret}, user)
    assert r.code == "INVALID_ARGUMENT"
    assert "confidential-marker" not in json.dumps(r.body)
