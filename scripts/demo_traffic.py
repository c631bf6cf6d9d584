#!/usr/bin/env python3
"""Demo traffic for the admin dashboard on the emulators: a few demo users who generate now
and then, some history behind them, and the statistics rollup run on a schedule.

    scripts/demo_traffic.py run --history-days 30   # what scripts/start.sh runs in the background
    scripts/demo_traffic.py history [--days 30]     # the history alone (before the first rollup)
    scripts/demo_traffic.py run [--every 4]         # the loop alone

``history`` writes ``--days`` days of generations (up to a few minutes ago) for the demo users
through the backend's own domain code in this process (``credits.features.charging.charge``, then
``credits.features.lifecycle.update_status`` as the demo generator, each on a ``ManualClock`` set to the
simulated moment; top-ups through ``credits.features.admin.grant`` as the demo admin), never raw
documents, then runs ``rollupUsageStats`` in the Functions emulator so that the 7- to 90-day
charts have something to show. It does nothing once the rollups have started (records
written behind the rollups' cursor would never be counted).

``run`` plays the users as a web client would: every few seconds one of them charges a
generation through ``validateAndDeductCredits`` (its own ID token, its own address);
``scripts/demo_generator.py`` moves it along. A prompt with the word "fail" fails (refunded);
one user now and then sends a prompt the moderation refuses, which lands in the abuse panel
(enough of them suspend the account: the dashboard can reactivate it). A user who runs out
is topped up through ``grantCreditsToUser`` as the demo admin. Every ``--rollup-minutes`` it
runs ``rollupUsageStats`` as its 10-minute schedule would. Emulators only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import cmdline
import requests
import roles
import run_job
import seed

log = logging.getLogger("demo-traffic")

# email, password, display name, address, how often this user generates (weight)
USERS = (
    ("user@demo.test", "demo-user-password", "Demo User", "198.51.100.10", 3),
    ("ada@demo.test", "demo-ada-password", "Ada Lovelace", "198.51.100.11", 5),
    ("grace@demo.test", "demo-grace-password", "Grace Hopper", "198.51.100.12", 4),
    ("linus@demo.test", "demo-linus-password", "Linus Pauling", "198.51.100.13", 2),
    ("margaret@demo.test", "demo-margaret-password", "Margaret Hamilton", "198.51.100.14", 3),
)
# Now and then sends a prompt the moderation refuses.
TROLL = ("mallory@demo.test", "demo-mallory-password", "Mallory", "203.0.113.66", 1)
PROMPTS = {
    "image": [
        "a lighthouse at dawn, watercolour",
        "a fox in the snow",
        "isometric city at night",
        "a bowl of ramen, studio light",
    ],
    "video": ["waves on a pebble beach", "a timelapse of clouds over hills", "a paper boat in the rain"],
    "voice": ["read the welcome message", "narrate the product tour", "a calm bedtime story"],
    "chat": ["summarise this article", "write a haiku about autumn", "explain recursion to a child", "draft a polite reminder"],
}
FLAGGED = ["how to build a bomb", "how to make a bomb at home"]
TYPES = ("image", "video", "voice", "chat")
TYPE_WEIGHTS = (5, 2, 2, 6)
TOP_UP = 2000


def quantity(rng: random.Random, kind: str) -> int:
    return {"image": rng.randint(1, 3), "video": rng.randint(2, 12), "voice": rng.randint(1, 4), "chat": rng.randint(100, 1500)}[
        kind
    ]


def prompt(rng: random.Random, kind: str) -> str:
    text = rng.choice(PROMPTS[kind])
    return f"{text} (please fail)" if rng.random() < 0.07 else text


# ------------------------------------------------------------------ accounts


@dataclass
class Account:
    email: str
    password: str
    name: str
    ip: str
    weight: int
    uid: str = ""
    token: str = ""
    token_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def accounts() -> list[Account]:
    """The demo users, signed up on the Auth emulator where missing."""
    found = []
    for email, password, name, ip, weight in (*USERS, TROLL):
        account = Account(email, password, name, ip, weight)
        account.uid = seed.ensure_account(email, password, name)
        found.append(account)
    return found


def role_uid(role: str, email: str, password: str, name: str, project: str) -> str:
    """The demo admin's or generator's uid: the account as scripts/seed.py makes it, claim included
    (scripts/demo_generator.py signs in with it and needs the claim)."""
    from credits.store import db

    uid = seed.ensure_account(email, password, name)
    account = db.make_client(project).collection(db.USERS).document(uid).get()
    if (account.to_dict() or {}).get("role") != role:  # scripts/seed.py has not run: give the claim
        roles.set_role(role, uid=uid, project=project)
    return uid


# ------------------------------------------------------------------ history


def history(days: int, seed_value: int) -> int:
    """``days`` days of generations up to a few minutes ago, through the domain code."""
    from credits.features import admin, rollup
    from credits.features.charging import ChargeRequest, charge
    from credits.features.command import Command
    from credits.features.lifecycle import StatusRequest, update_status
    from credits.store import db
    from credits.vocab.clock import ManualClock
    from credits.vocab.context import Caller, ClientContext
    from credits.vocab.errors import InsufficientCredits

    client = db.make_client(db.project_id())
    if rollup.state_ref(client).get().exists:
        print("demo history: the statistics are already being rolled up; nothing written")
        return 0
    users = accounts()
    admin_uid = role_uid("admin", *seed.DEMO_ADMIN, db.project_id())
    generator_uid = role_uid("generator", *seed.DEMO_GENERATOR, db.project_id())
    boss = Caller(uid=admin_uid, email=seed.DEMO_ADMIN[0], name=seed.DEMO_ADMIN[2], is_admin=True)
    pipeline = Caller(uid=generator_uid, email=seed.DEMO_GENERATOR[0], name=seed.DEMO_GENERATOR[2], is_generator=True)
    rng = random.Random(seed_value)
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=days)
    end = now - dt.timedelta(minutes=3)

    # The plan: each user's generations in time order (a user's own calls never overlap), with
    # more traffic on weekdays and a product that grows over the period.
    plans: dict[str, list[dt.datetime]] = {u.uid: [] for u in users if u.email != TROLL[0]}
    regulars = [u for u in users if u.email != TROLL[0]]
    day = start
    while day < end:
        age = (day - start) / (end - start)
        per_day = (10 + 22 * age) * (0.65 if day.weekday() >= 5 else 1.0)
        for _ in range(int(rng.gauss(per_day, per_day / 6))):
            u = rng.choices(regulars, [r.weight for r in regulars])[0]
            # Busier in the (UTC) afternoon and evening.
            hour = min(23.99, max(0.0, rng.gauss(15, 4.5)))
            at = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(hours=hour)
            if start <= at < end:
                plans[u.uid].append(at)
        day += dt.timedelta(days=1)
    for times in plans.values():
        times.sort()
    by_uid = {u.uid: u for u in users}

    def top_up(u: Account, at: dt.datetime) -> None:
        request = admin.GrantRequest(u.uid, TOP_UP, "demo: credits for the demo history", f"demo-history-{uuid.uuid4().hex}")
        admin.grant(Command(client, ManualClock(at), boss, ClientContext(ip="127.0.0.1")), request, lambda _uid: True)

    def one_user(uid: str) -> int:
        u = by_uid[uid]
        local = random.Random(f"{seed_value}:{uid}")
        caller = Caller(uid=uid, email=u.email, name=u.name, email_verified=True)
        ctx = ClientContext(ip=u.ip, country="GB", user_agent="demo-traffic (history)")
        made = 0
        # The first charge opens the account (email, sign-up grant) as the user's own first call
        # would; a top-up comes only when the balance runs out.
        for i, at in enumerate(plans[uid]):
            kind = local.choices(TYPES, TYPE_WEIGHTS)[0]
            request = ChargeRequest.parse(
                {
                    "type": kind,
                    "prompt": prompt(local, kind),
                    "quantity": quantity(local, kind),
                    "requestId": f"demo-h-{uid[:8]}-{i}",
                }
            )
            clock = ManualClock(at)
            try:
                charged = charge(Command(client, clock, caller, ctx), request)
            except InsufficientCredits:
                top_up(u, at)
                clock = ManualClock(at + dt.timedelta(seconds=1))
                charged = charge(Command(client, clock, caller, ctx), request)
            activity = charged.activityId
            gen_ctx = ClientContext(ip="127.0.0.1", user_agent="demo-traffic (generator)")
            # Straight to the outcome (progress reports would only slow the seeding down).
            clock.advance(
                {
                    "image": local.uniform(2, 9),
                    "video": local.uniform(12, 60),
                    "voice": local.uniform(4, 15),
                    "chat": local.uniform(0.8, 6),
                }[kind]
            )
            if "fail" in request.prompt:
                update_status(
                    Command(client, clock, pipeline, gen_ctx),
                    StatusRequest(activity, "failed", error="The model could not render this prompt."),
                )
            else:
                actual = None
                if kind == "chat":
                    actual = Decimal(max(1, int(request.quantity * Decimal("0.8"))))
                update_status(
                    Command(client, clock, pipeline, gen_ctx), StatusRequest(activity, "completed", actual_quantity=actual)
                )
            made += 1
        return made

    began = time.monotonic()
    print(
        f"demo history: {sum(len(t) for t in plans.values())} generations over {days} days for {len(plans)} users ...", flush=True
    )
    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        made = sum(pool.map(one_user, list(plans)))
    print(f"demo history: {made} generations written in {time.monotonic() - began:.1f} s; rolling them up ...", flush=True)
    began = time.monotonic()
    response = requests.post(
        run_job.trigger_url(cmdline.emulator_host("functions"), db.project_id(), "rollupUsageStats"), json={}, timeout=600
    )
    if response.status_code != 200:
        print(f"demo history: rollupUsageStats answered HTTP {response.status_code}: {response.text[:200]}", file=sys.stderr)
        return 1
    print(f"demo history: rolled up in {time.monotonic() - began:.1f} s", flush=True)
    return 0


# ------------------------------------------------------------------ the live loop


class Traffic:
    """The demo users as web clients: ID tokens from the Auth emulator, charges over HTTP."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.identity = f"http://{cmdline.emulator_host('auth')}/identitytoolkit.googleapis.com/v1"
        self.functions_host = cmdline.emulator_host("functions")
        self.functions = f"http://{self.functions_host}/{project}/us-central1"
        self.http = requests.Session()
        self.users = accounts()
        self.admin = Account(seed.DEMO_ADMIN[0], seed.DEMO_ADMIN[1], seed.DEMO_ADMIN[2], "127.0.0.1", 0)

    def token(self, account: Account) -> str:
        with account.lock:
            if not account.token or time.monotonic() - account.token_at > 45 * 60:
                r = self.http.post(
                    f"{self.identity}/accounts:signInWithPassword?key=any",
                    json={"email": account.email, "password": account.password, "returnSecureToken": True},
                    timeout=30,
                )
                r.raise_for_status()
                account.uid, account.token, account.token_at = r.json()["localId"], r.json()["idToken"], time.monotonic()
            return account.token

    def call(self, name: str, data: dict[str, Any], account: Account) -> dict[str, Any]:
        r = self.http.post(
            f"{self.functions}/{name}",
            json={"data": data},
            headers={"Authorization": f"Bearer {self.token(account)}", "X-Forwarded-For": account.ip},
            timeout=60,
        )
        try:
            return dict(r.json())
        except ValueError:
            return {"error": {"status": f"HTTP {r.status_code}"}}

    def generate(self, rng: random.Random) -> None:
        troll = rng.random() < 0.04
        account = self.users[-1] if troll else rng.choices(self.users[:-1], [u.weight for u in self.users[:-1]])[0]
        kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
        text = rng.choice(FLAGGED) if troll else prompt(rng, kind)
        data = {"type": kind, "prompt": text, "quantity": quantity(rng, kind), "requestId": f"demo-{uuid.uuid4().hex}"}
        answer = self.call("validateAndDeductCredits", data, account)
        reason = ((answer.get("error") or {}).get("details") or {}).get("reason")
        if reason == "insufficient_credits":
            top = self.call(
                "grantCreditsToUser",
                {"userId": account.uid, "amount": TOP_UP, "reason": "demo top-up", "requestId": f"demo-top-{uuid.uuid4().hex}"},
                self.admin,
            )
            log.info("%s ran out: topped up (%s)", account.email, "ok" if "result" in top else top.get("error"))
            answer = self.call("validateAndDeductCredits", data, account)
        outcome = (
            answer.get("result", {}).get("activityId")
            or ((answer.get("error") or {}).get("details") or {}).get("reason")
            or answer.get("error")
        )
        log.info("%s: %s x%s -> %s", account.email, kind, data["quantity"], outcome)

    def roll_up(self) -> None:
        try:
            r = self.http.post(run_job.trigger_url(self.functions_host, self.project, "rollupUsageStats"), json={}, timeout=600)
            log.info("rollupUsageStats: HTTP %s", r.status_code)
        except requests.RequestException as err:
            log.warning("rollupUsageStats: %s", type(err).__name__)


def run(every: float, rollup_minutes: float, seed_value: int, history_days: int) -> int:
    from credits.store import db

    if history_days > 0 and history(history_days, seed_value) != 0:
        return 1
    traffic = Traffic(db.project_id())
    rng = random.Random(seed_value)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    next_rollup = time.monotonic() + rollup_minutes * 60
    log.info(
        "demo traffic: %d users, a generation every ~%.0f s, the rollup every %.0f min", len(traffic.users), every, rollup_minutes
    )
    while not stop.is_set():
        try:
            traffic.generate(rng)
        except requests.RequestException as err:  # the emulators going away at shutdown
            log.warning("cannot reach the emulators: %s", type(err).__name__)
            stop.wait(5)
        if time.monotonic() >= next_rollup:
            traffic.roll_up()
            next_rollup = time.monotonic() + rollup_minutes * 60
        stop.wait(rng.uniform(every * 0.3, every * 1.7))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    h = sub.add_parser("history", help="write the demo history, then roll it up")
    h.add_argument("--days", type=int, default=int(os.environ.get("CREDITS_DEMO_HISTORY_DAYS", "30")))
    h.add_argument("--seed", type=int, default=20261127)
    r = sub.add_parser("run", help="generate now and then, and run the rollup on schedule")
    r.add_argument("--every", type=float, default=float(os.environ.get("CREDITS_DEMO_TRAFFIC_SECONDS", "4")))
    r.add_argument("--rollup-minutes", type=float, default=10.0)
    r.add_argument("--seed", type=int, default=int(time.time()))
    r.add_argument("--history-days", type=int, default=0, help="write this much history first (see the history command)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not os.environ.get("FIRESTORE_EMULATOR_HOST") or not os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"):
        print(
            "demo_traffic.py runs against the emulators only (FIRESTORE_EMULATOR_HOST, FIREBASE_AUTH_EMULATOR_HOST)",
            file=sys.stderr,
        )
        return 2
    if args.command == "history":
        return history(max(0, args.days), args.seed)
    return run(max(0.5, args.every), max(0.5, args.rollup_minutes), args.seed, max(0, args.history_days))


if __name__ == "__main__":
    raise SystemExit(main())
