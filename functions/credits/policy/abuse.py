"""Abuse scoring: points per event over a sliding 24 hours, escalation, suspension.

Every event (a rejected prompt, repeated rate-limit refusals, refunds the owner caused past
the refund-rate threshold) is worth points by severity: low 1, medium 10, high 25,
critical 100. A user's score is the sum over their events of the last 24 hours. Severity
escalates with the score: once a user is past half the suspension threshold a low event counts
as medium, past three quarters as high. A critical event, or a score reaching
``abuse.suspendScore``, suspends the account.

Worked example (``tests/unit/test_policy_abuse.py``): with the default threshold 100, a user
sends prompts with a medium term nine times within a day. The first eight are recorded as
medium, 10 points each (the sixth finds a score of 50, half the threshold, which raises the
floor to medium: no change); the ninth finds 80, past three quarters, and is recorded as high,
25 points: 105, and the account is suspended in the same commit.

Evidence is bounded, so free accounts cannot flood it (issue 20, hole 6): a user gets at
most ``MAX_RECORDS_PER_DAY`` ``abuse_detection`` records a UTC day (later events still score;
``suppressedRecords`` on the score counts them), and the admins at most one notification per
user and hour (kept current: events, worst severity, suspension) and, across all users,
``NOTIFICATIONS_PER_HOUR`` new ones an hour, counted in ``NOTIFICATION_SHARDS`` shards (each
with its share); past that, one overflow notice for the hour.

Rate-limit refusals become events at milestones (10, 25, 50, 100, 200 refusals in an hour,
then every 100th). Only refusals by the user's own limit count: a refusal caused by the
shared per-address limit says nothing about the individual who happened to hit it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

Severity = Literal["low", "medium", "high", "critical"]
EventKind = Literal["moderation", "rate_limit", "refund_rate"]

POINTS: dict[Severity, int] = {"low": 1, "medium": 10, "high": 25, "critical": 100}
RANK: dict[Severity, int] = {"low": 1, "medium": 2, "high": 3, "critical": 4}
WINDOW_MS = 24 * 3600 * 1000
MAX_EVENTS = 200  # a score past any sane threshold; older events fall off the list

MAX_RECORDS_PER_DAY = 20
DAY_MS = 24 * 3600 * 1000
NOTIFICATIONS_PER_HOUR = 160
NOTIFICATION_SHARDS = 16

REFUSAL_MILESTONES: dict[int, Severity] = {10: "low", 25: "low", 50: "medium", 100: "medium", 200: "high"}
REFUSAL_WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Score:
    """The outcome of adding one event to a user's score."""

    severity: Severity
    points: int
    before: int
    after: int
    events: list[dict[str, Any]]  # the live events to store, this one included
    suspend: bool


def escalate(base: Severity, score_before: int, threshold: int) -> Severity:
    """The severity to record: the base one, raised when the user is already scoring high."""
    floor: Severity = "low"
    if score_before * 4 >= threshold * 3:
        floor = "high"
    elif score_before * 2 >= threshold:
        floor = "medium"
    return base if RANK[base] >= RANK[floor] else floor


def live_events(stored: object, now_ms: int) -> list[dict[str, Any]]:
    """The stored events of the last 24 hours (malformed entries are dropped)."""
    if not isinstance(stored, list):
        return []
    return [
        e
        for e in stored
        if isinstance(e, dict)
        and isinstance(e.get("at"), int)
        and isinstance(e.get("points"), int)
        and e["at"] > now_ms - WINDOW_MS
    ]


def score_of(events: list[dict[str, Any]]) -> int:
    """The sum of the events' points."""
    return sum(int(e["points"]) for e in events)


def add_event(
    stored_events: object, now_ms: int, kind: EventKind, base: Severity, threshold: int, already_suspended: bool
) -> Score:
    """Add one event to a stored score (see the module docstring)."""
    events = live_events(stored_events, now_ms)
    before = score_of(events)
    severity = escalate(base, before, threshold)
    points = POINTS[severity]
    events = [*events, {"at": now_ms, "points": points, "kind": kind}][-MAX_EVENTS:]
    after = score_of(events)
    suspend = not already_suspended and (severity == "critical" or after >= threshold)
    return Score(severity, points, before, after, events, suspend)


def refusal_milestone(count: int) -> Severity | None:
    """The severity of the abuse event due when refusals reach ``count``, if any."""
    if count in REFUSAL_MILESTONES:
        return REFUSAL_MILESTONES[count]
    if count > 200 and count % 100 == 0:
        return "high"
    return None


def count_refusal(stored: object, now: dt.datetime) -> dict[str, Any]:
    """The user's refusal counter after one more refusal by their own limit.

    The counter restarts when its hour has passed; ``count`` is the refusals in it so far.
    """
    counter = dict(stored) if isinstance(stored, dict) else {}
    since = counter.get("since")
    count = counter.get("count")
    if (
        not isinstance(since, dt.datetime)
        or (now - since).total_seconds() >= REFUSAL_WINDOW_SECONDS
        or not isinstance(count, int)
    ):
        counter = {"count": 0, "since": now}
    counter["count"] = int(counter["count"]) + 1
    return counter


def refund_rate_exceeded(owner_refunds: int, generations: int, min_generations: int, threshold: Decimal) -> bool:
    """Whether the refunds a user caused are past the threshold (after enough generations)."""
    if generations < max(1, min_generations):
        return False
    return Decimal(owner_refunds) / Decimal(generations) >= threshold


@dataclass(frozen=True)
class RecordBudget:
    """Whether an event gets its own record, and the day's counts to store on the score."""

    record: bool
    day: int
    recorded: int
    suppressed: int


def record_budget(stored: dict[str, Any], now_ms: int) -> RecordBudget:
    """One more event against the user's daily record budget (counts restart each UTC day)."""
    day = now_ms // DAY_MS
    same_day = stored.get("recordsDay") == day
    recorded = _count(stored.get("recordsToday")) if same_day else 0
    suppressed = _count(stored.get("suppressedRecords")) if same_day else 0
    if recorded < MAX_RECORDS_PER_DAY:
        return RecordBudget(True, day, recorded + 1, suppressed)
    return RecordBudget(False, day, recorded, suppressed + 1)


def notification_allowed(sent_in_shard: int) -> bool:
    """Whether a shard of the hour's notification budget has room for a new subject."""
    return sent_in_shard < -(-NOTIFICATIONS_PER_HOUR // NOTIFICATION_SHARDS)


def worse(a: Severity, b: Severity) -> Severity:
    """The worse of two severities."""
    return a if RANK[a] >= RANK[b] else b


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
