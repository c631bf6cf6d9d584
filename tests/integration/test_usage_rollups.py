"""Statistics against a recount: a randomized workload over three months of simulated time.

Charges of every type through the real ``charge``, settlements up and down and failures
through the real ``update_status`` (some long after their charge, in another hour or day),
the stuck-generation sweep, admin grants and claw-backs, for several users. At checkpoints
the rollup job runs (not at all, once, twice, interrupted half-way), and every figure of
every range (totals, by type, each point of the series, the top users, ``activeNow``) is
compared with a recount straight from the ledger, the usage logs and the activities.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from credits.features import maintenance, rollup, stats
from credits.features.admin import GrantRequest, grant
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.features.lifecycle import StatusRequest, update_status
from credits.vocab.clock import ManualClock
from credits.vocab.context import Caller, ClientContext
from credits.vocab.errors import CreditsError
from google.cloud import firestore

from tests.support import config as cfg

UTC = dt.UTC
START = dt.datetime(2026, 1, 4, 22, 10, tzinfo=UTC)
# Days (from START's day) with traffic: around every range's edge, 7, 30 and 90 days later.
ACTIVE_DAYS = (0, 1, 2, 6, 7, 8, 9, 29, 30, 31, 37, 61, 89, 90, 91, 92)
USERS = 7
TYPES = ("image", "video", "voice", "chat")
MONEY_REASONS = {"generation_charge", "settlement_charge", "settlement_refund", "failure_refund"}
REFUND_REASONS = {"settlement_refund", "failure_refund"}
FIELDS = ("generations", "completed", "failed", "used", "refunded", "refunds", "cost", "ms")


# ------------------------------------------------------------------ the recount


def _records(client: firestore.Client) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    ledger = [s.to_dict() for s in client.collection("credit_logs").stream()]
    usage = [s.to_dict() for s in client.collection("usage_logs").stream()]
    activities = [s.to_dict() for s in client.collection("ai_activity").stream()]
    return ledger, usage, activities


def _count(ledger: list[dict], usage: list[dict], lo: dt.datetime, hi: dt.datetime) -> dict[str, dict[str, int]]:
    """Per type, from the records with ``lo <= time <= hi`` (hi inclusive: the range ends now)."""
    out = {t: dict.fromkeys(FIELDS, 0) for t in TYPES}
    for e in ledger:
        if e["reason"] in MONEY_REASONS and lo <= e["createdAt"] <= hi:
            c = out[e["type"]]
            c["used"] -= e["delta"]
            if e["reason"] in REFUND_REASONS:
                c["refunded"] += e["delta"]
                c["refunds"] += 1
    for u in usage:
        if lo <= u["completedAt"] <= hi:
            c = out[u["type"]]
            c["generations"] += 1
            if u["status"] == "completed":
                c["completed"] += 1
                c["cost"] += u["creditsCharged"]
                c["ms"] += u["processingTimeMs"]
            else:
                c["failed"] += 1
    return out


def _published(c: dict[str, int]) -> dict[str, Any]:
    def ratio(a: int, b: int, places: str) -> float | None:
        return None if b == 0 else float((Decimal(a) / Decimal(b)).quantize(Decimal(places), rounding="ROUND_HALF_UP"))

    return {
        "generations": c["generations"],
        "completedGenerations": c["completed"],
        "failedGenerations": c["failed"],
        "successRate": ratio(c["completed"], c["generations"], "0.0001"),
        "creditsUsed": c["used"],
        "refundedCredits": c["refunded"],
        "refunds": c["refunds"],
        "averageCostPerGeneration": ratio(c["cost"], c["completed"], "0.0001"),
        "averageProcessingTimeMs": ratio(c["ms"], c["completed"], "1"),
    }


def _expired(ledger: list[dict], lo: dt.datetime, hi: dt.datetime) -> int:
    """Credits taken by ``expired`` entries written in ``lo <= createdAt <= hi``."""
    return sum(-e["delta"] for e in ledger if e["reason"] == "expired" and lo <= e["createdAt"] <= hi)


def _sum(per_type: dict[str, dict[str, int]]) -> dict[str, int]:
    return {f: sum(c[f] for c in per_type.values()) for f in FIELDS}


def expected_stats(records: tuple[list, list, list], now: dt.datetime, range_name: str) -> dict[str, Any]:
    ledger, usage, activities = records
    step = dt.timedelta(hours=1) if range_name == "24h" else dt.timedelta(days=1)
    n = {"24h": 24, "7d": 7, "30d": 30, "90d": 90}[range_name]
    floor = now.replace(minute=0, second=0, microsecond=0)
    if range_name != "24h":
        floor = floor.replace(hour=0)
    since = floor - (n - 1) * step
    whole = _count(ledger, usage, since, now)
    series = []
    for i in range(n):
        lo = since + i * step
        hi = min(lo + step - dt.timedelta(microseconds=1), now)
        series.append(
            {
                "start": lo.isoformat(),
                **_published(_sum(_count(ledger, usage, lo, hi))),
                "expiredCredits": _expired(ledger, lo, hi),
            }
        )
    return {
        "since": since.isoformat(),
        "totals": _published(_sum(whole)),
        "expiredCredits": _expired(ledger, since, now),
        "byType": {t: _published(whole[t]) for t in TYPES},
        "series": series,
        "activeNow": sum(1 for a in activities if a["status"] in ("pending", "processing")),
    }


def expected_top(records: tuple[list, list, list], lo: dt.datetime, hi: dt.datetime) -> dict[str, tuple[int, int]]:
    """Per user: (credits used, generations) in ``[lo, hi)``."""
    ledger, usage, _ = records
    used: dict[str, int] = defaultdict(int)
    generations: dict[str, int] = defaultdict(int)
    for e in ledger:
        if e["reason"] in MONEY_REASONS and lo <= e["createdAt"] < hi:
            used[e["userId"]] -= e["delta"]
    for u in usage:
        if lo <= u["completedAt"] < hi:
            generations[u["userId"]] += 1
    return {uid: (used[uid], generations[uid]) for uid in set(used) | set(generations)}


def check_every_range(client: firestore.Client, now: dt.datetime, *, rolled_until: dt.datetime | None) -> dict[str, dict]:
    """Every figure of every range equals the recount; returns the responses."""
    records = _records(client)
    responses = {}
    for name in ("24h", "7d", "30d", "90d"):
        got, cost = stats.usage_stats(client, now, name)
        want = expected_stats(records, now, name)
        assert got["since"] == want["since"]
        assert got["totals"] == want["totals"], name
        assert got["byType"] == want["byType"], name
        assert got["series"] == want["series"], name
        assert got["expiredCredits"] == want["expiredCredits"], name
        assert got["activeNow"] == want["activeNow"] == sum(got["activeByStatus"].values())
        assert got["documentsRead"] == cost.total == got["readCost"]["documents"] + got["readCost"]["aggregationReads"]
        assert got["rolledUpUntil"] == (rolled_until.isoformat() if rolled_until else None)
        if rolled_until is None:
            assert got["topUsers"] == [] and got["topUsersWindow"] is None
        else:
            r = rollup.RANGES[name]
            lo = r.since(rolled_until)
            assert got["topUsersWindow"] == {"since": lo.isoformat(), "until": rolled_until.isoformat()}
            check_top(got["topUsers"], expected_top(records, lo, rolled_until))
            assert got["readCost"]["documents"] <= 1 + r.buckets + 10 + 10
            if rolled_until == _expected_cursor(now):
                # Rolled up to the last closed hour: at most the current and the last hour
                # are open, so at most 2 x 17 aggregation queries (16 of generations, one
                # of expiries) and 2 counts for activeNow.
                assert got["readCost"]["aggregationQueries"] <= 2 * 17 + 2
        responses[name] = got
    return responses


def check_top(top: list[dict[str, Any]], recount: dict[str, tuple[int, int]]) -> None:
    ranked = sorted(((used, uid) for uid, (used, _) in recount.items() if used > 0), reverse=True)
    assert len(top) == min(10, len(ranked))
    assert [t["creditsUsed"] for t in top] == [used for used, _ in ranked[: len(top)]]
    for t in top:
        assert (t["creditsUsed"], t["generations"]) == recount[t["userId"]]
    if top:  # ties at the cut are ranked either way; everyone above the cut is in
        cut = top[-1]["creditsUsed"]
        assert {uid for used, uid in ranked if used > cut} <= {t["userId"] for t in top}


# ------------------------------------------------------------------ the workload


class Workload:
    def __init__(self, client: firestore.Client, clock: ManualClock, seed: int) -> None:
        self.client, self.clock, self.rng = client, clock, random.Random(seed)
        self.users = [Caller(uid=f"st-{i}-{uuid.uuid4().hex[:8]}", email=f"st{i}@example.com") for i in range(USERS)]
        self.admin = Caller(uid="st-admin", email="admin@example.com", is_admin=True)
        self.generator = Caller(uid="st-generator", is_generator=True)
        self.ctx = ClientContext(ip="198.18.7.7")
        # each user signs up from a /24 of their own (the sign-up grant counts addresses and their /24s)
        self.ctxs = {u.uid: ClientContext(ip=f"198.18.{10 + i}.1") for i, u in enumerate(self.users)}
        self.open: list[tuple[Caller, str, str]] = []  # (owner, activity id, type)
        self.done = defaultdict(int)

    def hour(self, ops: int) -> None:
        """``ops`` operations spread over the current hour from the clock's minute on."""
        for _ in range(ops):
            self.clock.advance(self.rng.randint(1, 240))
            self.op()

    def forget_finished(self) -> None:
        """Drop the generations the sweep has failed from the ones still to finish."""
        refs = [self.client.collection("ai_activity").document(aid) for _, aid, _ in self.open]
        status = {s.id: (s.to_dict() or {}).get("status") for s in self.client.get_all(refs)}
        self.open = [o for o in self.open if status.get(o[1]) in ("pending", "processing")]

    def op(self) -> None:
        rng = self.rng
        who = rng.choice(self.users[:3]) if rng.random() < 0.5 else rng.choice(self.users)  # a few heavy users
        roll = rng.random()
        try:
            if roll < 0.5 or not self.open:
                kind = rng.choice(TYPES)
                quantity = {
                    "image": rng.randint(1, 3),
                    "video": rng.randint(1, 8),
                    "voice": rng.randint(1, 3),
                    "chat": rng.randint(1, 2000),
                }
                result = charge(
                    Command(self.client, self.clock, who, self.ctxs[who.uid]),
                    ChargeRequest.parse({"type": kind, "prompt": "p", "quantity": quantity[kind]}),
                )
                self.open.append((who, result.activityId, kind))
                self.done["charge"] += 1
            elif roll < 0.88:
                owner, activity, kind = self.open.pop(rng.randrange(len(self.open)))
                choice = rng.random()
                if choice < 0.15:
                    update_status(Command(self.client, self.clock, owner, self.ctx), StatusRequest(activity, "processing"))
                    self.open.append((owner, activity, kind))
                    self.done["processing"] += 1
                elif choice < 0.75:
                    actual = {
                        "image": rng.randint(0, 4),
                        "video": rng.randint(0, 10),
                        "voice": rng.randint(0, 4),
                        "chat": rng.randint(0, 4000),
                    }
                    req = StatusRequest(
                        activity, "completed", actual_quantity=Decimal(actual[kind]) if rng.random() < 0.7 else None
                    )
                    # the generator reports the units produced; a plain completion may be the owner's
                    by = self.generator if req.actual_quantity is not None or rng.random() < 0.5 else owner
                    update_status(Command(self.client, self.clock, by, self.ctx), req)
                    self.done["completed"] += 1
                else:
                    update_status(
                        Command(self.client, self.clock, rng.choice([owner, self.generator, self.admin]), self.ctx),
                        StatusRequest(activity, "failed"),
                    )
                    self.done["failed"] += 1
            else:
                amount = rng.choice([50, 200, 500, -20])
                grant(
                    Command(self.client, self.clock, self.admin, self.ctx),
                    GrantRequest(who.uid, amount, "stats test"),
                    lambda uid: True,
                )
                self.done["grant"] += 1
        except CreditsError as err:
            assert err.reason in {"insufficient_credits", "invalid_transition"}, err.reason
            self.done[err.reason] += 1


def run_interrupted(client: firestore.Client, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run whose third commit fails, as if its worker were killed there."""
    real = rollup.commit_batch
    calls = {"n": 0}

    def crash_on_third(batch: Any) -> list[Any]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real(batch)

    monkeypatch.setattr(rollup, "commit_batch", crash_on_third)
    try:
        with pytest.raises(RuntimeError, match="worker killed"):
            rollup.rollup_usage(client, clock, user_batch=2)
    finally:
        monkeypatch.setattr(rollup, "commit_batch", real)


def _rollup_docs(client: firestore.Client) -> dict[str, tuple[Any, dict]]:
    docs = {}
    for name in (rollup.ROLLUPS, rollup.ROLLUP_USERS):
        for snap in client.collection(name).stream():
            docs[snap.reference.path] = (snap.update_time, snap.to_dict())
    return docs


def _delete_rollups(client: firestore.Client) -> None:
    for name in (rollup.ROLLUPS, rollup.ROLLUP_USERS):
        for snap in client.collection(name).stream():
            snap.reference.delete()


def _expected_cursor(now: dt.datetime) -> dt.datetime:
    return rollup.floor_hour(now - rollup.GRACE)


@pytest.fixture
def workload(client: firestore.Client, clean: None) -> Iterator[Workload]:
    cfg.apply(
        client,
        {
            "rateLimits": {"image": 10_000, "video": 10_000, "voice": 10_000, "chat": 10_000, "ipRequests": 10_000},
            "defaultCredits": 300,
        },
    )
    yield Workload(client, ManualClock(START), seed=20261126)
    cfg.reset(client)  # the later tiers run on the defaults
    _delete_rollups(client)


@pytest.mark.slow
def test_every_figure_of_every_range_equals_a_recount_over_three_months(
    client: firestore.Client, workload: Workload, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, rng = workload.clock, workload.rng
    day0 = rollup.floor_day(START)
    checkpoints = 0
    interrupted = False
    rolled: dt.datetime | None = None
    for d in ACTIVE_DAYS:
        hours = sorted(rng.sample(range(24), 4)) if d else [22, 23]
        for h in hours:
            at = day0 + dt.timedelta(days=d, hours=h, minutes=rng.randint(0, 20))
            if at > clock.now():
                clock.set(at)
            workload.hour(rng.randint(4, 9))
        # Checkpoint: a few minutes into the next hour, so the last hour is sometimes still
        # within its grace (open) and sometimes rolled up.
        clock.set(rollup.floor_hour(clock.now()) + dt.timedelta(hours=1, minutes=rng.choice([2, 7, 40])))
        if rng.random() < 0.3:
            maintenance.sweep_stuck(client, clock)  # generations left pending fail, refunded
            workload.forget_finished()
        mode = "none" if checkpoints == 0 else rng.choice(["once", "once", "twice", "interrupted", "none"])
        if mode == "interrupted" or (not interrupted and checkpoints == 3):
            interrupted = True
            run_interrupted(client, clock, monkeypatch)
            mode = "once"
        if mode in ("once", "twice"):
            report = rollup.rollup_usage(client, clock, user_batch=3)
            assert report.skipped is None and not report.more, report.as_dict()
            rolled = _expected_cursor(clock.now())
            assert report.cursor == rolled
        if mode == "twice":
            before = _rollup_docs(client)
            again = rollup.rollup_usage(client, clock)
            assert again.skipped == "up to date" and again.writes == 0
            assert _rollup_docs(client) == before
        check_every_range(client, clock.now(), rolled_until=rolled)
        checkpoints += 1

    assert interrupted
    assert workload.done["charge"] > 150 and workload.done["completed"] > 50 and workload.done["failed"] > 10, dict(workload.done)
    assert workload.done["grant"] > 10, dict(workload.done)
    # Settled or refunded in a later hour than their charge: the attribution rule was exercised.
    ledger, _, _ = _records(client)
    charged_at = {e["activityId"]: e["createdAt"] for e in ledger if e["reason"] == "generation_charge"}
    later = [e for e in ledger if e["reason"] in REFUND_REASONS | {"settlement_charge"} and e["activityId"] in charged_at]
    assert any(rollup.hour_key(e["createdAt"]) != rollup.hour_key(charged_at[e["activityId"]]) for e in later)
    assert any(rollup.day_key(e["createdAt"]) != rollup.day_key(charged_at[e["activityId"]]) for e in later)


def test_rollups_rebuilt_from_scratch_give_the_same_figures(client: firestore.Client, workload: Workload) -> None:
    clock = workload.clock
    for d in (0, 1, 8):
        clock.set(rollup.floor_day(START) + dt.timedelta(days=d, hours=23, minutes=5))
        workload.hour(8)
    clock.advance(3600)
    rollup.rollup_usage(client, clock)
    first = {name: stats.usage_stats(client, clock.now(), name)[0] for name in rollup.RANGES}
    _delete_rollups(client)
    report = rollup.rollup_usage(client, clock)
    assert report.cursor == _expected_cursor(clock.now())
    again = {name: stats.usage_stats(client, clock.now(), name)[0] for name in rollup.RANGES}
    for name in rollup.RANGES:
        for key in ("totals", "byType", "series", "topUsers", "topUsersWindow", "activeNow"):
            assert again[name][key] == first[name][key], (name, key)


def test_a_run_that_finds_a_live_lease_writes_nothing_and_the_next_one_continues(
    client: firestore.Client, workload: Workload
) -> None:
    clock = workload.clock
    workload.hour(6)
    clock.advance(2 * 3600)
    state = rollup.state_ref(client)
    # A run that died half-way keeps its lease until it expires.
    state.set({"start": rollup.floor_day(START), "cursor": rollup.floor_day(START), "leaseUntil": clock.now() + rollup.LEASE})
    before = _rollup_docs(client)
    report = rollup.rollup_usage(client, clock)
    assert report.skipped == "leased" and report.writes == 0
    assert _rollup_docs(client) == before
    clock.advance(rollup.LEASE.total_seconds() + 1)
    report = rollup.rollup_usage(client, clock)
    assert report.skipped is None and report.cursor == _expected_cursor(clock.now())
    assert state.get().to_dict()["leaseUntil"] is None
    check_every_range(client, clock.now(), rolled_until=report.cursor)


def test_a_long_backlog_is_finished_by_several_bounded_runs(client: firestore.Client, workload: Workload) -> None:
    clock = workload.clock
    for d in (0, 2, 5):
        clock.set(rollup.floor_day(START) + dt.timedelta(days=d, hours=22, minutes=30))
        workload.hour(5)
    clock.advance(3 * 3600)
    runs = []
    while True:
        report = rollup.rollup_usage(client, clock, max_hours=30)
        runs.append(report)
        assert report.hours <= 30
        if not report.more:
            break
        check_every_range(client, clock.now(), rolled_until=report.cursor)  # exact half-way too
    assert len(runs) >= 4 and runs[-1].cursor == _expected_cursor(clock.now())
    check_every_range(client, clock.now(), rolled_until=runs[-1].cursor)


def test_the_money_path_writes_no_statistics_document(client: firestore.Client, workload: Workload) -> None:
    workload.hour(30)
    for collection in ("usage_stats", rollup.ROLLUPS, rollup.ROLLUP_USERS):
        assert list(client.collection(collection).limit(1).stream()) == []
    assert workload.done["charge"] and workload.done["completed"] + workload.done["failed"]


def test_a_first_run_over_ninety_days_of_history_is_exact(client: firestore.Client, workload: Workload) -> None:
    clock = workload.clock
    end = rollup.floor_day(START) + dt.timedelta(days=95, minutes=20)
    for d in range(92, 0, -1):  # one generation or so a day; the oldest beyond every range
        clock.set(end - d * rollup.DAY + dt.timedelta(hours=11))
        workload.hour(2)
    clock.set(end)
    report = rollup.rollup_usage(client, clock)
    assert report.cursor == _expected_cursor(end) and not report.more
    check_every_range(client, end, rolled_until=report.cursor)
