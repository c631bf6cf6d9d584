"""A charge and a whole generation, before and after the redesign: same run, same emulators.

    bench/run.sh bench/bench_before_after.py [--json bench/results/before_after.json]
                                             [--before 86c70bd] [--samples 300] [--generations 5]

*Before* is an earlier commit of this repository (default ``86c70bd``: the code before the
ledger chokepoint, the statistics rollups and the IP-block redesign), *after* is the working
tree. Both packages are named ``credits``, so they cannot share one interpreter: each side
runs in its own worker process (this script with ``--worker``, started with ``python -P`` and
``PYTHONPATH`` set to that side's ``functions/``, ``bench/`` and root, so ``import credits``,
``import bench_charge`` and ``tests.support`` are that side's own; the worker checks it). The
older tree is extracted with ``git archive`` into a temporary directory, removed at the end.
The workers talk to this process in JSON lines over stdin/stdout and time each call
themselves (the pipe is not in the figures).

Data: each side has its own Firestore project on the same Firestore emulator (``demo-before``
and ``demo-after``), so the older shapes (``system_config/credits`` holding everything,
``ip_blocks/current``, ``usage_stats`` shards) and the newer ones (``applied_config/current``,
``ip_blocks/addr_*``, no shards) never meet (the emulator, in single-project mode, logs a
warning for the other projects and serves them). Each side seeds its configuration the way its
own code expects (its own ``bench_charge.ensure_config``), with the defaults, which are the
same in both: 50 images an hour per user, 100 requests per 10 minutes per address. Each user makes at
most 26 charges here and has its own address, so no limit is reached.

What is measured (in process, ``credits.features.charging.charge`` called directly, as in
``bench_charge.py`` section 1):

1. **Latency**: rounds of one steady-state charge on each side (users round robin, balances
   topped up) plus, in this process, the *floor*: one bare Firestore transaction that reads
   and writes one document. The order is shuffled in every round, so machine noise hits all
   three alike: compare the ratios (after/before, and each side against the floor), not the
   milliseconds.
2. **Reads and writes per steady-state charge**, counted by each side's own ``atomic.Stats``
   (every attempt's reads, missing documents included, and the writes of the commit that
   applied), and independently at the RPC level (documents returned by ``BatchGetDocuments``
   and ``RunQuery``, writes sent in ``Commit``, for everything the call did), per collection,
   with the size of the documents read (their encoded protobuf, as the client receives them).
3. **Whole generations** (charge + its end): completed with ``actualQuantity`` (settlement),
   completed, failed (refund). The older code let only the owner report; the newer one takes
   these reports from the generator (the pipeline's identity), so each side reports as its
   own code expects; the table names who.
4. **Documents shared across users**: every write of every applied commit is recorded by path
   (a wrapper around the side's ``atomic._commit`` that records after the real commit
   returns); a document written by the calls of two or more users in this run is shared. The
   users take turns round robin, so a document every charge may pick (a statistics shard)
   meets many of them. Per-address records would be shared by users behind one address; here
   each user has its own.
5. A **listing check**: every document of the side's project, with its update time, before and
   after one steady-state charge; the documents that changed must be exactly the ones recorded
   from the commit (nothing is written outside it).

Finally each side's own reconcile checks its books (0 drifts expected).

Reading it: an after/before ratio near 1.0 at p50 means the redesign left a charge's latency
where it was; the floor ratios say how far each side is from the least a guarded read-write
costs on this machine. "shared docs written" per charge is what the statistics redesign was for: a
document written by every user's charges caps all users together near Firestore's sustained
write rate per document, whatever the number of users. The run takes under a minute.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import benchlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
BEFORE = "86c70bd"
PROJECTS = {"before": "demo-before", "after": "demo-after"}
SIDES = ("before", "after")
CHARGES_PER_USER = 25  # plus the first use: 26 images an hour (limit 50) from one address (limit 100 / 10 min)
TOP_UP = 10_000
ARCHIVED = ["functions", "bench", "tests/__init__.py", "tests/support"]
CASES = {
    "settle": "charge 2 images + completed, actualQuantity 1 (settlement)",
    "complete": "charge + completed",
    "fail": "charge + failed (refund)",
}


# ====================================================================== the worker
# Runs in a child process with one side's code on PYTHONPATH. Imports happen inside, so the
# side's own ``credits`` and ``bench_charge`` are the ones loaded.


class RpcCounter:
    """Wraps a client's GAPIC API: counts documents read and writes sent, and which paths."""

    def __init__(self, api: Any, prefix: str) -> None:
        self._api = api
        self._prefix = prefix
        self.reads = 0
        self.read_bytes = 0
        self.writes = 0
        self.read_paths: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def _path(self, name: str) -> str:
        return name[len(self._prefix) :] if name.startswith(self._prefix) else name

    def batch_get_documents(self, *args: Any, **kwargs: Any) -> Any:
        request = kwargs.get("request") or {}
        names = request.get("documents", []) if isinstance(request, dict) else list(request.documents)
        self.read_paths += [self._path(n) for n in names]
        for response in self._api.batch_get_documents(*args, **kwargs):
            kind = response._pb.WhichOneof("result")
            if kind in ("found", "missing"):
                self.reads += 1
            if kind == "found":
                self.read_bytes += response._pb.found.ByteSize()
            yield response

    def run_query(self, *args: Any, **kwargs: Any) -> Any:
        for response in self._api.run_query(*args, **kwargs):
            if response._pb.HasField("document"):
                self.reads += 1
                self.read_bytes += response._pb.document.ByteSize()
                self.read_paths.append(self._path(response.document.name))
            yield response

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        request = kwargs.get("request") or {}
        writes = request.get("writes", []) if isinstance(request, dict) else request.writes
        self.writes += len(writes)
        return self._api.commit(*args, **kwargs)


def worker_main(label: str, project: str) -> int:
    protocol = sys.stdout
    sys.stdout = sys.stderr  # anything the code prints must not reach the protocol

    import bench_charge as bc
    import credits
    from credits.features.lifecycle import StatusRequest, update_status
    from credits.store import atomic, db

    try:
        from credits.features.command import Command
    except ImportError:  # an older tree: a call's parts were separate parameters
        Command = None  # type: ignore[assignment,misc]  # noqa: N806
    from credits.store.atomic import Stats
    from credits.vocab.context import Caller

    from tests.support import emulators as emu

    tree = pathlib.Path(os.environ["BEFORE_AFTER_TREE"]).resolve()
    modules = {
        name: str(pathlib.Path(m.__file__ or "").resolve())
        for name, m in (("credits", credits), ("bench_charge", bc), ("emulators", emu))
    }
    stray = [f for f in modules.values() if not f.startswith(str(tree) + os.sep)]
    if stray:
        raise SystemExit(f"worker {label}: modules from outside {tree}: {stray}")

    client = db.make_client(project)
    client._firestore_api  # noqa: B018 - builds the GAPIC client so it can be wrapped
    rpc = RpcCounter(client._firestore_api_internal, f"projects/{project}/databases/(default)/documents/")
    client._firestore_api_internal = rpc

    committed: list[str] = []
    real_commit = atomic._commit

    def recording_commit(c: Any, writes: list[Any], *args: Any, **kwargs: Any) -> None:
        real_commit(c, writes, *args, **kwargs)
        committed.extend(w.ref.path for w in writes)  # only a commit that applied gets here

    atomic._commit = recording_commit

    caller_fields = getattr(Caller, "__dataclass_fields__", {})
    generator = (
        Caller(uid="bench-generator", name="Bench pipeline", is_generator=True) if "is_generator" in caller_fields else None
    )
    users: dict[str, bc.InProcessUser] = {}

    def measured(fn: Any) -> dict[str, Any]:
        """Run ``fn(stats)`` and report its time, its Stats, its RPC counts and written paths."""
        stats = Stats()
        committed.clear()
        reads0, bytes0, writes0, paths0 = rpc.reads, rpc.read_bytes, rpc.writes, len(rpc.read_paths)
        started = time.perf_counter()
        result = fn(stats)
        seconds = time.perf_counter() - started
        return {
            "s": seconds,
            "attempts": stats.attempts,
            "reads": stats.reads,
            "writes": stats.writes,
            "rpc_reads": rpc.reads - reads0,
            "rpc_writes": rpc.writes - writes0,
            "rpc_read_bytes": rpc.read_bytes - bytes0,
            "read_paths": rpc.read_paths[paths0:],
            "paths": list(committed),
            "result": result,
        }

    def user(key: str) -> bc.InProcessUser:
        if key not in users:
            users[key] = bc.InProcessUser(f"ab-{label}")
        return users[key]

    def setup(keys: list[str]) -> dict[str, Any]:
        bc.ensure_config(client)
        first_use = []
        for key in keys:
            u = user(key)
            first_use.append(measured(lambda s, u=u: bc.do_charge(client, u, stats=s))["s"])
            bc.grant(client, u.uid, TOP_UP)
        return {"modules": modules, "first_use_s": first_use, "generator_reports": generator is not None}

    def charge(key: str) -> dict[str, Any]:
        u = user(key)
        out = measured(lambda s: bc.do_charge(client, u, stats=s))
        out["result"] = None
        out["uid"] = u.uid
        return out

    def generation(key: str, case: str) -> dict[str, Any]:
        u = user(key)
        reporter = generator or u.caller
        quantity = 2 if case == "settle" else 1
        update = {
            "settle": {"status": "completed", "actual_quantity": Decimal(1)},
            "complete": {"status": "completed"},
            "fail": {"status": "failed", "error": "model timeout"},
        }[case]
        started = time.perf_counter()
        ch = measured(lambda s: bc.do_charge(client, u, u.request("image", quantity), stats=s))
        activity = ch["result"]["activityId"]
        request = StatusRequest(activity_id=activity, **update)

        def report(s: Stats) -> Any:
            if Command is None:
                return update_status(client, bc.CLOCK, reporter, u.ctx, request, stats_out=s)
            return update_status(Command(client, bc.CLOCK, reporter, u.ctx, stats=s), request)

        up = measured(report)
        seconds = time.perf_counter() - started
        ch["result"] = up["result"] = None
        return {"s": seconds, "charge": ch, "update": up, "uid": u.uid, "reporter": "generator" if generator else "owner"}

    def snapshot_all() -> dict[str, str]:
        return {snap.reference.path: str(snap.update_time) for collection in client.collections() for snap in collection.stream()}

    def listing_check(key: str) -> dict[str, Any]:
        before = snapshot_all()
        out = charge(key)
        after = snapshot_all()
        changed = sorted(p for p, t in after.items() if before.get(p) != t)
        gone = sorted(p for p in before if p not in after)
        return {
            "changed": changed,
            "deleted": gone,
            "committed": sorted(out["paths"]),
            "agree": changed == sorted(set(out["paths"])) and not gone,
            "uid": out["uid"],
        }

    def reconcile() -> dict[str, Any]:
        try:
            from credits.features.reconcile import reconcile as check
        except ImportError:
            from credits.features.maintenance import reconcile as check
        drifts = check(client)
        return {"drifts": len(drifts), "detail": [str(vars(d)) for d in drifts[:10]]}

    handlers = {
        "setup": lambda m: setup(m["users"]),
        "charge": lambda m: charge(m["user"]),
        "generation": lambda m: generation(m["user"], m["case"]),
        "listing": lambda m: listing_check(m["user"]),
        "reconcile": lambda m: reconcile(),
    }
    for line in sys.stdin:  # ends on "quit" or when the parent goes away (EOF)
        message = json.loads(line)
        if message["cmd"] == "quit":
            break
        try:
            reply: dict[str, Any] = {"ok": True, **handlers[message["cmd"]](message)}
        except Exception as err:
            reply = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        protocol.write(json.dumps(reply, default=str) + "\n")
        protocol.flush()
    return 0


# ====================================================================== the parent


class Side:
    """One side's worker process and what it answered."""

    def __init__(self, label: str, tree: pathlib.Path) -> None:
        self.label = label
        self.tree = tree
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(str(tree / p) for p in ("functions", "bench", "."))
        env["GCLOUD_PROJECT"] = env["CREDITS_PROJECT_ID"] = PROJECTS[label]
        env["BEFORE_AFTER_TREE"] = str(tree)
        self.process = subprocess.Popen(
            [sys.executable, "-P", str(pathlib.Path(__file__).resolve()), "--worker", label, "--project", PROJECTS[label]],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def call(self, cmd: str, **fields: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.label} worker ended (exit status {self.process.wait()})")
        reply = json.loads(line)
        if not reply.pop("ok"):
            raise RuntimeError(f"the {self.label} worker failed on {cmd}: {reply['error']}")
        return dict(reply)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write('{"cmd": "quit"}\n')
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def extract(commit: str, into: pathlib.Path) -> None:
    """The older tree's functions, bench and test support, as they were at ``commit``."""
    archive = subprocess.Popen(["git", "archive", commit, *ARCHIVED], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        subprocess.run(["tar", "-x", "-C", str(into)], stdin=archive.stdout, check=True)
    finally:
        assert archive.stdout is not None
        archive.stdout.close()
        if archive.wait() != 0:
            raise RuntimeError(f"git archive {commit} failed")


def collection_of(path: str) -> str:
    return path.split("/", 1)[0]


def per_collection(calls: list[dict[str, Any]], key: str) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for call in calls:
        counts.update(collection_of(p) for p in call[key])
    return {name: n / len(calls) for name, n in sorted(counts.items())} if calls else {}


def normalised(path: str, uid: str) -> str:
    return path.replace(uid, "{uid}")


def run(args: argparse.Namespace, sides: dict[str, Side]) -> dict[str, Any]:
    from bench_charge import floor_call
    from credits.store import db

    from tests.support import emulators as emu

    rounds = args.samples + args.warmup
    n_users = math.ceil(rounds / CHARGES_PER_USER)
    gen_users = [f"g{r}" for r in range(args.generations)]
    keys = [f"u{k}" for k in range(n_users)] + gen_users + ["listing"]
    print(f"setup: {len(keys)} users a side ({n_users} for the rounds, {len(gen_users)} for generations, 1 for the listing)")
    setup = {label: side.call("setup", users=keys) for label, side in sides.items()}
    for label, s in setup.items():
        print(f"  {label}: credits from {s['modules']['credits']}")

    listing = {label: side.call("listing", user="listing") for label, side in sides.items()}
    for label, check in listing.items():
        print(
            f"  listing check {label}: {len(check['changed'])} documents changed by one charge, agree with the commit: {check['agree']}"
        )

    client = db.make_client(emu.PROJECT)
    floor_refs = [client.collection("bench_floor").document(f"before-after-{i}") for i in range(n_users)]
    for ref in floor_refs[:5]:
        floor_call(client, ref)

    print(f"rounds: {args.samples} measured (+{args.warmup} warm-up), before / after / floor in shuffled order")
    times: dict[str, list[float]] = {"before": [], "after": [], "floor": []}
    charges: dict[str, list[dict[str, Any]]] = {label: [] for label in SIDES}
    writers: dict[str, dict[str, set[str]]] = {label: defaultdict(set) for label in SIDES}
    rng = random.Random(args.seed)
    for i in range(rounds):
        k = i % n_users  # round robin: every shared document meets many users early
        order = ["before", "after", "floor"]
        rng.shuffle(order)
        for name in order:
            if name == "floor":
                seconds, _, err = benchlib.timed(lambda k=k: floor_call(client, floor_refs[k]))
                if err:
                    raise err
            else:
                out = sides[name].call("charge", user=f"u{k}")
                seconds = out["s"]
                for p in out["paths"]:
                    writers[name][p].add(out["uid"])
                if i >= args.warmup:
                    charges[name].append(out)
            if i >= args.warmup:
                times[name].append(seconds)
        if (i + 1) % 100 == 0:
            print(f"  {i + 1} rounds")

    print(f"generations: {args.generations} of each case a side, before / after in shuffled order")
    generations: dict[str, list[dict[str, Any]]] = {label: [] for label in SIDES}
    for r in range(args.generations):
        for case in CASES:
            order = list(SIDES)
            rng.shuffle(order)
            for label in order:
                out = sides[label].call("generation", user=f"g{r}", case=case)
                out["case"] = case
                for part in ("charge", "update"):
                    for p in out[part]["paths"]:
                        writers[label][p].add(out["uid"])
                generations[label].append(out)

    reconciled = {label: side.call("reconcile") for label, side in sides.items()}
    return summarise(args, setup, listing, times, charges, generations, writers, reconciled)


def summarise(
    args: argparse.Namespace,
    setup: dict[str, Any],
    listing: dict[str, Any],
    times: dict[str, list[float]],
    charges: dict[str, list[dict[str, Any]]],
    generations: dict[str, list[dict[str, Any]]],
    writers: dict[str, dict[str, set[str]]],
    reconciled: dict[str, Any],
) -> dict[str, Any]:
    latency = {name: benchlib.summary_ms(values) for name, values in times.items()}
    b, a, f = latency["before"], latency["after"], latency["floor"]
    ratios = {
        "after_before_p50": benchlib.ratio(a["p50_ms"], b["p50_ms"]),
        "after_before_p99": benchlib.ratio(a["p99_ms"], b["p99_ms"]),
        "after_before_mean": benchlib.ratio(a["mean_ms"], b["mean_ms"]),
        "before_floor_p50": benchlib.ratio(b["p50_ms"], f["p50_ms"]),
        "after_floor_p50": benchlib.ratio(a["p50_ms"], f["p50_ms"]),
        "before_floor_p99": benchlib.ratio(b["p99_ms"], f["p99_ms"]),
        "after_floor_p99": benchlib.ratio(a["p99_ms"], f["p99_ms"]),
    }
    shared = {label: {p: sorted(uids) for p, uids in writers[label].items() if len(uids) > 1} for label in SIDES}

    def shared_count(paths: list[str], label: str) -> int:
        return sum(1 for p in paths if p in shared[label])

    ops: dict[str, Any] = {}
    for label in SIDES:
        calls = charges[label]
        n = len(calls)
        sample = calls[-1]
        ops[label] = {
            "attempts": sum(c["attempts"] for c in calls) / n,
            "reads": sum(c["reads"] for c in calls) / n,
            "writes": sum(c["writes"] for c in calls) / n,
            "rpc_reads": sum(c["rpc_reads"] for c in calls) / n,
            "rpc_writes": sum(c["rpc_writes"] for c in calls) / n,
            "rpc_read_bytes": sum(c["rpc_read_bytes"] for c in calls) / n,
            "shared_writes": sum(shared_count(c["paths"], label) for c in calls) / n,
            "reads_by_collection": per_collection(calls, "read_paths"),
            "writes_by_collection": per_collection(calls, "paths"),
            "shared_writes_by_collection": per_collection(
                [{"p": [p for p in c["paths"] if p in shared[label]]} for c in calls], "p"
            ),
            "sample_reads": [normalised(p, sample["uid"]) for p in sample["read_paths"]],
            "sample_writes": [normalised(p, sample["uid"]) for p in sample["paths"]],
        }

    gens: dict[str, Any] = {}
    for label in SIDES:
        rows = []
        for case in CASES:
            runs = [g for g in generations[label] if g["case"] == case]
            if not runs:
                continue

            def mean(key: str, part: str, runs: list[dict[str, Any]] = runs) -> float:
                return sum(g[part][key] for g in runs) / len(runs)

            totals_r = [g["charge"]["reads"] + g["update"]["reads"] for g in runs]
            totals_w = [g["charge"]["writes"] + g["update"]["writes"] for g in runs]
            rows.append(
                {
                    "case": case,
                    "what": CASES[case],
                    "reporter": runs[0]["reporter"],
                    "n": len(runs),
                    "charge_reads": mean("reads", "charge"),
                    "charge_writes": mean("writes", "charge"),
                    "update_reads": mean("reads", "update"),
                    "update_writes": mean("writes", "update"),
                    "total_reads": sum(totals_r) / len(runs),
                    "total_writes": sum(totals_w) / len(runs),
                    "total_reads_range": [min(totals_r), max(totals_r)],
                    "total_writes_range": [min(totals_w), max(totals_w)],
                    "rpc_reads": sum(g["charge"]["rpc_reads"] + g["update"]["rpc_reads"] for g in runs) / len(runs),
                    "rpc_writes": sum(g["charge"]["rpc_writes"] + g["update"]["rpc_writes"] for g in runs) / len(runs),
                    "shared_writes": sum(
                        shared_count(g["charge"]["paths"], label) + shared_count(g["update"]["paths"], label) for g in runs
                    )
                    / len(runs),
                    "latency": benchlib.summary_ms([g["s"] for g in runs]),
                    "sample_update_writes": [normalised(p, runs[-1]["uid"]) for p in runs[-1]["update"]["paths"]],
                }
            )
        gens[label] = rows

    shared_summary = {}
    for label in SIDES:
        by_collection: dict[str, list[int]] = defaultdict(list)
        for p, uids in shared[label].items():
            by_collection[collection_of(p)].append(len(uids))
        shared_summary[label] = {
            "documents": len(shared[label]),
            "by_collection": {
                c: {
                    "documents": len(v),
                    "max_users_per_document": max(v),
                    "examples": sorted(p for p in shared[label] if collection_of(p) == c)[:4],
                }
                for c, v in sorted(by_collection.items())
            },
            "documents_written": len(writers[label]),
        }

    return {
        "machine": args.machine,
        "params": {k: v for k, v in vars(args).items() if k not in ("worker", "project", "machine")},
        "versions": {
            "before": {"commit": args.before_commit, "subject": args.before_subject, "projects": PROJECTS["before"]},
            "after": {"commit": args.after_commit, "dirty": args.after_dirty, "projects": PROJECTS["after"]},
        },
        "modules": {label: setup[label]["modules"] for label in SIDES},
        "latency": latency,
        "ratios": ratios,
        "first_use": {label: benchlib.summary_ms(setup[label]["first_use_s"]) for label in SIDES},
        "charge_ops": ops,
        "generations": gens,
        "shared": shared_summary,
        "listing_check": listing,
        "reconcile": reconciled,
    }


def report(data: dict[str, Any]) -> None:
    v = data["versions"]
    lat, r = data["latency"], data["ratios"]
    names = {
        "before": f"before ({v['before']['commit'][:7]})",
        "after": f"after ({v['after']['commit'][:7]}{', modified' if v['after']['dirty'] else ''})",
    }
    print(
        benchlib.table(
            ["steady-state charge, in process", "n", "p50 ms", "p99 ms", "mean ms", "p50 / floor", "p99 / floor"],
            [
                (
                    names["before"],
                    lat["before"]["n"],
                    lat["before"]["p50_ms"],
                    lat["before"]["p99_ms"],
                    lat["before"]["mean_ms"],
                    r["before_floor_p50"],
                    r["before_floor_p99"],
                ),
                (
                    names["after"],
                    lat["after"]["n"],
                    lat["after"]["p50_ms"],
                    lat["after"]["p99_ms"],
                    lat["after"]["mean_ms"],
                    r["after_floor_p50"],
                    r["after_floor_p99"],
                ),
                (
                    "floor: bare transaction, 1 read + 1 write",
                    lat["floor"]["n"],
                    lat["floor"]["p50_ms"],
                    lat["floor"]["p99_ms"],
                    lat["floor"]["mean_ms"],
                    1.0,
                    1.0,
                ),
            ],
            "1. Latency (interleaved, shuffled order per round, same run)",
        )
    )
    print(
        f"   after/before: p50 {r['after_before_p50']:.2f}x, p99 {r['after_before_p99']:.2f}x, mean {r['after_before_mean']:.2f}x"
    )

    ops = data["charge_ops"]
    print(
        benchlib.table(
            [
                "per steady-state charge",
                "attempts",
                "reads",
                "writes",
                "rpc reads",
                "rpc writes",
                "bytes read",
                "shared docs written",
            ],
            [
                (
                    names[s],
                    ops[s]["attempts"],
                    ops[s]["reads"],
                    ops[s]["writes"],
                    ops[s]["rpc_reads"],
                    ops[s]["rpc_writes"],
                    round(ops[s]["rpc_read_bytes"]),
                    ops[s]["shared_writes"],
                )
                for s in SIDES
            ],
            "2. Reads and writes per charge (atomic.Stats; rpc = on the wire, everything the call did; bytes = documents read)",
        )
    )
    collections = sorted(set().union(*(set(ops[s]["reads_by_collection"]) | set(ops[s]["writes_by_collection"]) for s in SIDES)))
    print(
        benchlib.table(
            ["collection", "before reads", "before writes", "after reads", "after writes"],
            [
                (
                    c,
                    ops["before"]["reads_by_collection"].get(c, 0.0),
                    ops["before"]["writes_by_collection"].get(c, 0.0),
                    ops["after"]["reads_by_collection"].get(c, 0.0),
                    ops["after"]["writes_by_collection"].get(c, 0.0),
                )
                for c in collections
            ],
            "   per collection (documents per charge, on the wire / in the applied commit)",
        )
    )
    for s in SIDES:
        print(f"   {s}: reads {', '.join(ops[s]['sample_reads'])}")
        print(f"   {s}: writes {', '.join(ops[s]['sample_writes'])}")

    rows = []
    for case in CASES:
        b = next((g for g in data["generations"]["before"] if g["case"] == case), None)
        a = next((g for g in data["generations"]["after"] if g["case"] == case), None)
        if not (a and b):
            continue
        rows.append(
            (
                CASES[case],
                f"{b['reporter']} / {a['reporter']}",
                f"{b['total_reads']:.0f} / {b['total_writes']:.0f}",
                f"{a['total_reads']:.0f} / {a['total_writes']:.0f}",
                f"{b['shared_writes']:.0f}",
                f"{a['shared_writes']:.0f}",
                b["latency"]["p50_ms"],
                a["latency"]["p50_ms"],
            )
        )
    print(
        benchlib.table(
            [
                "whole generation",
                "reported by",
                "before r / w",
                "after r / w",
                "before shared w",
                "after shared w",
                "before p50 ms",
                "after p50 ms",
            ],
            rows,
            f"3. Whole generations: charge + its end ({data['params']['generations']} of each a side, interleaved)",
        )
    )
    for s in SIDES:
        spread = [
            g
            for g in data["generations"][s]
            if g["total_reads_range"][0] != g["total_reads_range"][1] or g["total_writes_range"][0] != g["total_writes_range"][1]
        ]
        if spread:
            print(
                f"   {s}: counts varied between runs: "
                + "; ".join(f"{g['case']} reads {g['total_reads_range']} writes {g['total_writes_range']}" for g in spread)
            )

    rows = []
    for s in SIDES:
        sh = data["shared"][s]
        detail = ", ".join(
            f"{c}: {d['documents']} docs (up to {d['max_users_per_document']} users each)" for c, d in sh["by_collection"].items()
        )
        rows.append((names[s], sh["documents_written"], sh["documents"], detail or "none"))
    print(
        benchlib.table(
            ["side", "documents written", "written by 2+ users", "where"],
            rows,
            "4. Documents written by the calls of more than one user, over the whole run",
        )
    )
    for s in SIDES:
        for c, d in data["shared"][s]["by_collection"].items():
            print(f"   {s} {c}: e.g. {', '.join(d['examples'])}")
    print("\n5. Listing check: the documents one charge changed in its project against those its commit wrote")
    for s in SIDES:
        check = data["listing_check"][s]
        print(f"   {s}: changed {len(check['changed'])}, committed {len(check['committed'])}, the same set: {check['agree']}")
    print("\nreconcile: " + ", ".join(f"{s} {data['reconcile'][s]['drifts']} drifts" for s in SIDES))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", help="write all figures to this file")
    parser.add_argument("--before", default=BEFORE, help=f"the older commit (default {BEFORE})")
    parser.add_argument("--samples", type=int, default=300, help="measured rounds (a charge on each side + the floor)")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured rounds first")
    parser.add_argument("--generations", type=int, default=5, help="whole generations of each case, a side")
    parser.add_argument("--seed", type=int, default=14, help="the order of each round")
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--project", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args.worker, args.project)

    benchlib.require_emulators(functions=False)
    started = time.perf_counter()
    args.machine = benchlib.machine()
    args.before_commit = git("rev-parse", "--verify", f"{args.before}^{{commit}}")
    args.before_subject = git("log", "-1", "--format=%s", args.before_commit)
    args.after_commit = git("rev-parse", "HEAD")
    args.after_dirty = bool(git("status", "--porcelain", "--", *ARCHIVED))
    print(f"before: {args.before_commit[:7]} {args.before_subject[:90]}")
    print(f"after:  the working tree at {args.after_commit[:7]}{' (modified)' if args.after_dirty else ''}")

    old_tree = pathlib.Path(tempfile.mkdtemp(prefix="bench-before-after-"))
    sides: dict[str, Side] = {}
    try:
        extract(args.before_commit, old_tree)
        sides["before"] = Side("before", old_tree)
        sides["after"] = Side("after", ROOT)
        data = run(args, sides)
    finally:
        for side in sides.values():
            side.close()
        shutil.rmtree(old_tree, ignore_errors=True)
    data["elapsed_s"] = time.perf_counter() - started
    report(data)
    print(f"(run took {data['elapsed_s']:.0f} s; load average at start {data['machine']['loadavg_at_start']})")
    benchlib.write_json(args.json, data)
    ok = all(data["reconcile"][s]["drifts"] == 0 for s in SIDES) and all(data["listing_check"][s]["agree"] for s in SIDES)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
