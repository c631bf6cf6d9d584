#!/usr/bin/env python3
"""Seed the running emulators with demo data: the default configuration, a demo admin and a
demo user. Idempotent. Called by scripts/start.sh once the emulators are up."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT / "scripts"))

from credits import db  # noqa: E402
from credits.config import CreditConfig  # noqa: E402
from make_admin import set_admin  # noqa: E402

PROJECT = db.project_id()
AUTH = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
DEMO_ADMIN = ("admin@demo.test", "demo-admin-password", "Demo Admin")
DEMO_USER = ("user@demo.test", "demo-user-password", "Demo User")


def ensure_account(email: str, password: str, name: str) -> str:
    base = f"http://{AUTH}/identitytoolkit.googleapis.com/v1"
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
    r.raise_for_status()
    return str(r.json()["localId"])


def main() -> int:
    client = db.make_client(PROJECT)
    ref = client.collection(db.SYSTEM_CONFIG).document(db.CONFIG_DOC)
    if not ref.get().exists:
        config = CreditConfig(version=1, updatedAt=dt.datetime.now(dt.UTC), updatedBy="seed")
        ref.create(config.to_firestore())
    admin_uid = ensure_account(*DEMO_ADMIN)
    set_admin(uid=admin_uid, project=PROJECT)
    user_uid = ensure_account(*DEMO_USER)
    print(f"seeded: system_config/credits, admin {DEMO_ADMIN[0]} ({admin_uid}), user {DEMO_USER[0]} ({user_uid})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
