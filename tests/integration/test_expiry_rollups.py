"""Credits expired per hour and per day in the statistics, against a recount of the ledger.

Grants with an expiry lapse in three ways: the expiry job (``maintenance.expire_buckets``),
the user's next posting (a charge expires first), and a refund into a bucket that has expired
meanwhile (``expire_{bucketId}~{refundId}``). ``getUsageStats`` must show each in the hour and
day its ``expired`` entry was written, before the rollup job has run (aggregation queries), after
it (the rollup documents), and across a half-rolled-up day, and never count them as used.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterator

import pytest
from credits.features import maintenance, rollup, stats
from credits.features.admin import GrantRequest, grant
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.features.lifecycle import StatusRequest, update_status
from credits.vocab.clock import ManualClock
from credits.vocab.context import Caller, ClientContext
from google.cloud import firestore

from tests.support import config as cfg

UTC = dt.UTC
START = dt.datetime(2026, 3, 2, 9, 10, tzinfo=UTC)


def _expired_by_day(client: firestore.Client) -> dict[str, int]:
    """The recount: credits taken by ``expired`` entries, per UTC day of ``createdAt``."""
    out: dict[str, int] = defaultdict(int)
    for snap in client.collection("credit_logs").stream():
        e = snap.to_dict() or {}
        if e.get("reason") == "expired":
            out[rollup.day_key(e["createdAt"])] += -e["delta"]
    return dict(out)


def _series(client: firestore.Client, now: dt.datetime, range_name: str) -> dict[str, int]:
    result, _cost = stats.usage_stats(client, now, range_name)
    return {p["start"][:10].replace("-", ""): p["expiredCredits"] for p in result["series"] if p["expiredCredits"]}


@pytest.fixture
def setup(client: firestore.Client, clean: None) -> Iterator[tuple[ManualClock, Caller, ClientContext]]:
    cfg.apply(client, {"rateLimits": {"image": 10_000, "ipRequests": 10_000}, "defaultCredits": 50})
    admin = Caller(uid="stats-admin", email="admin@example.com", name="Admin", is_admin=True)
    yield ManualClock(START), admin, ClientContext(ip="203.0.113.9", country="NL", user_agent="pytest")
    cfg.reset(client)
    for name in (rollup.ROLLUPS, rollup.ROLLUP_USERS):
        for snap in client.collection(name).stream():
            snap.reference.delete()


def test_credits_expired_per_day_equal_the_ledger_before_and_after_the_rollup(
    client: firestore.Client, setup: tuple[ManualClock, Caller, ClientContext]
) -> None:
    clock, admin, ctx = setup
    users = [Caller(uid=f"exp-{uuid.uuid4().hex[:12]}", email=f"e{i}@example.com", name="E") for i in range(3)]
    for u in users:
        charge(Command(client, clock, u, ctx), ChargeRequest.parse({"type": "image", "prompt": "p"}))  # opens the account

    def promo(u: Caller, amount: int, minutes: int) -> None:
        expires = clock.now() + dt.timedelta(minutes=minutes)
        grant(
            Command(client, clock, admin, ctx),
            GrantRequest(u.uid, amount, "stats test", expires_at=expires, source="promo"),
            lambda _: True,
        )

    # Day 1: user 0's promo of 120 lapses at 11:10 and the job records it at 12:10.
    promo(users[0], 120, 120)
    # User 1's promo of 30 lapses at 12:40, after the job's run, and is recorded by the user's
    # own charge at 14:10.
    promo(users[1], 30, 210)
    # User 2 spends a promo of 25 on a charge, which fails after the promo lapsed: the 10
    # credits returned to it expire at once, with the refund.
    promo(users[2], 25, 180)
    pending = charge(Command(client, clock, users[2], ctx), ChargeRequest.parse({"type": "image", "prompt": "p"}))
    clock.advance(3 * 3600)  # 12:10
    assert maintenance.expire_buckets(client, clock).expired_credits == 120 + 15
    clock.advance(2 * 3600)  # 14:10
    charge(Command(client, clock, users[1], ctx), ChargeRequest.parse({"type": "image", "prompt": "p"}))
    update_status(Command(client, clock, admin, ctx), StatusRequest(pending.activityId, "failed"))

    # Day 2, 10:10: a second promo of user 0 lapses (recorded by the job at 13:10).
    clock.set(dt.datetime(2026, 3, 3, 10, 10, tzinfo=UTC))
    promo(users[0], 7, 60)
    clock.advance(3 * 3600)
    maintenance.expire_buckets(client, clock)

    recount = _expired_by_day(client)
    assert recount == {"20260302": 120 + 15 + 30 + 10, "20260303": 7}, recount

    # No rollup yet: every figure comes from the aggregation queries.
    now = clock.now()
    assert _series(client, now, "7d") == recount
    result, _ = stats.usage_stats(client, now, "7d")
    assert result["expiredCredits"] == sum(recount.values())
    assert result["totals"]["creditsUsed"] == 5 * 10 - 10, "expired credits are not used credits"

    # Rolled up to the current hour: the same figures from the day and hour documents.
    rollup.rollup_usage(client, clock)
    assert _series(client, now, "7d") == recount
    day1 = client.collection(rollup.ROLLUPS).document("d20260302").get().to_dict() or {}
    assert day1["expiredCredits"] == recount["20260302"]
    hours = {
        s.id: (s.to_dict() or {}).get("expiredCredits", 0)
        for s in client.collection(rollup.ROLLUPS).stream()
        if s.id.startswith("h20260302")
    }
    # The job wrote 120 + 15 at 12:xx; the charge wrote 30 and the refund 10 at 14:xx.
    assert {k: v for k, v in hours.items() if v} == {"h2026030212": 135, "h2026030214": 40}

    # The 24h range per hour, read across the rollup's cursor and the open hour.
    hourly, _ = stats.usage_stats(client, now, "24h")
    assert sum(p["expiredCredits"] for p in hourly["series"]) == 7 + 40  # day 1's 12:xx is more than 24 h ago
    assert hourly["expiredCredits"] == 47
