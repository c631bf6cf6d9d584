#!/usr/bin/env python3
"""Move data of older shapes into the current ones (idempotent; safe to run any time).

    .venv/bin/python scripts/migrate.py --emulators          # local emulators
    .venv/bin/python scripts/migrate.py --project my-proj    # a real project (ADC credentials)

Run it right after deploying a new version. What it does (each step does nothing once done):
the configuration's ``moderation`` and ``abuse`` move from system_config/credits to the
admin-only system_config/moderation and the applied copy charges read is written; the IP
block list ip_blocks/current is split into one document per address and a range index.
The scheduled jobs run the same migrations at the start of every run, so a deployment that
forgets this command is migrated within the hour.
"""

from __future__ import annotations

import argparse

import cmdline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmdline.add_target(parser)
    args = parser.parse_args()
    project = cmdline.target_project(args, "firestore")
    from credits.features import migrations
    from credits.store import db
    from credits.vocab.clock import SystemClock

    for step, outcome in migrations.run_all(db.make_client(project), SystemClock()).items():
        print(f"{step}: {outcome}")
    return 0


if __name__ == "__main__":
    cmdline.run(main)
