#!/usr/bin/env bash
# The gates: lint, format and types, as pyproject.toml configures them. scripts/test.sh runs
# them first; alone:
#
#   scripts/lint.sh           # needs .venv (scripts/setup.sh)
#
# Runs `ruff check` and `ruff format --check` over the repository, `mypy` (strict, on
# functions/credits and functions/main.py), the import contracts (`lint-imports`) and the
# docs' path check (scripts/check_doc_paths.py), shows their findings, and ends with one line:
#   lint: ruff ok, format ok, mypy ok, imports ok, contract ok, doc-paths ok
# or, for each gate that failed, how many findings it had. Exits non-zero on any finding.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

for tool in ruff mypy lint-imports; do
  if [ ! -x ".venv/bin/$tool" ]; then
    echo "lint: .venv/bin/$tool is missing; run scripts/setup.sh first" >&2
    exit 2
  fi
done

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
failed=0
results=()

# gate NAME PATTERN COMMAND...: runs COMMAND with its output shown; PATTERN (an extended
# regex with one group) picks the number of findings out of that output for the summary.
gate() {
  local name="$1" pattern="$2" status count
  shift 2
  echo "== $name: $*"
  "$@" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  if [ "$status" = 0 ]; then
    results+=("$name ok")
    return
  fi
  failed=1
  count="$(sed -nE "s/.*$pattern.*/\\1/p" "$out" | tail -n 1)"
  if [ -n "$count" ]; then
    results+=("$name FAILED ($count)")
  else
    results+=("$name FAILED (exit status $status)")
  fi
}

gate ruff 'Found ([0-9]+ errors?)' .venv/bin/ruff check
gate format '([0-9]+ files? would be reformatted)' .venv/bin/ruff format --check
gate mypy 'Found ([0-9]+ errors? in [0-9]+ files?)' .venv/bin/mypy
# The layer contracts of pyproject.toml ([tool.importlinter]) on the functions' package.
gate imports 'Contracts: [0-9]+ kept, ([0-9]+ broken)' env PYTHONPATH=functions .venv/bin/lint-imports --no-cache pyproject.toml
# The files generated from the contract's models (docs/contract.schema.json, client/src/contract.gen.ts) are fresh.
gate contract '([0-9]+ stale)' env PYTHONPATH=functions .venv/bin/python scripts/gen_contract.py --check
# Every repository path the docs name exists.
gate doc-paths '([0-9]+ missing)' .venv/bin/python scripts/check_doc_paths.py

summary="${results[0]}"
for r in "${results[@]:1}"; do summary+=", $r"; done
echo "lint: $summary"
exit "$failed"
