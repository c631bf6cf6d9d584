"""The rollups' arithmetic as worked examples: ranges, attribution, sliding per-user totals."""

from __future__ import annotations

import datetime as dt
import importlib
import sys

import pytest
from credits.features import rollup, stats

UTC = dt.UTC


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_each_range_is_its_buckets_the_last_one_partial() -> None:
    now = at(10, 14, 37)
    assert rollup.RANGES["24h"].since(now) == at(9, 15)  # 15:00 yesterday .. 14:37 today: 24 hours
    assert rollup.RANGES["7d"].since(now) == at(4, 0)  # 4 March .. 10 March: 7 days
    assert rollup.RANGES["30d"].since(now) == dt.datetime(2026, 2, 9, tzinfo=UTC)
    assert rollup.RANGES["90d"].since(now) == dt.datetime(2025, 12, 11, tzinfo=UTC)


def test_a_settled_generation_counts_its_charge_and_its_refund_where_each_happened() -> None:
    charged_hour, settled_hour = rollup.empty_by_type(), rollup.empty_by_type()
    rollup.add_ledger_entry(charged_hour, {"reason": "generation_charge", "delta": -20, "type": "chat"})
    rollup.add_ledger_entry(settled_hour, {"reason": "settlement_refund", "delta": 15, "type": "chat"})
    rollup.add_usage_log(settled_hour, {"status": "completed", "type": "chat", "creditsCharged": 5, "processingTimeMs": 1200})
    assert charged_hour["chat"]["creditsUsed"] == 20 and charged_hour["chat"]["generations"] == 0
    assert settled_hour["chat"] == {
        "generations": 1,
        "completedGenerations": 1,
        "failedGenerations": 0,
        "creditsUsed": -15,  # the hour gave 15 back
        "refundedCredits": 15,
        "refunds": 1,
        "completedCredits": 5,
        "processingTimeMs": 1200,
    }
    both = rollup.add_by_type(charged_hour, settled_hour)
    assert stats.summary(rollup.total_of(both)) == {
        "generations": 1,
        "completedGenerations": 1,
        "failedGenerations": 0,
        "successRate": 1.0,
        "creditsUsed": 5,
        "refundedCredits": 15,
        "refunds": 1,
        "averageCostPerGeneration": 5.0,
        "averageProcessingTimeMs": 1200.0,
    }


def test_grants_bookkeeping_and_untyped_entries_are_not_usage() -> None:
    by_type = rollup.empty_by_type()
    for reason in ("signup_grant", "admin_grant", "admin_clawback", "some_bookkeeping"):
        assert rollup.add_ledger_entry(by_type, {"reason": reason, "delta": 100, "type": "image"}) == 0
    assert rollup.add_ledger_entry(by_type, {"reason": "generation_charge", "delta": -10}) == 0
    assert not rollup.add_usage_log(by_type, {"status": "completed", "type": "hologram", "creditsCharged": 5})
    assert rollup.total_of(by_type) == rollup.empty_counts()


def test_averages_and_rates_are_none_without_generations_and_rounded_half_up() -> None:
    assert stats.summary(rollup.empty_counts())["successRate"] is None
    assert stats.summary(rollup.empty_counts())["averageCostPerGeneration"] is None
    counts = {**rollup.empty_counts(), "generations": 3, "completedGenerations": 2, "completedCredits": 3, "processingTimeMs": 5}
    figures = stats.summary(counts)
    assert figures["successRate"] == 0.6667 and figures["averageCostPerGeneration"] == 1.5
    assert figures["averageProcessingTimeMs"] == 3.0  # 2.5 rounds half up


def test_a_users_totals_slide_with_the_cursor() -> None:
    # Active at 09:00 and 22:00 on 1 March, 10:00 on 2 March.
    doc = rollup.user_totals(None, {"2026030109": (30, 1)}, at(1, 10))
    assert (doc["creditsUsed24h"], doc["creditsUsed7d"], doc["generations24h"]) == (30, 30, 1)
    doc = rollup.user_totals(doc, {"2026030122": (5, 0)}, at(1, 23))
    assert doc["days"] == {"20260301": {"c": 35, "g": 1}}
    doc = rollup.user_totals(doc, {"2026030210": (-4, 2)}, at(2, 11))  # a refund of an older charge
    assert doc["activeHours"] == ["2026030122", "2026030210"]  # 09:00 yesterday left the 24 hours
    assert (doc["creditsUsed24h"], doc["creditsUsed7d"], doc["generations24h"]) == (1, 31, 2)
    # Nothing new: at midnight on 8 March, 1 March leaves the 7 days but not the 30.
    doc = rollup.user_totals(doc, {}, at(8, 0))
    assert (doc["creditsUsed24h"], doc["creditsUsed7d"], doc["creditsUsed30d"]) == (0, -4, 31)
    assert doc["activeHours"] == [] and doc["asOf"] == at(8, 0)


def test_a_users_days_are_kept_for_the_longest_range_only() -> None:
    doc = rollup.user_totals(None, {"2026030109": (30, 1)}, at(1, 10))
    doc = rollup.user_totals(doc, {}, dt.datetime(2026, 5, 29, tzinfo=UTC))  # 89 days later: still in
    assert doc["creditsUsed90d"] == 30 and doc["activeDays"] == ["20260301"]
    doc = rollup.user_totals(doc, {}, dt.datetime(2026, 5, 30, tzinfo=UTC))
    assert doc["creditsUsed90d"] == 0 and doc["days"] == {} and doc["activeDays"] == []


def test_stored_figures_are_read_defensively() -> None:
    stored = {"image": {"creditsUsed": 7, "refunds": True, "generations": "3"}, "chat": "broken", 5: {}}
    by_type = rollup.by_type_from_doc(stored)
    assert by_type["image"]["creditsUsed"] == 7 and by_type["image"]["refunds"] == 0 and by_type["image"]["generations"] == 0
    assert by_type["chat"] == rollup.empty_counts()
    assert rollup.by_type_from_doc(None) == rollup.empty_by_type()


def test_aggregation_reads_are_billed_per_thousand_entries() -> None:
    cost = stats.Cost()
    for matched in (0, 1, 1000, 1001, 25_000):
        cost.aggregation(matched)
    assert cost.aggregation_reads == 1 + 1 + 1 + 2 + 25 and cost.index_entries == 27_002


@pytest.fixture(scope="module")
def main():  # type: ignore[no-untyped-def]
    sys.modules.pop("main", None)
    import firebase_admin

    module = importlib.import_module("main")
    yield module
    for app in list(firebase_admin._apps.values()):
        firebase_admin.delete_app(app)


def test_the_rollup_job_is_scheduled_every_ten_minutes(main) -> None:  # type: ignore[no-untyped-def]
    endpoint = main.rollupUsageStats.__firebase_endpoint__
    assert endpoint.scheduleTrigger["schedule"] == "every 10 minutes"
