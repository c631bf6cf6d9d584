"""Load run: many users and a mix of every callable for minutes, then every ledger invariant.

    bench/run.sh bench/load.py [--duration 180] [--users 100] [--threads 8] [--hot-threads 4]
                               [--max-requests 60000] [--json bench/results/load.json]

Bounded in time (``--duration`` seconds of load, plus set-up, warm-up and checks) and in
count (``--max-requests``), against loopback emulators only (``bench/run.sh`` starts them;
the script refuses any non-loopback host). It drives the Functions emulator over HTTP with
real Auth-emulator ID tokens, exactly as ``httpsCallable`` does:

* ``--threads`` threads pick, per request, an operation and a random user among ``--users``:
  charges of all four types (some with a ``requestId``, some of those re-sent later as
  replays, which must return the first response), status updates of the user's open
  generations (``processing``, ``completed`` with and without ``actualQuantity``,
  ``failed``; a few on finished ones, refused as ``invalid_transition``), admin grants and
  claw-backs, ``getUsageStats``, configuration reads (Firestore REST as the signed-in user,
  through the security rules), configuration updates, suspensions and reactivations
  (``setUserStatus``) of two users, IP blocks (``setIpBlock``) of one user's address,
  prompts that moderation rejects (from three "bad actor" users, whom the abuse score soon
  suspends), and malformed calls;
* ``--hot-threads`` threads hammer ONE hot user at once (charges, and status updates of
  its generations racing each other), while the admin operations also top it up: same-user
  contention is part of the mix.

Grant buckets and plans are in the mix too: grants that expire (``expiresAt`` minutes to
days ahead on the functions' clock, as ``promo`` or ``admin``), plan changes
(``setUserPlan`` between two configured plans, or none), and small promotional jobs
(``grantPromoCredits``); a quarter of the users start on a plan. A clock thread moves the
functions' clock forward (the emulator's clock offset, ``CREDITS_CLOCK_OFFSET_FILE``, as the
tests do) by hours, and twice by a month, so that grants lapse while their users charge
(expired by the next posting) and while they are idle (expired by the hourly job, run in
process at the new time), and plan periods end and renew on the users' next calls.

Before the load, ``updateCreditConfiguration`` sets rate limits per minute instead of per
hour (image, voice and chat 600 a minute, video 10, IP 2,000 a minute), so that a run of a
few minutes exercises charging rather than only refusals; video stays tight so that
``rate_limited`` stays in the mix. ``--default-limits`` keeps the shipped configuration.

Afterwards: the expiry job once more at the final time, then ``credits.features.reconcile.reconcile``
over the whole database (drifts must be 0; ``scripts/reconcile.py`` runs the same function),
the drift of every user (ledger sum minus ``credits``) and of every bucket (its legs in the
ledger minus its ``remaining``) printed as counts and maxima (all must be 0),
one ``usage_logs`` entry per finished generation and none for an open one, every replay
answered with its first response, every charge a client saw present; then throughput,
p50/p99 per callable and error counts by code (``INTERNAL`` must be 0). Exit status 1 if
any check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import benchlib
from credits.features import maintenance
from credits.features.reconcile import reconcile
from credits.store import db
from credits.vocab.clock import ManualClock
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu

CALLABLES = (
    "validateAndDeductCredits",
    "updateAIActivityStatus",
    "grantCreditsToUser",
    "getUsageStats",
    "updateCreditConfiguration",
    "setUserStatus",
    "setIpBlock",
    "setUserPlan",
    "grantPromoCredits",
)
CONFIG_READ = "configRead (Firestore REST)"
LOAD_LIMITS = {
    "rateLimits": {
        "image": 600,
        "video": 10,
        "voice": 600,
        "chat": 600,
        "windowSeconds": 60,
        "ipRequests": 2000,
        "ipWindowSeconds": 60,
    }
}
PROMPTS = (
    "a lighthouse at dawn, watercolor",
    "portrait of an astronaut reading in a library, cinematic light",
    "a medieval market in the rain, wide angle, detailed",
    "summarise this meeting transcript in five bullet points",
    "a calm voice reading a bedtime story about a dragon",
    "a drone shot over a mountain lake at sunset",
)
REJECTED_PROMPTS = ("a knight about to torture a dragon", "step by step: how to build a bomb")
# How a regular thread spends its requests (relative weights).
MIX = {
    "charge": 40,
    "replay": 4,
    "status": 34,
    "grant": 4,
    "clawback": 2,
    "usage_stats": 2,
    "config_read": 6,
    "config_update": 1,
    "user_status": 1,
    "ip_block": 1,
    "moderated": 2,
    "malformed": 3,
    "grant_expiring": 4,
    "plan_change": 1,
    "promo_job": 1,
}
PLANS = {
    "loadfree": {"name": "Load free", "monthlyCredits": 200, "rolloverPeriods": 0},
    "loadpro": {"name": "Load pro", "monthlyCredits": 1000, "rolloverPeriods": 1},
}
DAY = 86_400.0
# The clock thread's steps (seconds of functions' time), one every CLOCK_EVERY seconds of
# load: hours (short grants lapse), and twice a month (plan periods end and renew).
CLOCK_STEPS = (2 * 3600, 6 * 3600, 31 * DAY, 3 * 3600, 12 * 3600, 31 * DAY)
CLOCK_EVERY = 15.0


# ------------------------------------------------------------------ shared state


@dataclass
class Activity:
    id: str
    user: emu.User
    kind: str
    status: str = "pending"
    busy: bool = False


@dataclass
class Sample:
    name: str  # callable (or CONFIG_READ)
    op: str  # what the load meant to do
    code: str  # OK, a callable error status, or http_<status> for transport failures
    reason: str | None
    seconds: float
    hot: bool
    at: float  # when it started (time.monotonic)


@dataclass
class World:
    users: list[emu.User]
    admin: emu.User
    generator: emu.User  # the pipeline: reports outcomes with actualQuantity and errors
    hot: emu.User
    flagged: list[emu.User]  # suspended and reactivated by setUserStatus in the mix
    blocked_ip_user: emu.User  # its address is blocked and unblocked by setIpBlock
    bad_actors: list[emu.User]  # send the prompts moderation rejects (and get suspended for it)
    deadline: float
    max_requests: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    open: dict[str, Activity] = field(default_factory=dict)
    finished: list[Activity] = field(default_factory=list)
    keyed: list[tuple[emu.User, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    seen_charges: set[str] = field(default_factory=set)
    replay_mismatches: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    issued: itertools.count = field(default_factory=itertools.count)
    suspended: set[str] = field(default_factory=set)
    ip_blocked: bool = False
    config_flip: int = 0
    clock_offset: float = 0.0  # the functions' clock, seconds ahead of real time
    expiry_runs: list[dict[str, Any]] = field(default_factory=list)

    def take(self) -> bool:
        """One more request, if the time and count budgets allow."""
        return time.monotonic() < self.deadline and next(self.issued) < self.max_requests


def call(world: World, name: str, op: str, data: Any, user: emu.User, *, hot: bool = False) -> emu.CallResult:
    at = time.monotonic()
    started = time.perf_counter()
    try:
        result = emu.call(name, data, user, timeout=120)
    except Exception as err:
        result = emu.CallResult(0, {"raw": repr(err)})
    seconds = time.perf_counter() - started
    code = "OK" if result.ok else (result.code or f"http_{result.status}")
    world.samples.append(Sample(name, op, code, result.reason, seconds, hot, at))
    return result


def config_read(world: World, user: emu.User) -> None:
    """What a web client does with the JS SDK: read system_config/credits as itself."""
    url = f"http://{emu.FIRESTORE_HOST}/v1/projects/{emu.PROJECT}/databases/(default)/documents/system_config/credits"
    at = time.monotonic()
    started = time.perf_counter()
    try:
        r = emu.session().get(url, headers={"Authorization": f"Bearer {user.id_token}"}, timeout=60)
        code = "OK" if r.status_code == 200 else f"http_{r.status_code}"
    except Exception:
        code = "http_0"
    world.samples.append(Sample(CONFIG_READ, "config_read", code, None, time.perf_counter() - started, False, at))


# ------------------------------------------------------------------ operations


def charge_payload(rng: random.Random, *, prompt: str | None = None) -> dict[str, Any]:
    kind = rng.choices(("image", "video", "voice", "chat"), weights=(40, 10, 15, 35))[0]
    payload: dict[str, Any] = {"type": kind, "prompt": prompt or f"{rng.choice(PROMPTS)} #{rng.randrange(10**6)}"}
    if kind == "image":
        payload["quantity"] = rng.choice((1, 1, 1, 2))
    elif kind == "video":
        payload["quantity"] = rng.choice((1, 2, 4.5, 8))
    elif kind == "voice":
        payload["quantity"] = rng.choice((0.5, 1, 2, 3))
    else:
        payload["quantity"] = rng.choice((50, 200, 800, 1500))
    if rng.random() < 0.3:
        payload["model"] = rng.choice(("fast-v2", "hq-v3"))
    return payload


def op_charge(world: World, rng: random.Random, user: emu.User, *, hot: bool = False, keyed: float = 0.2) -> None:
    payload = charge_payload(rng)
    if rng.random() < keyed:
        payload["requestId"] = f"load-{uuid.uuid4().hex}"
    result = call(world, "validateAndDeductCredits", "charge", payload, user, hot=hot)
    if result.ok:
        body = result.result
        with world.lock:
            world.seen_charges.add(body["activityId"])
            world.open[body["activityId"]] = Activity(body["activityId"], user, payload["type"])
            if "requestId" in payload:
                world.keyed.append((user, payload, body))


def op_replay(world: World, rng: random.Random) -> None:
    with world.lock:
        if not world.keyed:
            entry = None
        else:
            entry = world.keyed[rng.randrange(len(world.keyed))]
    if entry is None:
        op_charge(world, rng, rng.choice(world.users), keyed=1.0)
        return
    user, payload, first = entry
    result = call(world, "validateAndDeductCredits", "replay", payload, user)
    if result.ok and result.result != first:
        world.replay_mismatches.append(f"{payload['requestId']}: {first} then {result.result}")


def op_status(world: World, rng: random.Random, *, hot: bool = False) -> None:
    with world.lock:
        pool = [a for a in world.open.values() if (a.user is world.hot) == hot and (hot or not a.busy)]
        if not pool:
            activity = None
        else:
            activity = rng.choice(pool)
            activity.busy = True
        finished = world.finished[rng.randrange(len(world.finished))] if world.finished and rng.random() < 0.04 else None
    if finished is not None:
        # Already final: must be refused as invalid_transition, nothing refunded twice.
        call(
            world,
            "updateAIActivityStatus",
            "status_on_final",
            {"activityId": finished.id, "status": "failed"},
            finished.user,
            hot=hot,
        )
    if activity is None:
        return
    roll = rng.random()
    if activity.status == "pending" and roll < 0.35:
        data: dict[str, Any] = {"activityId": activity.id, "status": "processing", "progress": rng.choice((10, 50, 90))}
    elif roll < 0.65:
        data = {"activityId": activity.id, "status": "completed"}
    elif roll < 0.85:
        data = {"activityId": activity.id, "status": "completed", "actualQuantity": _actual(activity.kind, rng)}
    else:
        data = {"activityId": activity.id, "status": "failed", "error": "model error (load)"}
    # The owner reports progress and plain completions; the generator what only it may report
    # (units produced, failures); an admin steps in now and then.
    trusted = "actualQuantity" in data or data["status"] == "failed"
    who = world.admin if rng.random() < 0.05 else world.generator if trusted else activity.user
    result = call(world, "updateAIActivityStatus", f"status_{data['status']}", data, who, hot=hot)
    with world.lock:
        activity.busy = False
        if result.ok:
            activity.status = data["status"]
        elif result.reason == "invalid_transition":
            activity.status = "final"  # another thread finished it first
        if activity.status in ("completed", "failed", "final") and world.open.pop(activity.id, None) is not None:
            world.finished.append(activity)


def _actual(kind: str, rng: random.Random) -> float | int:
    return {
        "image": rng.choice((0, 1, 2)),
        "video": rng.choice((0.5, 3, 12)),
        "voice": rng.choice((0.2, 1.5, 4)),
        "chat": rng.choice((10, 400, 3000)),
    }[kind]


def op_grant(world: World, rng: random.Random, *, clawback: bool = False, user: emu.User | None = None) -> None:
    target = user or rng.choice(world.users)
    amount = -rng.choice((5, 20, 50)) if clawback else rng.choice((100, 300, 1000))
    data: dict[str, Any] = {"userId": target.uid, "amount": amount, "reason": "load test"}
    if rng.random() < 0.3:
        data["requestId"] = f"grant-{uuid.uuid4().hex}"
    call(world, "grantCreditsToUser", "clawback" if clawback else "grant", data, world.admin)


def functions_now(world: World) -> dt.datetime:
    """The functions' clock: real time plus the offset the clock thread set."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=world.clock_offset)


def op_grant_expiring(world: World, rng: random.Random) -> None:
    """A grant that lapses: minutes to days ahead (a clock step may overtake it first, in
    which case the backend refuses it as in the past: counted as invalid-argument)."""
    target = world.hot if rng.random() < 0.2 else rng.choice(world.users)
    ahead = rng.choice((600, 3600, 4 * 3600, DAY, 5 * DAY, 40 * DAY))
    expires = functions_now(world) + dt.timedelta(seconds=ahead)
    data: dict[str, Any] = {
        "userId": target.uid,
        "amount": rng.choice((30, 120, 500)),
        "reason": "load test",
        "source": rng.choice(("promo", "admin")),
        "expiresAt": expires.isoformat().replace("+00:00", "Z"),
        "requestId": f"grant-exp-{uuid.uuid4().hex}",
    }
    call(world, "grantCreditsToUser", "grant_expiring", data, world.admin)


def op_plan_change(world: World, rng: random.Random) -> None:
    target = rng.choice(world.users)
    plan = rng.choice(("loadfree", "loadpro", "loadfree", None))
    call(world, "setUserPlan", "plan_change", {"userId": target.uid, "planId": plan}, world.admin)


def op_promo_job(world: World, rng: random.Random) -> None:
    targets = [u.uid for u in rng.sample(world.users, k=min(3, len(world.users)))]
    expires = functions_now(world) + dt.timedelta(seconds=rng.choice((3600, 3 * DAY)))
    data = {
        "userIds": targets,
        "amount": 25,
        "reason": "load test promo",
        "expiresAt": expires.isoformat().replace("+00:00", "Z"),
        "requestId": f"promo-{uuid.uuid4().hex}",
    }
    call(world, "grantPromoCredits", "promo_job", data, world.admin)


def run_expiry_job(world: World, client: Any) -> dict[str, Any]:
    """The hourly expiry job, in process, at the functions' time (as its schedule would)."""
    report = maintenance.expire_buckets(client, ManualClock(functions_now(world)))
    row = {
        "offset_days": round(world.clock_offset / DAY, 3),
        "expiredCredits": report.expired_credits,
        "expiredUsers": report.expired_users,
        "skipped": report.skipped_count,
        "errors": len(report.errors),
        "more": report.more,
    }
    world.expiry_runs.append(row)
    return row


def clock_thread(world: World, client: Any) -> None:
    """Move the functions' clock forward in steps while the load runs; after each step, the
    expiry job records what lapsed for users who make no call."""
    steps = iter(CLOCK_STEPS)
    while time.monotonic() < world.deadline:
        time.sleep(CLOCK_EVERY)
        step = next(steps, None)
        if step is None or time.monotonic() >= world.deadline:
            return
        world.clock_offset += step
        emu.set_clock_offset(world.clock_offset)
        try:
            row = run_expiry_job(world, client)
        except Exception as err:  # reported, and the checks still run
            row = {"offset_days": round(world.clock_offset / DAY, 3), "error": repr(err)}
            world.expiry_runs.append(row)
        print(f"  clock +{step / 3600:.0f} h (offset {world.clock_offset / DAY:.2f} days): expiry job {row}")


def op_usage_stats(world: World, rng: random.Random) -> None:
    call(world, "getUsageStats", "usage_stats", {}, world.admin)


def op_config_update(world: World, rng: random.Random) -> None:
    with world.lock:
        world.config_flip += 1
        days = 90 + world.config_flip % 2
    call(world, "updateCreditConfiguration", "config_update", {"retentionDays": days}, world.admin)


def op_user_status(world: World, rng: random.Random) -> None:
    target = rng.choice(world.flagged)
    with world.lock:
        suspend = target.uid not in world.suspended
        (world.suspended.add if suspend else world.suspended.discard)(target.uid)
    data = {"userId": target.uid, "status": "suspended" if suspend else "active", "reason": "load test"}
    call(world, "setUserStatus", "user_status", data, world.admin)


def op_ip_block(world: World, rng: random.Random) -> None:
    with world.lock:
        world.ip_blocked = not world.ip_blocked
        blocked = world.ip_blocked
    data = {"ip": world.blocked_ip_user.ip, "blocked": blocked, "reason": "load test"}
    call(world, "setIpBlock", "ip_block", data, world.admin)


def op_moderated(world: World, rng: random.Random) -> None:
    user = rng.choice(world.bad_actors)
    call(world, "validateAndDeductCredits", "moderated", {"type": "image", "prompt": rng.choice(REJECTED_PROMPTS)}, user)


def op_malformed(world: World, rng: random.Random) -> None:
    user = rng.choice(world.users)
    name, data = rng.choice(
        (
            ("validateAndDeductCredits", {"type": "hologram", "prompt": "x"}),
            ("validateAndDeductCredits", {"type": "chat", "prompt": "no quantity"}),
            ("updateAIActivityStatus", {"activityId": "no/such", "status": "completed"}),
            ("updateAIActivityStatus", {"activityId": f"missing-{uuid.uuid4().hex}", "status": "failed"}),
            ("getUsageStats", {}),  # not an admin: permission-denied
        )
    )
    call(world, name, "malformed", data, user)


def regular_thread(world: World, seed: int) -> None:
    rng = random.Random(seed)
    ops = list(MIX)
    weights = [MIX[o] for o in ops]
    while world.take():
        op = rng.choices(ops, weights=weights)[0]
        if op == "charge":
            op_charge(world, rng, rng.choice(world.users))
        elif op == "replay":
            op_replay(world, rng)
        elif op == "status":
            op_status(world, rng)
        elif op == "grant":
            # A third of the grants top up the hot user while its threads charge it.
            op_grant(world, rng, user=world.hot if rng.random() < 0.33 else None)
        elif op == "clawback":
            op_grant(world, rng, clawback=True, user=world.hot if rng.random() < 0.33 else None)
        elif op == "usage_stats":
            op_usage_stats(world, rng)
        elif op == "config_read":
            config_read(world, rng.choice(world.users))
        elif op == "config_update":
            op_config_update(world, rng)
        elif op == "user_status":
            op_user_status(world, rng)
        elif op == "ip_block":
            op_ip_block(world, rng)
        elif op == "moderated":
            op_moderated(world, rng)
        elif op == "grant_expiring":
            op_grant_expiring(world, rng)
        elif op == "plan_change":
            op_plan_change(world, rng)
        elif op == "promo_job":
            op_promo_job(world, rng)
        else:
            op_malformed(world, rng)


def hot_thread(world: World, seed: int) -> None:
    """Several of these run at once on the same user: charges and racing status updates."""
    rng = random.Random(seed)
    while world.take():
        if rng.random() < 0.7:
            op_charge(world, rng, world.hot, hot=True, keyed=0.1)
        else:
            op_status(world, rng, hot=True)


# ------------------------------------------------------------------ set-up, checks, report


def setup(args: argparse.Namespace) -> tuple[emu.User, list[emu.User], emu.User]:
    admin = emu.make_admin(f"load-admin-{uuid.uuid4().hex[:8]}@example.com")
    with ThreadPoolExecutor(max_workers=8) as pool:
        users = list(pool.map(lambda _i: emu.sign_up(), range(args.users)))
    hot = emu.sign_up()
    return admin, users, hot


def warm_up(admin: emu.User, user: emu.User, width: int) -> None:
    """Start the Functions emulator's workers before measuring (one per concurrent request,
    per callable), with calls refused before any Firestore access."""
    floors = {
        "validateAndDeductCredits": (user, {"type": "image"}),
        "updateAIActivityStatus": (user, {"activityId": "x"}),
        "grantCreditsToUser": (admin, {}),
        "getUsageStats": (admin, {"unexpected": 1}),
        "updateCreditConfiguration": (admin, {"unknownKey": 1}),
        "setUserStatus": (admin, {}),
        "setIpBlock": (admin, {}),
        "setUserPlan": (admin, {}),
        "grantPromoCredits": (admin, {}),
    }
    for name, (who, data) in floors.items():
        w = width if name in ("validateAndDeductCredits", "updateAIActivityStatus") else min(width, 4)
        benchlib.warm_callable(name, lambda name=name, who=who, data=data: emu.call(name, data, who, timeout=120), w)


def book_drifts(client: Any) -> dict[str, Any]:
    """Every user's drift (ledger sum minus ``credits``) and every bucket's (its legs in the
    ledger minus its ``remaining``; 0 for a bucket that left the map), counted."""
    legs: dict[tuple[str, str], int] = defaultdict(int)
    sums: dict[str, int] = defaultdict(int)
    for snap in client.collection(db.CREDIT_LOGS).stream():
        e = snap.to_dict() or {}
        uid = str(e.get("userId"))
        sums[uid] += int(e.get("delta", 0))
        moves = e.get("buckets") or []
        for m in moves:
            legs[(uid, m["bucketId"])] += int(m["delta"])
        if not moves and e.get("delta"):
            legs[(uid, f"legacy_{uid}")] += int(e["delta"])
    users = {s.id: (s.to_dict() or {}) for s in client.collection(db.USERS).stream()}
    user_drift = {uid: sums.get(uid, 0) - int(u.get("credits", 0)) for uid, u in users.items()}
    bucket_drift: dict[tuple[str, str], int] = {}
    for uid, u in users.items():
        for bid, b in (u.get("buckets") or {}).items():
            bucket_drift[(uid, bid)] = legs.get((uid, bid), 0) - int(b.get("remaining", 0))
    for key, total in legs.items():
        if key not in bucket_drift:
            bucket_drift[key] = total  # spent or expired: its legs must sum to 0
    held = [len(u.get("buckets") or {}) for u in users.values()]
    return {
        "users": len(users),
        "users_drifting": sum(1 for d in user_drift.values() if d),
        "max_user_drift": max((abs(d) for d in user_drift.values()), default=0),
        "buckets": len(bucket_drift),
        "buckets_held": sum(held),
        "max_buckets_held": max(held, default=0),
        "buckets_drifting": sum(1 for d in bucket_drift.values() if d),
        "max_bucket_drift": max((abs(d) for d in bucket_drift.values()), default=0),
        "detail": [f"{uid}/{bid}: {d}" for (uid, bid), d in bucket_drift.items() if d][:10]
        + [f"{uid}: {d}" for uid, d in user_drift.items() if d][:10],
    }


def check(client: Any, world: World) -> dict[str, Any]:
    started = time.perf_counter()
    final_expiry = run_expiry_job(world, client)
    drifts = reconcile(client)
    books = book_drifts(client)
    entries = [s.to_dict() or {} for s in client.collection(db.CREDIT_LOGS).stream()]
    by_reason = Counter(str(e.get("reason")) for e in entries)
    expired_credits = -sum(int(e.get("delta", 0)) for e in entries if e.get("reason") == "expired")
    activities = {s.id: (s.to_dict() or {}) for s in client.collection(db.AI_ACTIVITY).stream()}
    usage = {s.id for s in client.collection(db.USAGE_LOGS).stream()}
    final = {i for i, a in activities.items() if a.get("status") in ("completed", "failed")}
    open_ = set(activities) - final
    missing_usage = sorted(final - usage)
    usage_for_open = sorted(usage & open_)
    usage_orphans = sorted(usage - set(activities))
    unseen = sorted(i for i in world.seen_charges if i not in activities)
    hot_snap = client.collection(db.USERS).document(world.hot.uid).get()
    hot_entries = list(client.collection(db.CREDIT_LOGS).where(filter=FieldFilter("userId", "==", world.hot.uid)).stream())
    result = {
        "reconcile_drifts": len(drifts),
        "drift_detail": [vars(d) for d in drifts[:20]],
        "books": books,
        "final_expiry_job": final_expiry,
        "expiry_runs": world.expiry_runs,
        "clock_offset_days": world.clock_offset / DAY,
        "ledger_by_reason": dict(by_reason),
        "expired_credits": expired_credits,
        "activities": len(activities),
        "final_activities": len(final),
        "open_activities": len(open_),
        "usage_logs": len(usage),
        "final_without_usage_log": len(missing_usage),
        "open_with_usage_log": len(usage_for_open),
        "usage_log_without_activity": len(usage_orphans),
        "client_charges_missing": len(unseen),
        "replays_checked": sum(1 for s in world.samples if s.op == "replay" and s.code == "OK"),
        "replay_mismatches": len(world.replay_mismatches),
        "replay_mismatch_detail": world.replay_mismatches[:10],
        "hot_user": {
            "balance": (hot_snap.to_dict() or {}).get("credits") if hot_snap.exists else None,
            "ledger_entries": len(hot_entries),
            "ledger_sum": sum(int((e.to_dict() or {}).get("delta", 0)) for e in hot_entries),
        },
        "seconds": time.perf_counter() - started,
    }
    result["ok"] = (
        not drifts
        and not books["users_drifting"]
        and not books["buckets_drifting"]
        and not missing_usage
        and not usage_for_open
        and not usage_orphans
        and not unseen
        and not world.replay_mismatches
        and result["hot_user"]["balance"] == result["hot_user"]["ledger_sum"]
    )
    return result


def summarise(samples_in: list[Sample], elapsed: float) -> dict[str, Any]:
    """Figures over the measured samples (started after the warm-up phase)."""
    by_name: dict[str, list[Sample]] = defaultdict(list)
    for s in samples_in:
        by_name[s.name].append(s)
    per_callable = {}
    for name in [*CALLABLES, CONFIG_READ]:
        samples = by_name.get(name, [])
        ok = [s.seconds for s in samples if s.code == "OK"]
        per_callable[name] = {
            "requests": len(samples),
            "per_second": len(samples) / elapsed if elapsed else 0.0,
            "all": benchlib.summary_ms([s.seconds for s in samples]),
            "ok": benchlib.summary_ms(ok),
            "codes": dict(Counter(s.code for s in samples)),
            "reasons": dict(Counter(s.reason or s.code for s in samples if s.code != "OK")),
        }
    hot = [s for s in samples_in if s.hot]
    codes = Counter(s.code for s in samples_in)
    first = min((s.at for s in samples_in), default=0.0)
    timeline = Counter(int((s.at - first) // 10) * 10 for s in samples_in)
    return {
        "requests": len(samples_in),
        "elapsed_s": elapsed,
        "throughput_per_s": len(samples_in) / elapsed if elapsed else 0.0,
        "all": benchlib.summary_ms([s.seconds for s in samples_in]),
        "codes": dict(codes),
        "reasons": dict(Counter(s.reason or s.code for s in samples_in if s.code != "OK")),
        "per_callable": per_callable,
        "by_op": {
            op: {
                "n": len(v),
                "codes": dict(Counter(s.reason or s.code for s in v)),
                **benchlib.summary_ms([s.seconds for s in v]),
            }
            for op, v in sorted(_group(samples_in, lambda s: s.op).items())
        },
        "hot_user": {
            "requests": len(hot),
            "outcomes": dict(Counter(s.reason or s.code for s in hot)),
            "charge": benchlib.summary_ms([s.seconds for s in hot if s.op == "charge"]),
            "status": benchlib.summary_ms([s.seconds for s in hot if s.op.startswith("status")]),
        },
        "regular_users": {
            "charge": benchlib.summary_ms([s.seconds for s in samples_in if s.op == "charge" and not s.hot]),
            "status": benchlib.summary_ms([s.seconds for s in samples_in if s.op.startswith("status") and not s.hot]),
        },
        "requests_per_10s": [timeline[k] for k in sorted(timeline)],
    }


def _group(samples: list[Sample], key: Any) -> dict[str, list[Sample]]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[key(s)].append(s)
    return groups


def report(summary: dict[str, Any], checks: dict[str, Any]) -> None:
    rows = []
    for name, c in summary["per_callable"].items():
        if not c["requests"]:
            continue
        rows.append(
            (
                name,
                c["requests"],
                c["per_second"],
                c["all"]["p50_ms"],
                c["all"]["p99_ms"],
                c["ok"]["p50_ms"],
                c["ok"]["p99_ms"],
                ", ".join(f"{k} {v}" for k, v in sorted(c["codes"].items(), key=lambda kv: -kv[1])),
            )
        )
    print(
        benchlib.table(
            ["callable", "requests", "req/s", "p50 ms", "p99 ms", "OK p50", "OK p99", "codes"],
            rows,
            f"Per callable ({summary['requests']} requests in {summary['elapsed_s']:.0f} s:"
            f" {summary['throughput_per_s']:.1f} req/s; all p50 {summary['all']['p50_ms']:.0f} ms,"
            f" p99 {summary['all']['p99_ms']:.0f} ms)",
        )
    )
    print(
        benchlib.table(
            ["error code", "count"],
            sorted(((k, v) for k, v in summary["codes"].items() if k != "OK"), key=lambda kv: -kv[1]),
            "Errors by code",
        )
    )
    print(
        benchlib.table(
            ["reason", "count"],
            sorted(summary["reasons"].items(), key=lambda kv: -kv[1]),
            "Refusals by details.reason (transport failures by http status)",
        )
    )
    hot, regular = summary["hot_user"], summary["regular_users"]
    print(
        f"\nHot user: {hot['requests']} requests from several threads at once; outcomes {hot['outcomes']};"
        f" charge p50 {hot['charge']['p50_ms']:.0f} ms, p99 {hot['charge']['p99_ms']:.0f} ms"
        f" (regular users' charges: p50 {regular['charge']['p50_ms']:.0f} ms, p99 {regular['charge']['p99_ms']:.0f} ms)"
    )
    c = checks
    print(
        benchlib.table(
            ["check", "value", "expected"],
            [
                ("reconcile drifts (every ledger invariant)", c["reconcile_drifts"], 0),
                ("finished generations without usage_logs entry", c["final_without_usage_log"], 0),
                ("open generations with a usage_logs entry", c["open_with_usage_log"], 0),
                ("usage_logs entries without activity", c["usage_log_without_activity"], 0),
                ("charges a client saw, missing in Firestore", c["client_charges_missing"], 0),
                ("replays answered differently", c["replay_mismatches"], 0),
                ("replays checked", c["replays_checked"], ">0"),
                ("hot user: balance / ledger sum", f"{c['hot_user']['balance']} / {c['hot_user']['ledger_sum']}", "equal"),
                ("INTERNAL errors", summary["codes"].get("INTERNAL", 0), 0),
                ("activities (final / open)", f"{c['activities']} ({c['final_activities']} / {c['open_activities']})", ""),
            ],
            "Checks after the load",
        )
    )
    b = c["books"]
    print(
        benchlib.table(
            ["books by user and by bucket", "value", "expected"],
            [
                ("users checked", b["users"], ""),
                ("users whose ledger sum differs from credits", b["users_drifting"], 0),
                ("largest user drift (credits)", b["max_user_drift"], 0),
                ("buckets checked (held now + spent or expired)", b["buckets"], ""),
                ("buckets whose legs differ from remaining", b["buckets_drifting"], 0),
                ("largest bucket drift (credits)", b["max_bucket_drift"], 0),
                ("buckets held at the end (most by one user)", f"{b['buckets_held']} ({b['max_buckets_held']})", "<= 64 each"),
                ("functions' clock moved (days)", f"{c['clock_offset_days']:.2f}", ""),
                ("credits expired (expired entries)", f"{c['expired_credits']} ({c['ledger_by_reason'].get('expired', 0)})", ""),
                ("plan allowances granted", c["ledger_by_reason"].get("plan_allowance", 0), ""),
                ("promo grants (jobs)", c["ledger_by_reason"].get("promo_grant", 0), ""),
                (
                    "expiry job runs (credits expired by the job)",
                    f"{len(c['expiry_runs'])} ({sum(r.get('expiredCredits', 0) for r in c['expiry_runs'])})",
                    "",
                ),
            ],
            "Books after the load (drift per user and per bucket)",
        )
    )
    for line in b["detail"]:
        print(f"  DRIFT {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180, help="seconds of load (default 180)")
    parser.add_argument("--users", type=int, default=100, help="regular users (default 100)")
    parser.add_argument("--threads", type=int, default=8, help="threads over the regular users (default 8)")
    parser.add_argument("--hot-threads", type=int, default=4, help="threads on the one hot user (default 4)")
    parser.add_argument("--max-requests", type=int, default=60_000, help="stop after this many requests (default 60000)")
    parser.add_argument("--warmup", type=float, default=15, help="seconds of load before measuring (default 15)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--stats-weight",
        type=int,
        default=MIX["usage_stats"],
        help=f"relative weight of getUsageStats calls in the mix (default {MIX['usage_stats']}; 0 leaves them out)",
    )
    parser.add_argument("--default-limits", action="store_true", help="keep the shipped rate limits (per hour)")
    parser.add_argument("--json", help="write all figures to this file")
    args = parser.parse_args()
    if args.duration <= 0 or args.duration > 3600 or args.max_requests <= 0 or not 0 <= args.warmup <= 300:
        parser.error("--duration must be in (0, 3600], --warmup in [0, 300] and --max-requests positive")
    if args.stats_weight < 0:
        parser.error("--stats-weight must not be negative")

    benchlib.require_emulators()
    data: dict[str, Any] = {"machine": benchlib.machine(), "params": vars(args)}
    client = db.make_client(emu.PROJECT)
    t0 = time.perf_counter()

    admin, users, hot = setup(args)
    MIX["usage_stats"] = args.stats_weight
    rng = random.Random(args.seed)
    flagged = rng.sample(users, k=min(2, len(users)))
    blocked_ip_user = rng.choice([u for u in users if u not in flagged] or users)
    bad_actors = rng.sample([u for u in users if u not in flagged and u is not blocked_ip_user] or users, k=min(3, len(users)))
    changes: dict[str, Any] = {"plans": PLANS}
    if not args.default_limits:
        changes.update(LOAD_LIMITS)
    r = emu.call("updateCreditConfiguration", changes, admin, timeout=120)
    if not r.ok:
        raise SystemExit(f"could not set the load's plans and rate limits: {r.status} {r.body}")
    emu.set_clock_offset(0)
    # Half the users start with a grant (users/{uid} created by the grant); the others meet
    # the backend through their first charge.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(
                lambda u: emu.call("grantCreditsToUser", {"userId": u.uid, "amount": 2000, "reason": "load set-up"}, admin),
                [*users[::2], hot],
            )
        )
        # A quarter of the users start on a plan (renewed lazily on their first call of a period).
        list(
            pool.map(
                lambda u: emu.call("setUserPlan", {"userId": u.uid, "planId": rng.choice(tuple(PLANS))}, admin),
                users[1::4],
            )
        )
    data["setup_s"] = time.perf_counter() - t0
    print(f"set-up: {len(users)} users + 1 hot user + admin in {data['setup_s']:.1f} s")

    t1 = time.perf_counter()
    warm_up(admin, users[1], args.threads + args.hot_threads)
    data["warmup_s"] = time.perf_counter() - t1

    world = World(
        users=users,
        admin=admin,
        generator=emu.make_generator(f"load-generator-{uuid.uuid4().hex[:8]}@example.com"),
        hot=hot,
        flagged=flagged,
        blocked_ip_user=blocked_ip_user,
        bad_actors=bad_actors,
        deadline=time.monotonic() + args.warmup + args.duration,
        max_requests=args.max_requests,
    )
    measure_from = time.monotonic() + args.warmup
    print(
        f"load: {args.threads} threads over {len(users)} users + {args.hot_threads} on the hot user:"
        f" {args.warmup:.0f} s of warm-up load (not counted), then {args.duration:.0f} s measured"
    )
    threads = [threading.Thread(target=regular_thread, args=(world, args.seed + i), daemon=True) for i in range(args.threads)]
    threads += [
        threading.Thread(target=hot_thread, args=(world, args.seed + 1000 + i), daemon=True) for i in range(args.hot_threads)
    ]
    threads.append(threading.Thread(target=clock_thread, args=(world, client), daemon=True))
    for t in threads:
        t.start()
    last = time.monotonic()
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        now = time.monotonic()
        if now - last >= 15 and now > measure_from:
            last = now
            counted = [x for x in world.samples if x.at >= measure_from]
            bad = Counter(
                x.code for x in counted if x.code in ("INTERNAL", "ABORTED", "UNAVAILABLE") or x.code.startswith("http")
            )
            print(
                f"  {now - measure_from:5.0f} s: {len(counted)} requests ({len(counted) / (now - measure_from):.1f}/s) {dict(bad)}"
            )
    elapsed = time.monotonic() - measure_from

    # Put things back as they were (not measured): flagged users active, the address unblocked.
    for u in flagged:
        emu.call("setUserStatus", {"userId": u.uid, "status": "active", "reason": "load end"}, admin)
    emu.call("setIpBlock", {"ip": blocked_ip_user.ip, "blocked": False, "reason": "load end"}, admin)

    measured = [x for x in world.samples if x.at >= measure_from]
    data["warmup_load"] = {
        "requests": len(world.samples) - len(measured),
        "codes": dict(Counter(x.code for x in world.samples if x.at < measure_from)),
    }
    data["load"] = summarise(measured, elapsed)
    print("checking every invariant ...")
    data["checks"] = check(client, world)
    data["total_s"] = time.perf_counter() - t0
    report(data["load"], data["checks"])
    print(
        f"\n(total {data['total_s']:.0f} s: set-up {data['setup_s']:.0f}, worker warm-up {data['warmup_s']:.0f},"
        f" warm-up load {args.warmup:.0f}, measured load {elapsed:.0f}, checks {data['checks']['seconds']:.0f})"
    )
    benchlib.write_json(args.json, data)
    internal = sum(1 for x in world.samples if x.code == "INTERNAL")  # warm-up load included
    data["internal_errors_including_warmup"] = internal
    ok = data["checks"]["ok"] and internal == 0
    print("RESULT:", "all checks passed" if ok else "CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
