#!/usr/bin/env python3
"""Check the books: every user's ledger sums to their balance, nothing refunded twice.

    .venv/bin/python scripts/reconcile.py --emulators        # local emulators
    .venv/bin/python scripts/reconcile.py --project my-proj  # a real project (ADC credentials)

Prints one line per drift and exits 1 if there is any, 0 if the books balance (2: usage).
"""

from __future__ import annotations

import argparse

import cmdline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmdline.add_target(parser)
    args = parser.parse_args()
    project = cmdline.target_project(args, "firestore")
    from credits import db
    from credits.reconcile import reconcile

    drifts = reconcile(db.make_client(project))
    for drift in drifts:
        print(f"DRIFT {drift.kind}: {drift.user_id}: {drift.detail}")
    print(f"reconcile: {len(drifts)} drift(s)")
    return 1 if drifts else 0


if __name__ == "__main__":
    cmdline.run(main)
