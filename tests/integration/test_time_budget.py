"""One time budget per call: a slow, cut or locked database gets the client an answer
(``unavailable`` or ``aborted``, nothing written twice) before the call's budget runs out,
instead of a platform timeout whose outcome is unknown.

The budget's end is a correctness property (the platform cuts the function at its timeout),
so these tests check that the answer comes before it, with a generous margin for a shared
machine; they measure no speed.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid

import pytest
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.store import atomic
from credits.store.atomic import Deadline
from credits.vocab.clock import ManualClock
from credits.vocab.context import Caller, ClientContext
from credits.vocab.errors import BackendUnavailable, Contention
from google.cloud import firestore

from tests.support import emulators as emu
from tests.support.faults import FaultyClient, TcpProxy
from tests.support.ledger import assert_books_balance, balance

BUDGET = 3.0
MARGIN = 3.0  # the answer may come a little after the budget: the last round trip's own timeout


@pytest.fixture
def proxy() -> TcpProxy:
    host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if not host:
        pytest.fail("FIRESTORE_EMULATOR_HOST is not set: run through scripts/test.sh", pytrace=False)
    with TcpProxy(host) as p:
        yield p


@pytest.fixture
def faulty(proxy: TcpProxy) -> FaultyClient:
    client = FaultyClient(emu.PROJECT, proxy)
    yield client
    client.close()


def a_charge(key: str) -> ChargeRequest:
    return ChargeRequest.parse({"type": "image", "prompt": "a quiet street", "requestId": key})


def test_answers_never_coming_back_end_in_unavailable_within_the_budget(
    client: firestore.Client, faulty: FaultyClient, proxy: TcpProxy
) -> None:
    clock = ManualClock(dt.datetime.now(dt.UTC))
    caller = Caller(uid=f"tb-{uuid.uuid4().hex[:10]}")
    ctx = ClientContext(ip=emu.fresh_ip())
    charge(Command(faulty, clock, caller, ctx), a_charge("warm"))  # the account exists, the channel is up
    proxy.swallowing = True  # every request reaches the database; no answer comes back
    started = time.monotonic()
    try:
        with pytest.raises(BackendUnavailable):
            charge(Command(faulty, clock, caller, ctx, deadline=Deadline(BUDGET)), a_charge("stalled"))
    finally:
        proxy.swallowing = False
        proxy.reset()
    assert time.monotonic() - started < BUDGET + MARGIN
    # the client retries with the same key once the database answers again: charged once at most
    result = charge(Command(faulty, clock, caller, ctx, deadline=Deadline(30)), a_charge("stalled"))
    again = charge(Command(faulty, clock, caller, ctx, deadline=Deadline(30)), a_charge("stalled"))
    assert result == again
    assert balance(client, caller.uid) == 80
    assert_books_balance(client, caller.uid)


def test_a_database_that_is_down_ends_in_unavailable_within_the_budget(faulty: FaultyClient, proxy: TcpProxy) -> None:
    clock = ManualClock(dt.datetime.now(dt.UTC))
    caller = Caller(uid=f"tb-{uuid.uuid4().hex[:10]}")
    ctx = ClientContext(ip=emu.fresh_ip())
    proxy.refuse(BUDGET + 10)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable):
        charge(Command(faulty, clock, caller, ctx, deadline=Deadline(BUDGET)), a_charge("down"))
    assert time.monotonic() - started < BUDGET + MARGIN


def test_a_lock_held_past_the_budget_ends_in_contention(client: firestore.Client) -> None:
    clock = ManualClock(dt.datetime.now(dt.UTC))
    caller = Caller(uid=f"tb-{uuid.uuid4().hex[:10]}")
    lock = atomic._lock_for(f"user:{caller.uid}")
    assert lock.acquire(timeout=1)  # another request of the same user, stuck
    try:
        started = time.monotonic()
        with pytest.raises(Contention):
            charge(Command(client, clock, caller, ClientContext(ip=emu.fresh_ip()), deadline=Deadline(1.0)), a_charge("queued"))
        assert time.monotonic() - started < 1.0 + MARGIN
    finally:
        lock.release()
    assert not client.collection("users").document(caller.uid).get().exists  # nothing was written
