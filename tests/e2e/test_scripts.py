"""The operator commands against the emulators: admin bootstrap and reconciliation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CREDITS_PROJECT_ID": emu.PROJECT}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_make_admin_grants_the_claim_and_audits_it(db: firestore.Client) -> None:
    someone = emu.sign_up()
    assert emu.call("getUsageStats", {}, someone).reason == "admin_required"
    done = run("scripts/make_admin.py", "--emulators", "--email", someone.email)
    assert done.returncode == 0, done.stderr
    someone.refresh()
    assert emu.call("getUsageStats", {}, someone).ok
    entries = [
        e.to_dict()
        for e in db.collection("admin_audit_logs").where(filter=FieldFilter("target", "==", f"users/{someone.uid}")).stream()
    ]
    assert [(e["action"], e["before"]["admin"], e["after"]["admin"]) for e in entries] == [("make_admin", False, True)]
    assert entries[0]["actorId"].startswith("bootstrap:")

    revoked = run("scripts/make_admin.py", "--emulators", "--uid", someone.uid, "--revoke")
    assert revoked.returncode == 0, revoked.stderr
    someone.refresh()
    assert emu.call("getUsageStats", {}, someone).reason == "admin_required"


def test_reconcile_command_reports_drift_with_its_exit_code(db: firestore.Client) -> None:
    emu.clear_firestore()
    user = emu.sign_up()
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).ok
    clean = run("scripts/reconcile.py", "--emulators")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 drift" in clean.stdout
    db.collection("users").document(user.uid).update({"credits": 5000})
    drift = run("scripts/reconcile.py", "--emulators")
    assert drift.returncode == 1
    assert f"ledger_mismatch: {user.uid}" in drift.stdout
    db.collection("users").document(user.uid).update({"credits": 90})
