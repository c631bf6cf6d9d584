"""The operator commands against the emulators: role claims (admin, generator), seeding,
reconciliation, running a scheduled job; and the one line each prints for an expected mistake."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance, balance

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_HOSTS = ("FIREBASE_AUTH_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "CREDITS_FUNCTIONS_HOST")


def run(*args: str, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python scripts/...`` as an operator would; ``env`` entries set to None are removed."""
    environ = {**os.environ, "CREDITS_PROJECT_ID": emu.PROJECT}
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)


def assert_one_line_error(done: subprocess.CompletedProcess[str], status: int, message: str) -> None:
    """The command printed exactly ``<script>: <message>`` and nothing else, with ``status``."""
    assert (done.returncode, done.stdout) == (status, ""), done.stdout + done.stderr
    assert done.stderr.strip() == f"{Path(done.args[1]).name}: {message}"


def claims(id_token: str) -> dict[str, Any]:
    """The role claims in an ID token."""
    payload = id_token.split(".")[1]
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {k: v for k, v in decoded.items() if k in ("admin", "generator")}


def audit_trail(db: firestore.Client, uid: str) -> list[dict[str, Any]]:
    entries = [
        e.to_dict() for e in db.collection("admin_audit_logs").where(filter=FieldFilter("target", "==", f"users/{uid}")).stream()
    ]
    return sorted(entries, key=lambda e: e["createdAt"])


# ------------------------------------------------------------------ role claims


def test_make_admin_grants_the_claim_and_audits_it(db: firestore.Client) -> None:
    someone = emu.sign_up()
    assert emu.call("getUsageStats", {}, someone).reason == "admin_required"
    done = run("scripts/make_admin.py", "--emulators", "--email", someone.email)
    assert done.returncode == 0, done.stderr
    assert f"granted admin to {someone.email} ({someone.uid})" in done.stdout
    someone.refresh()
    assert emu.call("getUsageStats", {}, someone).ok
    entries = audit_trail(db, someone.uid)
    assert [(e["action"], e["before"]["admin"], e["after"]["admin"]) for e in entries] == [("make_admin", False, True)]
    assert entries[0]["actorId"].startswith("bootstrap:")

    revoked = run("scripts/make_admin.py", "--emulators", "--uid", someone.uid, "--revoke")
    assert revoked.returncode == 0, revoked.stderr
    someone.refresh()
    assert emu.call("getUsageStats", {}, someone).reason == "admin_required"


def test_generator_claim_is_granted_merged_with_admin_revoked_and_audited(db: firestore.Client) -> None:
    someone = emu.sign_up()
    assert emu.call("validateAndDeductCredits", {"type": "chat", "prompt": "hello", "quantity": 1}, someone).ok  # the account
    users = db.collection("users").document(someone.uid)

    def grant(script: str, *extra: str) -> None:
        done = run(f"scripts/{script}.py", "--emulators", "--email", someone.email, *extra)
        assert done.returncode == 0, done.stdout + done.stderr
        someone.refresh()

    grant("make_generator")
    assert claims(someone.id_token) == {"generator": True}
    assert users.get().to_dict()["role"] == "generator"
    assert emu.call("getUsageStats", {}, someone).reason == "admin_required"  # a generator is not an admin

    grant("make_admin")
    assert claims(someone.id_token) == {"generator": True, "admin": True}  # granting admin kept generator
    assert users.get().to_dict()["role"] == "admin"
    assert emu.call("getUsageStats", {}, someone).ok

    grant("make_generator", "--revoke")
    assert claims(someone.id_token) == {"admin": True}  # revoking generator kept admin
    grant("make_generator")
    assert claims(someone.id_token) == {"generator": True, "admin": True}  # and granting it back kept admin
    grant("make_admin", "--revoke")
    assert claims(someone.id_token) == {"generator": True}
    assert users.get().to_dict()["role"] == "generator"
    grant("make_generator", "--revoke")
    assert claims(someone.id_token) == {}
    assert users.get().to_dict()["role"] == "user"

    trail = [
        (e["action"], e["before"].get("admin", e["before"].get("generator")), e["after"]["roles"])
        for e in audit_trail(db, someone.uid)
    ]
    assert trail == [
        ("make_generator", False, ["generator"]),
        ("make_admin", False, ["admin", "generator"]),
        ("revoke_generator", True, ["admin"]),
        ("make_generator", False, ["admin", "generator"]),
        ("revoke_admin", True, ["generator"]),
        ("revoke_generator", True, []),
    ]
    assert all(e["actorId"].startswith("bootstrap:") for e in audit_trail(db, someone.uid))


def test_granting_a_role_twice_changes_nothing_and_is_still_audited(db: firestore.Client) -> None:
    someone = emu.sign_up()
    for _ in range(2):
        done = run("scripts/make_generator.py", "--emulators", "--uid", someone.uid)
        assert done.returncode == 0, done.stderr
    assert "already had the generator claim" in done.stdout
    assert claims(someone.refresh().id_token) == {"generator": True}
    assert [(e["action"], e["before"]["generator"], e["after"]["generator"]) for e in audit_trail(db, someone.uid)] == [
        ("make_generator", False, True),
        ("make_generator", True, True),
    ]


@pytest.mark.parametrize("script", ["make_admin", "make_generator"])
def test_role_commands_name_an_unknown_user_in_one_line(script: str, db: firestore.Client) -> None:
    done = run(f"scripts/{script}.py", "--emulators", "--email", "nobody-here@example.com")
    assert_one_line_error(done, 1, "no Firebase Auth user with email nobody-here@example.com")
    done = run(f"scripts/{script}.py", "--emulators", "--uid", "no-such-uid", "--revoke")
    assert_one_line_error(done, 1, "no Firebase Auth user with uid no-such-uid")
    done = run(f"scripts/{script}.py", "--emulators", "--email", "not-an-email")
    assert_one_line_error(done, 2, 'Malformed email address string: "not-an-email".')
    assert not db.collection("admin_audit_logs").where(filter=FieldFilter("target", "==", "users/no-such-uid")).get()


def test_seed_creates_the_demo_accounts_with_their_claims(db: firestore.Client) -> None:
    config = db.collection("system_config").document("credits")
    had_config = config.get().exists
    try:
        for _ in range(2):  # idempotent
            done = run("scripts/seed.py")
            assert done.returncode == 0, done.stdout + done.stderr
        assert "generator generator@demo.test" in done.stdout
        tokens = [
            emu.sign_in("generator@demo.test", "demo-generator-password"),
            emu.sign_in("admin@demo.test", "demo-admin-password"),
            emu.sign_in("user@demo.test", "demo-user-password"),
        ]
        assert [claims(token) for token in tokens] == [{"generator": True}, {"admin": True}, {}]
    finally:
        if not had_config:
            config.delete()


# ------------------------------------------------------------------ reconcile, run_job


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


def test_reconcile_repairs_a_damaged_balance_from_the_ledger(db: firestore.Client, admin: emu.User) -> None:
    user = emu.sign_up()
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).ok
    db.collection("users").document(user.uid).update({"credits": "90"})  # the console's default type
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).reason == "data_invalid"
    fixed = run("scripts/reconcile.py", "--emulators", "--repair", user.uid)
    assert f"repaired users/{user.uid}: balance '90' -> 90" in fixed.stdout, fixed.stdout + fixed.stderr
    assert f"{user.uid}" not in fixed.stdout.split("repaired", 1)[1].split("\n", 1)[1]  # no drift left for the user
    assert balance(db, user.uid) == 90
    entries = [s.id for s in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", user.uid)).stream()]
    assert len([e for e in entries if e.startswith("repair_")]) == 1
    audits = db.collection("admin_audit_logs").where(filter=FieldFilter("action", "==", "repair_balance")).stream()
    assert [a.to_dict()["target"] for a in audits if a.to_dict()["target"] == f"users/{user.uid}"]
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).result["remainingCredits"] == 80
    unknown = run("scripts/reconcile.py", "--emulators", "--repair", "nobody-at-all")
    assert unknown.returncode == 1 and "no users/nobody-at-all document to repair" in unknown.stderr


def test_migrate_moves_an_older_deployment_and_is_idempotent(db: firestore.Client) -> None:
    legacy_blocks = {"entries": {"203.0.113.201": {"reason": "old"}, "198.51.100.0/24": {"reason": "old range"}}}
    db.collection("ip_blocks").document("current").set(legacy_blocks)
    first = run("scripts/migrate.py", "--emulators")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "ipBlocks: migrated 1 addresses, 1 ranges" in first.stdout
    assert not db.collection("ip_blocks").document("current").get().exists
    assert db.collection("ip_blocks").document("addr_203.0.113.201").get().exists
    assert "198.51.100.0/24" in db.collection("ip_blocks").document("ranges").get().to_dict()["cidrs"]
    again = run("scripts/migrate.py", "--emulators")
    assert "configuration: current" in again.stdout and "ipBlocks: current" in again.stdout
    for doc in ("addr_203.0.113.201", "range_" + __import__("hashlib").sha256(b"198.51.100.0/24").hexdigest()[:32]):
        db.collection("ip_blocks").document(doc).delete()
    ranges = db.collection("ip_blocks").document("ranges")
    ranges.update({"cidrs": [c for c in ranges.get().to_dict()["cidrs"] if c != "198.51.100.0/24"]})


def test_run_job_runs_reset_rate_limits_in_the_functions_emulator(user: emu.User, db: firestore.Client, clock: None) -> None:
    activity = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).result["activityId"]
    emu.set_clock_offset(31 * 60)
    done = run("scripts/run_job.py", "--emulators", "resetRateLimits")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"resetRateLimits ran in the Functions emulator at {emu.FUNCTIONS_HOST}")
    assert db.collection("ai_activity").document(activity).get().to_dict()["status"] == "failed"
    assert balance(db, user.uid) == 100


def test_run_job_runs_a_job_in_process_and_prints_its_report(user: emu.User, db: firestore.Client) -> None:
    """``--project`` runs the job here; a ``demo-`` project is the emulators' (hosts in the environment)."""
    activity = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).result["activityId"]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    db.collection("ai_activity").document(activity).update({"createdAt": past, "updatedAt": past})
    done = run("scripts/run_job.py", "--project", emu.PROJECT, "resetRateLimits")
    assert done.returncode == 0, done.stdout + done.stderr
    first, report = done.stdout.split("\n", 1)
    assert first.startswith(f"resetRateLimits ran in this process against project {emu.PROJECT}")
    assert json.loads(report)["failedActivities"] >= 1 and json.loads(report)["refundedCredits"] >= 10
    assert db.collection("ai_activity").document(activity).get().to_dict()["status"] == "failed"
    assert balance(db, user.uid) == 100
    assert_books_balance(db, user.uid)


# ------------------------------------------------------------------ expected mistakes


def unreachable_offset() -> int:
    """A port offset at which no emulator answers on this machine."""
    for offset in range(20_000, 40_000, 7):
        ports = [9099 + offset, 8080 + offset, 5001 + offset]
        if all(socket.socket().connect_ex(("127.0.0.1", port)) != 0 for port in ports):
            return offset
    raise AssertionError("no free port offset found")


@pytest.mark.parametrize(
    ("args", "emulator", "port"),
    [
        (("scripts/make_admin.py", "--emulators", "--email", "a@example.com"), "Auth", 9099),
        (("scripts/make_generator.py", "--emulators", "--uid", "x", "--revoke"), "Auth", 9099),
        (("scripts/seed.py",), "Auth", 9099),
        (("scripts/reconcile.py", "--emulators"), "Firestore", 8080),
        (("scripts/run_job.py", "--emulators", "cleanupOldData"), "Functions", 5001),
    ],
)
def test_scripts_say_which_emulator_is_not_running(args: tuple[str, ...], emulator: str, port: int) -> None:
    offset = unreachable_offset()
    done = run(*args, env={"CREDITS_EMULATOR_PORT_OFFSET": str(offset), **dict.fromkeys(EMULATOR_HOSTS)})
    assert_one_line_error(
        done, 1, f"cannot reach the {emulator} emulator at 127.0.0.1:{port + offset}; start it with scripts/start.sh"
    )


@pytest.mark.parametrize(
    "args",
    [
        ("scripts/make_admin.py", "--project", "credits-real", "--email", "a@example.com"),
        ("scripts/make_generator.py", "--project", "credits-real", "--uid", "x"),
        ("scripts/reconcile.py", "--project", "credits-real"),
        ("scripts/run_job.py", "--project", "credits-real", "resetRateLimits"),
    ],
)
def test_scripts_without_credentials_say_so_in_one_line(args: tuple[str, ...]) -> None:
    """A real project, and a key file that is not there."""
    done = run(*args, env={"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json", **dict.fromkeys(EMULATOR_HOSTS)})
    assert_one_line_error(
        done,
        1,
        "no Google credentials for project credits-real: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file"
        " or run `gcloud auth application-default login` (File /nonexistent/key.json was not found.)",
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ("scripts/reconcile.py", "--project", "demo-elsewhere"),
            dict.fromkeys(EMULATOR_HOSTS),
            "demo-elsewhere is a demo project, which exists only on the emulators: use --emulators",
        ),
        (
            ("scripts/make_admin.py", "--project", "my-real-project", "--email", "a@example.com"),
            {},
            "the environment points the SDKs at the emulators (FIREBASE_AUTH_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST),"
            " not at my-real-project: unset those, or use --emulators",
        ),
    ],
)
def test_scripts_refuse_a_project_the_environment_contradicts(
    args: tuple[str, ...], env: dict[str, str | None], message: str
) -> None:
    assert_one_line_error(run(*args, env=env), 2, message)


@pytest.mark.parametrize(
    "args",
    [
        ("scripts/make_admin.py", "--email", "a@example.com"),  # neither --emulators nor --project
        ("scripts/make_generator.py", "--emulators", "--project", "p", "--uid", "x"),
        ("scripts/make_admin.py", "--emulators"),  # nobody
        ("scripts/reconcile.py",),
        ("scripts/run_job.py", "--emulators", "noSuchJob"),
        ("scripts/seed.py", "--project", "p"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(args: tuple[str, ...]) -> None:
    done = run(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith(f"{Path(args[0]).name}: error: ")
