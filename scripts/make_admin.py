#!/usr/bin/env python3
"""Make a user an admin (custom claim ``admin: true``), or revoke it, with an audit entry.

The first admin cannot be made from inside (every admin callable needs an admin), so this
runs with the Admin SDK's own authority:

    # against the local emulators (scripts/start.sh running)
    .venv/bin/python scripts/make_admin.py --emulators --email admin@example.com

    # against a real project, with a service-account key or `gcloud auth application-default login`
    GOOGLE_APPLICATION_CREDENTIALS=key.json .venv/bin/python scripts/make_admin.py \\
        --project my-project --email admin@example.com

The user must sign in again (or refresh the ID token) before the claim is in their token.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

EMULATOR_HOSTS = {
    "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
    "FIRESTORE_EMULATOR_HOST": "127.0.0.1:8080",
}


def set_admin(uid: str | None = None, email: str | None = None, *, revoke: bool = False, project: str | None = None) -> str:
    """Set or clear the claim; returns the uid. Requires firebase_admin to be initialisable."""
    import firebase_admin
    from credits import audit, db
    from credits.atomic import Plan, run
    from credits.context import Caller, ClientContext
    from firebase_admin import auth

    project = project or db.project_id()
    if not firebase_admin._apps:
        firebase_admin.initialize_app(options={"projectId": project})
    user = auth.get_user(uid) if uid else auth.get_user_by_email(str(email))
    claims = dict(user.custom_claims or {})
    before = claims.get("admin") is True
    if revoke:
        claims.pop("admin", None)
    else:
        claims["admin"] = True
    auth.set_custom_user_claims(user.uid, claims or None)

    client = db.make_client(project)
    now = dt.datetime.now(dt.UTC)
    actor = Caller(uid=f"bootstrap:{getpass.getuser()}@{socket.gethostname()}", email=None, is_admin=True)
    user_ref = client.collection(db.USERS).document(user.uid)

    def step(attempt):  # type: ignore[no-untyped-def]
        snap = attempt.get([user_ref])[user_ref.path]
        plan: Plan[None] = Plan()
        if snap.exists:  # the document itself is created by the backend on first use
            plan.put(snap, {"role": "user" if revoke else "admin", "updatedAt": now})
        audit.add(
            plan,
            client,
            audit.entry(
                actor,
                ClientContext(ip=None, user_agent="scripts/make_admin.py"),
                "revoke_admin" if revoke else "make_admin",
                f"users/{user.uid}",
                {"admin": before, "email": user.email},
                {"admin": not revoke, "email": user.email},
                now,
            ),
        )
        return plan

    run(client, step)
    return str(user.uid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--email")
    who.add_argument("--uid")
    parser.add_argument("--revoke", action="store_true", help="remove the admin claim instead")
    parser.add_argument("--project", help="Firebase project id (default: $CREDITS_PROJECT_ID or demo-credits)")
    parser.add_argument("--emulators", action="store_true", help="talk to the local emulators (default ports)")
    args = parser.parse_args()
    if args.emulators:
        for name, value in EMULATOR_HOSTS.items():
            os.environ.setdefault(name, value)
    if args.project:
        os.environ["CREDITS_PROJECT_ID"] = args.project
    uid = set_admin(args.uid, args.email, revoke=args.revoke, project=args.project)
    print(f"{'revoked admin from' if args.revoke else 'made admin:'} {uid}; sign in again to get a token with the claim")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
