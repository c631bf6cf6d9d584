#!/usr/bin/env bash
# Branch coverage of the decision modules (functions/credits/policy) by the unit tier alone:
# no emulator, a few seconds.
#
#   scripts/coverage.sh                 # the report, then each module's share of branches taken
#   scripts/coverage.sh -k settlement   # extra arguments go to pytest
#
# Prints coverage.py's report (statements and branches, with the lines and branch arcs no test
# reaches), then one line per module with the branches alone ("policy/lifecycle.py: 30 of 30
# branches, 100.0%"). The decisions are pure functions, so every branch is a worked example in
# tests/unit/test_policy_*.py. Needs .venv (scripts/setup.sh). Exits with pytest's status.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x .venv/bin/python ]; then
  echo "coverage: .venv is missing; run scripts/setup.sh first" >&2
  exit 2
fi
mkdir -p .tools
export COVERAGE_FILE="$ROOT/.tools/coverage.data"
report="$ROOT/.tools/coverage-policy.json"
status=0
.venv/bin/python -m pytest tests/unit -q -p no:cacheprovider --cov=credits.policy --cov-branch \
  --cov-report=term-missing --cov-report="json:$report" "$@" || status=$?
.venv/bin/python - "$report" <<'PY'
import json, sys
files = json.load(open(sys.argv[1]))["files"]
print("branches taken by the unit tier:")
for path, data in sorted(files.items()):
    summary = data["summary"]
    total, covered = summary["num_branches"], summary["covered_branches"]
    share = 100.0 * covered / total if total else 100.0
    print(f"  {path.split('credits/', 1)[-1]}: {covered} of {total} branches, {share:.1f}%")
PY
exit "$status"
