"""Buckets and the operator's tools: the expiry job, the migration of old balances, reconciliation."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from google.cloud import firestore
from google.cloud.firestore_v1.field_path import FieldPath

from tests.support import emulators as emu
from tests.support.ledger import assert_buckets_balance

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def promo(admin: emu.User, uid: str, amount: int, seconds: int) -> str:
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    r = emu.call(
        "grantCreditsToUser", {"userId": uid, "amount": amount, "reason": "r", "source": "promo", "expiresAt": at}, admin
    )
    assert r.ok, r.body
    return str(r.result["ledgerEntryId"])


def test_the_hourly_job_records_the_expiry_of_idle_users_once(
    user: emu.User, admin: emu.User, db: firestore.Client, clock: None
) -> None:
    assert emu.call("getCreditStatus", {}, user).ok
    bucket = promo(admin, user.uid, 40, 3600)
    assert db.collection("users").document(user.uid).get().to_dict()["nextExpiryAt"] is not None
    emu.set_clock_offset(3700)
    assert emu.run_scheduled("resetRateLimits").status_code == 200
    doc = db.collection("users").document(user.uid).get().to_dict()
    assert doc["credits"] == 100 and bucket not in doc["buckets"] and doc["nextExpiryAt"] is None
    entry = db.collection("credit_logs").document(f"expire_{bucket}").get().to_dict()
    assert entry["delta"] == -40 and entry["buckets"] == [{"bucketId": bucket, "delta": -40}]
    assert emu.run_scheduled("resetRateLimits").status_code == 200  # again: nothing more
    assert db.collection("users").document(user.uid).get().to_dict()["credits"] == 100
    assert_buckets_balance(db, user.uid)


def test_migrate_turns_an_old_balance_into_one_legacy_bucket(admin: emu.User, db: firestore.Client) -> None:
    uid = f"old-{dt.datetime.now(dt.UTC).strftime('%H%M%S%f')}"
    now = dt.datetime.now(dt.UTC)
    db.collection("credit_logs").document(f"signup_{uid}").set(
        {"userId": uid, "delta": 100, "balanceAfter": 100, "reason": "signup_grant", "createdAt": now}
    )
    db.collection("credit_logs").document(f"charge_old{uid}").set(
        {"userId": uid, "delta": -30, "balanceAfter": 70, "reason": "generation_charge", "createdAt": now}
    )
    db.collection("users").document(uid).set({"uid": uid, "credits": 70, "status": "active", "createdAt": now, "usage": {}})
    db.collection("applied_config").document("migrations").set({"legacyBuckets": None, "legacyBucketsCursor": None}, merge=True)
    first = run("scripts/migrate.py", "--emulators")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "legacyBuckets: migrated" in first.stdout, first.stdout
    doc = db.collection("users").document(uid).get().to_dict()
    assert doc["buckets"] == {
        f"legacy_{uid}": {**doc["buckets"][f"legacy_{uid}"], "source": "legacy", "remaining": 70, "expiresAt": None}
    }
    again = run("scripts/migrate.py", "--emulators")
    assert "legacyBuckets: current" in again.stdout, again.stdout
    assert_buckets_balance(db, uid)
    clean = run("scripts/reconcile.py", "--emulators")
    assert uid not in clean.stdout, clean.stdout


def test_reconcile_finds_a_bucket_that_drifted_and_repair_rebuilds_it(
    user: emu.User, admin: emu.User, db: firestore.Client
) -> None:
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).ok
    bucket = promo(admin, user.uid, 25, 86_400)
    ref = db.collection("users").document(user.uid)
    # A hand edit that moves credits between buckets: the balance still matches the ledger.
    ref.update(
        {
            FieldPath("buckets", bucket, "remaining").to_api_repr(): 35,
            FieldPath("buckets", f"signup_{user.uid}", "remaining").to_api_repr(): 80,
        }
    )
    drift = run("scripts/reconcile.py", "--emulators")
    assert drift.returncode == 1 and f"bucket_drift: {user.uid}: {bucket}" in drift.stdout, drift.stdout
    fixed = run("scripts/reconcile.py", "--emulators", "--repair", user.uid)
    assert f"repaired users/{user.uid}" in fixed.stdout, fixed.stdout + fixed.stderr
    assert user.uid not in fixed.stdout.split("repaired", 1)[1].split("\n", 1)[1]
    doc = ref.get().to_dict()
    assert doc["buckets"][bucket]["remaining"] == 25 and doc["buckets"][f"signup_{user.uid}"]["remaining"] == 90
    assert doc["buckets"][bucket]["source"] == "promo" and doc["buckets"][bucket]["expiresAt"] is not None
    assert_buckets_balance(db, user.uid)


def test_a_promo_to_many_users_is_one_entry_each_and_one_audit_entry(admin: emu.User, db: firestore.Client) -> None:
    users = [emu.sign_up() for _ in range(4)]
    for u in users:
        assert emu.call("getCreditStatus", {}, u).ok
    data = {
        "userIds": [u.uid for u in users] + [users[0].uid],  # a duplicate counts once
        "amount": 15,
        "reason": "spring campaign #12",
        "userNote": "Happy spring!",
        "expiresAt": (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat().replace("+00:00", "Z"),
        "requestId": f"spring-{users[0].uid}",
    }
    r = emu.call("grantPromoCredits", data, admin)
    assert r.ok and r.result["status"] == "done" and r.result["granted"] == 4, r.body
    again = emu.call("grantPromoCredits", data, admin)  # the same job: nothing granted twice
    assert again.ok and again.result["jobId"] == r.result["jobId"]
    other = emu.call("grantPromoCredits", {**data, "amount": 16}, admin)  # the key, other parameters
    assert other.code == "INVALID_ARGUMENT" and other.details["errors"] == {
        "requestId": "was already used with different parameters"
    }
    for u in users:
        entry = db.collection("credit_logs").document(f"grant_promo_{r.result['jobId']}_{u.uid}").get().to_dict()
        assert entry["delta"] == 15 and entry["note"] == "Happy spring!" and "spring campaign" not in str(entry)
        assert db.collection("users").document(u.uid).get().to_dict()["credits"] == 115
        assert_buckets_balance(db, u.uid)
    audits = [
        a.to_dict()
        for a in db.collection("admin_audit_logs")
        .where(filter=firestore.FieldFilter("action", "==", "grant_promo_credits"))
        .stream()
    ]
    assert len([a for a in audits if a["target"] == f"promo_jobs/{r.result['jobId']}"]) == 1
    bad = emu.call("grantPromoCredits", {"userIds": [], "amount": 5, "reason": "r"}, admin)
    assert bad.code == "INVALID_ARGUMENT" and "userIds" in bad.details["errors"]
