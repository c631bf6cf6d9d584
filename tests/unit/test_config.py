"""The configuration: defaults, exact prices, the public/private split, partial updates."""

from decimal import Decimal

import pytest
from credits.vocab.config import (
    PRIVATE_KEYS,
    PUBLIC_KEYS,
    ConfigProblems,
    CreditConfig,
    PrivateConfig,
    Settings,
    merge_patch,
    parse_credits,
    parse_private,
    split_legacy,
)
from credits.vocab.errors import InvalidRequest

DEFAULTS = Settings(CreditConfig(), PrivateConfig())


def test_defaults_are_the_contracts() -> None:
    c = CreditConfig()
    assert c.costs.of("image") == 10 and c.costs.of("chat") == Decimal("0.01")
    assert c.defaultCredits == 100 and c.retentionDays == 90 and c.lowBalanceThreshold == 20
    assert (c.rateLimits.image, c.rateLimits.video, c.rateLimits.voice, c.rateLimits.chat) == (50, 10, 30, 100)
    assert (c.rateLimits.windowSeconds, c.rateLimits.ipRequests, c.rateLimits.ipWindowSeconds) == (3600, 100, 600)
    assert c.signup.requireVerifiedEmail is False and c.signup.grantsPerIpPerDay == 3
    assert c.lifecycle.ownerReportsOutcome is False
    private = PrivateConfig()
    assert private.moderation.terms == ()  # the category rules replace the former built-in terms
    assert all(setting["action"] == "refuse" for setting in private.to_firestore()["categories"].values())
    assert private.provider.enabled is False and private.provider.failMode == "open"


def test_terms_and_thresholds_are_not_in_the_public_document() -> None:
    assert PUBLIC_KEYS == {"costs", "defaultCredits", "lowBalanceThreshold", "rateLimits", "signup", "lifecycle", "retentionDays"}
    assert PRIVATE_KEYS == {"moderation", "categories", "provider", "abuse"}
    assert "moderation" not in CreditConfig().to_firestore() and "abuse" not in CreditConfig().to_firestore()


def test_stored_prices_round_trip_exactly() -> None:
    stored = CreditConfig().to_firestore()
    assert stored["costs"]["chat"] == 0.01
    assert parse_credits(stored).costs.chat == Decimal("0.01")


def test_missing_document_means_defaults() -> None:
    assert parse_credits(None) == CreditConfig()
    assert parse_credits({"costs": {"image": 3}}).costs.video == 5
    assert parse_private(None) == PrivateConfig()


@pytest.mark.parametrize(
    "stored,field",
    [
        ({"costs": {"image": "10"}}, "costs.image"),
        ({"costs": {"image": "free"}}, "costs.image"),
        ({"stray": 1}, "stray"),
        ({"defaultCredits": 10.5}, "defaultCredits"),
        ({"signup": {"requireVerifiedEmail": "yes"}}, "signup.requireVerifiedEmail"),
    ],
)
def test_a_damaged_document_names_its_fields(stored: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigProblems) as info:
        parse_credits(stored)
    assert field in info.value.errors


def test_the_older_shape_splits_into_its_two_parts() -> None:
    legacy = {"costs": {"image": 7}, "moderation": {"terms": [{"term": "x", "category": "c", "severity": "low"}]}, "abuse": {}}
    public, private = split_legacy(legacy)
    assert public == {"costs": {"image": 7}}
    assert private is not None and set(private) == {"moderation", "abuse"}
    assert split_legacy({"costs": {}}) == ({"costs": {}}, None)


def test_patch_merges_maps_and_replaces_lists_in_either_document() -> None:
    merged, touched = merge_patch(
        DEFAULTS, {"costs": {"video": 6}, "moderation": {"terms": [{"term": "x", "category": "c", "severity": "low"}]}}
    )
    assert merged.credits.costs.video == 6 and merged.credits.costs.image == 10
    assert [t.term for t in merged.private.moderation.terms] == ["x"]
    assert touched == {"credits", "moderation"}


def test_a_public_patch_touches_only_the_public_document() -> None:
    merged, touched = merge_patch(DEFAULTS, {"lowBalanceThreshold": 5})
    assert touched == {"credits"} and merged.private == DEFAULTS.private


def test_the_merged_view_holds_both_parts() -> None:
    view = DEFAULTS.to_json()
    assert {"costs", "moderation", "abuse", "signup", "lifecycle", "version"} <= set(view)


@pytest.mark.parametrize(
    "patch,field",
    [
        ({"nope": 1}, "nope"),
        ({"costs": {"image": -0.5}}, "costs.image"),
        ({"costs": {"image": float("nan")}}, "costs.image"),
        ({"rateLimits": {"chat": 10.0}}, "rateLimits.chat"),
        ({"rateLimits": {"chat": 10_001}}, "rateLimits.chat"),
        ({"abuse": {"refundRateThreshold": 1.5}}, "abuse.refundRateThreshold"),
        ({"signup": {"grantsPerIpPerDay": -1}}, "signup.grantsPerIpPerDay"),
        ({"lifecycle": {"ownerReportsOutcome": 1}}, "lifecycle.ownerReportsOutcome"),
        ({"version": 3}, "version"),
        ([], "data"),
        ({}, "data"),
    ],
)
def test_bad_patches_name_the_field(patch: object, field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        merge_patch(DEFAULTS, patch)
    assert field in info.value.errors
