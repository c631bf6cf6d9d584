"""The optimistic commit engine against the Firestore emulator: exact under contention,
no double effect when a commit's outcome is unknown, a clean error past its deadline."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.store import atomic
from credits.store.atomic import Attempt, Plan
from credits.vocab.clock import ManualClock
from credits.vocab.context import Caller, ClientContext
from credits.vocab.errors import Contention, InsufficientCredits
from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support.ledger import assert_books_balance, balance


def test_unlocked_threads_on_one_document_never_lose_an_update(client: firestore.Client) -> None:
    """No in-process lock: the preconditions alone make 40 concurrent increments exact."""
    ref = client.collection("it_counters").document(uuid.uuid4().hex)
    ref.set({"n": 0})

    def bump(_: int) -> int:
        def step(attempt: Attempt) -> Plan[int]:
            snap = attempt.get([ref])[ref.path]
            n = snap.to_dict()["n"] + 1
            plan: Plan[int] = Plan(result=n)
            plan.put(snap, {"n": n})
            return plan

        return atomic.run(client, step)

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(bump, range(40)))
    assert sorted(results) == list(range(1, 41))
    assert ref.get().to_dict()["n"] == 40


def test_fifty_threads_charge_exactly_what_the_balance_covers(
    client: firestore.Client, clock: ManualClock, ctx: ClientContext
) -> None:
    caller = Caller(uid=f"it-{uuid.uuid4().hex}")
    request = ChargeRequest.parse({"type": "video", "prompt": "p", "quantity": 3})  # 15 credits

    def one(_: int) -> str:
        try:
            charge(Command(client, clock, caller, ctx), request)
            return "charged"
        except InsufficientCredits:
            return "insufficient"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = Counter(pool.map(one, range(50)))
    assert outcomes == {"charged": 6, "insufficient": 44}  # 100 // 15
    assert balance(client, caller.uid) == 10
    assert_books_balance(client, caller.uid)


def test_lost_commit_response_does_not_charge_twice(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit applies but its response is lost (a timeout): the retry finds its own
    activity instead of charging again, even without a requestId."""
    real_commit = atomic._commit
    calls = {"n": 0}

    def flaky(cl: firestore.Client, writes: list[Any], deadline: atomic.Deadline) -> None:
        calls["n"] += 1
        real_commit(cl, writes, deadline)
        if calls["n"] == 1:
            raise gexc.DeadlineExceeded("response lost after commit")

    monkeypatch.setattr(atomic, "_commit", flaky)
    result = charge(Command(client, clock, caller, ctx), ChargeRequest.parse({"type": "image", "prompt": "p"}))
    assert calls["n"] == 1  # the retry read the activity and did not commit again
    assert result.remainingCredits == 90
    assert balance(client, caller.uid) == 90
    activities = list(client.collection("ai_activity").where(filter=FieldFilter("userId", "==", caller.uid)).stream())
    assert len(activities) == 1
    assert_books_balance(client, caller.uid)


def test_commit_that_never_applied_is_retried(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_commit = atomic._commit
    calls = {"n": 0}

    def unavailable_once(cl: firestore.Client, writes: list[Any], deadline: atomic.Deadline) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise gexc.ServiceUnavailable("connection reset before commit")
        real_commit(cl, writes, deadline)

    monkeypatch.setattr(atomic, "_commit", unavailable_once)
    result = charge(Command(client, clock, caller, ctx), ChargeRequest.parse({"type": "image", "prompt": "p"}))
    assert calls["n"] == 2
    assert result.remainingCredits == 90
    assert_books_balance(client, caller.uid)


def test_endless_conflict_ends_in_a_clean_contention_error(client: firestore.Client) -> None:
    ref = client.collection("it_counters").document(uuid.uuid4().hex)
    ref.set({"n": 0})
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            ref.update({"n": firestore.Increment(1)})

    thread = threading.Thread(target=hammer)
    thread.start()

    def step(attempt: Attempt) -> Plan[None]:
        snap = attempt.get([ref])[ref.path]
        plan: Plan[None] = Plan()
        plan.put(snap, {"n": -1})
        # give the hammer time to move the document before we commit
        import time

        time.sleep(0.05)
        return plan

    try:
        with pytest.raises(Contention) as info:
            atomic.run(client, step, deadline=atomic.Deadline(3.0))
    finally:
        stop.set()
        thread.join()
    assert info.value.code == "aborted" and info.value.reason == "contention"
    assert ref.get().to_dict()["n"] >= 0  # our write never landed


def test_step_errors_after_commit_keep_their_records(client: firestore.Client) -> None:
    ref = client.collection("it_counters").document(uuid.uuid4().hex)

    def step(attempt: Attempt) -> Plan[None]:
        snap = attempt.get([ref])[ref.path]
        plan: Plan[None] = Plan(error=InsufficientCredits(required=2, available=1))
        plan.put(snap, {"recorded": True})
        return plan

    with pytest.raises(InsufficientCredits):
        atomic.run(client, step)
    assert ref.get().to_dict() == {"recorded": True}


def test_a_step_that_sees_a_stale_read_is_run_again_on_fresh_reads(client: firestore.Client) -> None:
    """A batched read outside a transaction is not one snapshot: a step that sees a commit's
    user document but not that commit's ledger entry raises ``StaleRead``; the engine reads
    again instead of answering ``internal``.
    """
    ref = client.collection("it_counters").document(uuid.uuid4().hex)
    ref.set({"n": 0})
    stats = atomic.Stats()
    seen: list[int] = []

    def step(attempt: Attempt) -> Plan[int]:
        snap = attempt.get([ref])[ref.path]
        seen.append(attempt.number)
        if attempt.number == 1:
            raise atomic.StaleRead("the entry of a commit this read saw half of")
        plan: Plan[int] = Plan(result=attempt.number)
        plan.put(snap, {"n": snap.to_dict()["n"] + 1})
        return plan

    assert atomic.run(client, step, stats=stats) == 2
    assert seen == [1, 2] and stats.attempts == 2
    assert ref.get().to_dict()["n"] == 1


def test_a_read_that_stays_stale_ends_in_a_clean_contention_error(client: firestore.Client) -> None:
    ref = client.collection("it_counters").document(uuid.uuid4().hex)

    def step(attempt: Attempt) -> Plan[None]:
        attempt.get([ref])
        raise atomic.StaleRead("never consistent")

    with pytest.raises(Contention) as info:
        atomic.run(client, step, deadline=atomic.Deadline(1.5))
    assert info.value.code == "aborted" and info.value.reason == "contention"
