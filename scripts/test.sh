#!/usr/bin/env bash
# Runs the whole test suite: unit tests, then integration, end-to-end and rules tests
# against the real Emulator Suite (Auth, Firestore, Functions), which it starts and stops.
#
#   scripts/test.sh                      # everything; exits non-zero on any failure
#   scripts/test.sh tests/e2e -k charge  # arguments go to pytest (the emulator tiers only)
#   CREDITS_EMULATOR_PORT_OFFSET=20 scripts/test.sh   # beside another running suite
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
# shellcheck disable=SC1091
source .tools/env.sh
# shellcheck disable=SC1091
source scripts/emulators.sh
trap stop_run_workers EXIT

if [ "$#" -eq 0 ]; then
  echo "== unit tests (no emulator)"
  python -m pytest tests/unit -q -p no:cacheprovider
  set -- tests/integration tests/e2e tests/rules
fi

echo "== emulator tests: $*"
# Each argument is quoted for the shell that emulators:exec starts.
printf -v PYTEST_ARGS ' %q' "$@"
run_under_emulators "python -m pytest -q -p no:cacheprovider$PYTEST_ARGS"
