"""Abuse scoring rules and IP matching."""

import pytest
from credits import abuse
from credits.ip_blocks import is_blocked, normalize_ip, parse_target


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
    assert abuse.escalate(base, score, 100) == expected


def test_refusal_milestones() -> None:
    assert [abuse.refusal_milestone(n) for n in (1, 9, 10, 25, 50, 100, 200, 300, 301)] == [
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


def test_only_events_of_the_last_24_hours_score() -> None:
    now = 100 * 3600 * 1000
    events = [{"at": now - 25 * 3600 * 1000, "points": 50}, {"at": now - 3600 * 1000, "points": 10}, "junk"]
    assert abuse.score_of(abuse.live_events(events, now)) == 10


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("203.0.113.7:5555", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_ip(raw: str | None, expected: str | None) -> None:
    assert normalize_ip(raw) == expected


def test_blocks_by_address_and_by_range() -> None:
    entries = {"203.0.113.7": {}, "198.51.100.0/24": {}, "2001:db8::/32": {}}
    assert is_blocked(entries, "203.0.113.7")
    assert is_blocked(entries, "198.51.100.200")
    assert is_blocked(entries, "2001:db8:1::5")
    assert not is_blocked(entries, "198.51.101.1")
    assert not is_blocked(entries, None)
    assert not is_blocked(None, "203.0.113.7")


def test_targets_are_canonical() -> None:
    assert parse_target("10.1.2.3/8") == "10.0.0.0/8"
    assert parse_target("10.0.0.0/33") is None
