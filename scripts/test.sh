#!/usr/bin/env bash
# Runs the whole test suite: unit tests, then integration, end-to-end and rules tests
# against the real Emulator Suite (Auth, Firestore, Functions), which it starts and stops;
# then the client library's tests (node --test) and the browser tests, in one more emulator run.
#
#   scripts/test.sh                      # everything; exits non-zero on any failure
#   scripts/test.sh tests/e2e -k charge  # arguments go to pytest (the emulator tiers only)
#   scripts/test.sh tests/browser -x     # the browser tier alone (the demo page in headless Chromium)
#   scripts/test.sh client               # the client library's tests alone (node --test client/test)
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

# scripts/test.sh client [files]: the client library's tests alone (node --test), under the emulators.
if [ "${1:-}" = "client" ]; then
  shift
  printf -v NODE_ARGS ' %q' "${@:-test/}"
  run_under_emulators "cd client && node --test --test-concurrency=1 --test-reporter=spec$NODE_ARGS"
  exit
fi

WEB_TIERS=""
if [ "$#" -eq 0 ]; then
  WEB_TIERS=1
  echo "== unit tests (no emulator)"
  python -m pytest tests/unit -q -p no:cacheprovider
  set -- tests/integration tests/e2e tests/rules
fi

echo "== emulator tests: $*"
# Each argument is quoted for the shell that emulators:exec starts.
printf -v PYTEST_ARGS ' %q' "$@"
run_under_emulators "python -m pytest -q -p no:cacheprovider$PYTEST_ARGS"

# ---------------------------------------------------------------- web tiers
# The JavaScript client library against the emulators (node --test, the official Firebase JS SDK),
# then the demo page in headless Chromium (tests/browser), in one more emulator run with Hosting.
if [ -n "$WEB_TIERS" ]; then
  echo "== client library (node --test client/test) and browser tests (tests/browser)"
  run_under_emulators 'start=$(date +%s); (cd client && node --test --test-concurrency=1 --test-reporter=spec test/); client=$?;
    middle=$(date +%s); python -m pytest -q -p no:cacheprovider tests/browser; browser=$?; end=$(date +%s);
    echo "client library tests: exit $client in $((middle - start)) s; browser tests: exit $browser in $((end - middle)) s";
    [ "$client" = 0 ] && [ "$browser" = 0 ]'
fi
