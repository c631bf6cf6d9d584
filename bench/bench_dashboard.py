"""Is the admin dashboard's Live AI tab responsive while 1,000 generations arrive in a minute?

    bench/run.sh bench/bench_dashboard.py [--activities 1000] [--seconds 60] [--control-seconds 20]
                                          [--profile] [--json bench/results/dashboard.json]

Runs against the Emulator Suite that ``bench/run.sh`` starts (Hosting included): the dashboard
(web/dist/admin) in Debian's headless Chromium, signed in as an admin. Measured in the page
(an init script, installed before the dashboard's own code runs):

- write-to-card latency: for each generation card, the wall time from its ``createdAt`` (set
  just before the charge commits) to the first animation frame after the card is in the
  document (``Date.now()`` in a requestAnimationFrame callback after a MutationObserver saw it);
- long tasks (PerformanceObserver ``longtask``: main-thread tasks over 50 ms);
- animation-frame gaps (a requestAnimationFrame loop: 16.7 ms at 60 Hz when the page keeps up);
- input: every 2 s the bench clicks an audit entry open or shut (a real input event through the
  browser) and the Event Timing API reports how long until the next paint;
- bytes received by the page (the Chrome DevTools protocol's Network.dataReceived);
- with ``--profile``, where the main thread's time went (the DevTools CPU profiler), by script.

The load: generations charged evenly by the backend's own domain code in this process
(``credits.features.charging.charge`` on the wall clock, 40 users), each moved to ``processing`` about
0.6 s later and ``completed`` about 1.8 s later as the generator
(``credits.features.lifecycle.update_status``): three writes per generation in the stream's window.

Phases, in one run: the Live AI tab idle for 10 s (the baseline); the Live AI tab under
``--activities`` over ``--seconds``; then, at the same rate for ``--control-seconds`` each, the
Credits tab with the stream's very query listened to and nothing rendered (what the Firestore
SDK costs alone), and the Credits tab with no listener (what the load costs the machine). The
figures are printed per phase, with the loaded Live AI tab against the idle one as ratios.

The Firestore emulator answers a change in a limited query by sending the listener the query's
whole result again (measured here: about 80 kB per write for the newest 50, 8 kB for the newest
5), where Firestore sends the changed document only: the SDK's share of the page's time is
larger here than it would be against the real service.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import benchlib
import requests
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.features.lifecycle import StatusRequest, update_status
from credits.store import db
from credits.vocab.clock import SystemClock
from credits.vocab.context import Caller, ClientContext

from tests.support import emulators as emu

CHROMIUM = os.environ.get("CREDITS_CHROMIUM", "/usr/bin/chromium")
USERS = 40
IDLE_SECONDS = 10.0
TYPES = ("image", "video", "voice", "chat")

# Installed before the page's own scripts: the measurements, kept in window.__bench.
INSTRUMENT = """
(() => {
  const b = window.__bench = { longTasks: [], frames: [], cards: [], events: [], marks: {} };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longTasks.push({ at: e.startTime, ms: e.duration });
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { b.noLongTask = String(e); }
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.events.push({ at: e.startTime, name: e.name, ms: e.duration, delay: e.processingStart - e.startTime });
    }).observe({ type: "event", durationThreshold: 16, buffered: true });
  } catch (e) { b.noEventTiming = String(e); }
  let last = 0;
  const loop = (t) => { if (last) b.frames.push({ at: t, gap: t - last }); last = t; requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
  const seen = new Set();
  const watch = () => {
    new MutationObserver((records) => {
      const fresh = [];
      for (const r of records) for (const n of r.addedNodes) {
        if (n.nodeType === 1 && n.dataset && n.dataset.testid === "activity-card" && !seen.has(n.dataset.activityId)) {
          seen.add(n.dataset.activityId);
          fresh.push(n);
        }
      }
      if (fresh.length) requestAnimationFrame(() => {
        const now = Date.now(), at = performance.now();
        for (const n of fresh) b.cards.push({ id: n.dataset.activityId, created: Number(n.dataset.createdMs), shown: now, at });
      });
    }).observe(document.body, { childList: true, subtree: true });
  };
  if (document.body) watch(); else document.addEventListener("DOMContentLoaded", watch);
})();
"""


def hosting_origin() -> str:
    hub = os.environ.get("FIREBASE_EMULATOR_HUB")
    if hub:
        info = requests.get(f"http://{hub}/emulators", timeout=10).json().get("hosting")
        if info:
            return f"http://{info['host']}:{info['port']}"
    return f"http://127.0.0.1:{5000 + int(os.environ.get('CREDITS_EMULATOR_PORT_OFFSET', '0'))}"


class Writer:
    """Generations through the domain code, in this process, on the wall clock."""

    def __init__(self, seed: int) -> None:
        self.client = db.make_client(emu.PROJECT)
        self.clock = SystemClock()
        self.rng = random.Random(seed)
        run = uuid.uuid4().hex[:6]
        self.users = [
            (Caller(uid=f"bd-{run}-{i}", email=f"load{i}@bench.test", name=f"Load {i}"), ClientContext(ip=f"198.19.{i}.{10 + i}"))
            for i in range(USERS)
        ]
        self.pipeline = Caller(uid="bench-generator", email="generator@bench.test", is_generator=True)
        self.errors: list[str] = []
        self.seconds = float("nan")
        self.charged = 0
        self.updates = 0
        self.lock = threading.Lock()

    def one(self, i: int, timers: ThreadPoolExecutor) -> None:
        caller, ctx = self.users[i % USERS]
        kind = TYPES[i % 4]
        quantity = {"image": 1, "video": 4, "voice": 2, "chat": 800}[kind]
        request = ChargeRequest.parse({"type": kind, "prompt": f"bench prompt {i}", "quantity": quantity})
        try:
            activity = charge(Command(self.client, self.clock, caller, ctx), request).activityId
        except Exception as err:  # counted and reported, never hidden
            with self.lock:
                self.errors.append(f"charge: {type(err).__name__}")
            return
        with self.lock:
            self.charged += 1
        timers.submit(self.later, 0.6, activity, StatusRequest(activity, "processing", progress=Decimal(50)))
        timers.submit(self.later, 1.8, activity, StatusRequest(activity, "completed"))

    def later(self, delay: float, activity: str, request: StatusRequest) -> None:
        time.sleep(delay)
        try:
            update_status(Command(self.client, self.clock, self.pipeline, ClientContext(ip="127.0.0.1")), request)
            with self.lock:
                self.updates += 1
        except Exception as err:
            with self.lock:
                self.errors.append(f"{request.status}: {type(err).__name__}")

    def run(self, n: int, seconds: float) -> float:
        """``n`` charges released evenly over ``seconds``; returns the seconds it took."""
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=24) as timers, ThreadPoolExecutor(max_workers=12) as pool:
            for i in range(n):
                due = started + seconds * i / n
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                pool.submit(self.one, i, timers)
            pool.shutdown(wait=True)
            self.seconds = time.monotonic() - started
            timers.shutdown(wait=True)
        return self.seconds


def phase(data: dict[str, Any], start: float, end: float, created_from_ms: float, created_to_ms: float) -> dict[str, Any]:
    """The page's figures for the window [start, end) of performance.now()."""
    frames = [f["gap"] for f in data["frames"] if start <= f["at"] < end]
    tasks = [t["ms"] for t in data["longTasks"] if start <= t["at"] < end]
    events = [e for e in data["events"] if start <= e["at"] < end]
    cards = [c for c in data["cards"] if created_from_ms <= c["created"] < created_to_ms]
    latency = [(c["shown"] - c["created"]) / 1000 for c in cards]
    span = (end - start) / 1000
    return {
        "seconds": span,
        "frames": len(frames),
        "fps": len(frames) / span if span else float("nan"),
        "frameGap": benchlib.summary_ms([g / 1000 for g in frames]),
        "framesOver50ms": sum(1 for g in frames if g > 50),
        "framesOver100ms": sum(1 for g in frames if g > 100),
        "longTasks": len(tasks),
        "longTaskMsPerSecond": sum(tasks) / span if span else float("nan"),
        "longestTaskMs": max(tasks) if tasks else 0.0,
        "inputEvents": len(events),
        "inputDurationMs": max((e["ms"] for e in events), default=0.0),
        "inputDelayMs": max((e["delay"] for e in events), default=0.0),
        "cards": len(cards),
        "writeToCard": benchlib.summary_ms(latency),
    }


def print_profile(profile: dict[str, Any], title: str) -> dict[str, float]:
    """Self time over the sampled period by script (the Firestore SDK and the client library are
    in the shared ``backend`` chunk, the page's code and Chart.js in the ``admin`` chunk) and the
    top functions; returns the shares by script."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    self_ms = dict.fromkeys(nodes, 0.0)
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"]):
        self_ms[node_id] += delta / 1000
    by_function: dict[str, float] = {}
    by_script: dict[str, float] = {}
    for node_id, ms in self_ms.items():
        frame = nodes[node_id]["callFrame"]
        script = frame["url"].rsplit("/", 1)[-1].split("-")[0]
        name = frame["functionName"] or "(anonymous)"
        key = f"{name} ({script}:{frame['lineNumber'] + 1})" if script else name
        by_function[key] = by_function.get(key, 0.0) + ms
        group = (
            f"{script} chunk"
            if script
            else name
            if name in ("(idle)", "(garbage collector)")
            else "browser (layout, style, paint, ...)"
        )
        by_script[group] = by_script.get(group, 0.0) + ms
    total = sum(by_script.values()) or 1.0
    print(
        benchlib.table(
            ["where", "self ms", "share %"],
            [(k, v, 100 * v / total) for k, v in sorted(by_script.items(), key=lambda kv: -kv[1])],
            title=title,
        )
    )
    top = sorted(((k, v) for k, v in by_function.items() if k not in ("(idle)", "(program)")), key=lambda kv: -kv[1])[:12]
    print(benchlib.table(["busiest functions", "self ms", "share %"], [(k, v, 100 * v / total) for k, v in top]))
    return {k: 100 * v / total for k, v in by_script.items()}


FIGURES: list[tuple[str, Any]] = [
    ("animation frames per second", "fps"),
    ("frame gap p50 (ms)", ("frameGap", "p50_ms")),
    ("frame gap p99 (ms)", ("frameGap", "p99_ms")),
    ("frame gap max (ms)", ("frameGap", "max_ms")),
    ("frames over 50 ms", "framesOver50ms"),
    ("frames over 100 ms", "framesOver100ms"),
    ("long tasks", "longTasks"),
    ("long-task ms per second", "longTaskMsPerSecond"),
    ("longest task (ms)", "longestTaskMs"),
    ("input events over 16 ms", "inputEvents"),
    ("slowest input to paint (ms)", "inputDurationMs"),
    ("largest input delay (ms)", "inputDelayMs"),
    ("kB received per second", "kilobytesReceivedPerSecond"),
    ("cards shown", "cards"),
    ("write to card p50 (ms)", ("writeToCard", "p50_ms")),
    ("write to card p90 (ms)", ("writeToCard", "p90_ms")),
    ("write to card p99 (ms)", ("writeToCard", "p99_ms")),
    ("write to card max (ms)", ("writeToCard", "max_ms")),
]


def pick(values: dict[str, Any], key: Any) -> Any:
    return values[key[0]][key[1]] if isinstance(key, tuple) else values[key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--control-seconds", type=float, default=20.0, help="each control phase: the same rate with the Credits tab open"
    )
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--screenshot", help="save the Live AI tab at the end of the load to this PNG")
    parser.add_argument("--profile", action="store_true", help="sample the page's CPU in each phase and print where it went")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    benchlib.require_emulators()
    from playwright.sync_api import expect, sync_playwright

    admin = emu.make_admin()
    opened = emu.call(
        "updateCreditConfiguration",
        {
            "defaultCredits": 100_000,
            "rateLimits": {"image": 10_000, "video": 10_000, "voice": 10_000, "chat": 10_000, "ipRequests": 10_000},
            "signup": {
                "grantsPerIpPerDay": 1_000_000,
                "grantsPerNetworkPerDay": 1_000_000,
                "grantsPerAllocationPerDay": 1_000_000,
            },  # each phase's users share the same addresses
        },
        admin,
    )
    assert opened.ok, opened.body
    writer = Writer(args.seed)
    control = Writer(args.seed + 1)
    bare = Writer(args.seed + 2)
    rate = args.activities / args.seconds
    control_n = int(rate * args.control_seconds)
    origin = hosting_origin()
    print(
        f"dashboard at {origin}/admin/#live; {args.activities} generations over {args.seconds:.0f} s by {USERS} users"
        f" ({rate * 60:.0f} a minute); then, with the Credits tab open, {control_n} at the same rate with the stream's"
        f" query listened to but not rendered, and {control_n} with no listener"
    )

    results: dict[str, dict[str, Any]] = {}
    shares: dict[str, dict[str, float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=origin)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script(INSTRUMENT)
        page.goto("/admin/#live")
        page.fill("#email", admin.email)
        page.fill("#password", admin.password)
        page.click("#sign-in")
        expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live", timeout=30_000)
        expect(page.get_by_test_id("live-active")).not_to_have_text("–", timeout=60_000)
        # What the page receives (the Firestore listeners' streams, mostly), counted by the browser.
        cdp = context.new_cdp_session(page)
        received = {"bytes": 0}
        cdp.on("Network.dataReceived", lambda e: received.__setitem__("bytes", received["bytes"] + e["dataLength"]))
        cdp.send("Network.enable")
        if args.profile:
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 500})

        def run_phase(name: str, seconds: float, load: tuple[Writer, int] | None, click: str) -> None:
            """One phase: the load (if any) in a thread, and from here real input every 2 s (a
            click on ``click``; Playwright's sync API is single-threaded). Then the page's figures
            for the phase's window."""
            if args.profile:
                cdp.send("Profiler.start")
            received["bytes"] = 0
            start, start_ms = float(page.evaluate("performance.now()")), time.time() * 1000
            work = None
            if load:
                work = threading.Thread(target=lambda: load[0].run(load[1], seconds), daemon=True)
                work.start()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline or (work is not None and work.is_alive()):
                target = page.locator(click).first
                if target.count() and target.is_visible():
                    target.click()
                page.wait_for_timeout(2000)
            if work:
                page.wait_for_timeout(3000)  # the last cards and updates reach the page
            end, end_ms = float(page.evaluate("performance.now()")), time.time() * 1000
            if args.profile:
                shares[name] = print_profile(cdp.send("Profiler.stop")["profile"], f"Where the page's main thread went: {name}")
            results[name] = phase(page.evaluate("window.__bench"), start, end, start_ms, end_ms)
            results[name]["kilobytesReceivedPerSecond"] = received["bytes"] / 1024 / results[name]["seconds"]

        audit = "[data-testid=audit-entry] > summary"
        run_phase("Live AI tab, idle", IDLE_SECONDS, None, audit)
        run_phase("Live AI tab, load", args.seconds, (writer, args.activities), audit)
        if args.screenshot:
            page.screenshot(path=args.screenshot, full_page=False)
        shown_now = page.get_by_test_id("activity-card").count()
        page.get_by_test_id("tab-credits").click()
        expect(page.get_by_test_id("credits-tab")).to_be_visible()
        if control_n:
            # The stream's very query (the library's watchActivityFeed, newest 50), with nothing rendered:
            # what the Firestore SDK costs alone.
            page.evaluate("() => { window.__benchStop = window.creditsAdmin.admin.watchActivityFeed(() => {}, { max: 50 }); }")
            run_phase("Credits tab + bare listener, load", args.control_seconds, (bare, control_n), "#reset-pricing")
            page.evaluate("() => { window.__benchStop(); }")
            run_phase("Credits tab, load", args.control_seconds, (control, control_n), "#reset-pricing")
        browser.close()

    print(
        f"\nwritten: {writer.charged} charges in {writer.seconds:.1f} s and {writer.updates} status updates"
        f" (Live AI tab); {bare.charged} in {bare.seconds:.1f} s and {control.charged} in {control.seconds:.1f} s (Credits tab);"
        f" errors {len(writer.errors + bare.errors + control.errors)} {sorted(set(writer.errors + bare.errors + control.errors))[:5]}"
    )
    loaded = results["Live AI tab, load"]
    print(
        f"page: {loaded['cards']} of {writer.charged} generations shown as a card; {shown_now} cards on screen at the end"
        f" (the stream keeps the newest {50}); page errors {errors}"
    )
    names = list(results)
    rows = []
    for label, key in FIGURES:
        values = [pick(results[n], key) for n in names]
        idle, live = values[0], values[1]
        rows.append((label, *values, benchlib.ratio(float(live), float(idle)) if idle else float("nan")))
    print(benchlib.table(["figure", *names, "load / idle"], rows, title="The dashboard, idle and under load (same run)"))
    benchlib.write_json(
        args.json,
        {
            "machine": benchlib.machine(),
            "activities": args.activities,
            "seconds": args.seconds,
            "charged": writer.charged,
            "chargeSeconds": writer.seconds,
            "statusUpdates": writer.updates,
            "controlCharged": [bare.charged, control.charged],
            "writeErrors": writer.errors + bare.errors + control.errors,
            "phases": results,
            "cpuShares": shares,
        },
    )


if __name__ == "__main__":
    main()
