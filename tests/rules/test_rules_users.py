"""Field-level rules on users/{uid}: the owner may change exactly the profile fields
(displayName string <= 100 or null, photoURL string <= 2048, locale string <= 35,
preferences map), nothing else, and nobody else may change anything."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rules import documents as d, firestore_rest as fs
from tests.rules.conftest import Seeder


@pytest.fixture
def profile(fresh_owner: fs.Caller, seeder: Seeder) -> str:
    """A fresh user's users/{uid}, as the backend would have created it."""
    assert fresh_owner.uid
    return seeder.set(f"users/{fresh_owner.uid}", d.user_doc(fresh_owner.uid))


def _update_and_check(caller: fs.Caller, path: str, changes: dict[str, Any], mask: list[str], allowed: bool) -> None:
    before = fs.bypass_read(path)
    assert before is not None
    response = fs.update(caller, path, changes, mask=mask)
    fs.assert_outcome(response, allowed)
    after = fs.bypass_read(path)
    if allowed:
        expected = {k: v for k, v in before.items() if k not in mask}
        expected.update(changes)
        assert after == expected
    else:
        assert after == before, "a refused update must change nothing"


# ---------------------------------------------------------------- profile fields: allowed

VALID_PROFILE_VALUES = [
    ("displayName", "Ada Lovelace", "plain"),
    ("displayName", "", "empty"),
    ("displayName", "x" * 100, "max-100"),
    ("displayName", "é" * 100, "max-100-non-ascii"),  # size() counts characters, not bytes
    ("displayName", None, "null"),  # the server writes null when the account has none
    ("photoURL", "https://example.com/me.png", "plain"),
    ("photoURL", "https://example.com/" + "p" * (2048 - 20), "max-2048"),
    ("locale", "fr-FR", "plain"),
    ("locale", "x" * 35, "max-35"),
    ("preferences", {"theme": "dark", "language": "de", "notifications": "email"}, "strings"),
    ("preferences", {"fontSize": 14, "compact": True}, "scalars"),
    ("preferences", {f"k{i}": "v" for i in range(32)}, "32-keys"),
    ("preferences", {"a": "x" * 8191}, "8-kib-values"),
    ("preferences", {}, "empty-map"),
]


@pytest.mark.parametrize(("name", "value"), [pytest.param(n, v, id=f"{n}-{label}") for n, v, label in VALID_PROFILE_VALUES])
def test_owner_may_update_each_profile_field(fresh_owner: fs.Caller, profile: str, name: str, value: Any) -> None:
    _update_and_check(fresh_owner, profile, {name: value}, [name], allowed=True)


def test_owner_may_update_all_profile_fields_at_once(fresh_owner: fs.Caller, profile: str) -> None:
    changes = {"displayName": "New", "photoURL": "https://example.com/n.png", "locale": "ja-JP", "preferences": {"a": "1"}}
    _update_and_check(fresh_owner, profile, changes, list(changes), allowed=True)


@pytest.mark.parametrize("name", d.PROFILE_FIELDS)
def test_owner_may_remove_a_profile_field(fresh_owner: fs.Caller, profile: str, name: str) -> None:
    # A masked field absent from the body is deleted (FieldValue.delete()).
    _update_and_check(fresh_owner, profile, {}, [name], allowed=True)


def test_owner_may_add_a_profile_field_the_document_lacked(fresh_owner: fs.Caller, seeder: Seeder) -> None:
    assert fresh_owner.uid
    doc = d.user_doc(fresh_owner.uid)
    del doc["photoURL"], doc["locale"], doc["preferences"]
    path = seeder.set(f"users/{fresh_owner.uid}", doc)
    _update_and_check(fresh_owner, path, {"locale": "pt-BR"}, ["locale"], allowed=True)


def test_a_long_server_written_display_name_does_not_block_other_profile_updates(fresh_owner: fs.Caller, seeder: Seeder) -> None:
    # Only changed fields are validated: a displayName the server copied from the ID token
    # (longer than 100) does not make an update of locale fail.
    assert fresh_owner.uid
    path = seeder.set(f"users/{fresh_owner.uid}", d.user_doc(fresh_owner.uid, displayName="n" * 300))
    _update_and_check(fresh_owner, path, {"locale": "it-IT"}, ["locale"], allowed=True)


def test_a_full_document_write_that_changes_only_profile_fields_is_allowed(fresh_owner: fs.Caller, profile: str) -> None:
    # set(doc) without merge sends the whole document: allowed when only profile fields differ.
    before = fs.bypass_read(profile)
    assert before is not None
    replacement = {**before, "displayName": "Whole Doc"}
    # Timestamps come back as strings; send them back as the same timestamps.
    for key in ("createdAt", "updatedAt"):
        replacement[key] = d.NOW
    response = fs.update(fresh_owner, profile, replacement, mask=None)
    fs.assert_allowed(response)
    after = fs.bypass_read(profile)
    assert after == {**before, "displayName": "Whole Doc"}


def test_a_suspended_owner_may_still_edit_the_profile(fresh_owner: fs.Caller, seeder: Seeder) -> None:
    # Suspension stops spending (the callables refuse); the rules do not freeze cosmetic fields.
    assert fresh_owner.uid
    path = seeder.set(f"users/{fresh_owner.uid}", d.user_doc(fresh_owner.uid, status="suspended", statusReason="abuse"))
    _update_and_check(fresh_owner, path, {"displayName": "Still Me"}, ["displayName"], allowed=True)


# ---------------------------------------------------------------- profile fields: type and size

INVALID_PROFILE_VALUES = [
    ("displayName", "x" * 101, "too-long"),
    ("displayName", 42, "int"),
    ("displayName", True, "bool"),
    ("displayName", ["a"], "list"),
    ("displayName", {"first": "a"}, "map"),
    ("photoURL", "https://example.com/" + "p" * (2049 - 20), "too-long"),
    ("photoURL", None, "null"),
    ("photoURL", 7, "int"),
    ("photoURL", {"url": "x"}, "map"),
    ("locale", "x" * 36, "too-long"),
    ("locale", None, "null"),
    ("locale", 1, "int"),
    ("locale", ["en"], "list"),
    ("preferences", "dark", "string"),
    ("preferences", ["dark"], "list"),
    ("preferences", 1, "int"),
    ("preferences", None, "null"),
    ("preferences", {"notifications": {"email": False}}, "nested-map"),
    ("preferences", {"tags": ["a", "b"]}, "list-value"),
    ("preferences", {f"k{i}": "v" for i in range(33)}, "33-keys"),
    ("preferences", {"a": "x" * 8193}, "over-8-kib-of-values"),
    ("preferences", {"k" * 1025: "v"}, "over-1-kib-of-keys"),
]


@pytest.mark.parametrize(("name", "value"), [pytest.param(n, v, id=f"{n}-{label}") for n, v, label in INVALID_PROFILE_VALUES])
def test_profile_field_type_and_size_violations_are_denied(fresh_owner: fs.Caller, profile: str, name: str, value: Any) -> None:
    _update_and_check(fresh_owner, profile, {name: value}, [name], allowed=False)


# ---------------------------------------------------------------- server fields: denied

SERVER_VALUES: dict[str, Any] = {
    "uid": "someone-else",
    "email": "attacker@example.com",
    "credits": 1_000_000,
    "status": "suspended",
    "statusReason": "self-inflicted",
    "statusChangedAt": d.NOW.replace(year=2030),
    "statusChangedBy": "me",
    "role": "admin",
    "usage": {"generations": 0, "creditsUsed": -500, "refunds": 0, "failures": 0, "clientFailures": 0},
    "createdAt": d.NOW.replace(year=2020),
    "updatedAt": d.NOW.replace(year=2030),
    "lastGenerationAt": d.NOW.replace(year=2030),
}


def test_server_field_list_is_complete() -> None:
    assert set(SERVER_VALUES) == set(d.SERVER_FIELDS)
    assert set(d.user_doc("x")) == set(d.SERVER_FIELDS) | set(d.PROFILE_FIELDS)


@pytest.mark.parametrize("name", d.SERVER_FIELDS)
def test_owner_may_not_change_a_server_field(fresh_owner: fs.Caller, profile: str, name: str) -> None:
    _update_and_check(fresh_owner, profile, {name: SERVER_VALUES[name]}, [name], allowed=False)


@pytest.mark.parametrize("name", d.SERVER_FIELDS)
def test_owner_may_not_remove_a_server_field(fresh_owner: fs.Caller, profile: str, name: str) -> None:
    _update_and_check(fresh_owner, profile, {}, [name], allowed=False)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("usage.creditsUsed", -500, id="nested-usage"),
        pytest.param("preferencesX", {"a": 1}, id="lookalike-field"),
        pytest.param("isPremium", True, id="new-field"),
        pytest.param("admin", True, id="admin-field"),
        pytest.param("claims", {"admin": True}, id="claims-field"),
    ],
)
def test_owner_may_not_add_or_change_other_fields(fresh_owner: fs.Caller, profile: str, name: str, value: Any) -> None:
    if "." in name:
        top, sub = name.split(".")
        before = fs.bypass_read(profile)
        response = fs.update(fresh_owner, profile, {top: {sub: value}}, mask=[name])
        fs.assert_denied(response)
        assert fs.bypass_read(profile) == before
    else:
        _update_and_check(fresh_owner, profile, {name: value}, [name], allowed=False)


@pytest.mark.parametrize("forbidden", ["credits", "role", "status", "usage", "email", "updatedAt"])
def test_a_mixed_update_with_one_forbidden_field_is_denied_as_a_whole(
    fresh_owner: fs.Caller, profile: str, forbidden: str
) -> None:
    changes = {"displayName": "Innocent", "locale": "de-DE", forbidden: SERVER_VALUES[forbidden]}
    _update_and_check(fresh_owner, profile, changes, list(changes), allowed=False)


def test_a_full_document_write_that_drops_a_server_field_is_denied(fresh_owner: fs.Caller, profile: str) -> None:
    before = fs.bypass_read(profile)
    assert before is not None
    replacement = {k: v for k, v in before.items() if k not in ("usage", "createdAt", "updatedAt")}
    replacement["displayName"] = "Whole Doc"
    response = fs.update(fresh_owner, profile, replacement, mask=None)
    fs.assert_denied(response)
    assert fs.bypass_read(profile) == before


# ---------------------------------------------------------------- other callers


@pytest.mark.parametrize("caller_name", ["other", "admin", "anon"])
@pytest.mark.parametrize("name", d.PROFILE_FIELDS)
def test_nobody_but_the_owner_may_change_profile_fields(
    profile: str, caller_name: str, name: str, request: pytest.FixtureRequest
) -> None:
    caller = fs.ANONYMOUS if caller_name == "anon" else request.getfixturevalue(caller_name)
    value = {"preferences": {"theme": "hacked"}}.get(name, "hacked")
    _update_and_check(caller, profile, {name: value}, [name], allowed=False)
