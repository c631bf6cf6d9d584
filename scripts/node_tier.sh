#!/usr/bin/env bash
# The client library's tier for scripts/test.sh: node --test over client/test (the official
# Firebase JS SDK against the emulators), its output kept in .tools/logs/node-<tier>.log, and
# one line appended to the run's summary file in scripts/pytest_tier.sh's format.
#
#   scripts/node_tier.sh TIER SUMMARY_FILE [test files, relative to client/; default test/]
#
# Exits with node's status.
set -uo pipefail
tier="$1"
summary="$2"
shift 2
[ "$#" -gt 0 ] || set -- test/
out=".tools/logs/node-$tier.log"
[ "${CREDITS_EMULATOR_PORT_OFFSET:-0}" = "0" ] || out=".tools/logs/node-$tier-offset$CREDITS_EMULATOR_PORT_OFFSET.log"
mkdir -p .tools/logs

echo "== $tier: node --test $*"
started=$(date +%s.%N)
(cd client && node --test --test-concurrency=1 --test-reporter=spec "$@") 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
# The spec reporter ends with "ℹ tests N", "ℹ pass N", "ℹ fail N", ...: one line of them.
count() { grep -a -E "^ℹ $1 [0-9]+" "$out" | tail -n 1 | grep -o -E '[0-9]+$'; }
passed="$(count pass)"
if [ -n "$passed" ]; then
  last="$passed passed, $(count fail) failed"
  for extra in cancelled skipped todo; do
    n="$(count "$extra")"
    [ -z "$n" ] || [ "$n" = 0 ] || last+=", $n $extra"
  done
  last+=" in ${seconds}s"
else
  last="node --test ended without a summary (exit status $status); see $out"
fi
echo "$last"
printf '%s\t%s\t%s\t%s\t%s\n' "$tier" "$status" "$seconds" "$last" "$out" >>"$summary"
exit "$status"
