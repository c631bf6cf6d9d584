#!/usr/bin/env python3
"""Check the books: every user's ledger sums to their balance, nothing refunded twice.

    .venv/bin/python scripts/reconcile.py --emulators        # local emulators
    .venv/bin/python scripts/reconcile.py --project my-proj  # a real project (ADC credentials)
    .venv/bin/python scripts/reconcile.py --emulators --repair UID   # rebuild UID's balance

Prints one line per drift and exits 1 if there is any, 0 if the books balance (2: usage).

``--repair UID`` rebuilds a damaged balance (text typed in the console, a hand edit that
drifted from the ledger) from the ledger, the record of truth: the balance becomes the sum
of the user's entries, a 0-delta ``repair`` entry records what was stored, and an audit
entry names the operator. Then it checks the books again.
"""

from __future__ import annotations

import argparse

import cmdline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmdline.add_target(parser)
    parser.add_argument("--repair", metavar="UID", help="rebuild this user's balance from the ledger first")
    args = parser.parse_args()
    project = cmdline.target_project(args, "firestore")
    from credits.features.reconcile import reconcile
    from credits.store import db

    client = db.make_client(project)
    if args.repair:
        repair(client, args.repair)
    drifts = reconcile(client)
    for drift in drifts:
        print(f"DRIFT {drift.kind}: {drift.user_id}: {drift.detail}")
    print(f"reconcile: {len(drifts)} drift(s)")
    return 1 if drifts else 0


def repair(client: object, uid: str) -> None:
    """Rebuild one balance; an unknown user is a one-line failure."""
    import getpass
    import socket

    from credits.features.reconcile import repair_balance
    from credits.vocab.clock import SystemClock
    from credits.vocab.context import Caller
    from credits.vocab.errors import NotFound

    actor = Caller(uid=f"operator:{getpass.getuser()}@{socket.gethostname()}", is_admin=True)
    try:
        result = repair_balance(client, SystemClock(), uid, actor)  # type: ignore[arg-type]
    except NotFound:
        raise cmdline.Failure(f"no users/{uid} document to repair") from None
    print(f"repaired users/{uid}: balance {result.before!r} -> {result.after} ({result.entry_id})")


if __name__ == "__main__":
    cmdline.run(main)
