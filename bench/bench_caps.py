"""A charge at the caps of IP blocks and moderation terms, against one with none, same run.

    bench/run.sh bench/bench_caps.py [--json bench/results/caps.json] [--blocks 6] [--calls 60]

Every charge reads the configuration in force, the address's block document and the range
index in its one batched read; the moderation terms are compiled once per version per
instance. So the charge's reads should not grow with the number of blocks or terms. This
measures it, in process against the Firestore emulator (``bench/run.sh`` starts it):

* **empty**: no blocked address or range, the default terms (31);
* **caps**: 5,000 blocked addresses (documents looked up by id), 100 blocked ranges (the
  index's maximum) and 1,000 terms (the configuration's maximum), none matching the
  charging users;

in alternating blocks of ``--calls`` charges (empty, caps, empty, caps, ...), with the
configuration switched between blocks (a new terms version: the first charge of a block
compiles the matcher and is not timed). It prints p50/p99 latency, reads and writes per
charge and the bytes those reads return, for both, and their ratio (the goal: caps within
1.3x of empty). For scale it also times, in the same blocks, what the older design added to
every charge at the caps: reading the single block-list document (5,000 entries) and the
configuration document holding the 1,000 terms.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import benchlib
from bench_charge import CLOCK, InProcessUser, do_charge, ensure_config, grant
from credits.moderation import DEFAULT_TERMS
from credits.store import config_store, db, ip_blocks
from credits.store.atomic import Stats
from credits.vocab.config import CreditConfig, PrivateConfig
from credits.vocab.context import Caller, ClientContext
from google.cloud import firestore

from tests.support import emulators as emu

ADMIN = Caller(uid="bench-caps-admin", is_admin=True)
ADDRESSES = 5_000
RANGES = ip_blocks.MAX_RANGES
TERMS = 1_000


def generated_terms(n: int) -> list[dict[str, str]]:
    """``n`` terms: the defaults, then pseudo-words no prompt here contains."""
    terms = [dict(t) for t in DEFAULT_TERMS]
    i = 0
    while len(terms) < n:
        word = "".join("bcdfghjklmnpqrstvwxz"[(i * 7 + k * 13) % 20] + "aeiou"[(i + k) % 5] for k in range(4))
        terms.append({"term": f"{word}{i}", "category": "benchmark", "severity": "low"})
        i += 1
    return terms


def set_terms(client: firestore.Client, terms: list[dict[str, str]]) -> None:
    config_store.update(client, CLOCK, ADMIN, ClientContext(user_agent="bench_caps"), {"moderation": {"terms": terms}})


def set_ranges(client: firestore.Client, cidrs: list[str]) -> None:
    client.collection(db.IP_BLOCKS).document(ip_blocks.RANGES_DOC).set({"cidrs": cidrs, "updatedAt": CLOCK.now()})


def block_addresses(client: firestore.Client, n: int) -> None:
    """``n`` blocked addresses in 203.0.0.0/8-ish space the users never use."""
    for start in range(0, n, 400):
        batch = client.batch()
        for i in range(start, min(n, start + 400)):
            ip = f"203.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            batch.set(
                ip_blocks.address_ref(client, ip), {"target": ip, "kind": "address", "reason": "bench", "blockedAt": CLOCK.now()}
            )
        batch.commit()


def range_list(n: int) -> list[str]:
    return [f"100.{64 + i // 256}.{i % 256}.0/24" for i in range(n)]


def legacy_documents(client: firestore.Client) -> list[firestore.DocumentReference]:
    """The older design's two documents at the caps, written aside to time their reads."""
    entries = {
        f"203.1.{(i >> 8) & 255}.{i & 255}": {"reason": "bench " * 10, "blockedAt": CLOCK.now(), "blockedBy": "bench-admin"}
        for i in range(ADDRESSES - RANGES)
    }
    entries.update({c: {"reason": "bench", "blockedAt": CLOCK.now(), "blockedBy": "bench-admin"} for c in range_list(RANGES)})
    blocks = client.collection("bench_legacy").document("ip_blocks_current")
    blocks.set({"entries": entries, "updatedAt": CLOCK.now()})
    legacy_config = {
        **CreditConfig().to_firestore(),
        "moderation": {"terms": generated_terms(TERMS)},
        "abuse": PrivateConfig().to_firestore()["abuse"],
    }
    config = client.collection("bench_legacy").document("system_config_credits")
    config.set(legacy_config)
    return [blocks, config]


def snapshot_bytes(snaps: list[Any]) -> int:
    """About the bytes a read returns: the documents' fields as JSON."""
    return sum(len(json.dumps(s.to_dict() or {}, default=str)) for s in snaps if s.exists)


def bytes_per_charge(client: firestore.Client, user: InProcessUser) -> int:
    assert user.ctx.ip is not None
    refs = [config_store.applied_ref(client), client.collection(db.USERS).document(user.uid)]
    refs += ip_blocks.refs_for(client, user.ctx.ip)
    return snapshot_bytes(list(client.get_all(refs)))


def measure(client: firestore.Client, users: list[InProcessUser], calls: int, stats: Stats) -> list[float]:
    times = []
    for i in range(calls + 1):
        user = users[i % len(users)]
        seconds, _, err = benchlib.timed(lambda u=user, counted=stats if i else None: do_charge(client, u, stats=counted))
        if err:
            raise err
        if i:  # the first charge of a block compiles the new terms version
            times.append(seconds)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write all figures to this file")
    parser.add_argument("--blocks", type=int, default=6, help="alternating blocks (half empty, half at the caps)")
    parser.add_argument("--calls", type=int, default=60, help="timed charges per block")
    args = parser.parse_args()
    benchlib.require_emulators()
    client = db.make_client(emu.PROJECT)
    ensure_config(client)
    # Enough users that none reaches the default user limit (50 an hour) in the run.
    users = [InProcessUser("caps") for _ in range(max(8, -(-args.blocks * (args.calls + 1) // 40)))]
    for u in users:
        do_charge(client, u)
        grant(client, u.uid, 1_000_000)
    legacy = legacy_documents(client)

    results: dict[str, dict[str, Any]] = {name: {"times": [], "stats": Stats(), "calls": 0} for name in ("empty", "caps")}
    legacy_times: list[float] = []
    legacy_bytes = snapshot_bytes(list(client.get_all(legacy)))
    print(f"caps: {ADDRESSES} blocked addresses, {RANGES} ranges, {TERMS} terms; {args.blocks} blocks of {args.calls} charges")
    block_addresses(client, 0)
    default_terms = [dict(t) for t in DEFAULT_TERMS]
    many_terms = generated_terms(TERMS)
    bytes_read: dict[str, int] = {}
    for b in range(args.blocks):
        name = "empty" if b % 2 == 0 else "caps"
        if name == "caps":
            if b == 1:
                block_addresses(client, ADDRESSES)
            set_ranges(client, range_list(RANGES))
            set_terms(client, many_terms)
        else:
            set_ranges(client, [])
            set_terms(client, default_terms)
        entry = results[name]
        entry["times"] += measure(client, users, args.calls, entry["stats"])
        entry["calls"] += args.calls
        bytes_read[name] = bytes_per_charge(client, users[0])
        for _ in range(10):
            seconds, _, err = benchlib.timed(lambda: list(client.get_all(legacy)))
            if err:
                raise err
            legacy_times.append(seconds)
        print(f"  block {b + 1} ({name}) done")

    out: dict[str, Any] = {"machine": benchlib.machine(), "params": vars(args)}
    for name, entry in results.items():
        stats: Stats = entry["stats"]
        out[name] = {
            **benchlib.summary_ms(entry["times"]),
            "reads_per_charge": stats.reads / entry["calls"],
            "writes_per_charge": stats.writes / entry["calls"],
            "attempts_per_charge": stats.attempts / entry["calls"],
            "bytes_read_per_charge": bytes_read[name],
        }
    out["ratio_p50"] = benchlib.ratio(out["caps"]["p50_ms"], out["empty"]["p50_ms"])
    out["ratio_p99"] = benchlib.ratio(out["caps"]["p99_ms"], out["empty"]["p99_ms"])
    out["older_design_extra_read"] = {**benchlib.summary_ms(legacy_times), "bytes": legacy_bytes}
    print(
        benchlib.table(
            ["charge", "n", "p50 ms", "p99 ms", "reads", "writes", "bytes read"],
            [
                (
                    name,
                    out[name]["n"],
                    out[name]["p50_ms"],
                    out[name]["p99_ms"],
                    out[name]["reads_per_charge"],
                    out[name]["writes_per_charge"],
                    out[name]["bytes_read_per_charge"],
                )
                for name in ("empty", "caps")
            ],
            "A charge with no blocks and default terms, and at the caps (same run, alternating blocks)",
        )
    )
    print(f"   caps/empty: p50 {out['ratio_p50']:.2f}x, p99 {out['ratio_p99']:.2f}x (goal: within 1.3x)")
    legacy_row = out["older_design_extra_read"]
    print(
        f"   the older design read two more documents per charge at the caps: {legacy_bytes:,} bytes,"
        f" p50 {legacy_row['p50_ms']:.1f} ms, p99 {legacy_row['p99_ms']:.1f} ms on their own"
    )
    set_ranges(client, [])
    set_terms(client, default_terms)
    benchlib.write_json(args.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
