#!/usr/bin/env bash
# Runs the gates (scripts/lint.sh: ruff, ruff format, mypy), then the whole test suite: the
# unit tier, then the integration, end-to-end, rules, client library, browser and damage
# tiers against the real Emulator Suite (Auth, Firestore, Functions, Pub/Sub, Hosting), which
# it starts once for them and stops afterwards. The gates run before any selection of tests
# too. Every tier runs even when the gates or an earlier tier fail; the run exits non-zero if
# any of them failed.
#
#   scripts/test.sh                      # everything
#   scripts/test.sh tests/e2e -k charge  # arguments go to pytest, under the emulators
#   scripts/test.sh tests/browser -x     # the browser tier alone (the demo page in headless Chromium)
#   scripts/test.sh client               # the client library's tier alone (node --test client/test)
#   CREDITS_EMULATOR_PORT_OFFSET=20 scripts/test.sh   # beside another running suite
#
# The console shows the gates' and pytest's output and, at the end, one summary line for the
# gates and one per tier. The emulators' own output goes to .tools/logs/emulators-test.log (a
# failure prints where); the gates' output is also kept in .tools/logs/lint.log and each
# tier's pytest output in .tools/logs/pytest-<tier>.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
run_started=$(date +%s)
scripts/setup.sh
# shellcheck disable=SC1091
source .tools/env.sh
# shellcheck disable=SC1091
# The moderation provider's endpoint for the Functions emulator's workers: the local
# moderateText server the provider tests serve (tests/support/fake_language.py, emulator_port()).
# Only tests that switch the provider on reach it; by default it is off.
export CREDITS_LANGUAGE_ENDPOINT="${CREDITS_LANGUAGE_ENDPOINT:-http://127.0.0.1:$((7400 + ${CREDITS_EMULATOR_PORT_OFFSET:-0}))}"
source scripts/emulators.sh
trap stop_run_workers EXIT
setup_seconds=$(($(date +%s) - run_started))

SUMMARY="$EMULATOR_LOG_DIR/.summary-$$.tsv"
: >"$SUMMARY"
expected=(gates)

# The gates first, recorded in the summary as pytest_tier.sh records a tier (name, exit
# status, seconds, closing line, where the output is kept). A failure fails the run, but the
# tests still run, so that one run reports everything.
gates_log="$EMULATOR_LOG_DIR/lint.log"
[ "${CREDITS_EMULATOR_PORT_OFFSET:-0}" = "0" ] || gates_log="$EMULATOR_LOG_DIR/lint-offset$CREDITS_EMULATOR_PORT_OFFSET.log"
gates_started=$(date +%s)
gates_status=0
scripts/lint.sh 2>&1 | tee "$gates_log" || gates_status=${PIPESTATUS[0]}
printf '%s\t%s\t%s\t%s\t%s\n' gates "$gates_status" "$(($(date +%s) - gates_started))" \
  "$(grep -v '^[[:space:]]*$' "$gates_log" | tail -n 1)" "$gates_log" >>"$SUMMARY"

if [ "$#" -eq 0 ]; then
  expected+=(unit integration e2e rules client browser damage)
  scripts/pytest_tier.sh unit "$SUMMARY" tests/unit || true
  tiers="scripts/pytest_tier.sh integration '$SUMMARY' tests/integration;"
  tiers+=" scripts/pytest_tier.sh e2e '$SUMMARY' tests/e2e;"
  tiers+=" scripts/pytest_tier.sh rules '$SUMMARY' tests/rules;"
  # The JavaScript client library (node --test client/test), then the demo page in headless
  # Chromium (tests/browser), served by the Hosting emulator.
  tiers+=" scripts/node_tier.sh client '$SUMMARY';"
  tiers+=" scripts/pytest_tier.sh browser '$SUMMARY' tests/browser;"
  # Last: it empties the database, and damages documents on purpose.
  tiers+=" scripts/pytest_tier.sh damage '$SUMMARY' tests/damage"
elif [ "$1" = "client" ]; then
  # scripts/test.sh client [test files, relative to client/]: the client library's tier alone.
  shift
  expected+=(client)
  args=""
  [ "$#" = 0 ] || printf -v args ' %q' "$@"
  tiers="scripts/node_tier.sh client '$SUMMARY'$args"
else
  # Named after the tier the paths are in (tests/e2e/test_x.py: e2e), else "selected".
  name=""
  for arg in "$@"; do
    case "$arg" in
      tests/*)
        t="${arg#tests/}"
        t="${t%%/*}"
        t="${t%%.py*}"
        if [ -z "$name" ]; then name="$t"; elif [ "$name" != "$t" ]; then name="selected"; fi
        ;;
    esac
  done
  name="${name:-selected}"
  expected+=("$name")
  printf -v args ' %q' "$@"
  tiers="scripts/pytest_tier.sh $name '$SUMMARY'$args"
fi

echo "== starting the emulators for: ${expected[*]:1} (their log: $(emulator_log test))"
emulators_started=$(date +%s)
emulator_status=0
run_under_emulators test "$tiers" || emulator_status=$?
emulator_seconds=$(($(date +%s) - emulators_started))

# One line per tier, in order; a tier that never reported (the emulators did not start) fails.
echo
echo "== summary"
failed=0
failed_outputs=()
for tier in "${expected[@]}"; do
  line="$(awk -F'\t' -v t="$tier" '$1 == t' "$SUMMARY" | tail -n 1)"
  if [ -z "$line" ]; then
    printf '  %-12s did not run\n' "$tier"
    failed=1
    continue
  fi
  IFS=$'\t' read -r _ status seconds closing output <<<"$line"
  # The gates' closing line says by itself which of them failed.
  if [ "$status" = 0 ] || [ "$tier" = gates ]; then
    printf '  %-12s %-6s %s\n' "$tier" "${seconds}s" "$closing"
  else
    printf '  %-12s %-6s %s (pytest exit status %s)\n' "$tier" "${seconds}s" "$closing" "$status"
  fi
  if [ "$status" != 0 ]; then
    failed=1
    failed_outputs+=("$output")
  fi
done
tier_seconds=$(awk -F'\t' '$1 != "unit" && $1 != "gates" {s += $3} END {print s + 0}' "$SUMMARY")
printf '  total %ss: setup %ss, emulator tiers %ss of which %ss starting and stopping the emulators\n' \
  "$(($(date +%s) - run_started))" "$setup_seconds" "$emulator_seconds" "$((emulator_seconds - tier_seconds))"
rm -f "$SUMMARY"
if [ "$failed" != 0 ] || [ "$emulator_status" != 0 ]; then
  echo "FAILED. The emulators' own log: $EMULATOR_LOG" >&2
  [ "${#failed_outputs[@]}" = 0 ] || echo "the output of the failed gates and tiers: ${failed_outputs[*]}" >&2
  exit 1
fi
