"""Integration: the domain, in process, against the Firestore emulator, with a manual clock."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from credits.store import db as dbmod
from credits.vocab.clock import ManualClock
from credits.vocab.context import Caller, ClientContext
from google.cloud import firestore

from tests.support import emulators as emu


@pytest.fixture(scope="session", autouse=True)
def _firestore_emulator() -> None:
    if not emu.emulators_running():
        pytest.fail("the Firestore emulator is not running: run these tests through scripts/test.sh", pytrace=False)


@pytest.fixture(scope="session")
def client() -> firestore.Client:
    return dbmod.make_client(emu.PROJECT)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


@pytest.fixture
def caller() -> Caller:
    return Caller(uid=f"it-{uuid.uuid4().hex[:16]}", email="it@example.com", name="Integration")


@pytest.fixture
def ctx() -> ClientContext:
    return ClientContext(ip=emu.fresh_ip(), country="NL", user_agent="pytest")


@pytest.fixture
def clean(client: firestore.Client) -> None:
    """An empty database, for tests that count across collections."""
    emu.clear_firestore()
