"""Security-rules tests: ``firestore.rules`` as the Firestore emulator enforces it for real
clients (Auth-emulator ID tokens over the REST API).

Callers: ``owner`` (a plain user who owns the fixture documents), ``other`` (another plain
user), ``admin`` (ID token with the custom claim ``admin: true``) and ``anon`` (no token).
Fixture documents get unique ids per run and per test, and are deleted afterwards, so
these tests share the emulator with the other tiers without clearing it.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.rules import firestore_rest as fs
from tests.support import emulators as emu


@pytest.fixture(scope="session", autouse=True)
def _emulators() -> None:
    if not emu.emulators_running():
        pytest.fail("the Auth and Firestore emulators are not running: run these tests through scripts/test.sh", pytrace=False)


@pytest.fixture(scope="session")
def owner_user() -> emu.User:
    return emu.sign_up()


@pytest.fixture(scope="session")
def other_user() -> emu.User:
    return emu.sign_up()


@pytest.fixture(scope="session")
def admin_user() -> emu.User:
    user = emu.make_admin()
    claims = _claims(user.id_token)
    assert claims.get("admin") is True, f"the admin's ID token lacks the admin claim: {claims}"
    return user


@pytest.fixture(scope="session")
def owner(owner_user: emu.User) -> fs.Caller:
    assert "admin" not in _claims(owner_user.id_token)
    return fs.caller_of("owner", owner_user)


@pytest.fixture(scope="session")
def other(other_user: emu.User) -> fs.Caller:
    assert "admin" not in _claims(other_user.id_token)
    return fs.caller_of("other", other_user)


@pytest.fixture(scope="session")
def admin(admin_user: emu.User) -> fs.Caller:
    return fs.caller_of("admin", admin_user)


@pytest.fixture
def fresh_owner() -> fs.Caller:
    """A new plain user for tests that write (so a wrongly allowed write cannot leak)."""
    return fs.caller_of("owner", emu.sign_up())


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:16]


class Seeder:
    """Seeds fixture documents with the owner bypass and deletes them (and any path a test
    registers, e.g. the target of a create that should have been refused) afterwards."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def set(self, path: str, data: dict[str, Any]) -> str:
        self.track(path)
        fs.bypass_set(path, data)
        return path

    def track(self, path: str) -> str:
        if path not in self.paths:
            self.paths.append(path)
        return path

    def cleanup(self) -> None:
        for path in reversed(self.paths):
            fs.bypass_delete(path)
        self.paths.clear()


@pytest.fixture
def seeder() -> Iterator[Seeder]:
    s = Seeder()
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def module_seeder() -> Iterator[Seeder]:
    s = Seeder()
    yield s
    s.cleanup()


def _claims(id_token: str) -> dict[str, Any]:
    """The (unverified) payload of an ID token: only to check the fixture is what it claims."""
    payload = id_token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
