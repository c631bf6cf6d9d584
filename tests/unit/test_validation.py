"""Request parsing never raises anything but InvalidRequest, whatever arrives."""

from decimal import Decimal

import pytest
from credits.features.admin import GrantRequest, IpBlockChange, StatusChange
from credits.features.charging import ChargeRequest, activity_id_for
from credits.features.lifecycle import StatusRequest
from credits.vocab.errors import InvalidRequest
from hypothesis import given, settings, strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
charge_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["image", "video", "voice", "chat"]) | json_values,
        "prompt": st.text() | json_values,
        "quantity": st.integers() | st.floats() | json_values,
        "model": st.text(max_size=80) | json_values,
        "requestId": st.text(max_size=140) | json_values,
        "deviceId": st.text(max_size=140) | json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(data=json_values | charge_like)
def test_charge_parse_accepts_or_raises_invalid_request(data: object) -> None:
    try:
        parsed = ChargeRequest.parse(data)
    except InvalidRequest as err:
        assert err.errors and all(isinstance(k, str) and isinstance(v, str) for k, v in err.errors.items())
        return
    assert parsed.type in ("image", "video", "voice", "chat")
    assert 1 <= len(parsed.prompt) <= 20_000
    assert parsed.quantity > 0


@settings(max_examples=200, deadline=None)
@given(data=json_values)
def test_every_parser_only_raises_invalid_request(data: object) -> None:
    for parser in (StatusRequest.parse, GrantRequest.parse, StatusChange.parse, IpBlockChange.parse):
        try:
            parser(data)
        except InvalidRequest:
            pass


def test_image_quantity_defaults_to_one() -> None:
    assert ChargeRequest.parse({"type": "image", "prompt": "x"}).quantity == 1


def test_prompt_is_trimmed_and_counted_after_trimming() -> None:
    assert ChargeRequest.parse({"type": "image", "prompt": "  x  "}).prompt == "x"
    ChargeRequest.parse({"type": "image", "prompt": " " + "x" * 20_000 + " "})
    with pytest.raises(InvalidRequest):
        ChargeRequest.parse({"type": "image", "prompt": "x" * 20_001})


def test_fractional_seconds_of_video_are_exact() -> None:
    assert ChargeRequest.parse({"type": "video", "prompt": "x", "quantity": 0.1}).quantity == Decimal("0.1")


def test_fingerprint_ignores_device_but_not_parameters() -> None:
    a = ChargeRequest.parse({"type": "image", "prompt": "x", "deviceId": "a"})
    b = ChargeRequest.parse({"type": "image", "prompt": "x", "deviceId": "b"})
    c = ChargeRequest.parse({"type": "image", "prompt": "x", "quantity": 2})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_activity_ids_from_keys_are_per_user() -> None:
    assert activity_id_for("u1", "k") != activity_id_for("u2", "k")
    assert activity_id_for("u1", "k") == activity_id_for("u1", "k")


def test_set_user_plan_takes_null_to_end_the_plan_and_requires_the_field() -> None:
    from credits.features.admin import PlanChange

    assert PlanChange.parse({"userId": "u1", "planId": None}).plan_id is None
    assert PlanChange.parse({"userId": "u1", "planId": "pro"}).plan_id == "pro"
    with pytest.raises(InvalidRequest) as missing:
        PlanChange.parse({"userId": "u1"})
    assert "planId" in missing.value.errors
    with pytest.raises(InvalidRequest) as bad:
        PlanChange.parse({"userId": "u1", "planId": "no spaces"})
    assert "planId" in bad.value.errors
