#!/usr/bin/env bash
# Runs the whole test suite: unit tests, then integration, end-to-end and rules tests
# against the real Emulator Suite (Auth, Firestore, Functions), which it starts and stops.
#
#   scripts/test.sh                 # everything; exits non-zero on any failure
#   scripts/test.sh tests/e2e -k x  # arguments go to pytest (the emulator tiers only)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
# shellcheck disable=SC1091
source .tools/env.sh

# The functions' clock offset file (emulator-only time travel for window roll-over tests).
export CREDITS_CLOCK_OFFSET_FILE="$ROOT/.tools/clock-offset-${CREDITS_EMULATOR_PORT_OFFSET:-0}"
echo 0 >"$CREDITS_CLOCK_OFFSET_FILE"

if [ "$#" -eq 0 ]; then
  echo "== unit tests (no emulator)"
  python -m pytest tests/unit -q -p no:cacheprovider
  set -- tests/integration tests/e2e tests/rules
fi

# CREDITS_EMULATOR_PORT_OFFSET=N runs a second suite beside a running one (every emulator
# port shifted by N, through a generated config next to firebase.json).
CONFIG_ARGS=()
OFFSET="${CREDITS_EMULATOR_PORT_OFFSET:-0}"
if [ "$OFFSET" != "0" ]; then
  CONFIG=".firebase.offset-$OFFSET.json"
  python - "$OFFSET" "$CONFIG" <<'PY'
import json, sys
offset, out = int(sys.argv[1]), sys.argv[2]
config = json.load(open("firebase.json"))
for name, emulator in config["emulators"].items():
    if isinstance(emulator, dict) and "port" in emulator:
        emulator["port"] += offset
json.dump(config, open(out, "w"), indent=2)
PY
  CONFIG_ARGS=(--config "$CONFIG")
  export CREDITS_FUNCTIONS_HOST="127.0.0.1:$((5001 + OFFSET))"
fi

echo "== emulator tests: $*"
# Each argument is quoted for the shell that emulators:exec starts.
printf -v PYTEST_ARGS ' %q' "$@"
firebase emulators:exec "${CONFIG_ARGS[@]}" --only auth,firestore,functions --project "$CREDITS_PROJECT_ID" \
  "python -m pytest -q -p no:cacheprovider$PYTEST_ARGS"
