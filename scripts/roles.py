"""Role claims on Firebase Auth users, granted and revoked with the Admin SDK's authority.

Roles are custom claims in the user's ID token (the contract's "Who is who"):

* ``admin == true``: may call the admin callables; the rules give admins their reads.
* ``generator == true``: the service identity of the server-side pipeline that runs the
  models and reports how each generation ended. It is not an admin.

No callable can grant a role (the first admin would need an admin), so these commands run
outside, as the project's owner: ``scripts/make_admin.py`` and ``scripts/make_generator.py``.
A change merges into the user's other claims (granting one role keeps the others) and is
recorded in ``admin_audit_logs`` (``make_<role>`` / ``revoke_<role>``, before and after),
also when the user already was where the command puts them. ``users/{uid}.role`` mirrors
the claims for people reading the data (``admin``, else ``generator``, else ``user``); it
grants nothing. The user gets the new claims in their next ID token.

Auth and Firestore cannot change in one commit: the claim is set first, then the audit
entry is written; if that write fails the command fails, and running it again records it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import socket
from dataclasses import dataclass
from typing import Any

import cmdline

ROLES = ("admin", "generator")


@dataclass(frozen=True)
class Change:
    """What ``set_role`` found and did."""

    uid: str
    email: str | None
    role: str
    before: bool
    after: bool

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _mirror(claims: dict[str, Any]) -> str:
    return next((role for role in ROLES if claims.get(role) is True), "user")


def _roles(claims: dict[str, Any]) -> list[str]:
    return [role for role in ROLES if claims.get(role) is True]


def set_role(role: str, uid: str | None = None, email: str | None = None, *, revoke: bool = False, project: str) -> Change:
    """Grant (or with ``revoke`` remove) ``role`` for the user with ``uid`` or ``email``.

    Needs firebase_admin and Firestore reachable for ``project`` (emulator hosts in the
    environment, or Application Default Credentials). Raises ``cmdline.Failure`` for an
    unknown user and ``cmdline.UsageError`` for a malformed uid or email."""
    if role not in ROLES:
        raise cmdline.UsageError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if (uid is None) == (email is None):
        raise cmdline.UsageError("give exactly one of uid and email")
    import firebase_admin
    from credits.store import audit, db
    from credits.store.atomic import Plan, run
    from credits.vocab.context import Caller, ClientContext
    from firebase_admin import auth

    try:
        firebase_admin.get_app()
    except ValueError:
        firebase_admin.initialize_app(options={"projectId": project})
    try:
        user = auth.get_user(uid) if uid is not None else auth.get_user_by_email(str(email))
    except auth.UserNotFoundError:
        raise cmdline.Failure(f"no Firebase Auth user with {'uid' if uid is not None else 'email'} {uid or email}") from None
    except ValueError as err:  # the SDK's check of the argument's shape
        raise cmdline.UsageError(f"{err}") from None

    claims = dict(user.custom_claims or {})
    before_claims = dict(claims)
    if revoke:
        claims.pop(role, None)
    else:
        claims[role] = True
    if claims != before_claims:
        auth.set_custom_user_claims(user.uid, claims or None)

    client = db.make_client(project)
    now = dt.datetime.now(dt.UTC)
    actor = Caller(uid=f"bootstrap:{getpass.getuser()}@{socket.gethostname()}", email=None, is_admin=True)
    user_ref = client.collection(db.USERS).document(user.uid)
    before = {role: before_claims.get(role) is True, "roles": _roles(before_claims), "email": user.email}
    after = {role: not revoke, "roles": _roles(claims), "email": user.email}

    def step(attempt):  # type: ignore[no-untyped-def]
        snap = attempt.get([user_ref])[user_ref.path]
        plan: Plan[None] = Plan()
        if snap.exists:  # the document itself is created by the backend on first use
            plan.put(snap, {"role": _mirror(claims), "updatedAt": now})
        audit.add(
            plan,
            client,
            audit.entry(
                actor,
                ClientContext(ip=None, user_agent=f"scripts/make_{role}.py"),
                audit.Change(f"{'revoke' if revoke else 'make'}_{role}", f"users/{user.uid}", before, after),
                now,
            ),
        )
        return plan

    run(client, step)
    return Change(uid=str(user.uid), email=user.email, role=role, before=bool(before[role]), after=not revoke)


def main(role: str, doc: str | None) -> None:
    """The command line of ``scripts/make_<role>.py``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="the user's sign-in email")
    who.add_argument("--uid", help="the user's Firebase Auth uid")
    parser.add_argument("--revoke", action="store_true", help=f"remove the {role} claim instead")
    cmdline.add_target(parser)
    args = parser.parse_args()

    def body() -> int:
        project = cmdline.target_project(args, "auth", "firestore")
        change = set_role(role, args.uid, args.email, revoke=args.revoke, project=project)
        who = f"{change.email or change.uid} ({change.uid})"
        if not change.changed:
            state = "had" if change.after else "did not have"
            print(f"{who} already {state} the {role} claim; nothing changed (audited)")
        elif change.after:
            print(f"granted {role} to {who}; the claim is in their next ID token (sign in again or refresh it)")
        else:
            print(f"revoked {role} from {who}; their next ID token is without it (sign in again or refresh it)")
        return 0

    cmdline.run(body)
