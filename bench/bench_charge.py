"""What ``validateAndDeductCredits`` costs: latency beside a floor, Firestore operations, contention.

    bench/run.sh bench/bench_charge.py [--json bench/results/charge.json] [--samples 300]
                                       [--http-samples 150] [--bursts 3] [--parallel 50]

Runs against the Emulator Suite that ``bench/run.sh`` starts (loopback only) and prints:

1. In-process latency (``credits.features.charging.charge`` called directly with a Firestore client on
   the emulator) beside the *floor*, one bare Firestore transaction that reads and writes one
   document (``client.transaction()`` + ``@firestore.transactional``), and beside a *baseline
   charge* written here (same optimistic engine: read the user, write user + ledger entry +
   activity; no IP blocks, rate limits, moderation, abuse or statistics). The three are
   interleaved in shuffled order, so machine noise hits them alike: compare the ratios.
2. End to end over HTTP through the Functions emulator with real Auth-emulator ID tokens,
   beside an HTTP floor: the same callable, same token, refused as ``invalid-argument``
   before it touches Firestore (a payload without ``prompt``). Also interleaved.
3. Firestore reads and writes per call, counted by ``atomic.Stats`` (every attempt's reads
   and the writes of the commit that applied), for each kind of call and refusal.
4. Per generation: the charge plus its completion (with and without settlement) or failure.
5. The protective layer: what the real charge adds to the baseline charge, in the same run.
6. Same-user contention end to end: 50 parallel HTTP charges for one user with balance 100
   and cost 10 (expected: 10 charged, 40 insufficient_credits), wall time, outcome counts,
   and the ledger checked afterwards. The Functions emulator starts one Python worker per
   concurrent request, so a 50-wide warm-up burst runs first.

Finally ``credits.features.reconcile.reconcile`` checks every ledger invariant over everything the
run wrote (0 drifts expected). The whole run takes one to three minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import benchlib
from credits.features import accounts, admin, migrations
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.features.lifecycle import StatusRequest, update_status
from credits.features.reconcile import reconcile
from credits.features.status import StatusQuery, credit_status
from credits.store import buckets, db, ledger
from credits.store.atomic import Attempt, Plan, Stats, run
from credits.store.ledger import EntryId, EntryKind, Leg, Reason
from credits.vocab.clock import SystemClock
from credits.vocab.context import Caller, ClientContext
from credits.vocab.errors import CreditsError, InsufficientCredits
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu

CLOCK = SystemClock()
ADMIN = Caller(uid="bench-admin", email="bench-admin@example.com", name="Bench Admin", is_admin=True)
GENERATOR = Caller(uid="bench-generator", name="Bench pipeline", is_generator=True)
CHARGES_PER_USER = 25  # below the image limit (50 an hour) and the IP limit (100 in 10 minutes)
TOP_UP = 10_000
PROMPT = (
    "A lighthouse on a rocky coast at dawn, soft golden light, long exposure sea, "
    "gulls over the water, watercolor on textured paper, muted palette, wide angle"
)
PARALLEL = 50


# ------------------------------------------------------------------ in-process helpers


class InProcessUser:
    """A user the domain knows only by uid (the charge never asks Auth), with its own IP."""

    def __init__(self, prefix: str = "bench") -> None:
        self.uid = f"{prefix}-{uuid.uuid4().hex[:16]}"
        self.caller = Caller(uid=self.uid, email=f"{self.uid}@example.com", name="Bench User")
        self.ctx = ClientContext(ip=emu.fresh_ip(), country="NL", user_agent="bench_charge")
        self.n = 0

    def request(self, kind: str = "image", quantity: int | str = 1, prompt: str | None = None, **extra: Any) -> ChargeRequest:
        self.n += 1
        return ChargeRequest(
            type=kind,
            prompt=prompt if prompt is not None else f"{PROMPT}, variation {self.n}",
            quantity=Decimal(quantity),
            **extra,
        )


def do_charge(
    client: firestore.Client, user: InProcessUser, request: ChargeRequest | None = None, stats: Stats | None = None
) -> dict[str, Any]:
    """One charge in process; its answer as the wire carries it."""
    return charge(Command(client, CLOCK, user.caller, user.ctx, stats=stats), request or user.request()).model_dump()


def grant(client: firestore.Client, uid: str, amount: int) -> None:
    admin.grant(
        Command(client, CLOCK, ADMIN, ClientContext(ip="127.0.0.1")),
        admin.GrantRequest(user_id=uid, amount=amount, reason="benchmark top-up"),
        lambda _uid: True,
    )


def ensure_config(client: firestore.Client) -> None:
    """The stored default configuration and its applied copy, as ``scripts/seed.py`` writes
    them (a deployment has them once ``scripts/migrate.py`` ran)."""
    migrations.run_all(client, CLOCK)


# ------------------------------------------------------------------ the floor and the baseline


@firestore.transactional
def _floor_transaction(transaction: firestore.Transaction, ref: Any) -> None:
    snap = ref.get(transaction=transaction)
    count = (snap.to_dict() or {}).get("n", 0) if snap.exists else 0
    transaction.set(ref, {"n": count + 1, "updatedAt": CLOCK.now()})


def floor_call(client: firestore.Client, ref: Any) -> None:
    """One bare Firestore transaction: read one document, write it back."""
    _floor_transaction(client.transaction(), ref)


def baseline_setup(client: firestore.Client, uid: str, credits: int) -> None:
    """A baseline user with its balance and the matching ledger entry (the books balance)."""
    ref = client.collection(db.USERS).document(uid)

    def step(attempt: Attempt) -> Plan[None]:
        plan: Plan[None] = Plan()
        entry = EntryId(EntryKind.SIGNUP, uid)
        leg = Leg(credits, entry, Reason.SIGNUP_GRANT, actor_id="bench", buckets=buckets.Open(str(entry), "signup"))
        snap = attempt.get([ref])[ref.path]
        ledger.post(
            plan,
            client,
            ledger.Holder(uid, snap, None, opening={"uid": uid, "status": "active", "createdAt": CLOCK.now()}),
            ledger.Change([leg], CLOCK.now(), 20),
        )
        return plan

    run(client, step)


def baseline_charge(client: firestore.Client, uid: str, cost: int = 10, stats: Stats | None = None) -> dict[str, Any]:
    """The least a correct charge must do: read the balance; write balance, ledger entry and
    activity in one guarded commit. Same engine (``atomic.run``) as the real charge."""
    user_ref = client.collection(db.USERS).document(uid)
    activity_ref = client.collection(db.AI_ACTIVITY).document()

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = CLOCK.now()
        snap = attempt.get([user_ref])[user_ref.path]
        account = accounts.parse(snap)
        assert account is not None
        balance = account.credits
        if balance < cost:
            return Plan(error=InsufficientCredits(required=cost, available=balance))
        plan: Plan[dict[str, Any]] = Plan()
        leg = Leg(-cost, EntryId(EntryKind.CHARGE, activity_ref.id), Reason.GENERATION_CHARGE, activity_id=activity_ref.id)
        ledger.post(plan, client, ledger.Holder(uid, snap, account), ledger.Change([leg], now, 20))
        plan.create(
            activity_ref,
            {
                "userId": uid,
                "type": "image",
                "quantity": 1,
                "creditsCharged": cost,
                "status": "pending",
                "createdAt": now,
                "updatedAt": now,
            },
        )
        plan.result = {
            "activityId": activity_ref.id,
            "creditsCharged": cost,
            "remainingCredits": balance - cost,
            "status": "pending",
        }
        return plan

    return run(client, step, lock_key=f"user:{uid}", stats=stats)


# ------------------------------------------------------------------ 1 + 5: in-process latency


def inprocess_latency(client: firestore.Client, samples: int, warmup: int) -> dict[str, Any]:
    rounds = samples + warmup
    n_users = math.ceil(rounds / CHARGES_PER_USER)
    print(f"in-process: {n_users} users x {CHARGES_PER_USER} charges, {samples} measured rounds (+{warmup} warm-up)")
    users = [InProcessUser() for _ in range(n_users)]
    floor_refs = [client.collection("bench_floor").document(f"doc-{i}") for i in range(n_users)]
    for ref in floor_refs[:5]:  # open the gRPC channel before anything is timed
        floor_call(client, ref)
    first_use: list[float] = []
    for user in users:
        seconds, _, err = benchlib.timed(lambda u=user: do_charge(client, u))
        if err:
            raise err
        first_use.append(seconds)
        grant(client, user.uid, TOP_UP)
    base_uids = [f"baseline-{uuid.uuid4().hex[:16]}" for _ in range(n_users)]
    for uid in base_uids:
        baseline_setup(client, uid, TOP_UP)

    timings: dict[str, list[float]] = {"charge": [], "baseline": [], "floor": []}
    charge_stats, baseline_stats = Stats(), Stats()
    rng = random.Random(7)
    for i in range(rounds):
        k = i // CHARGES_PER_USER
        measured = i >= warmup
        calls = {
            "charge": lambda k=k, m=measured: do_charge(client, users[k], stats=charge_stats if m else None),
            "baseline": lambda k=k, m=measured: baseline_charge(client, base_uids[k], stats=baseline_stats if m else None),
            "floor": lambda k=k: floor_call(client, floor_refs[k]),
        }
        order = list(calls)
        rng.shuffle(order)
        for name in order:
            seconds, _, err = benchlib.timed(calls[name])
            if err:
                raise err
            if i >= warmup:
                timings[name].append(seconds)
    result = {name: benchlib.summary_ms(values) for name, values in timings.items()}
    result["first_use_charge"] = benchlib.summary_ms(first_use)
    result["charge_ops"] = _per_call(charge_stats, samples)
    result["baseline_ops"] = _per_call(baseline_stats, samples)
    return result


def _per_call(stats: Stats, calls: int) -> dict[str, float]:
    return {"attempts": stats.attempts / calls, "reads": stats.reads / calls, "writes": stats.writes / calls}


# ------------------------------------------------------------------ 1b: live buckets

BUCKET_LEVELS = (1, 10, 32)  # 32: policy.buckets.MAX_LIVE_BUCKETS, the most a user may hold


def bucket_user(client: firestore.Client, live: int) -> InProcessUser:
    """A steady-state user holding ``live`` live buckets, each large enough that the measured
    charges never empty one (so the count stays ``live``): a sign-up bucket of ``TOP_UP``
    (never expires, spent last) and ``live - 1`` admin grants with distinct expiries a year or
    more away."""
    user = InProcessUser("buckets")
    baseline_setup(client, user.uid, TOP_UP)  # the account with one bucket (a grant would add one)
    do_charge(client, user)  # the first charge of the account (its address record, limits)
    now = CLOCK.now()
    for k in range(live - 1):
        admin.grant(
            Command(client, CLOCK, ADMIN, ClientContext(ip="127.0.0.1")),
            admin.GrantRequest(
                user_id=user.uid,
                amount=TOP_UP,
                reason="benchmark bucket",
                expires_at=now + dt.timedelta(days=400 + k),
            ),
            lambda _uid: True,
        )
    snap = client.collection(db.USERS).document(user.uid).get()
    held = len((snap.to_dict() or {}).get("buckets") or {})
    if held != live:
        raise RuntimeError(f"{user.uid} holds {held} buckets, not {live}")
    return user


def bucket_latency(client: firestore.Client, samples: int, warmup: int) -> dict[str, Any]:
    """The charge of users with 1, 10 and 32 live buckets beside the bare-transaction floor,
    interleaved in shuffled order in one run (the same machine noise for all)."""
    rounds = samples + warmup
    n_users = math.ceil(rounds / CHARGES_PER_USER)
    print(f"live buckets: {BUCKET_LEVELS} x {n_users} users, {samples} measured rounds (+{warmup} warm-up)")
    users = {live: [bucket_user(client, live) for _ in range(n_users)] for live in BUCKET_LEVELS}
    floor_refs = [client.collection("bench_floor").document(f"buckets-{i}") for i in range(n_users)]
    timings: dict[str, list[float]] = {f"buckets_{live}": [] for live in BUCKET_LEVELS} | {"floor": []}
    stats = {live: Stats() for live in BUCKET_LEVELS}
    rng = random.Random(13)
    for i in range(rounds):
        k = i // CHARGES_PER_USER
        measured = i >= warmup
        calls: dict[str, Any] = {
            f"buckets_{live}": lambda live=live, k=k, m=measured: do_charge(
                client, users[live][k], stats=stats[live] if m else None
            )
            for live in BUCKET_LEVELS
        }
        calls["floor"] = lambda k=k: floor_call(client, floor_refs[k])
        order = list(calls)
        rng.shuffle(order)
        for name in order:
            seconds, _, err = benchlib.timed(calls[name])
            if err:
                raise err
            if measured:
                timings[name].append(seconds)
    out: dict[str, Any] = {name: benchlib.summary_ms(values) for name, values in timings.items()}
    floor = out["floor"]
    for live in BUCKET_LEVELS:
        s = out[f"buckets_{live}"]
        s["floor_ratio_p50"] = benchlib.ratio(s["p50_ms"], floor["p50_ms"])
        s["floor_ratio_p99"] = benchlib.ratio(s["p99_ms"], floor["p99_ms"])
        s["ops"] = _per_call(stats[live], samples)
    for live in BUCKET_LEVELS:  # the measured charges spent from the soonest bucket only
        for user in users[live]:
            held = len((client.collection(db.USERS).document(user.uid).get().to_dict() or {}).get("buckets") or {})
            if held != live:
                raise RuntimeError(f"{user.uid} ended with {held} buckets, not {live}")
    return out


# ------------------------------------------------------------------ 3 + 4: counted operations


def _count(fn: Any) -> tuple[Stats, str]:
    """Run ``fn(stats)``; the outcome is 'ok' or the refusal's reason."""
    stats = Stats()
    try:
        fn(stats)
        outcome = "ok"
    except CreditsError as err:
        outcome = err.reason
    return stats, outcome


def counted_operations(client: firestore.Client) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def row(case: str, stats: Stats, outcome: str, note: str = "") -> None:
        calls.append(
            {
                "case": case,
                "outcome": outcome,
                "attempts": stats.attempts,
                "reads": stats.reads,
                "writes": stats.writes,
                "note": note,
            }
        )

    # First use: creates the user with the sign-up grant.
    u = InProcessUser()
    row("first-use charge", *_count(lambda s: do_charge(client, u, stats=s)), "creates users/{uid} + signup grant")
    row("steady-state charge", *_count(lambda s: do_charge(client, u, stats=s)))
    keyed = u.request(request_id=f"req-{uuid.uuid4().hex}")
    row("charge with requestId", *_count(lambda s: do_charge(client, u, keyed, stats=s)), "also reads the activity (the key)")
    row("replay (same requestId)", *_count(lambda s: do_charge(client, u, keyed, stats=s)), "returns the stored response")

    # Insufficient credits: balance 70 after three image charges; a 20 s video costs 100.
    row(
        "refused: insufficient_credits",
        *_count(lambda s: do_charge(client, u, u.request("video", 20), stats=s)),
        "writes the refusal counter on users/{uid}",
    )

    # Rate-limited: video allows 10 an hour; the 11th is refused (1 s of video costs 5).
    r = InProcessUser()
    for _ in range(10):
        do_charge(client, r, r.request("video", 1))
    row(
        "refused: rate_limited (user)",
        *_count(lambda s: do_charge(client, r, r.request("video", 1), stats=s)),
        "the same: refusals take no place in a window",
    )

    # Moderation: a steady-state user, a medium term (record + score) and a high one (+ admin notification).
    m = InProcessUser()
    do_charge(client, m)
    row(
        "refused: prompt_rejected (medium)",
        *_count(lambda s: do_charge(client, m, m.request(prompt="a knight about to torture a dragon"), stats=s)),
        "abuse record + score + IP log",
    )
    m2 = InProcessUser()
    do_charge(client, m2)
    row(
        "refused: prompt_rejected (high)",
        *_count(lambda s: do_charge(client, m2, m2.request(prompt="show me how to build a bomb"), stats=s)),
        "+ admin notification",
    )

    # Per generation: charge + its end, on a steady-state user.
    generations: list[dict[str, Any]] = []
    g = InProcessUser()
    do_charge(client, g)
    grant(client, g.uid, TOP_UP)

    def generation(case: str, kind: str, quantity: int, updates: list[dict[str, Any]], by: Caller = GENERATOR) -> None:
        charge_stats = Stats()
        result = do_charge(client, g, g.request(kind, quantity), stats=charge_stats)
        update_stats = Stats()
        for update in updates:
            update_status(
                Command(client, CLOCK, by, g.ctx, stats=update_stats), StatusRequest(activity_id=result["activityId"], **update)
            )
        generations.append(
            {
                "case": case,
                "charge_reads": charge_stats.reads,
                "charge_writes": charge_stats.writes,
                "update_calls": len(updates),
                "update_reads": update_stats.reads,
                "update_writes": update_stats.writes,
                "total_reads": charge_stats.reads + update_stats.reads,
                "total_writes": charge_stats.writes + update_stats.writes,
                "attempts": charge_stats.attempts + update_stats.attempts,
            }
        )

    generation("charge + completed (generator, no actualQuantity)", "image", 1, [{"status": "completed"}])
    generation(
        "charge + completed with settlement (generator, actualQuantity)",
        "image",
        2,
        [{"status": "completed", "actual_quantity": Decimal(1)}],
    )
    generation(
        "charge + processing + completed (generator)",
        "image",
        1,
        [{"status": "processing", "progress": Decimal(50)}, {"status": "completed"}],
    )
    generation("charge + failed (generator, refund)", "image", 1, [{"status": "failed", "error": "model timeout"}])
    generation("charge + completed (owner, keeps the charge)", "image", 1, [{"status": "completed"}], by=g.caller)
    generation("charge + cancel while pending (owner, refund)", "image", 1, [{"status": "failed"}], by=g.caller)

    # getCreditStatus: what a web client calls at sign-in and before each generation.
    s_user = InProcessUser()

    def status(user: InProcessUser, query: StatusQuery, stats: Stats) -> Any:
        return credit_status(Command(client, CLOCK, user.caller, user.ctx, stats=stats), query)

    row(
        "getCreditStatus, first call",
        *_count(lambda st: status(s_user, StatusQuery(), st)),
        "opens the account + sign-up entry + address log",
    )
    row("getCreditStatus", *_count(lambda st: status(s_user, StatusQuery(), st)), "balance, prices, limits")
    preview = StatusQuery.parse({"preview": {"type": "video", "quantity": 4}})
    row(
        "getCreditStatus with preview",
        *_count(lambda st: status(s_user, preview, st)),
        "same reads: the checks read nothing more",
    )
    return calls, generations


# ------------------------------------------------------------------ 2: HTTP latency


def http_user(client: firestore.Client, credits: int | None = None) -> emu.User:
    user = emu.sign_up()
    if credits:
        grant(client, user.uid, credits)
    return user


def http_charge(user: emu.User, i: int) -> emu.CallResult:
    return emu.call("validateAndDeductCredits", {"type": "image", "prompt": f"{PROMPT}, variation {i}"}, user, timeout=120)


def http_floor(user: emu.User, name: str = "validateAndDeductCredits") -> emu.CallResult:
    # Valid token and transport; refused by input validation before any Firestore access.
    return emu.call(name, {"type": "image"}, user, timeout=120)


def warm_functions(user: emu.User, width: int, *, label: str) -> list[str]:
    return benchlib.warm_callable("validateAndDeductCredits", lambda: http_floor(user), width, label=label)


def http_latency(client: firestore.Client, samples: int, warmup: int) -> dict[str, Any]:
    rounds = samples + warmup
    n_users = math.ceil(rounds / CHARGES_PER_USER)
    print(f"HTTP: {n_users} Auth-emulator users, {samples} measured rounds (+{warmup} warm-up)")
    users = [http_user(client, TOP_UP) for _ in range(n_users)]
    warm_functions(users[0], 4, label="sequential")
    timings: dict[str, list[float]] = {"charge": [], "floor": []}
    codes: Counter[str] = Counter()
    rng = random.Random(11)
    for i in range(rounds):
        user = users[i // CHARGES_PER_USER]
        calls = {"charge": lambda u=user, i=i: http_charge(u, i), "floor": lambda u=user: http_floor(u)}
        order = list(calls)
        rng.shuffle(order)
        for name in order:
            seconds, result, err = benchlib.timed(calls[name])
            if err:
                raise err
            if name == "charge":
                codes[result.code or "OK"] += 1
                if not result.ok:
                    raise RuntimeError(f"HTTP charge failed: {result.status} {result.body}")
            elif result.code != "INVALID_ARGUMENT":
                raise RuntimeError(f"HTTP floor answered {result.status} {result.body}")
            if i >= warmup:
                timings[name].append(seconds)
    out: dict[str, Any] = {name: benchlib.summary_ms(values) for name, values in timings.items()}
    out["codes"] = dict(codes)
    return out


# ------------------------------------------------------------------ 6: same-user contention


def contention(client: firestore.Client, bursts: int, parallel: int = PARALLEL) -> list[dict[str, Any]]:
    """``parallel`` simultaneous image charges (cost 10) for one new user (balance 100)."""
    expect_charged = min(parallel, 10)
    expected = Counter({"charged": expect_charged, "insufficient_credits": parallel - expect_charged})
    expected += Counter()  # drops a zero count
    warmer = http_user(client)
    warm_functions(warmer, parallel, label="contention")
    # The floor never touches Firestore: a worker's first charge also pays for its Firestore
    # client (channel, lazy imports). One simultaneous charge each for ``parallel`` different
    # users (no contention) gets every worker there before the measured bursts.
    with ThreadPoolExecutor(max_workers=8) as pool:
        others = list(pool.map(lambda _i: emu.sign_up(), range(parallel)))
    wall, results = benchlib.burst(parallel, lambda i: http_charge(others[i], i))
    codes = Counter(r.code or "OK" for _, r in results)
    print(f"  warm-up contention: {parallel} charges for {parallel} different users at once: {wall:.2f}s {dict(codes)}")
    runs = []
    for b in range(bursts):
        user = emu.sign_up()

        def one(i: int, user: emu.User = user) -> emu.CallResult:
            return emu.call("validateAndDeductCredits", {"type": "image", "prompt": f"tile {i} of a mosaic"}, user, timeout=300)

        wall, results = benchlib.burst(parallel, one)
        outcomes = Counter("charged" if r.ok else (r.reason or r.code or f"http_{r.status}") for _, r in results)
        codes = Counter(r.code or ("OK" if r.ok else f"http_{r.status}") for _, r in results)
        snap = client.collection(db.USERS).document(user.uid).get()
        balance = int((snap.to_dict() or {}).get("credits", -1)) if snap.exists else None
        entries = [
            e.to_dict() for e in client.collection(db.CREDIT_LOGS).where(filter=FieldFilter("userId", "==", user.uid)).stream()
        ]
        activities = list(client.collection(db.AI_ACTIVITY).where(filter=FieldFilter("userId", "==", user.uid)).stream())
        remaining = sorted(r.result["remainingCredits"] for _, r in results if r.ok)
        ledger_sum = sum(int(e["delta"]) for e in entries)
        charges = sum(1 for e in entries if e.get("reason") == Reason.GENERATION_CHARGE.value)
        # The books: the ledger sums to the balance, one charge entry per activity, and every
        # charge the clients saw is in them with a distinct balance.
        books_ok = (
            balance is not None
            and balance >= 0
            and ledger_sum == balance
            and charges == len(activities)
            and balance == 100 - 10 * charges
            and outcomes.get("charged", 0) <= charges
            and len(set(remaining)) == len(remaining)
        )
        # Every call answered by the function, and exactly what the balance covers.
        exact = outcomes == expected
        latencies = [s for s, _ in results]
        runs.append(
            {
                "burst": b + 1,
                "parallel": parallel,
                "wall_s": wall,
                "outcomes": dict(outcomes),
                "codes": dict(codes),
                "call_latency": benchlib.summary_ms(latencies),
                "balance_after": balance,
                "ledger_sum": ledger_sum,
                "charge_entries": charges,
                "activities": len(activities),
                "distinct_remaining": remaining == list(range(100 - 10 * expect_charged, 100, 10)),
                "books_ok": books_ok,
                "exact": exact,
                "transport_errors": sum(v for k, v in codes.items() if k.startswith("http_")),
            }
        )
        print(f"  burst {b + 1}: {wall:.2f}s {dict(outcomes)} balance={balance} ledger={ledger_sum} books_ok={books_ok}")
    return runs


# ------------------------------------------------------------------ report


def report(data: dict[str, Any]) -> None:
    ip, http = data["inprocess"], data["http"]
    rows = [
        ("charge (credits.features.charging.charge)", ip["charge"]),
        ("baseline charge (bench, same engine)", ip["baseline"]),
        ("floor: bare transaction, 1 read + 1 write", ip["floor"]),
        ("first-use charge (creates the user)", ip["first_use_charge"]),
    ]
    print(
        benchlib.table(
            ["in-process", "n", "p50 ms", "p99 ms", "mean ms"],
            [(name, s["n"], s["p50_ms"], s["p99_ms"], s["mean_ms"]) for name, s in rows],
            "1. In-process latency (interleaved in the same run)",
        )
    )
    r = data["ratios"]
    if data.get("buckets"):
        b = data["buckets"]
        print(
            benchlib.table(
                ["in-process", "n", "p50 ms", "p99 ms", "/floor p50", "/floor p99", "reads", "writes", "attempts"],
                [
                    (
                        f"charge, {live} live bucket{'s' if live > 1 else ''}",
                        b[f"buckets_{live}"]["n"],
                        b[f"buckets_{live}"]["p50_ms"],
                        b[f"buckets_{live}"]["p99_ms"],
                        b[f"buckets_{live}"]["floor_ratio_p50"],
                        b[f"buckets_{live}"]["floor_ratio_p99"],
                        b[f"buckets_{live}"]["ops"]["reads"],
                        b[f"buckets_{live}"]["ops"]["writes"],
                        b[f"buckets_{live}"]["ops"]["attempts"],
                    )
                    for live in BUCKET_LEVELS
                ]
                + [
                    (
                        "floor: bare transaction, 1 read + 1 write",
                        b["floor"]["n"],
                        b["floor"]["p50_ms"],
                        b["floor"]["p99_ms"],
                        1.0,
                        1.0,
                        1,
                        1,
                        1,
                    )
                ],
                "1b. The charge by live buckets held, beside the floor (interleaved in the same run)",
            )
        )
    print(
        f"   charge/floor p50 {r['inprocess_charge_floor_p50']:.2f}x, p99 {r['inprocess_charge_floor_p99']:.2f}x;"
        f" baseline/floor p50 {r['inprocess_baseline_floor_p50']:.2f}x;"
        f" charge/baseline p50 {r['inprocess_charge_baseline_p50']:.2f}x"
    )
    print(
        benchlib.table(
            ["over HTTP (Functions emulator)", "n", "p50 ms", "p99 ms", "mean ms"],
            [
                (
                    "validateAndDeductCredits (charged)",
                    http["charge"]["n"],
                    http["charge"]["p50_ms"],
                    http["charge"]["p99_ms"],
                    http["charge"]["mean_ms"],
                ),
                (
                    "floor: same callable, refused by validation",
                    http["floor"]["n"],
                    http["floor"]["p50_ms"],
                    http["floor"]["p99_ms"],
                    http["floor"]["mean_ms"],
                ),
            ],
            "2. End to end over HTTP (interleaved in the same run)",
        )
    )
    print(
        f"   charge/floor p50 {r['http_charge_floor_p50']:.2f}x, p99 {r['http_charge_floor_p99']:.2f}x;"
        f" charge - floor p50 {http['charge']['p50_ms'] - http['floor']['p50_ms']:.1f} ms"
    )
    print(
        benchlib.table(
            ["call", "outcome", "attempts", "reads", "writes", "note"],
            [(c["case"], c["outcome"], c["attempts"], c["reads"], c["writes"], c["note"]) for c in data["operations"]],
            "3. Firestore operations per call (counted by atomic.Stats)",
        )
    )
    print(
        benchlib.table(
            ["generation", "charge r/w", "update r/w", "total reads", "total writes"],
            [
                (
                    g["case"],
                    f"{g['charge_reads']}/{g['charge_writes']}",
                    f"{g['update_reads']}/{g['update_writes']}",
                    g["total_reads"],
                    g["total_writes"],
                )
                for g in data["generations"]
            ],
            "4. Per generation (charge + status updates, counted)",
        )
    )
    p = data["protective_layer"]
    print(
        benchlib.table(
            ["protective layer", "charge", "baseline", "added"],
            [
                ("p50 ms", p["charge_p50_ms"], p["baseline_p50_ms"], p["added_p50_ms"]),
                ("p99 ms", p["charge_p99_ms"], p["baseline_p99_ms"], p["added_p99_ms"]),
                ("reads / call", p["charge_reads"], p["baseline_reads"], p["added_reads"]),
                ("writes / call", p["charge_writes"], p["baseline_writes"], p["added_writes"]),
                ("attempts / call", p["charge_attempts"], p["baseline_attempts"], p["charge_attempts"] - p["baseline_attempts"]),
            ],
            "5. What IP blocks, rate limits, moderation, abuse checks and the account's sign-up add (same run)",
        )
    )
    print(
        benchlib.table(
            [
                "burst",
                "wall s",
                "charged",
                "insufficient",
                "other",
                "p50 ms",
                "max ms",
                "balance",
                "ledger sum",
                "books ok",
                "exact",
            ],
            [
                (
                    c["burst"],
                    c["wall_s"],
                    c["outcomes"].get("charged", 0),
                    c["outcomes"].get("insufficient_credits", 0),
                    sum(v for k, v in c["outcomes"].items() if k not in ("charged", "insufficient_credits")),
                    c["call_latency"]["p50_ms"],
                    c["call_latency"]["max_ms"],
                    c["balance_after"],
                    c["ledger_sum"],
                    c["books_ok"],
                    c["exact"],
                )
                for c in data["contention"]
            ],
            f"6. {data['params']['parallel']} parallel HTTP charges, one user, balance 100, cost 10"
            f" (expected {min(data['params']['parallel'], 10)} charged / {max(0, data['params']['parallel'] - 10)} insufficient)",
        )
    )
    other = Counter(
        k
        for c in data["contention"]
        for k, v in c["outcomes"].items()
        for _ in range(v)
        if k not in ("charged", "insufficient_credits")
    )
    if other:
        print(
            f"   other outcomes: {dict(other)} (http_500 = the Functions emulator dropped the request,"
            " 'socket hang up' in its log: it never reached the function; the books still balance)"
        )
    print(f"\nreconcile: {data['reconcile']['drifts']} drifts over the whole run")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write all figures to this file")
    parser.add_argument("--samples", type=int, default=300, help="measured in-process rounds (charge + baseline + floor each)")
    parser.add_argument("--http-samples", type=int, default=150, help="measured HTTP rounds (charge + floor each)")
    parser.add_argument("--bursts", type=int, default=3, help="same-user bursts (default 3; 0 skips section 6)")
    parser.add_argument(
        "--bucket-samples", type=int, default=200, help="measured rounds of section 1b (1, 10, 32 buckets + floor; 0 skips it)"
    )
    parser.add_argument("--skip-http", action="store_true", help="skip section 2 (over HTTP)")
    parser.add_argument(
        "--parallel",
        type=int,
        default=PARALLEL,
        help=f"calls per same-user burst (default {PARALLEL}; each needs a Functions worker, ~150 MB)",
    )
    args = parser.parse_args()

    benchlib.require_emulators()
    started = time.perf_counter()
    data: dict[str, Any] = {"machine": benchlib.machine(), "params": vars(args)}
    client = db.make_client(emu.PROJECT)
    ensure_config(client)

    data["inprocess"] = inprocess_latency(client, args.samples, warmup=max(10, args.samples // 10))
    if args.bucket_samples:
        data["buckets"] = bucket_latency(client, args.bucket_samples, warmup=max(10, args.bucket_samples // 10))
    data["operations"], data["generations"] = counted_operations(client)
    if args.skip_http:
        empty = benchlib.summary_ms([])
        data["http"] = {"charge": empty, "floor": empty, "codes": {}}
    else:
        data["http"] = http_latency(client, args.http_samples, warmup=max(10, args.http_samples // 10))
    data["contention"] = contention(client, args.bursts, args.parallel) if args.bursts else []

    ip, http = data["inprocess"], data["http"]
    data["ratios"] = {
        "inprocess_charge_floor_p50": benchlib.ratio(ip["charge"]["p50_ms"], ip["floor"]["p50_ms"]),
        "inprocess_charge_floor_p99": benchlib.ratio(ip["charge"]["p99_ms"], ip["floor"]["p99_ms"]),
        "inprocess_baseline_floor_p50": benchlib.ratio(ip["baseline"]["p50_ms"], ip["floor"]["p50_ms"]),
        "inprocess_charge_baseline_p50": benchlib.ratio(ip["charge"]["p50_ms"], ip["baseline"]["p50_ms"]),
        "http_charge_floor_p50": benchlib.ratio(http["charge"]["p50_ms"], http["floor"]["p50_ms"]),
        "http_charge_floor_p99": benchlib.ratio(http["charge"]["p99_ms"], http["floor"]["p99_ms"]),
    }
    co, bo = ip["charge_ops"], ip["baseline_ops"]
    data["protective_layer"] = {
        "charge_p50_ms": ip["charge"]["p50_ms"],
        "baseline_p50_ms": ip["baseline"]["p50_ms"],
        "added_p50_ms": ip["charge"]["p50_ms"] - ip["baseline"]["p50_ms"],
        "charge_p99_ms": ip["charge"]["p99_ms"],
        "baseline_p99_ms": ip["baseline"]["p99_ms"],
        "added_p99_ms": ip["charge"]["p99_ms"] - ip["baseline"]["p99_ms"],
        "charge_reads": co["reads"],
        "baseline_reads": bo["reads"],
        "added_reads": co["reads"] - bo["reads"],
        "charge_writes": co["writes"],
        "baseline_writes": bo["writes"],
        "added_writes": co["writes"] - bo["writes"],
        "charge_attempts": co["attempts"],
        "baseline_attempts": bo["attempts"],
    }
    drifts = reconcile(client)
    data["reconcile"] = {"drifts": len(drifts), "detail": [vars(d) for d in drifts[:20]]}
    data["elapsed_s"] = time.perf_counter() - started

    report(data)
    print(f"(run took {data['elapsed_s']:.0f} s; load average at start {data['machine']['loadavg_at_start']})")
    benchlib.write_json(args.json, data)
    internal = sum(c["codes"].get("INTERNAL", 0) for c in data["contention"])
    ok = not drifts and not internal and all(c["books_ok"] for c in data["contention"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
