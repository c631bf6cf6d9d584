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
# What the demo sells, priced in the local Stripe stand-in's built-in catalogue.
DEMO_PRODUCTS = {
    "pack-100": {"kind": "pack", "priceId": "price_pack_small", "credits": 100, "expiresInDays": 365, "active": True},
    "pack-500": {"kind": "pack", "priceId": "price_pack_large", "credits": 500, "active": True},
    "plan-pro": {"kind": "plan", "priceId": "price_plan_pro", "planId": "pro", "active": True},
}
DEMO_PLANS = {"pro": {"name": "Pro", "monthlyCredits": 1000, "rolloverPeriods": 1}}


def seed_products(client: object) -> None:
    """Put the demo products on sale, returning to the Hosting emulator (unless products exist)."""
    import os

    from credits.store import config_store
    from credits.vocab.clock import SystemClock
    from credits.vocab.context import Caller, ClientContext

    stored = config_store.editable_ref(client, "credits").get().to_dict() or {}  # type: ignore[arg-type]
    if stored.get("products"):
        return
    port = 5000 + int(os.environ.get("CREDITS_EMULATOR_PORT_OFFSET", "0") or 0)
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    patch = {"plans": DEMO_PLANS, "products": DEMO_PRODUCTS, "payments": {"allowedOrigins": origins}}
    config_store.update(
        client, SystemClock(), Caller(uid="seed", name="seed"), ClientContext(user_agent="scripts/seed.py"), patch
    )  # type: ignore[arg-type]


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
    seed_products(client)
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
