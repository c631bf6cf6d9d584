"""Charge latency against concurrency, in process, beside the floor, for different and same users.

    bench/run.sh bench/plot_latency.py [--levels 1,2,4,8,16,32] [--calls 64]
                                       [--png docs/perf-latency-vs-concurrency.png]
                                       [--json bench/results/latency_vs_concurrency.json]
    .venv/bin/python bench/plot_latency.py --replot bench/results/latency_vs_concurrency.json

For each concurrency level C, C threads released together each make back-to-back calls
(about ``--calls`` calls per level in all) of:

* ``charge``: ``credits.features.charging.charge`` (a chat charge of 1 credit) with a Firestore
  client on the emulator, i.e. one instance serving C requests at once;
* ``floor``: one bare Firestore transaction reading and writing one document
  (``client.transaction()`` + ``@firestore.transactional``);

in two settings: *different users* (each thread its own user / its own document) and
*same user* (all threads on one user / one document). In the same-user setting a third
series, ``floor + lock``, serialises the bare transaction with an in-process lock per
document, which is what ``atomic.run`` does for same-user steps inside one instance; the
bare ``floor`` there shows what a plain transaction does under contention on the emulator
(failures are counted: "Failed to commit transaction in 5 attempts"). Levels and series
are interleaved, so noise hits all alike. Each (level, series) stops starting calls after
``--cap`` seconds (default 15) so the run stays under about three minutes.

Writes the PNG (matplotlib, Agg: p50/p99 per setting, and successful calls per second) and
the figures as JSON; prints a table. A ``threading.Lock`` is not fair: a thread that releases
it often takes it again at once, so under a lock the p50 stays low while the p99 carries the
queueing; compare p99 and throughput there.
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import benchlib
from bench_charge import InProcessUser, do_charge, ensure_config, floor_call
from credits.store import db

from tests.support import emulators as emu

DEFAULT_PNG = benchlib.ROOT / "docs" / "perf-latency-vs-concurrency.png"
DEFAULT_JSON = benchlib.ROOT / "bench" / "results" / "latency_vs_concurrency.json"


def run_level(threads: int, per_thread: int, cap: float, make_call: Callable[[int], Callable[[], Any]]) -> dict[str, Any]:
    """``threads`` threads released at once, each making ``per_thread`` calls of
    ``make_call(thread_index)()``; returns latency figures, errors and throughput."""
    barrier = threading.Barrier(threads + 1)
    latencies: list[float] = []
    errors: list[str] = []
    deadline: list[float] = [0.0]

    def worker(index: int) -> None:
        fn = make_call(index)
        barrier.wait()
        for _ in range(per_thread):
            if time.perf_counter() > deadline[0]:
                break
            seconds, _, err = benchlib.timed(fn)
            if err is None:
                latencies.append(seconds)
            else:
                errors.append(type(err).__name__ + ": " + str(err)[:80])

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    deadline[0] = time.perf_counter() + cap
    barrier.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    out = benchlib.summary_ms(latencies)
    out.update(
        {
            "threads": threads,
            "ok": len(latencies),
            "errors": len(errors),
            "error_sample": errors[:3],
            "wall_s": wall,
            "per_second": len(latencies) / wall if wall else math.nan,
        }
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,2,4,8,16,32", help="comma-separated concurrency levels")
    parser.add_argument("--calls", type=int, default=64, help="calls per level and series, about (<= 95: one user's chat limit)")
    parser.add_argument("--cap", type=float, default=15.0, help="seconds after which a level stops starting calls")
    parser.add_argument("--png", default=str(DEFAULT_PNG))
    parser.add_argument("--json", default=str(DEFAULT_JSON))
    parser.add_argument("--replot", metavar="JSON", help="only redraw the PNG from a JSON this script wrote (no emulator)")
    args = parser.parse_args()
    if args.replot:
        saved = benchlib.json.loads(benchlib.pathlib.Path(args.replot).read_text())
        plot(saved["results"], [int(x) for x in saved["params"]["levels"].split(",") if x.strip()], args.png)
        print(f"wrote {args.png} from {args.replot}")
        return 0
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if args.calls > 95:
        parser.error("--calls must be at most 95 (same-user calls stay within one user's chat limit of 100 an hour)")

    benchlib.require_emulators(functions=False)
    client = db.make_client(emu.PROJECT)
    ensure_config(client)
    started = time.perf_counter()
    warm = InProcessUser("warm")
    for i in range(5):  # open the channel, warm the code paths
        floor_call(client, client.collection("bench_floor").document(f"warm-{i}"))
        do_charge(client, warm, warm.request("chat", 100))

    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        "different_users": {"charge": [], "floor": []},
        "same_user": {"charge": [], "floor": [], "floor + lock": []},
    }
    for c in levels:
        per_thread = max(2, math.ceil(args.calls / c))
        tag = f"c{c}-{time.monotonic_ns()}"

        # Different users: each thread its own user (own IP) / its own document. Each is
        # created (first-use charge, first write) before the threads are released: what is
        # timed is the steady state.
        def charge_own(i: int) -> Callable[[], Any]:
            user = InProcessUser("conc")
            do_charge(client, user, user.request("chat", 100))
            return lambda: do_charge(client, user, user.request("chat", 100))

        def floor_own(i: int, tag: str = tag) -> Callable[[], Any]:
            ref = client.collection("bench_floor").document(f"{tag}-{i}")
            floor_call(client, ref)
            return lambda: floor_call(client, ref)

        # Same user: one user / one document for all threads (created beforehand too).
        shared_user = InProcessUser("hot")
        do_charge(client, shared_user, shared_user.request("chat", 100))
        shared_ref = client.collection("bench_floor").document(f"{tag}-shared")
        locked_ref = client.collection("bench_floor").document(f"{tag}-locked")
        floor_call(client, shared_ref)
        floor_call(client, locked_ref)
        doc_lock = threading.Lock()

        def charge_shared(i: int, user: InProcessUser = shared_user) -> Callable[[], Any]:
            return lambda: do_charge(client, user, user.request("chat", 100))

        def floor_shared(i: int, ref: Any = shared_ref) -> Callable[[], Any]:
            return lambda: floor_call(client, ref)

        def floor_locked(i: int, ref: Any = locked_ref, lock: threading.Lock = doc_lock) -> Callable[[], Any]:
            def call() -> None:
                with lock:
                    floor_call(client, ref)

            return call

        plan = [
            ("different_users", "floor", floor_own),
            ("different_users", "charge", charge_own),
            ("same_user", "floor + lock", floor_locked),
            ("same_user", "charge", charge_shared),
            ("same_user", "floor", floor_shared),
        ]
        for setting, series, make in plan:
            figure = run_level(c, per_thread, args.cap, make)
            results[setting][series].append(figure)
            note = f" errors {figure['errors']}" if figure["errors"] else ""
            print(
                f"  C={c:>2} {setting:<15} {series:<12} p50 {figure['p50_ms']:8.1f} ms  p99 {figure['p99_ms']:8.1f} ms"
                f"  {figure['per_second']:6.1f}/s  ({figure['ok']} ok){note}"
            )

    elapsed = time.perf_counter() - started
    rows = []
    for setting, series_map in results.items():
        for series, figures in series_map.items():
            for f in figures:
                rows.append((setting, series, f["threads"], f["ok"], f["errors"], f["p50_ms"], f["p99_ms"], f["per_second"]))
    print(
        benchlib.table(
            ["setting", "series", "C", "ok", "errors", "p50 ms", "p99 ms", "calls/s"],
            rows,
            "Latency against concurrency (in process, same run)",
        )
    )
    ratios = {
        setting: [
            {
                "threads": ch["threads"],
                "p50_charge_over_floor": benchlib.ratio(ch["p50_ms"], fl["p50_ms"]),
                "p99_charge_over_floor": benchlib.ratio(ch["p99_ms"], fl["p99_ms"]),
            }
            for ch, fl in zip(
                results[setting]["charge"], results[setting]["floor" if setting == "different_users" else "floor + lock"]
            )
        ]
        for setting in results
    }
    for setting, rs in ratios.items():
        against = "floor" if setting == "different_users" else "floor + lock"
        print(
            f"charge/{against} ({setting}): "
            + ", ".join(
                f"C={r['threads']}: p50 {r['p50_charge_over_floor']:.2f}x p99 {r['p99_charge_over_floor']:.2f}x" for r in rs
            )
        )

    plot(results, levels, args.png)
    benchlib.write_json(
        args.json,
        {"machine": benchlib.machine(), "params": vars(args), "results": results, "ratios": ratios, "elapsed_s": elapsed},
    )
    print(f"wrote {args.png}\n(run took {elapsed:.0f} s)")
    return 0


def plot(results: dict[str, dict[str, list[dict[str, Any]]]], levels: list[int], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"charge": ("tab:blue", "o"), "floor": ("tab:gray", "s"), "floor + lock": ("tab:green", "^")}
    titles = {
        "different_users": "Different users (one document each)",
        "same_user": "Same user (one document for all threads)",
    }
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), gridspec_kw={"width_ratios": [1, 1, 0.8]})
    axes[1].sharey(axes[0])
    for ax, (setting, series_map) in zip(axes[:2], results.items()):
        for series, figures in series_map.items():
            if not figures:
                continue
            colour, marker = styles[series]
            xs = [f["threads"] for f in figures]
            label = series if series != "floor" else "floor (bare transaction)"
            ax.plot(xs, [f["p50_ms"] for f in figures], color=colour, marker=marker, label=f"{label} p50")
            ax.plot(xs, [f["p99_ms"] for f in figures], color=colour, marker=marker, linestyle="--", label=f"{label} p99")
            for f in figures:
                if f["errors"]:
                    ax.annotate(
                        f"{f['errors']} of {f['errors'] + f['ok']} failed",
                        (f["threads"], f["p99_ms"] if not math.isnan(f["p99_ms"]) else 1),
                        textcoords="offset points",
                        xytext=(0, 6),
                        ha="center",
                        fontsize=7,
                        color=colour,
                    )
        ax.margins(y=0.15)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(levels)
        ax.set_xticklabels([str(c) for c in levels])
        ax.set_xlabel("parallel callers (threads in one process)")
        ax.set_title(titles[setting], fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("latency per call (ms, log scale)")
    # Throughput: what one instance gets through, per setting and series.
    ax = axes[2]
    for setting, series_map in results.items():
        for series, figures in series_map.items():
            if not figures:
                continue
            colour, marker = styles[series]
            linestyle = "-" if setting == "different_users" else ":"
            who = "different users" if setting == "different_users" else "same user"
            ax.plot(
                [f["threads"] for f in figures],
                [f["per_second"] if f["per_second"] > 0 else math.nan for f in figures],
                color=colour,
                marker=marker,
                linestyle=linestyle,
                label=f"{series}, {who}",
            )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.01)
    ax.set_xticks(levels)
    ax.set_xticklabels([str(c) for c in levels])
    ax.set_xlabel("parallel callers (threads in one process)")
    ax.set_ylabel("successful calls per second")
    ax.set_title("Throughput (solid: different users, dotted: same user)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.suptitle(
        "validateAndDeductCredits in process (credits.features.charging.charge) vs a bare Firestore transaction\n"
        "Firestore emulator, same run; 2 shared cores, noisy: compare the series, not absolute values",
        fontsize=10,
    )
    fig.tight_layout()
    target = benchlib.pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
