"""The configuration: defaults, exact prices, partial updates validated field by field."""

from decimal import Decimal

import pytest
from credits.config import CreditConfig, from_document, merge_patch
from credits.errors import ConfigurationInvalid, InvalidRequest


def test_defaults_are_the_contracts() -> None:
    c = CreditConfig()
    assert c.costs.of("image") == 10 and c.costs.of("chat") == Decimal("0.01")
    assert c.defaultCredits == 100 and c.retentionDays == 90
    assert (c.rateLimits.image, c.rateLimits.video, c.rateLimits.voice, c.rateLimits.chat) == (50, 10, 30, 100)
    assert (c.rateLimits.windowSeconds, c.rateLimits.ipRequests, c.rateLimits.ipWindowSeconds) == (3600, 100, 600)
    assert any(t.term == "kill" for t in c.moderation.terms)


def test_stored_prices_round_trip_exactly() -> None:
    stored = CreditConfig().to_firestore()
    assert stored["costs"]["chat"] == 0.01
    assert from_document(stored).costs.chat == Decimal("0.01")


def test_missing_document_means_defaults() -> None:
    assert from_document(None) == CreditConfig()
    assert from_document({"costs": {"image": 3}}).costs.video == 5


def test_broken_stored_document_fails_closed() -> None:
    with pytest.raises(ConfigurationInvalid) as info:
        from_document({"costs": {"image": "free"}})
    assert "costs.image" in info.value.details["errors"]


def test_patch_merges_maps_and_replaces_lists() -> None:
    merged = merge_patch(
        CreditConfig(), {"costs": {"video": 6}, "moderation": {"terms": [{"term": "x", "category": "c", "severity": "low"}]}}
    )
    assert merged.costs.video == 6 and merged.costs.image == 10
    assert [t.term for t in merged.moderation.terms] == ["x"]


@pytest.mark.parametrize(
    "patch,field",
    [
        ({"nope": 1}, "nope"),
        ({"costs": {"image": -0.5}}, "costs.image"),
        ({"costs": {"image": float("nan")}}, "costs.image"),
        ({"rateLimits": {"chat": 10.0}}, "rateLimits.chat"),
        ({"rateLimits": {"chat": 10_001}}, "rateLimits.chat"),
        ({"abuse": {"refundRateThreshold": 1.5}}, "abuse.refundRateThreshold"),
        ({"version": 3}, "version"),
        ([], "data"),
        ({}, "data"),
    ],
)
def test_bad_patches_name_the_field(patch: object, field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        merge_patch(CreditConfig(), patch)
    assert field in info.value.errors
