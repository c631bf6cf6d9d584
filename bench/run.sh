#!/usr/bin/env bash
# Runs one benchmark script against a fresh, private Emulator Suite (Auth, Firestore,
# Functions, Pub/Sub), which it starts and stops around the script. The emulators' own
# output goes to .tools/logs/emulators-bench.log.
#
#   bench/run.sh bench/bench_charge.py --json bench/results/charge.json
#   bench/run.sh bench/load.py --duration 180 --json bench/results/load.json
#   bench/run.sh bench/plot_latency.py
#   CREDITS_EMULATOR_PORT_OFFSET=40 bench/run.sh bench/bench_charge.py   # beside other suites
#
# The script runs with the repository root as working directory and .venv's Python, where
# `import credits` and `from tests.support import emulators` work (scripts/setup.sh). The
# emulator hosts come from firebase emulators:exec (FIRESTORE_EMULATOR_HOST,
# FIREBASE_AUTH_EMULATOR_HOST) and CREDITS_FUNCTIONS_HOST. Everything stays on 127.0.0.1.
# The emulators keep no data between runs: every run starts from an empty database.
#
# Before starting, every emulator port is checked; after the run, this run's Functions
# workers are stopped (see scripts/emulators.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [ "$#" -lt 1 ]; then
  echo "usage: bench/run.sh bench/<script>.py [script arguments]" >&2
  exit 2
fi

scripts/setup.sh
# shellcheck disable=SC1091
source .tools/env.sh

# Ports (CREDITS_EMULATOR_PORT_OFFSET), port checks and worker cleanup: see scripts/emulators.sh.
# shellcheck disable=SC1091
source scripts/emulators.sh
trap stop_run_workers EXIT

# PYTHONPATH is left alone: the Functions emulator's workers inherit this environment.
# Unbuffered, so progress lines appear as they happen under emulators:exec.
export PYTHONUNBUFFERED=1

echo "== benchmark: $* (emulator port offset $EMULATOR_OFFSET)"
# Each argument is quoted for the shell that emulators:exec starts.
printf -v BENCH_ARGS ' %q' "$@"
status=0
run_under_emulators bench "python$BENCH_ARGS" || status=$?
[ "$status" = 0 ] || echo "benchmark failed (exit status $status); the emulators' log: $EMULATOR_LOG" >&2
exit "$status"
