"""What the statistics cost: ``getUsageStats`` reads per range, and the rollup job per hour.

    bench/run.sh bench/bench_stats.py [--json bench/results/stats.json] [--sizes 200 2000]

Runs against the Emulator Suite that ``bench/run.sh`` starts (loopback only). Generations
are made in process with the real ``charge`` and ``update_status`` (80 % completed, a third
of them settled on an actual quantity, 15 % failed and refunded, 5 % left pending), each
with its own manual clock, so that simulated time can pass; ``getUsageStats`` is called
over HTTP as an admin, with the Functions emulator's clock moved to the same simulated time.
The figures are the ones the callable reports (``documentsRead`` and ``readCost``, which
bill an aggregation query one read per 1,000 index entries it matches, at least one).

1. Empty database: one call per range before the job ever ran, and after its first run.
   Then 90 days of history (one generation a day), rolled up by a first run that catches
   up on every hour since: one call per range as in a mature deployment.
2. Steady traffic: N generations spread over 24 simulated hours, the job run 6 minutes
   after each hour closes (as its 10-minute schedule would); the job's reads and writes
   per closed hour; then one call per range.
3. A burst: N generations within the current, still open hour (nothing rolled up yet for
   them: the worst case for the aggregation queries); then one call per range.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import benchlib
from credits.features import rollup
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.features.lifecycle import StatusRequest, update_status
from credits.store import db
from credits.vocab.clock import ManualClock
from credits.vocab.context import Caller, ClientContext

from tests.support import emulators as emu

RANGES = ("24h", "7d", "30d", "90d")
USERS = 40
THREADS = 8
QUANTITY = {
    "image": lambda r: r.randint(1, 3),
    "video": lambda r: r.randint(1, 20),
    "voice": lambda r: r.randint(1, 5),
    "chat": lambda r: r.randint(10, 3000),
}


class Bench:
    def __init__(self, seed: int) -> None:
        self.client = db.make_client(emu.PROJECT)
        self.rng = random.Random(seed)
        self.admin = emu.make_admin()
        self.users: list[tuple[Caller, ClientContext]] = []
        self.issued = 0

    def fresh(self) -> None:
        """An empty database with generous limits, and new users (one address each)."""
        emu.clear_firestore()
        self.client.collection("system_config").document("credits").set(
            {
                "defaultCredits": 1_000_000,
                "rateLimits": {"image": 10_000, "video": 10_000, "voice": 10_000, "chat": 10_000, "ipRequests": 10_000},
            }
        )
        run = uuid.uuid4().hex[:6]
        self.users = [
            (Caller(uid=f"bs-{run}-{i}", email=f"bench{i}@example.com"), ClientContext(ip=f"198.19.{i}.{7 + i % 200}"))
            for i in range(USERS)
        ]

    def generate(self, n: int, start: dt.datetime, span: dt.timedelta) -> None:
        """``n`` generations started evenly over ``[start, start + span)``."""
        seeds = [self.rng.getrandbits(32) for _ in range(n)]
        base, self.issued = self.issued, self.issued + n  # users take turns across calls

        def one(i: int) -> None:
            rng = random.Random(seeds[i])
            caller, ctx = self.users[(base + i) % USERS]
            kind = ("image", "video", "voice", "chat")[(base + i) % 4]
            clock = ManualClock(start + span * i / n)
            request = ChargeRequest.parse({"type": kind, "prompt": "a bench prompt", "quantity": QUANTITY[kind](rng)})
            activity = charge(Command(self.client, clock, caller, ctx), request).activityId
            roll = rng.random()
            if roll < 0.05:
                return  # still pending
            clock.advance(rng.randint(2, 90))
            if roll < 0.20:
                update_status(Command(self.client, clock, caller, ctx), StatusRequest(activity, "failed", error="model error"))
            else:
                actual = QUANTITY[kind](rng) if rng.random() < 0.33 else None
                req = StatusRequest(activity, "completed", actual_quantity=None if actual is None else Decimal(actual))
                update_status(Command(self.client, clock, caller, ctx), req)

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(one, range(n)))

    def stats_calls(self, now: dt.datetime, label: str, calls: int = 3) -> list[dict[str, Any]]:
        """``calls`` getUsageStats calls per range over HTTP at simulated time ``now``."""
        rows = []
        for name in RANGES:
            latencies, result = [], None
            for _ in range(calls):
                emu.set_clock_offset((now - dt.datetime.now(dt.UTC)).total_seconds())
                started = time.perf_counter()
                result = emu.call("getUsageStats", {"range": name}, self.admin).result
                latencies.append(time.perf_counter() - started)
            assert result is not None
            cost = result["readCost"]
            rows.append(
                {
                    "scenario": label,
                    "range": name,
                    "documentsRead": result["documentsRead"],
                    "documents": cost["documents"],
                    "aggregationQueries": cost["aggregationQueries"],
                    "aggregationReads": cost["aggregationReads"],
                    "indexEntriesMatched": cost["indexEntriesMatched"],
                    "generations": result["totals"]["generations"],
                    "activeNow": result["activeNow"],
                    "medianMs": statistics.median(latencies) * 1000,
                }
            )
        emu.set_clock_offset(0)
        return rows

    def roll_up(self, now: dt.datetime) -> rollup.RollupReport:
        return rollup.rollup_usage(self.client, ManualClock(now))


def pinned_hour() -> dt.datetime:
    """Twenty minutes into the next hour (simulated time runs ahead of the wall clock)."""
    return rollup.floor_hour(dt.datetime.now(dt.UTC)) + dt.timedelta(hours=1, minutes=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    benchlib.require_emulators()
    bench = Bench(args.seed)
    started = time.perf_counter()
    reads: list[dict[str, Any]] = []
    job_rows: list[dict[str, Any]] = []

    # 1. empty database
    bench.fresh()
    t0 = pinned_hour()
    reads += bench.stats_calls(t0, "empty, job never ran")
    bench.roll_up(t0)
    reads += bench.stats_calls(t0, "empty, job ran")

    # 1b. ninety days of history, caught up by one run
    bench.fresh()
    t0 = pinned_hour()
    for d in range(90, 0, -1):
        bench.generate(1, rollup.floor_day(t0) - d * rollup.DAY + dt.timedelta(hours=12), dt.timedelta(minutes=1))
    caught = time.perf_counter()
    report = bench.roll_up(t0)
    caught = time.perf_counter() - caught
    assert not report.more and report.skipped is None, report.as_dict()
    catch_up = {"hours": report.hours, "reads": report.reads, "writes": report.writes, "seconds": caught}
    reads += bench.stats_calls(t0, "90 days of history")

    for n in args.sizes:
        # 2. steady: n generations over 24 hours, the job after each hour
        bench.fresh()
        t0 = pinned_hour()
        bench.roll_up(t0)
        hour0 = rollup.floor_hour(t0)
        per_hour = []
        for h in range(24):  # the first job run left the cursor at hour0
            share = n * (h + 1) // 24 - n * h // 24
            bench.generate(share, hour0 + h * rollup.HOUR, dt.timedelta(minutes=50))
            report = bench.roll_up(hour0 + (h + 1) * rollup.HOUR + dt.timedelta(minutes=6))
            assert report.hours == 1 and report.skipped is None, report.as_dict()
            span = report.per_span[0]
            per_hour.append({"generations": share, "reads": span["reads"], "writes": span["writes"], "users": span["users"]})
            per_hour[-1]["writes"] += 2  # the run's lease and its release
            per_hour[-1]["reads"] += 1  # the run's read of the state
        steady = hour0 + 24 * rollup.HOUR + dt.timedelta(minutes=20)
        reads += bench.stats_calls(steady, f"steady {n}/24h")
        gens = [p["generations"] for p in per_hour]
        job_rows.append(
            {
                "workload": f"{n} generations / 24 h",
                "generationsPerHour": statistics.mean(gens),
                "readsPerHour": statistics.mean(p["reads"] for p in per_hour),
                "readsMax": max(p["reads"] for p in per_hour),
                "writesPerHour": statistics.mean(p["writes"] for p in per_hour),
                "writesMax": max(p["writes"] for p in per_hour),
                "usersPerHour": statistics.mean(p["users"] for p in per_hour),
                "readsPerGeneration": sum(p["reads"] for p in per_hour) / max(1, sum(gens)),
            }
        )

        # 3. burst: n generations in the open hour
        bench.fresh()
        t0 = pinned_hour()
        bench.roll_up(t0)
        bench.generate(n, t0 + dt.timedelta(minutes=1), dt.timedelta(minutes=30))
        reads += bench.stats_calls(t0 + dt.timedelta(minutes=35), f"burst {n} in open hour")

    headers = [
        "scenario",
        "range",
        "reads",
        "docs",
        "agg queries",
        "agg reads",
        "entries matched",
        "generations",
        "active",
        "median ms",
    ]
    keys = [
        "scenario",
        "range",
        "documentsRead",
        "documents",
        "aggregationQueries",
        "aggregationReads",
        "indexEntriesMatched",
        "generations",
        "activeNow",
        "medianMs",
    ]
    print(
        benchlib.table(
            headers, ([r[k] for k in keys] for r in reads), title="getUsageStats: reads of one call per range (over HTTP)"
        )
    )
    job_headers = ["workload", "gens/hour", "reads/hour", "reads max", "writes/hour", "writes max", "users/hour", "reads/gen"]
    job_keys = [
        "workload",
        "generationsPerHour",
        "readsPerHour",
        "readsMax",
        "writesPerHour",
        "writesMax",
        "usersPerHour",
        "readsPerGeneration",
    ]
    print(
        benchlib.table(
            job_headers,
            ([r[k] for k in job_keys] for r in job_rows),
            title="rollupUsageStats: per closed hour (one run per hour)",
        )
    )
    print(
        f"\nfirst run over 90 days of history: {catch_up['hours']} hours rolled up, {catch_up['reads']} reads, "
        f"{catch_up['writes']} writes, {catch_up['seconds']:.1f} s"
    )
    elapsed = time.perf_counter() - started
    print(f"\n{elapsed:.0f} s; {benchlib.machine()}")
    benchlib.write_json(
        args.json,
        {"machine": benchlib.machine(), "getUsageStats": reads, "rollup": job_rows, "catchUp": catch_up, "seconds": elapsed},
    )


if __name__ == "__main__":
    main()
