# Sourced (after .tools/env.sh) by scripts/test.sh, scripts/start.sh and bench/run.sh:
# the Emulator Suite's configuration, port checks, and cleanup of its Python workers.
#
# CREDITS_EMULATOR_PORT_OFFSET=N shifts every emulator port by N through a generated config
# next to firebase.json (so paths in it stay valid), for a second suite beside a running one.
#
# Worker cleanup: the Functions emulator runs each Python worker as `sh -c ". venv/bin/activate
# && functions-framework"` and, when it stops, kills only the shell; the Python processes
# (about 150 MB and a port each) live on as orphans. Each run marks its workers with a unique
# environment variable (inherited through the emulator) and kills exactly those at the end.

EMULATOR_OFFSET="${CREDITS_EMULATOR_PORT_OFFSET:-0}"
EMULATOR_CONFIG="firebase.json"
EMULATOR_CONFIG_ARGS=()
export CREDITS_FUNCTIONS_HOST="127.0.0.1:$((5001 + EMULATOR_OFFSET))"
export CREDITS_EMULATOR_RUN="run-$$-$RANDOM$RANDOM"
# The emulators every run starts (Hosting serves web/dist, the pages the browser tests drive).
CREDITS_EMULATORS="${CREDITS_EMULATORS:-auth,firestore,functions,hosting}"
# The functions' clock offset (emulator-only time travel for window roll-over tests).
export CREDITS_CLOCK_OFFSET_FILE="$PWD/.tools/clock-offset-$EMULATOR_OFFSET"
echo 0 >"$CREDITS_CLOCK_OFFSET_FILE"

if [ "$EMULATOR_OFFSET" != "0" ]; then
  EMULATOR_CONFIG=".firebase.offset-$EMULATOR_OFFSET.json"
  python - "$EMULATOR_OFFSET" "$EMULATOR_CONFIG" <<'PY'
import json, sys
offset, out = int(sys.argv[1]), sys.argv[2]
config = json.load(open("firebase.json"))
for emulator in config["emulators"].values():
    if isinstance(emulator, dict) and "port" in emulator:
        emulator["port"] += offset
json.dump(config, open(out, "w"), indent=2)
PY
  EMULATOR_CONFIG_ARGS=(--config "$EMULATOR_CONFIG")
fi

# Every port free? A taken one makes firebase-tools give up halfway; say who holds it.
check_emulator_ports() {
  python - "$EMULATOR_CONFIG" <<'PY'
import json, socket, subprocess, sys
config = json.load(open(sys.argv[1]))
taken = []
for name, emulator in config["emulators"].items():
    if not isinstance(emulator, dict) or "port" not in emulator:
        continue
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((emulator.get("host", "127.0.0.1"), emulator["port"]))
        except OSError:
            taken.append((name, emulator["port"]))
for name, port in taken:
    holder = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout.strip()
    print(f"port {port} ({name}) is taken: {holder or 'by another process'}", file=sys.stderr)
if taken:
    print("stop that process or set CREDITS_EMULATOR_PORT_OFFSET", file=sys.stderr)
    sys.exit(1)
PY
}

stop_run_workers() {
  local env pid
  for env in /proc/[0-9]*/environ; do
    pid="${env#/proc/}"
    pid="${pid%/environ}"
    [ "$pid" != "$$" ] || continue
    grep -qz "functions-framework" "/proc/$pid/cmdline" 2>/dev/null || continue
    grep -qzx "CREDITS_EMULATOR_RUN=$CREDITS_EMULATOR_RUN" "$env" 2>/dev/null || continue
    kill -9 "$pid" 2>/dev/null || true
  done
}

# run_under_emulators "shell command": Auth, Firestore and Functions up, the command run,
# everything stopped; returns the command's exit status. The emulator's two log lines per
# call are dropped so the command's own output (a test summary) stays readable.
run_under_emulators() {
  local status
  check_emulator_ports
  set +e
  firebase emulators:exec "${EMULATOR_CONFIG_ARGS[@]}" --only "$CREDITS_EMULATORS" --project "$CREDITS_PROJECT_ID" "$1" |
    grep --line-buffered -v -E '^i  functions: (Beginning execution of|Finished) "'
  status="${PIPESTATUS[0]}"
  set -e
  stop_run_workers
  return "$status"
}
