#!/usr/bin/env python3
"""Run a scheduled job now: resetRateLimits (hourly: expired rate-limit windows, stuck
generations failed and refunded) or cleanupOldData (daily: retention).

    # in the Functions emulator, as its schedule would (scripts/start.sh running)
    .venv/bin/python scripts/run_job.py --emulators resetRateLimits

    # in this process, against a real project, with Application Default Credentials
    GOOGLE_APPLICATION_CREDENTIALS=key.json .venv/bin/python scripts/run_job.py \\
        --project my-project cleanupOldData

--emulators POSTs ``{}`` to the Functions emulator's trigger URL of the scheduled function
(``/functions/projects/<project>/triggers/us-central1-<name>-0``); publishing to its Pub/Sub
topic does not run a Python function there. The function logs its own report: this prints
the lines the function wrote to the emulators' log during the run. --project runs the same
job (``credits.features.maintenance``) here and prints its report as JSON. Both print the outcome and
exit 0 when the job ran, 1 when it did not, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cmdline

JOBS = {"resetRateLimits": "reset_rate_limits", "cleanupOldData": "cleanup_old_data"}
REGION = "us-central1"


def trigger_url(host: str, project: str, name: str) -> str:
    """Where the Functions emulator runs a scheduled (Pub/Sub-triggered) function on demand."""
    return f"http://{host}/functions/projects/{project}/triggers/{REGION}-{name}-0"


def _log_lines_of_run(log: Path, start: int, name: str) -> list[str] | None:
    """The lines between the emulator's "Beginning execution" and "Finished" of ``name`` in
    ``log`` after byte ``start``, without the emulator's own; None if the run is not there."""
    try:
        with log.open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = text.splitlines()
    begin = next((i for i, line in enumerate(lines) if f'Beginning execution of "{REGION}-{name}"' in line), None)
    if begin is None:
        return None
    end = next((i for i in range(begin + 1, len(lines)) if f'Finished "{REGION}-{name}"' in lines[i]), None)
    if end is None:
        return None
    return [line for line in lines[begin + 1 : end] if line.strip() and not line.startswith("i  functions:")]


def run_in_emulator(project: str, name: str) -> int:
    import requests

    host = cmdline.emulator_host("functions")
    log = Path(os.environ.get("EMULATOR_LOG") or cmdline.emulator_log())
    start = log.stat().st_size if log.exists() else 0
    began = time.monotonic()
    try:
        response = requests.post(trigger_url(host, project, name), json={}, timeout=600)
    except requests.ConnectionError:
        raise cmdline.Failure(f"cannot reach the Functions emulator at {host}; start it with scripts/start.sh") from None
    seconds = time.monotonic() - began
    if response.status_code == 404:
        raise cmdline.Failure(
            f"the Functions emulator at {host} has no scheduled function {name} for project {project}:"
            " it registers them only while the Pub/Sub emulator runs (scripts/start.sh starts it)"
        )
    if response.status_code != 200:
        raise cmdline.Failure(
            f"{name} failed in the Functions emulator: HTTP {response.status_code} {response.text.strip()[:200]}; see {log}"
        )
    print(f"{name} ran in the Functions emulator at {host} ({seconds:.2f} s)")
    lines = None
    for _ in range(20):  # the emulator writes the run's lines to its log just after answering
        lines = _log_lines_of_run(log, start, name)
        if lines is not None:
            break
        time.sleep(0.1)
    if lines:
        print(f"its log ({log}):")
        for line in lines:
            print(f"  {line}")
    elif lines is not None:
        print(f"it logged nothing in {log}")
    else:
        print(f"its log lines are in the emulators' log, which was not found at {log}")
    return 0


def run_in_process(project: str, name: str) -> int:
    from credits.features import maintenance
    from credits.store import db
    from credits.vocab.clock import SystemClock

    job = getattr(maintenance, JOBS[name])
    began = time.monotonic()
    report = job(db.make_client(project), SystemClock())
    print(f"{name} ran in this process against project {project} ({time.monotonic() - began:.2f} s)")
    print(json.dumps(report.as_dict(), indent=2, sort_keys=True, default=str))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmdline.add_target(parser)
    parser.add_argument("job", choices=sorted(JOBS), help="the scheduled function to run")
    args = parser.parse_args()
    if args.emulators:
        project = cmdline.target_project(args, "functions")
        return run_in_emulator(project, args.job)
    project = cmdline.target_project(args, "firestore")
    return run_in_process(project, args.job)


if __name__ == "__main__":
    cmdline.run(main)
