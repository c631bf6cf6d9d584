"""What the benchmark scripts share: import paths, emulator checks, percentiles, tables, JSON.

Imported by ``bench/*.py`` (which run as ``.venv/bin/python bench/<script>.py``, so this
directory is on ``sys.path``; ``import credits`` and ``from tests.support import emulators``
work in ``.venv`` through the ``.pth`` file ``scripts/setup.sh`` writes).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import pathlib
import platform
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def require_emulators(*, functions: bool = True) -> None:
    """Refuse to run anywhere but against emulators on this machine."""
    from tests.support import emulators as emu

    hosts = {
        "FIRESTORE_EMULATOR_HOST": os.environ.get("FIRESTORE_EMULATOR_HOST"),
        "FIREBASE_AUTH_EMULATOR_HOST": os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"),
    }
    if functions:
        hosts["CREDITS_FUNCTIONS_HOST"] = emu.FUNCTIONS_HOST
    for name, value in hosts.items():
        if not value:
            sys.exit(f"{name} is not set: run this through bench/run.sh (it starts the emulators)")
        host = value.rsplit(":", 1)[0]
        if host not in LOOPBACK:
            sys.exit(f"{name}={value}: benchmarks run against loopback emulators only")
    if not emu.emulators_running() or (functions and not emu.functions_running()):
        sys.exit("the Emulator Suite is not answering: run this through bench/run.sh")


def burst(width: int, fn: Callable[[int], Any]) -> tuple[float, list[tuple[float, Any]]]:
    """``width`` calls ``fn(i)`` released at once over HTTP: each thread first opens its
    connection to the Functions emulator and waits on a barrier, so all requests arrive
    within a few milliseconds. Returns the wall time from the release and every call's
    (seconds, result)."""
    from tests.support import emulators as emu

    barrier = threading.Barrier(width + 1)
    root = f"http://{emu.FUNCTIONS_HOST}/"

    def one(i: int) -> tuple[float, Any]:
        emu.session().get(root, timeout=30)  # connect now (an unknown path: 404 at once)
        barrier.wait()
        started = time.perf_counter()
        result = fn(i)
        return time.perf_counter() - started, result

    with ThreadPoolExecutor(max_workers=width) as pool:
        futures = [pool.submit(one, i) for i in range(width)]
        barrier.wait()
        started = time.perf_counter()
        results = [f.result() for f in futures]
    return time.perf_counter() - started, results


def warm_callable(name: str, floor: Callable[[], Any], width: int, *, label: str | None = None) -> list[str]:
    """Simultaneous bursts of a cheap refused call (``floor()`` must answer INVALID_ARGUMENT),
    widening up to ``width``, until a full-width burst is clean and takes under a second.

    The Functions emulator runs one request at a time per Python worker and starts a worker
    (seconds, on a small machine) whenever a request finds none idle; workers are per
    callable. Dozens started at once on two cores sometimes drop a request (``ECONNRESET``),
    hence the ramp and the tolerance here: only the warm-up may see such errors.
    """
    log: list[str] = []
    steps = [w for w in (4, 8, 16, 32) if w < width] + [width] * 5
    for step in steps:
        wall, results = burst(step, lambda _i: floor())
        errors = Counter(getattr(r, "code", None) or f"http_{getattr(r, 'status', '?')}" for _, r in results)
        errors.pop("INVALID_ARGUMENT", None)
        log.append(f"{step}: {wall:.2f}s" + (f" {dict(errors)}" if errors else ""))
        if step == width and not errors and wall < 1.0:
            break
    print(f"  warm-up {label or name}: " + ", ".join(log))
    return log


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, Any]:
    """p50 / p90 / p99 / mean / max in milliseconds, and the sample count."""
    ms = [s * 1e3 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.fmean(ms) if ms else math.nan,
        "max_ms": max(ms) if ms else math.nan,
    }


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(b) and not math.isnan(a) else math.nan


def timed(fn: Callable[[], Any]) -> tuple[float, Any, BaseException | None]:
    """Run ``fn``; return (seconds, result or None, exception or None)."""
    started = time.perf_counter()
    try:
        result = fn()
    except Exception as err:
        return time.perf_counter() - started, None, err
    return time.perf_counter() - started, result, None


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> str:
    """A plain fixed-width table; floats get 1 decimal (3 below 10)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "-"
            return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]
    lines = []
    if title:
        lines.append(f"\n{title}")
    lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths))))
    lines.append("  ".join("-" * w for w in widths))
    for row in body:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = (math.nan, math.nan, math.nan)
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(path: str | os.PathLike[str] | None, payload: dict[str, Any]) -> None:
    if not path:
        return
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(_clean(payload), indent=2, sort_keys=False) + "\n")
    print(f"\nwrote {target}")


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value
