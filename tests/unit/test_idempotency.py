"""One idempotency implementation for every callable that takes a requestId."""

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from credits.features.admin import GrantRequest, grant_key
from credits.features.charging import ChargeRequest
from credits.features.promos import PromoRequest
from credits.vocab import idempotency
from credits.vocab.activity import activity_id_for
from credits.vocab.context import Caller
from credits.vocab.errors import InvalidRequest


def test_keys_are_per_owner_and_the_ones_stored_before() -> None:
    # The formula every stored id was made with: keys written earlier still answer.
    assert idempotency.key("alice", "k1") == hashlib.sha256(b"alice\nk1").hexdigest()[:40]
    assert idempotency.key("alice", "k1") != idempotency.key("bob", "k1")
    assert activity_id_for("alice", "k1") == "r_" + idempotency.key("alice", "k1")
    assert grant_key(Caller(uid="admin-1"), "k1") == idempotency.key("admin-1", "k1")
    assert len(idempotency.key("alice", "k1", length=32)) == 32


def test_a_fingerprint_is_the_canonical_json_every_version_stored() -> None:
    request = ChargeRequest.parse({"type": "image", "prompt": "a cat", "quantity": 2, "requestId": "k"})
    stored_before = hashlib.sha256(
        json.dumps(
            {"type": "image", "quantity": "2", "model": None, "prompt": hashlib.sha256(b"a cat").hexdigest()}, sort_keys=True
        ).encode()
    ).hexdigest()
    assert request.fingerprint() == stored_before
    assert idempotency.fingerprint({"b": 1, "a": 2}) == idempotency.fingerprint({"a": 2, "b": 1})


def test_the_same_request_gets_the_first_answer_another_is_refused() -> None:
    first = ChargeRequest.parse({"type": "image", "prompt": "a cat", "requestId": "k"})
    other = ChargeRequest.parse({"type": "image", "prompt": "a dog", "requestId": "k"})
    stored = {**idempotency.record("k", first.fingerprint()), "response": {"activityId": "r_1"}}
    assert stored["requestId"] == "k"
    assert idempotency.replay(stored, first.fingerprint(), lambda s: s["response"]) == {"activityId": "r_1"}
    with pytest.raises(InvalidRequest) as refused:
        idempotency.replay(stored, other.fingerprint(), lambda s: s["response"])
    assert refused.value.details["errors"] == {"requestId": "was already used with different parameters"}


@pytest.mark.parametrize(
    ("parse", "a", "b"),
    [
        (GrantRequest.parse, {"userId": "u", "amount": 5, "reason": "thanks"}, {"userId": "u", "amount": 6, "reason": "thanks"}),
        (
            PromoRequest.parse,
            {"userIds": ["u1", "u2"], "amount": 5, "reason": "launch"},
            {"userIds": ["u1", "u3"], "amount": 5, "reason": "launch"},
        ),
    ],
)
def test_every_keyed_callable_tells_its_requests_apart(parse: Callable[[Any], Any], a: dict, b: dict) -> None:
    assert parse(a).fingerprint() == parse(dict(a)).fingerprint()
    assert parse(a).fingerprint() != parse(b).fingerprint()
