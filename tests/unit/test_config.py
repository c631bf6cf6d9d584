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
    assert PUBLIC_KEYS == {
        "costs",
        "defaultCredits",
        "lowBalanceThreshold",
        "rateLimits",
        "signup",
        "lifecycle",
        "retentionDays",
        "plans",
        "products",
        "payments",
    }
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


# ------------------------------------------------------------------ products


def _products(patch: dict) -> Settings:  # type: ignore[type-arg]
    settings, _ = merge_patch(DEFAULTS, {"products": patch})
    return settings


def test_products_are_added_by_id_replaced_whole_and_removed_with_null() -> None:
    s = _products({"pack-a": {"kind": "pack", "priceId": "price_A1", "credits": 100}})
    assert s.credits.products["pack-a"].credits == 100 and s.credits.products["pack-a"].active is True
    s2, _ = merge_patch(
        s,
        {
            "plans": {"pro": {"name": "Pro", "monthlyCredits": 1000}},
            "products": {"plan-b": {"kind": "plan", "priceId": "price_B", "planId": "pro"}},
        },
    )
    assert set(s2.credits.products) == {"pack-a", "plan-b"}
    s3, _ = merge_patch(s2, {"products": {"pack-a": None}})
    assert set(s3.credits.products) == {"plan-b"}
    assert "expiresInDays" not in s3.credits.to_firestore()["products"]["plan-b"]  # absent stays absent


@pytest.mark.parametrize(
    ("product", "field"),
    [
        ({"kind": "pack", "priceId": "prod_123", "credits": 10}, "products.x.priceId"),
        ({"kind": "pack", "priceId": "price_1"}, "products.x"),
        ({"kind": "pack", "priceId": "price_1", "credits": 10, "planId": "pro"}, "products.x"),
        ({"kind": "plan", "priceId": "price_1"}, "products.x"),
        ({"kind": "plan", "priceId": "price_1", "planId": "pro", "expiresInDays": 3}, "products.x"),
        ({"kind": "plan", "priceId": "price_1", "planId": "pro", "credits": 10}, "products.x"),
        ({"kind": "plan", "priceId": "price_1", "planId": "no such plan"}, "products.x.planId"),
        ({"kind": "gift", "priceId": "price_1", "credits": 10}, "products.x.kind"),
        ({"kind": "pack", "priceId": "price_1", "credits": 0}, "products.x.credits"),
        ({"kind": "pack", "priceId": "price_1", "credits": 10, "colour": "red"}, "products.x.colour"),
    ],
)
def test_a_bad_product_is_refused_naming_its_field(product: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidRequest) as err:
        _products({"x": product})
    assert any(k.startswith(field) for k in err.value.errors), err.value.errors


def test_a_plan_product_names_a_configured_plan() -> None:
    with pytest.raises(InvalidRequest) as err:
        _products({"gold": {"kind": "plan", "priceId": "price_G", "planId": "gold"}})
    assert "planId 'gold' is not a configured plan" in err.value.errors["products"]
    s, _ = merge_patch(
        DEFAULTS,
        {
            "plans": {"gold": {"name": "Gold", "monthlyCredits": 500, "rolloverPeriods": 1}},
            "products": {"gold-monthly": {"kind": "plan", "priceId": "price_G", "planId": "gold"}},
        },
    )
    assert s.credits.products["gold-monthly"].planId == "gold"
    with pytest.raises(InvalidRequest) as err:  # the plan a product sells cannot be removed under it
        merge_patch(s, {"plans": {"gold": None}})
    assert "products" in err.value.errors
    s2, _ = merge_patch(s, {"plans": {"gold": None}, "products": {"gold-monthly": None}})
    assert s2.credits.plans == {} and s2.credits.products == {}


def test_return_url_origins_are_scheme_host_and_port_only() -> None:
    s, _ = merge_patch(DEFAULTS, {"payments": {"allowedOrigins": ["https://app.example.com", "http://127.0.0.1:5000"]}})
    assert s.credits.payments.allowedOrigins == ("https://app.example.com", "http://127.0.0.1:5000")
    with pytest.raises(InvalidRequest):
        merge_patch(DEFAULTS, {"payments": {"allowedOrigins": ["https://app.example.com/path"]}})
    with pytest.raises(InvalidRequest):
        _products({"Bad Id": {"kind": "pack", "priceId": "price_1", "credits": 1}})


class _Snap:
    """What ``config_store.load`` reads of a snapshot, counting the decodes (``to_dict``)."""

    def __init__(self, data: dict, stamp: object, path: str = "projects/p/databases/(default)/documents/applied_config/current"):
        self.data, self.update_time, self.exists, self.decodes = data, stamp, True, 0
        self.reference = type("Ref", (), {"_document_path": path})()

    def to_dict(self) -> dict:
        self.decodes += 1
        return dict(self.data)


def test_the_applied_copy_is_parsed_again_only_when_its_update_time_changes() -> None:
    import datetime as dt

    from credits.store import config_store

    settings = Settings(CreditConfig(), PrivateConfig())
    first = config_store._applied_document(settings)
    cheaper = config_store._applied_document(
        Settings(CreditConfig.model_validate({**CreditConfig().model_dump(), "lowBalanceThreshold": 5}), PrivateConfig())
    )
    t0 = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)

    def threshold(snap: _Snap) -> int:
        applied = config_store._parse_snapshot(snap)  # type: ignore[arg-type]  # duck-typed snapshot
        assert applied is not None
        return applied.credits.lowBalanceThreshold

    a = _Snap(first, t0)
    assert threshold(a) == 20
    again = _Snap(first, t0)
    assert config_store._parse_snapshot(again) is config_store._parse_snapshot(a)  # type: ignore[arg-type]  # duck-typed
    assert again.decodes == 0  # same document, same update time: nothing decoded
    changed = _Snap(cheaper, t0 + dt.timedelta(microseconds=1))
    assert threshold(changed) == 5
    assert changed.decodes == 1
    other_project = _Snap(
        first, t0 + dt.timedelta(microseconds=1), path="projects/q/databases/(default)/documents/applied_config/current"
    )
    assert threshold(other_project) == 20
    assert other_project.decodes == 1
