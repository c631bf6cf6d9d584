"""End-to-end: real Auth accounts and ID tokens, callables over HTTP through the Functions
emulator, state checked in the Firestore emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from credits.store import db as dbmod
from google.cloud import firestore

from tests.support import config as cfg, emulators as emu


@pytest.fixture(scope="session", autouse=True)
def _emulators() -> None:
    if not (emu.emulators_running() and emu.functions_running()):
        pytest.fail("the Emulator Suite is not running: run these tests through scripts/test.sh", pytrace=False)


@pytest.fixture(scope="session")
def db() -> firestore.Client:
    return dbmod.make_client(emu.PROJECT)


@pytest.fixture
def user() -> emu.User:
    return emu.sign_up()


@pytest.fixture(scope="session")
def admin() -> emu.User:
    return emu.make_admin()


@pytest.fixture(scope="session")
def generator() -> emu.User:
    """The generation pipeline's identity (claim ``generator: true``)."""
    return emu.make_generator()


@pytest.fixture
def config(db: firestore.Client) -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    """Change the configuration for one test (``config({...})``); every default is back after."""
    cfg.reset(db)
    yield lambda patch: cfg.apply(db, patch)
    cfg.reset(db)


@pytest.fixture
def clock() -> Iterator[None]:
    emu.set_clock_offset(0)
    yield
    emu.set_clock_offset(0)
