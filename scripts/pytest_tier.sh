#!/usr/bin/env bash
# One test tier for scripts/test.sh: runs pytest, keeps a copy of its output in
# .tools/logs/pytest-<tier>.log, and appends the tier's result to the run's summary file.
#
#   scripts/pytest_tier.sh TIER SUMMARY_FILE [pytest arguments...]
#
# The summary file gets one tab-separated line per tier: name, pytest's exit status, wall
# seconds, pytest's own closing line ("12 passed in 3.40s"), and where its output is kept.
# Exits with pytest's status.
set -uo pipefail
tier="$1"
summary="$2"
shift 2
out=".tools/logs/pytest-$tier.log"
[ "${CREDITS_EMULATOR_PORT_OFFSET:-0}" = "0" ] || out=".tools/logs/pytest-$tier-offset$CREDITS_EMULATOR_PORT_OFFSET.log"
mkdir -p .tools/logs

echo "== $tier: pytest $*"
started=$(date +%s.%N)
python -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
# pytest -q ends with its summary line; without one (a crash) say so.
last="$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)"
case "$last" in
  *" in "*s* | *"no tests ran"*) ;;
  *) last="pytest ended without a summary (exit status $status); see $out" ;;
esac
printf '%s\t%s\t%s\t%s\t%s\n' "$tier" "$status" "$seconds" "$last" "$out" >>"$summary"
exit "$status"
