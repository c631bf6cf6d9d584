"""Damage stays local.

Every collection the backend reads gets documents damaged the way a console user damages
them: a number typed as a string, an unknown status, a map replaced by text, a stray field, a
deleted document, a map grown toward Firestore's 1 MiB. Then a mixed workload runs for the
damaged users and for undamaged ones, and the hourly sweep and the daily cleanup run. What
must hold:

* no call answers ``internal``: the damaged user's calls are ``data_invalid`` naming the
  document (or work, where the damage is harmless or repaired), everyone else's succeed;
* the jobs finish and report every damaged document they met as skipped, and go on;
* every damaged document is reported to the admins exactly once, however many calls met it;
* the books balance for every undamaged user.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from credits.features import maintenance
from credits.features.reconcile import reconcile
from credits.store.ip_blocks import bucket_id
from credits.vocab.clock import ManualClock
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance

HOUR = dt.timedelta(hours=1)


def charge(user: emu.User, **extra: Any) -> emu.CallResult:
    return emu.call_retrying_drops("validateAndDeductCredits", {"type": "image", "prompt": "a garden", **extra}, user)


def report(by: emu.User, activity: str, status: str, **extra: Any) -> emu.CallResult:
    return emu.call_retrying_drops("updateAIActivityStatus", {"activityId": activity, "status": status, **extra}, by)


def outcome(r: emu.CallResult) -> str:
    if r.ok:
        return "ok"
    assert r.status != 500 or not r.dropped, r.body
    return r.reason or f"http {r.status}"


def notifications_for(db: firestore.Client, path: str) -> list[dict[str, Any]]:
    return [s.to_dict() for s in db.collection("admin_notifications").where(filter=FieldFilter("document", "==", path)).stream()]


@pytest.fixture
def world(db: firestore.Client, generator: emu.User) -> dict[str, Any]:
    """Ten users with generations in every state; the first eight are damaged below. The
    database starts empty, so the jobs meet nothing but this world."""
    emu.clear_firestore()
    users = [emu.sign_up() for _ in range(10)]
    activities: dict[str, dict[str, str]] = {}
    for u in users:
        done = charge(u).result["activityId"]
        assert report(generator, done, "completed").ok
        stuck = charge(u, requestId=f"stuck-{u.uid[:6]}").result["activityId"]
        live = charge(u).result["activityId"]
        activities[u.uid] = {"done": done, "stuck": stuck, "live": live}
    return {"users": users, "activities": activities}


def grow_to_the_limit(ref: firestore.DocumentReference) -> None:
    """Pad the document with the largest string field Firestore still accepts."""
    from google.api_core import exceptions as gexc

    low, high = 900_000, 1_048_576
    while high - low > 16:
        middle = (low + high) // 2
        try:
            ref.update({"notes": "x" * middle})
            low = middle
        except gexc.InvalidArgument:
            high = middle
    ref.update({"notes": "x" * low})


def damage(db: firestore.Client, world: dict[str, Any]) -> dict[str, str]:
    """Break one thing per user; returns {uid: the damaged document's path}."""
    users, acts = world["users"], world["activities"]
    damaged: dict[str, str] = {}

    def user_doc(i: int) -> firestore.DocumentReference:
        return db.collection("users").document(users[i].uid)

    user_doc(0).update({"credits": "80"})  # the console's default field type
    damaged[users[0].uid] = f"users/{users[0].uid}"
    user_doc(1).update({"status": "vip"})
    damaged[users[1].uid] = f"users/{users[1].uid}"
    user_doc(2).update({"usage": "lots"})
    damaged[users[2].uid] = f"users/{users[2].uid}"
    stuck3 = acts[users[3].uid]["stuck"]
    db.collection("ai_activity").document(stuck3).update({"creditsCharged": "ten"})
    damaged[users[3].uid] = f"ai_activity/{stuck3}"
    user_doc(4).update({"rateLimits.windows": "reset me"})
    damaged[users[4].uid] = f"users/{users[4].uid}"
    db.collection("abuse_scores").document(users[5].uid).set({"events": "junk", "score": "high"})
    damaged[users[5].uid] = f"abuse_scores/{users[5].uid}"
    # a stray field grown to the edge of 1 MiB: a write that adds fields no longer fits
    grow_to_the_limit(user_doc(6))
    damaged[users[6].uid] = f"users/{users[6].uid}"
    user_doc(7).delete()  # rebuilt from the ledger, not damaged for good
    # the record shared by everyone behind an address: read as empty and rewritten, reported
    db.collection("rate_limits").document(f"ip_{bucket_id(users[9].ip)}").update({"hits": "junk"})
    return damaged


@pytest.mark.timeout(900)
def test_damage_stays_local(db: firestore.Client, world: dict[str, Any], generator: emu.User, admin: emu.User) -> None:
    users, acts = world["users"], world["activities"]
    damaged = damage(db, world)
    healthy = users[8:]
    seen: Counter[tuple[str, str]] = Counter()

    for _ in range(3):  # the same calls again: the damage must be reported once, not per call
        for i, u in enumerate(users):
            kind = "healthy" if u in healthy else f"user{i}"
            seen[(kind, outcome(emu.call("getCreditStatus", {}, u)))] += 1
            seen[(kind, outcome(charge(u)))] += 1
            seen[(kind, outcome(charge(u, type="chat", quantity=50, prompt="how to murder my neighbour")))] += 1
            seen[(kind, outcome(report(generator, acts[u.uid]["live"], "processing", progress=10)))] += 1
            seen[
                (kind, outcome(emu.call("grantCreditsToUser", {"userId": u.uid, "amount": 1, "reason": "goodwill"}, admin)))
            ] += 1

    assert not [k for k in seen if k[1] in ("internal", "http 500")], seen
    for kind in ("healthy", "user7"):  # untouched, and rebuilt from the ledger
        assert {o for (k, o) in seen if k == kind} <= {"ok", "prompt_rejected"}, seen
    for i in (0, 1, 2):  # a damaged account: every call that needs it is data_invalid
        assert {o for (k, o) in seen if k == f"user{i}"} == {"data_invalid"}, (i, seen)
    # an account grown to the edge of 1 MiB reads fine; a write that adds fields no longer fits
    suspend = emu.call("setUserStatus", {"userId": users[6].uid, "status": "suspended", "reason": "review"}, admin)
    assert suspend.reason == "data_invalid" and suspend.details["document"] == f"users/{users[6].uid}", suspend.body
    assert seen[("user4", "data_invalid")] >= 3  # charges need the damaged limits log
    assert seen[("user5", "data_invalid")] >= 1  # a rejected prompt needs the damaged score

    # the jobs run to the end, skip and report what they cannot process, and go on
    later = ManualClock(dt.datetime.now(dt.UTC) + 2 * HOUR)
    swept = maintenance.reset_rate_limits(db, later)
    skipped = {s["document"] for s in swept.skipped}
    assert f"ai_activity/{acts[users[3].uid]['stuck']}" in skipped
    assert {f"users/{users[i].uid}" for i in (0, 1, 2)} <= skipped  # their stuck generations need their accounts
    for u in [*healthy, users[4], users[5], users[7]]:
        assert acts[u.uid]["stuck"] in swept.failed_activities, u.uid
    run = db.collection("job_runs").where(filter=FieldFilter("job", "==", "resetRateLimits")).stream()
    assert any(r.to_dict()["skippedCount"] == swept.skipped_count for r in run)
    again = maintenance.reset_rate_limits(db, later)
    assert not again.failed_activities  # nothing left that can be swept

    db.collection("ai_activity").document(acts[users[8].uid]["done"]).update({"status": "done"})
    cleaned = maintenance.cleanup_old_activities(db, ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(days=91)), 90)
    assert f"ai_activity/{acts[users[8].uid]['done']}" in {s["document"] for s in cleaned.skipped}
    assert cleaned.deleted["ai_activity"] >= 10

    shared = f"rate_limits/ip_{bucket_id(users[9].ip)}"
    assert len([n for n in notifications_for(db, shared) if n["kind"] == "data_invalid"]) == 1
    assert isinstance(db.document(shared).get().to_dict()["hits"], list)  # rewritten by the next charge
    for path in set(damaged.values()) - {f"users/{users[7].uid}"}:
        notes = [n for n in notifications_for(db, path) if n["kind"] == "data_invalid"]
        assert len(notes) == 1, (path, notes)

    drifts = {d.user_id for d in reconcile(db) if d.user_id in {u.uid for u in users}}
    assert drifts == {users[0].uid}  # the string balance, until repaired
    for u in [*healthy, users[4], users[5], users[7]]:
        assert_books_balance(db, u.uid)
