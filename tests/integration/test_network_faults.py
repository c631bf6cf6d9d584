"""Firestore unreachable mid-commit: the domain, in process, on a real Firestore client whose
connection to the emulator goes through a TCP proxy that cuts it at random moments.

The proxy (``tests/support/faults.py``) resets connections (in-flight RPCs die), refuses
new ones for a while (the database is down), and swallows answers: the request reaches the
emulator and is applied, the client never hears back, so the commit's outcome is unknown.
Besides the random faults, a hook makes a share of the commits lose their answer on
purpose, right after they were sent.

Clients behave as the contract tells them: an ``aborted``/``unavailable`` answer means
"nothing was changed, retry"; a client with a ``requestId`` retries with the same key, one
without sends a new call. Afterwards, read directly (not through the proxy): nothing was
charged, refunded or settled twice, nothing was lost, every balance is its ledger's sum, and
every success is exactly one activity with exactly one ledger entry.

Named ``test_network_faults`` (not ``test_faults``) because tests/e2e has a
``test_faults.py`` and these directories are not packages.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from credits.features import maintenance
from credits.features.admin import GrantRequest, grant
from credits.features.charging import ChargeRequest, activity_id_for, charge
from credits.features.command import Command
from credits.features.lifecycle import StatusRequest, update_status
from credits.features.reconcile import reconcile
from credits.vocab.clock import ManualClock
from credits.vocab.context import SYSTEM, Caller, ClientContext
from credits.vocab.errors import BackendUnavailable, Contention, CreditsError
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.faults import FaultyClient, TcpProxy
from tests.support.ledger import balance, ledger_sum

pytestmark = [pytest.mark.slow]

RETRYABLE = (Contention, BackendUnavailable)  # "nothing was changed; retry shortly"
GENERATOR = Caller(uid="nf-generator", is_generator=True)
SEED = 20261125


@pytest.fixture
def proxy() -> Any:
    host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if not host:
        pytest.fail("FIRESTORE_EMULATOR_HOST is not set: run through scripts/test.sh", pytrace=False)
    with TcpProxy(host) as p:
        yield p


@pytest.fixture
def faulty(proxy: TcpProxy) -> FaultyClient:
    client = FaultyClient(emu.PROJECT, proxy)
    yield client
    client.before_commit = None
    client.close()


class Chaos:
    """Random faults on the proxy, from a background thread, until stopped."""

    def __init__(self, proxy: TcpProxy, seed: int, *, every: tuple[float, float] = (0.03, 0.25)) -> None:
        self.proxy = proxy
        self.rng = random.Random(seed)
        self.every = every
        self.counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.rng.uniform(*self.every)):
            kind = self.rng.choices(["reset", "refuse", "swallow"], weights=[5, 2, 3])[0]
            if kind == "reset":
                self.proxy.reset()
            elif kind == "refuse":
                self.proxy.refuse(self.rng.uniform(0.05, 0.3))
            else:
                self.proxy.swallow(self.rng.uniform(0.05, 0.2))
            self.counts[kind] += 1

    def __enter__(self) -> Chaos:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def lose_answers(client: FaultyClient, proxy: TcpProxy, share: float, seed: int) -> Counter[str]:
    """Make ``share`` of the commits lose their answer: swallow right before they go out."""
    rng = random.Random(seed)
    lock = threading.Lock()
    counts: Counter[str] = Counter()

    def hook() -> None:
        with lock:
            hit = rng.random() < share
        if hit:
            counts["lost_answers"] += 1
            proxy.swallow_async(rng.uniform(0.05, 0.25))

    client.before_commit = hook
    return counts


def _activities(client: firestore.Client, uid: str) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() for s in client.collection("ai_activity").where(filter=FieldFilter("userId", "==", uid)).stream()}


def _entries(client: firestore.Client, uid: str) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() for s in client.collection("credit_logs").where(filter=FieldFilter("userId", "==", uid)).stream()}


def _drifts_for(client: firestore.Client, ids: set[str]) -> list[maintenance.Drift]:
    return [d for d in reconcile(client) if d.user_id in ids]


def _until_definitive(call: Callable[[], dict[str, Any]], tally: Counter[str], *, limit: int = 40) -> tuple[str, Any]:
    """Call until the answer is not "retry": ('ok', result) or (reason, error); the reason
    is prefixed with 'after-retry:' when an earlier call of the loop answered "retry"."""
    retried = False
    for _ in range(limit):
        try:
            return "ok", call()
        except RETRYABLE as err:
            tally[f"retry:{err.reason}"] += 1
            retried = True
        except CreditsError as err:
            return ("after-retry:" if retried else "") + err.reason, err
        except Exception as err:  # would be `internal` over HTTP
            tally[f"unexpected:{type(err).__name__}"] += 1
            return "unexpected", err
    raise AssertionError("still failing after many retries")


# ------------------------------------------------------------------ charges and settlements


@pytest.mark.timeout(300)
def test_random_cuts_with_request_ids_charge_settle_and_refund_exactly_once(
    client: firestore.Client, faulty: FaultyClient, proxy: TcpProxy
) -> None:
    """Six users, 15 keyed charges each, then a final status for each activity, under random
    resets, refusals and swallowed answers plus 30% of commits losing their answer."""
    rng = random.Random(SEED)
    clock = ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    users = [Caller(uid=f"nf-{i}-{uuid.uuid4().hex[:8]}", email=f"nf{i}@example.com") for i in range(6)]
    tally: Counter[str] = Counter()
    lock = threading.Lock()
    first: dict[str, dict[str, Any]] = {}  # requestId -> first successful answer
    plans = {u.uid: [(f"gen-{j}", rng.choice([1, 2, 5, 10])) for j in range(15)] for u in users}
    finals = {u.uid: [rng.choice(["completed", "completed-actual", "failed", "processing"]) for _ in range(15)] for u in users}

    def user_run(caller: Caller) -> None:
        ctx = ClientContext(ip=emu.fresh_ip())
        local: Counter[str] = Counter()
        for (rid, tokens), final in zip(plans[caller.uid], finals[caller.uid]):
            data = {"type": "chat", "prompt": f"hello {rid}", "quantity": tokens * 100, "requestId": rid}
            outcome, result = _until_definitive(
                lambda d=data: charge(Command(faulty, clock, caller, ctx), ChargeRequest.parse(d)).model_dump(), local
            )
            assert outcome == "ok", (outcome, result)
            assert result["activityId"] == activity_id_for(caller.uid, rid)
            with lock:
                first.setdefault(f"{caller.uid}/{rid}", result)
            # a replay (a client that did not see the answer) returns the first result
            outcome, again = _until_definitive(
                lambda d=data: charge(Command(faulty, clock, caller, ctx), ChargeRequest.parse(d)).model_dump(), local
            )
            assert outcome == "ok" and again == first[f"{caller.uid}/{rid}"]

            activity = result["activityId"]
            if final == "processing":
                request = StatusRequest(activity_id=activity, status="processing")
            elif final == "failed":
                request = StatusRequest(activity_id=activity, status="failed", error="model crashed")
            elif final == "completed":
                request = StatusRequest(activity_id=activity, status="completed")
            else:  # settle on fewer tokens: a refund of the difference
                request = StatusRequest.parse({"activityId": activity, "status": "completed", "actualQuantity": tokens * 50})
            outcome, answer = _until_definitive(
                lambda r=request: update_status(Command(faulty, clock, GENERATOR, ctx), r).model_dump(exclude_unset=True), local
            )
            if outcome == "after-retry:invalid_transition":
                # A call gave up ("retry") after a commit whose fate it could not learn, and
                # that commit had applied: the client's new call finds the activity final.
                local["final_after_gave_up"] += 1
                assert answer.details["from"] == request.status, answer.details
            else:
                assert outcome == "ok", (outcome, answer)
        with lock:
            tally.update(local)

    lost = lose_answers(faulty, proxy, 0.3, SEED)
    started = time.monotonic()
    with Chaos(proxy, SEED) as chaos, ThreadPoolExecutor(max_workers=len(users)) as pool:
        for future in [pool.submit(user_run, u) for u in users]:
            future.result()
    faulty.before_commit = None
    elapsed = time.monotonic() - started
    print(
        f"\nnetwork faults: {dict(chaos.counts)} random, {lost['lost_answers']} commits lost their answer, "
        f"{proxy.connections} connections, client side {dict(tally)}, {elapsed:.1f}s"
    )
    assert not [k for k in tally if k.startswith("unexpected")], tally
    assert lost["lost_answers"] > 0 and sum(chaos.counts.values()) > 0, "no fault was injected"

    for caller in users:
        activities = _activities(client, caller.uid)
        entries = _entries(client, caller.uid)
        assert set(activities) == {activity_id_for(caller.uid, rid) for rid, _ in plans[caller.uid]}, "lost or extra activity"
        expected_entries = {f"signup_{caller.uid}"}
        for (rid, tokens), final in zip(plans[caller.uid], finals[caller.uid]):
            aid = activity_id_for(caller.uid, rid)
            activity = activities[aid]
            assert activity["response"] == first[f"{caller.uid}/{rid}"]
            assert entries[f"charge_{aid}"]["delta"] == -tokens
            expected_entries.add(f"charge_{aid}")
            if final == "failed":
                assert activity["status"] == "failed"
                assert entries[f"refund_{aid}"]["delta"] == tokens
                expected_entries.add(f"refund_{aid}")
            elif final == "completed-actual":
                assert activity["status"] == "completed"
                refund = tokens - (tokens + 1) // 2
                if refund:
                    assert entries[f"settle_{aid}"]["delta"] == refund
                    expected_entries.add(f"settle_{aid}")
            elif final == "completed":
                assert activity["status"] == "completed"
            else:
                assert activity["status"] == "processing"
        assert set(entries) == expected_entries, "a ledger entry too many or missing"
        assert ledger_sum(client, caller.uid) == balance(client, caller.uid) >= 0
    assert _drifts_for(client, {u.uid for u in users} | {a for u in users for a in _activities(client, u.uid)}) == []


# ------------------------------------------------------------------ without requestId


@pytest.mark.timeout(300)
def test_lost_commit_answer_without_request_id_is_not_charged_or_granted_twice(
    client: firestore.Client, faulty: FaultyClient, proxy: TcpProxy
) -> None:
    """The first commit of a charge and of a grant, both without a key, loses its answer.

    This failed before ce2d6bd: the generated client re-sent the commit on UNAVAILABLE, the
    re-send failed its preconditions (it had applied), the engine took that for a plain
    conflict, never looked for its own writes, looped for 30 s and answered ``aborted``
    ("nothing was changed"): the client's new call then charged (or granted) a second time.
    """
    clock = ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    payer = Caller(uid=f"nf-nokey-{uuid.uuid4().hex[:8]}")
    receiver = f"nf-grantee-{uuid.uuid4().hex[:8]}"
    admin = Caller(uid=f"nf-admin-{uuid.uuid4().hex[:8]}", is_admin=True)
    ctx = ClientContext(ip=emu.fresh_ip())
    # both users exist before the faults start
    charge(Command(client, clock, payer, ctx), ChargeRequest.parse({"type": "chat", "prompt": "warm up", "quantity": 100}))
    grant(
        Command(client, clock, admin, ctx),
        GrantRequest.parse({"userId": receiver, "amount": 1, "reason": "warm up"}),
        lambda _: True,
    )
    lock = threading.Lock()
    pending = {"charge": True, "grant": True}

    def hook() -> None:  # the first commit of each operation loses its answer
        with lock:
            name = threading.current_thread().name
            if pending.get(name):
                pending[name] = False
                proxy.swallow_async(0.3)

    faulty.before_commit = hook
    errors: dict[str, list[str]] = {"charge": [], "grant": []}

    def as_client(name: str, call: Callable[[], Any]) -> None:
        threading.current_thread().name = name
        for _ in range(5):  # a client without a key sends a new call after "retry"
            try:
                call()
                return
            except RETRYABLE as err:
                errors[name].append(err.reason)

    def do_charge() -> Any:
        return charge(
            Command(faulty, clock, payer, ctx), ChargeRequest.parse({"type": "chat", "prompt": "once", "quantity": 100})
        )

    def do_grant() -> Any:
        return grant(
            Command(faulty, clock, admin, ctx),
            GrantRequest.parse({"userId": receiver, "amount": 7, "reason": "once"}),
            lambda _: True,
        )

    threads = [threading.Thread(target=as_client, args=(n, f)) for n, f in (("charge", do_charge), ("grant", do_grant))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=200)
    faulty.before_commit = None
    print(f"\nanswers before success: {errors}")
    assert not any(pending.values()), "a commit was meant to lose its answer and did not run"
    assert len(_activities(client, payer.uid)) == 2, f"one generation charged twice (errors {errors['charge']})"
    assert balance(client, payer.uid) == 98
    # the receiver's account was opened by the first grant (sign-up grant pending: 0 credits)
    assert balance(client, receiver) == 1 + 7, f"one grant applied twice (errors {errors['grant']})"
    assert ledger_sum(client, payer.uid) == balance(client, payer.uid)
    assert ledger_sum(client, receiver) == balance(client, receiver)


# ------------------------------------------------------------------ the sweep under faults


@pytest.mark.timeout(300)
def test_two_sweeps_at_once_under_network_faults_refund_every_stuck_activity_once(
    client: firestore.Client, faulty: FaultyClient, proxy: TcpProxy, clean: None
) -> None:
    """Stuck activities (pending and processing), finished ones and fresh ones; two sweeps run
    at the same time, repeatedly (as the hourly schedule would), through a faulty network."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = ManualClock(now)
    users = [Caller(uid=f"nf-sweep-{i}-{uuid.uuid4().hex[:8]}") for i in range(4)]
    stuck: set[str] = set()
    finished: dict[str, str] = {}
    for caller in users:
        ctx = ClientContext(ip=emu.fresh_ip())
        for j in range(12):
            aid = charge(
                Command(client, clock, caller, ctx),
                ChargeRequest.parse({"type": "voice", "prompt": f"clip {j}", "quantity": 2.5}),
            ).activityId
            if j % 4 == 1:
                update_status(
                    Command(client, clock, caller, ctx), StatusRequest(activity_id=aid, status="processing", progress=None)
                )
                stuck.add(aid)
            elif j % 4 == 2:
                update_status(Command(client, clock, SYSTEM, ctx), StatusRequest(activity_id=aid, status="completed"))
                finished[aid] = "completed"
            elif j % 4 == 3 and j > 8:
                finished[aid] = "pending-fresh"  # touched later, below: not stuck at sweep time
            else:
                stuck.add(aid)
    clock.advance(31 * 60)
    late = ManualClock(now + dt.timedelta(minutes=31))
    for aid, kind in finished.items():
        if kind == "pending-fresh":  # a live generation reporting progress just now
            update_status(Command(client, late, SYSTEM, ClientContext()), StatusRequest(activity_id=aid, status="processing"))
    assert sum(balance(client, u.uid) for u in users) == 4 * (100 - 12 * 8)

    runs: Counter[str] = Counter()
    lost = lose_answers(faulty, proxy, 0.3, SEED + 1)
    with Chaos(proxy, SEED + 1, every=(0.02, 0.15)) as chaos:
        for _ in range(30):  # the schedule runs again until nothing is stuck
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [pool.submit(maintenance.sweep_stuck, faulty, clock) for _ in range(2)]
            for f in futures:
                try:
                    f.result()
                    runs["sweep_completed"] += 1
                except Exception as err:  # a run that lost the database; the next one resumes
                    runs[f"sweep_aborted:{type(err).__name__}"] += 1
            left = [
                a for a in stuck if client.collection("ai_activity").document(a).get().get("status") in ("pending", "processing")
            ]
            if not left:
                break
    faulty.before_commit = None
    print(f"\nsweep under faults: {dict(chaos.counts)} random, {lost['lost_answers']} lost answers, runs {dict(runs)}")
    assert not left, f"{len(left)} activities still stuck"
    assert sum(chaos.counts.values()) > 0, "no fault was injected"

    for caller in users:
        entries = _entries(client, caller.uid)
        for aid, activity in _activities(client, caller.uid).items():
            refunds = [k for k in entries if k == f"refund_{aid}"]
            if aid in stuck:
                assert activity["status"] == "failed" and activity["failureSource"] == "system"
                assert refunds and entries[refunds[0]]["delta"] == 8
                assert client.collection("usage_logs").document(aid).get().exists
            else:
                assert not refunds
                assert activity["status"] == ("completed" if finished[aid] == "completed" else "processing")
        assert ledger_sum(client, caller.uid) == balance(client, caller.uid)
        assert balance(client, caller.uid) == 100 - 8 * sum(1 for a in _activities(client, caller.uid) if a not in stuck)
    assert _drifts_for(client, {u.uid for u in users} | stuck | set(finished)) == []
    # and a later run has nothing left to do for these activities
    again = maintenance.sweep_stuck(client, clock)
    assert not set(again.failed_activities) & (stuck | set(finished))
