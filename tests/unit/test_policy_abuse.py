"""Abuse scoring: escalation, the sliding day, suspension, refusal milestones, refund rate."""

import datetime as dt
from decimal import Decimal

import pytest
from credits.policy.abuse import (
    REFUSAL_WINDOW_SECONDS,
    add_event,
    count_refusal,
    escalate,
    live_events,
    refund_rate_exceeded,
    refusal_milestone,
    score_of,
)

NOW = 100 * 3600 * 1000


@pytest.mark.parametrize(
    "base,score,expected",
    [
        ("low", 0, "low"),
        ("low", 50, "medium"),
        ("low", 75, "high"),
        ("medium", 80, "high"),
        ("critical", 0, "critical"),
        ("high", 10, "high"),
    ],
)
def test_severity_escalates_with_the_score(base: str, score: int, expected: str) -> None:
    assert escalate(base, score, 100) == expected  # type: ignore[arg-type]


def test_nine_medium_prompts_in_a_day_suspend() -> None:
    events: list[dict[str, object]] = []
    severities = []
    for i in range(9):
        result = add_event(events, NOW + i, "moderation", "medium", 100, already_suspended=False)
        events = result.events
        severities.append(result.severity)
        if i < 8:
            assert not result.suspend
    assert severities == ["medium"] * 8 + ["high"]
    assert result.before == 80 and result.after == 105 and result.suspend


def test_a_critical_event_suspends_at_once() -> None:
    result = add_event([], NOW, "moderation", "critical", 100, already_suspended=False)
    assert result.suspend and result.after == 100


def test_a_suspended_account_is_not_suspended_again() -> None:
    assert not add_event([], NOW, "moderation", "critical", 100, already_suspended=True).suspend


def test_only_events_of_the_last_24_hours_score() -> None:
    events = [
        {"at": NOW - 25 * 3600 * 1000, "points": 50},
        {"at": NOW - 3600 * 1000, "points": 10},
        "junk",
        {"at": NOW, "points": "x"},
    ]
    assert score_of(live_events(events, NOW)) == 10


def test_refusal_milestones() -> None:
    assert [refusal_milestone(n) for n in (1, 9, 10, 25, 50, 100, 200, 300, 301)] == [
        None,
        None,
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
        None,
    ]


def test_the_refusal_counter_restarts_after_its_hour() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    counter = count_refusal(None, t0)
    assert counter == {"count": 1, "since": t0}
    counter = count_refusal(counter, t0 + dt.timedelta(seconds=10))
    assert counter["count"] == 2
    later = t0 + dt.timedelta(seconds=REFUSAL_WINDOW_SECONDS)
    assert count_refusal(counter, later) == {"count": 1, "since": later}
    assert count_refusal({"count": "x", "since": t0}, t0)["count"] == 1


def test_the_refund_rate_counts_after_enough_generations() -> None:
    assert not refund_rate_exceeded(9, 9, 10, Decimal("0.5"))
    assert refund_rate_exceeded(5, 10, 10, Decimal("0.5"))
    assert not refund_rate_exceeded(4, 10, 10, Decimal("0.5"))


def test_a_score_stored_in_the_wrong_shape_counts_as_no_events() -> None:
    assert live_events(None, NOW) == [] and live_events({"at": NOW, "points": 10}, NOW) == []
    assert add_event("junk", NOW, "rate_limit", "low", 100, already_suspended=False).before == 0


# ------------------------------------------------------------------ bounded evidence (issue 20, hole 6)


def test_a_user_gets_at_most_twenty_records_a_day_and_later_events_are_counted_not_recorded() -> None:
    from credits.policy.abuse import DAY_MS, MAX_RECORDS_PER_DAY, record_budget

    now = 1_000 * DAY_MS + 5
    stored: dict = {}
    outcomes = []
    for _ in range(MAX_RECORDS_PER_DAY + 3):
        budget = record_budget(stored, now)
        outcomes.append(budget.record)
        stored = {"recordsDay": budget.day, "recordsToday": budget.recorded, "suppressedRecords": budget.suppressed}
    assert outcomes == [True] * MAX_RECORDS_PER_DAY + [False] * 3
    assert stored["suppressedRecords"] == 3
    assert record_budget(stored, now + DAY_MS).record  # a new day, a new budget


def test_the_hours_notification_budget_is_shared_by_its_shards() -> None:
    from credits.policy.abuse import NOTIFICATION_SHARDS, NOTIFICATIONS_PER_HOUR, notification_allowed, worse

    per_shard = -(-NOTIFICATIONS_PER_HOUR // NOTIFICATION_SHARDS)
    assert notification_allowed(per_shard - 1) and not notification_allowed(per_shard)
    assert worse("medium", "critical") == "critical" and worse("high", "low") == "high"
