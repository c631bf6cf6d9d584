#!/usr/bin/env python3
"""Seed the running emulators with demo data: the default configuration and three demo
accounts (an admin, the generator pipeline's account, a user). Idempotent. Called by
scripts/start.sh once the emulators are up; by hand:

    .venv/bin/python scripts/seed.py      # emulator hosts from the environment or the default ports
"""

from __future__ import annotations

import argparse

import cmdline
import roles

DEMO_ADMIN = ("admin@demo.test", "demo-admin-password", "Demo Admin")
DEMO_GENERATOR = ("generator@demo.test", "demo-generator-password", "Demo Generator")
DEMO_USER = ("user@demo.test", "demo-user-password", "Demo User")


def ensure_account(email: str, password: str, name: str) -> str:
    """The account's uid, signing it up on the Auth emulator first if it does not exist."""
    import requests

    base = f"http://{cmdline.emulator_host('auth')}/identitytoolkit.googleapis.com/v1"
    r = requests.post(
        f"{base}/accounts:signInWithPassword?key=any",
        json={"email": email, "password": password, "returnSecureToken": True},
        timeout=30,
    )
    if r.ok:
        return str(r.json()["localId"])
    r = requests.post(
        f"{base}/accounts:signUp?key=any",
        json={"email": email, "password": password, "displayName": name, "returnSecureToken": True},
        timeout=30,
    )
    if not r.ok:
        raise cmdline.Failure(f"the Auth emulator refused to sign up {email}: HTTP {r.status_code} {r.text[:200]}")
    return str(r.json()["localId"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    project = cmdline.target_project(argparse.Namespace(emulators=True, project=None), "auth", "firestore")
    from credits.features import migrations
    from credits.store import db
    from credits.vocab.clock import SystemClock

    client = db.make_client(project)
    # The configuration documents (defaults) and the applied copy every charge reads.
    migrations.run_all(client, SystemClock())
    admin_uid = ensure_account(*DEMO_ADMIN)
    roles.set_role("admin", uid=admin_uid, project=project)
    generator_uid = ensure_account(*DEMO_GENERATOR)
    roles.set_role("generator", uid=generator_uid, project=project)
    user_uid = ensure_account(*DEMO_USER)
    print(
        f"seeded: system_config/credits and /moderation, admin {DEMO_ADMIN[0]} ({admin_uid}), "
        f"generator {DEMO_GENERATOR[0]} ({generator_uid}), user {DEMO_USER[0]} ({user_uid})"
    )
    return 0


if __name__ == "__main__":
    cmdline.run(main)
