#!/usr/bin/env python3
"""Check the books: every user's ledger sums to their balance, nothing refunded twice.

    .venv/bin/python scripts/reconcile.py --emulators        # local emulators
    .venv/bin/python scripts/reconcile.py --project my-proj  # a real project (ADC credentials)

Prints one line per drift and exits 1 if there is any, 0 if the books balance.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project")
    parser.add_argument("--emulators", action="store_true", help="use the local Firestore emulator (127.0.0.1:8080)")
    args = parser.parse_args()
    if args.emulators:
        os.environ.setdefault("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080")
    from credits import db
    from credits.reconcile import reconcile

    drifts = reconcile(db.make_client(args.project))
    for drift in drifts:
        print(f"DRIFT {drift.kind}: {drift.user_id}: {drift.detail}")
    print(f"reconcile: {len(drifts)} drift(s)")
    return 1 if drifts else 0


if __name__ == "__main__":
    raise SystemExit(main())
