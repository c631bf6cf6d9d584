"""Hand edits in the console: checked within seconds by the Firestore trigger, never used while
unchecked, reverted when invalid, versioned and audited when valid; and repairs through the
callable keep every setting they do not name."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance

CREDITS = "system_config/credits"


def console_write(db: firestore.Client, path: str, data: dict[str, Any], *, merge: bool = True) -> None:
    """What the Firestore console does: a direct write with the Admin SDK's authority."""
    db.document(path).set(data, merge=merge)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds until ``predicate`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s")
        time.sleep(0.1)
    return time.monotonic() - started


def console_audits(db: firestore.Client, action: str) -> list[dict[str, Any]]:
    query = (
        db.collection("admin_audit_logs")
        .where(filter=FieldFilter("actorId", "==", "console"))
        .where(filter=FieldFilter("action", "==", action))
    )
    return sorted((s.to_dict() for s in query.stream()), key=lambda d: d["createdAt"])


def charging_while(users: list[emu.User], stop: threading.Event, seen: Counter[Any]) -> None:
    i = 0
    while not stop.is_set():
        user = users[i % len(users)]
        i += 1
        r = emu.call_retrying_drops(
            "validateAndDeductCredits", {"type": "image", "prompt": "a lantern", "requestId": f"he-{user.uid[:8]}-{i}"}, user
        )
        seen["charged" if r.ok else r.reason or f"http {r.status}"] += 1
        if r.ok:
            seen[("price", r.result["creditsCharged"])] += 1


@pytest.fixture
def chargers(db: firestore.Client) -> list[emu.User]:
    users = [emu.sign_up() for _ in range(20)]
    for u in users:
        assert emu.call("getCreditStatus", {}, u).ok
    return users


def test_an_invalid_hand_edit_never_stops_or_prices_a_charge_and_is_put_back(
    db: firestore.Client, chargers: list[emu.User], config: Callable[[dict[str, Any]], Any]
) -> None:
    config({"costs": {"image": 2}, "rateLimits": {"image": 10_000, "ipRequests": 10_000}})
    emu.warm_workers("validateAndDeductCredits", 20)
    stop, seen = threading.Event(), Counter[Any]()
    stray = f"colour_{uuid.uuid4().hex[:8]}"
    before_notes = {s.id for s in db.collection("admin_notifications").stream()}
    with ThreadPoolExecutor(max_workers=20) as pool:
        for start in range(0, 20, 5):
            pool.submit(charging_while, chargers[start : start + 5], stop, seen)
        time.sleep(1.5)
        console_write(db, CREDITS, {"costs": {"image": "1"}, stray: "blue"})  # a typo and a stray key
        reverted_after = wait_for(
            lambda: (
                (db.document(CREDITS).get().to_dict() or {}).get("costs", {}).get("image") == 2
                and stray not in (db.document(CREDITS).get().to_dict() or {})
            )
        )
        time.sleep(1.0)
        stop.set()
    assert seen["charged"] > 20, seen
    assert set(seen) <= {"charged", ("price", 2)}, seen  # no refusal, never the bad price
    assert reverted_after < 10
    (revert,) = [a for a in console_audits(db, "revert_configuration") if stray in (a.get("errors") or {})]
    assert revert["target"] == CREDITS and revert["before"]["costs"]["image"] == "1"
    assert set(revert["errors"]) == {"costs.image", stray}
    notes = [s.to_dict() for s in db.collection("admin_notifications").stream() if s.id not in before_notes]
    reverted = [n for n in notes if n["kind"] == "config_reverted"]
    assert len(reverted) == 1 and set(reverted[0]["fields"]) == {"costs.image", stray}
    for user in chargers:
        assert_books_balance(db, user.uid)


def test_a_valid_hand_edit_applies_within_seconds_versioned_and_audited(
    db: firestore.Client, chargers: list[emu.User], config: Callable[[dict[str, Any]], Any]
) -> None:
    applied = config({"costs": {"image": 2}, "rateLimits": {"image": 10_000, "ipRequests": 10_000}})
    emu.warm_workers("validateAndDeductCredits", 20)
    stop, seen = threading.Event(), Counter[Any]()
    with ThreadPoolExecutor(max_workers=20) as pool:
        for start in range(0, 20, 5):
            pool.submit(charging_while, chargers[start : start + 5], stop, seen)
        time.sleep(1.5)
        edited_at = time.monotonic()
        console_write(db, CREDITS, {"costs": {"image": 3}})
        wait_for(lambda: emu.call("getCreditStatus", {}, chargers[0]).result["costs"]["image"] == 3)
        applied_after = time.monotonic() - edited_at
        time.sleep(1.0)
        stop.set()
    assert applied_after < 10
    assert set(seen) <= {"charged", ("price", 2), ("price", 3)} and seen[("price", 3)] > 0, seen
    stored = db.document(CREDITS).get().to_dict() or {}
    assert stored["version"] == applied["version"] + 1 and stored["updatedBy"] == "console"
    (edit,) = [a for a in console_audits(db, "console_update_configuration") if a["after"]["version"] == applied["version"] + 1]
    assert edit["before"]["costs"]["image"] == 2 and edit["after"]["costs"]["image"] == 3
    assert edit["after"]["version"] == applied["version"] + 1


def test_a_deleted_configuration_document_comes_back(db: firestore.Client, config: Callable[[dict[str, Any]], Any]) -> None:
    config({"defaultCredits": 77})
    db.document(CREDITS).delete()
    wait_for(lambda: (db.document(CREDITS).get().to_dict() or {}).get("defaultCredits") == 77)


def test_the_private_document_is_checked_the_same_way(db: firestore.Client, config: Callable[[dict[str, Any]], Any]) -> None:
    config({"abuse": {"suspendScore": 60}})
    console_write(db, "system_config/moderation", {"abuse": {"suspendScore": "sixty"}})
    wait_for(lambda: (db.document("system_config/moderation").get().to_dict() or {})["abuse"]["suspendScore"] == 60)
    console_write(db, "system_config/moderation", {"abuse": {"suspendScore": 70}})
    wait_for(lambda: (db.document("applied_config/current").get().to_dict() or {})["private"]["abuse"]["suspendScore"] == 70)


def test_a_repair_through_the_callable_keeps_every_setting_it_does_not_name(
    db: firestore.Client, admin: emu.User, config: Callable[[dict[str, Any]], Any]
) -> None:
    """Was: the repair applied the patch on top of the defaults, resetting custom prices."""
    config(
        {
            "costs": {"image": 4, "video": 6},
            "defaultCredits": 40,
            "moderation": {"terms": [{"term": "zorp", "category": "test", "severity": "low"}]},
        }
    )
    console_write(db, CREDITS, {"costs": {"video": "6"}, "stray": True})
    r = emu.call("updateCreditConfiguration", {"costs": {"voice": 2}}, admin).result
    assert r["config"]["costs"] == {"image": 4, "video": 6, "voice": 2, "chat": 0.01}
    assert r["config"]["defaultCredits"] == 40 and [t["term"] for t in r["config"]["moderation"]["terms"]] == ["zorp"]
    stored = db.document(CREDITS).get().to_dict() or {}
    assert "stray" not in stored and stored["costs"]["video"] == 6
    trail = db.collection("admin_audit_logs").where(filter=FieldFilter("actorId", "==", admin.uid)).stream()
    (last,) = sorted(
        (a.to_dict() for a in trail if a.to_dict()["action"] == "update_configuration"), key=lambda a: a["createdAt"]
    )[-1:]
    assert last["before"]["costs"]["image"] == 4  # what was stored, not the defaults


def test_the_older_single_document_shape_is_migrated_without_losing_a_setting(
    db: firestore.Client, config: Callable[[dict[str, Any]], Any]
) -> None:
    from credits.store import config_store
    from credits.vocab.clock import SystemClock

    legacy = {
        "costs": {"image": 9, "video": 5, "voice": 3, "chat": 0.02},
        "defaultCredits": 55,
        "rateLimits": {
            "image": 40,
            "video": 10,
            "voice": 30,
            "chat": 100,
            "windowSeconds": 3600,
            "ipRequests": 100,
            "ipWindowSeconds": 600,
        },
        "retentionDays": 30,
        "moderation": {"terms": [{"term": "blorp", "category": "test", "severity": "high"}]},
        "abuse": {"suspendScore": 45, "refundRateThreshold": 0.4, "refundRateMinGenerations": 8},
        "version": 12,
    }
    for path in ("applied_config/current", "applied_config/terms", "system_config/moderation"):
        db.document(path).delete()
    db.document(CREDITS).set(legacy)  # the trigger migrates it; so does the command
    assert config_store.migrate(db, SystemClock()) in ("migrated", "current")
    wait_for(lambda: "moderation" not in (db.document(CREDITS).get().to_dict() or {}))
    public = db.document(CREDITS).get().to_dict() or {}
    private = db.document("system_config/moderation").get().to_dict() or {}
    assert public["costs"]["chat"] == 0.02 and public["defaultCredits"] == 55 and public["retentionDays"] == 30
    assert public["rateLimits"]["image"] == 40 and "abuse" not in public
    assert [t["term"] for t in private["moderation"]["terms"]] == ["blorp"] and private["abuse"]["suspendScore"] == 45
    settings = config_store.current_settings(db)
    assert str(settings.credits.costs.chat) == "0.02" and settings.credits.version >= 12
    assert settings.private.abuse.refundRateMinGenerations == 8


def test_a_console_edit_of_the_applied_configuration_is_never_used_and_is_put_back_audited(
    db: firestore.Client, config: Callable[[dict[str, Any]], Any]
) -> None:
    """Was: an image cost of 0 written into applied_config/current in the console was charged at
    once, silently. Now the edited copy fails its seal (charges fall back to the checked
    documents) and the trigger puts it back, with an audit entry and an admin notification."""
    user = emu.sign_up()
    before = db.document("applied_config/current").get().to_dict() or {}
    console_write(db, "applied_config/current", {"public": {"costs": {"image": 0}}})
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a lantern"}, user)
    assert r.result["creditsCharged"] == 10
    wait_for(lambda: (db.document("applied_config/current").get().to_dict() or {}) == before)
    reverts = [a for a in console_audits(db, "revert_applied_configuration") if a["target"] == "applied_config/current"]
    assert reverts and reverts[-1]["before"]["public"]["costs"]["image"] == 0
    assert reverts[-1]["after"]["public"]["costs"]["image"] == 10
    notes = [
        n.to_dict() or {}
        for n in db.collection("admin_notifications").where(filter=FieldFilter("kind", "==", "config_reverted")).stream()
    ]
    assert any(n.get("document") == "applied_config/current" for n in notes)
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a lantern"}, user).result["creditsCharged"] == 10
    assert_books_balance(db, user.uid)
