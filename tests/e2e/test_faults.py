"""The function process dies in the middle of generations; clients retry afterwards.

Charges with idempotency keys go through the Functions emulator over HTTP while the
emulator's Python workers for ``validateAndDeductCredits`` are SIGKILLed at random moments
(only this run's workers: see ``tests/support/faults.py``). A killed request may have
committed or not; its client only sees a failed HTTP call. Every client then retries with
the same ``requestId`` (the emulator starts new workers) until it gets an answer.

Then: each key ends with exactly one activity and one charge, the first successful answer
is the one every replay returns, balances are their ledgers' sums. Generations that never
reported a final status are left to the hourly job: run in process (two at a time, with a
clock 31 minutes ahead), it fails and refunds every stuck activity exactly once and leaves
finished and fresh ones alone; ``reconcile`` finds no drift.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from credits.features import maintenance
from credits.features.charging import activity_id_for
from credits.features.reconcile import reconcile
from credits.vocab.clock import ManualClock
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu, faults
from tests.support.ledger import balance, ledger_sum

pytestmark = [pytest.mark.slow]

TARGET = "validateAndDeductCredits"
ROUNDS = 16
BURST = 6  # charges in flight when the workers are killed
USERS = 4
SEED = 20261125
COST = 3  # 300 chat tokens at 0.01


def _post(name: str, data: Any, user: emu.User, timeout: float = 120) -> tuple[str, emu.CallResult | None]:
    """('answer', result) for an answer from the function; ('lost', None) when the emulator
    could not get one because the worker died (a 500 without a callable error body, a
    dropped connection, or no answer in time: the emulator sometimes never answers a request
    whose worker it lost)."""
    try:
        r = emu.call(name, data, user, timeout=timeout)
    except requests.RequestException:
        return "lost", None
    if r.status == 500 and "error" not in r.body:
        return "lost", None
    assert r.code != "INTERNAL", r.body
    return "answer", r


def _activity(db: firestore.Client, activity_id: str) -> dict[str, Any] | None:
    snap = db.collection("ai_activity").document(activity_id).get()
    return snap.to_dict() if snap.exists else None


@pytest.mark.timeout(600)
def test_workers_killed_mid_charge_then_retries_charge_exactly_once_and_the_sweep_refunds(db: firestore.Client) -> None:
    if faults.emulator_pid() is None:
        pytest.fail("cannot find this run's emulator process: run through scripts/test.sh", pytrace=False)
    rng = random.Random(SEED)
    users = [emu.sign_up() for _ in range(USERS)]
    for u in users:  # first use: the users document and the signup grant exist before the faults
        assert emu.call(TARGET, {"type": "chat", "prompt": "hello", "quantity": 100}, u).ok
    keys: list[tuple[emu.User, str]] = []
    first_try: dict[str, str] = {}
    first_ok: dict[str, dict[str, Any]] = {}
    kills: list[int] = []
    started = time.monotonic()

    # ROUNDS rounds, and more (up to 3x) until a kill has landed between a commit and its
    # answer, the case that matters most: on a differently loaded machine it may take longer.
    r = 0
    applied_lost = 0
    while r < ROUNDS or (applied_lost == 0 and r < 3 * ROUNDS):
        # Warm BURST workers (the emulator runs one request per worker), so the kill lands in
        # charges being processed rather than in workers still starting.
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            list(pool.map(lambda i: emu.call(TARGET, {}, users[i % USERS]), range(BURST)))
        warm = set(faults.function_workers(TARGET))
        burst = [(users[(r * BURST + i) % USERS], f"cut-{r}-{i}") for i in range(BURST)]
        keys += burst
        delay = rng.uniform(0.005, 0.15)
        refs = [db.collection("ai_activity").document(activity_id_for(u.uid, rid)) for u, rid in burst]

        def killer(delay: float = delay, warm: set[int] = warm, refs: list[Any] = refs, on_commit: bool = r % 2 == 1) -> None:
            # Even rounds: at a random moment. Odd rounds: as soon as the first charge of the
            # burst has committed, when the others are most likely mid-commit or answering.
            deadline = time.monotonic() + 3
            if on_commit:
                while time.monotonic() < deadline and not any(s.exists for s in db.get_all(refs)):
                    pass
            else:
                time.sleep(delay)
            kills.extend(faults.kill_workers(TARGET, only=warm))

        k = threading.Thread(target=killer)
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            futures = {
                rid: pool.submit(
                    _post, TARGET, {"type": "chat", "prompt": f"frame {rid}", "quantity": 300, "requestId": rid}, user, 20
                )
                for user, rid in burst
            }
            k.start()
            for rid, future in futures.items():
                kind, result = future.result()
                first_try[rid] = "ok" if kind == "answer" and result is not None and result.ok else kind
                if first_try[rid] == "ok":
                    first_ok[rid] = result.result
        k.join()
        applied_lost += sum(
            1 for u, rid in burst if first_try[rid] == "lost" and _activity(db, activity_id_for(u.uid, rid)) is not None
        )
        r += 1

    kill_phase = time.monotonic() - started

    # Which lost calls had committed before their worker died (their answer was lost)?
    lost_but_applied = sum(
        1 for user, rid in keys if first_try[rid] == "lost" and _activity(db, activity_id_for(user.uid, rid)) is not None
    )

    # Every client retries with the same key until it gets an answer.
    final: dict[str, dict[str, Any]] = {}
    retries = Counter()
    for user, rid in keys:
        for _ in range(10):
            kind, result = _post(TARGET, {"type": "chat", "prompt": f"frame {rid}", "quantity": 300, "requestId": rid}, user)
            retries[kind] += 1
            if kind == "answer":
                assert result is not None and result.ok, result.body if result else None
                final[rid] = result.result
                break
        assert rid in final, f"{rid}: no answer after retries"
        assert final[rid]["activityId"] == activity_id_for(user.uid, rid)
        if rid in first_ok:
            assert final[rid] == first_ok[rid], "the retry returns the answer the first try got"
        again = emu.call(TARGET, {"type": "chat", "prompt": f"frame {rid}", "quantity": 300, "requestId": rid}, user)
        assert again.result == final[rid], "a replay returns the first result"

    outcomes = Counter(first_try.values())
    print(
        f"\nworker kills: {len(kills)} processes killed in {r} rounds of {BURST} charges; first tries {dict(outcomes)}, "
        f"{lost_but_applied} lost answers of committed charges; retries {dict(retries)}; kill phase {kill_phase:.1f}s, then retries {time.monotonic() - started - kill_phase:.1f}s"
    )
    assert kills, "no worker was killed: the test did not test anything"
    assert outcomes["lost"] > 0, "no request was cut by a kill"
    # The case that matters most: the charge committed, then its worker died before answering.
    assert lost_but_applied > 0, "no kill landed between a commit and its answer this time"

    # Exactly one activity and one charge per key; books balance.
    ours: dict[str, str] = {}  # activity id -> uid
    for user in users:
        activities = {
            s.id: s.to_dict() for s in db.collection("ai_activity").where(filter=FieldFilter("userId", "==", user.uid)).stream()
        }
        entries = {
            s.id: s.to_dict() for s in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", user.uid)).stream()
        }
        mine = {activity_id_for(user.uid, rid) for u, rid in keys if u is user}
        warm = set(activities) - mine
        assert len(warm) == 1, "the first-use chat charge and the keyed charges, nothing else"
        assert mine <= set(activities)
        for aid in mine:
            assert activities[aid]["response"] == next(final[rid] for u, rid in keys if activity_id_for(u.uid, rid) == aid)
            assert entries[f"charge_{aid}"]["delta"] == -COST
        assert set(entries) == {f"signup_{user.uid}"} | {f"charge_{a}" for a in activities}
        assert balance(db, user.uid) == 100 - 1 - COST * len(mine) == ledger_sum(db, user.uid)
        ours.update({a: user.uid for a in activities})

    # Some generations get on: one processing, one completed; the rest never report back.
    keyed = [activity_id_for(u.uid, rid) for u, rid in keys]
    processing, completed = keyed[0], keyed[1]
    owner = {activity_id_for(u.uid, rid): u for u, rid in keys}
    assert emu.call("updateAIActivityStatus", {"activityId": processing, "status": "processing"}, owner[processing]).ok
    generator = emu.make_generator()  # the owner's own "completed" is a confirmation only (contract revision 3)
    assert emu.call("updateAIActivityStatus", {"activityId": completed, "status": "completed"}, generator).ok
    assert owner[completed]  # the activity has its owner among the test's users
    stuck = set(ours) - {completed}
    before = {uid: balance(db, uid) for uid in {u.uid for u in users}}

    # The hourly job, 31 minutes later, twice at the same time, until it has nothing left.
    clock = ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31))
    swept: Counter[str] = Counter()
    for _ in range(20):
        with ThreadPoolExecutor(max_workers=2) as pool:
            reports = list(pool.map(lambda _: maintenance.reset_rate_limits(db, clock), range(2)))
        for report in reports:
            swept.update(a for a in report.failed_activities if a in ours)
        if not any(report.more for report in reports):
            break
    assert set(swept) == stuck and all(n == 1 for n in swept.values()), f"each stuck activity failed once: {swept}"

    for aid in ours:
        activity = _activity(db, aid)
        assert activity is not None
        refund = db.collection("credit_logs").document(f"refund_{aid}").get()
        if aid in stuck:
            assert activity["status"] == "failed" and activity["failureSource"] == "system"
            assert refund.exists and refund.get("delta") == activity["initialCharge"]
        else:
            assert activity["status"] == "completed" and not refund.exists
    for uid, was in before.items():
        refunded = sum(int(_activity(db, a)["initialCharge"]) for a, u in ours.items() if u == uid and a in stuck)
        assert balance(db, uid) == was + refunded == ledger_sum(db, uid)
    assert [d for d in reconcile(db) if d.user_id in set(ours) | set(before)] == []
    later = maintenance.reset_rate_limits(db, clock)
    assert not set(later.failed_activities) & set(ours), "a second run refunds nothing again"
