# Sourced (after .tools/env.sh) by scripts/test.sh, scripts/start.sh and bench/run.sh:
# the Emulator Suite's configuration, port checks, its log file, and cleanup of its Python
# workers.
#
# Emulators: Auth, Firestore, Functions and Pub/Sub (with Pub/Sub running, the Functions
# emulator registers the scheduled functions; scripts/run_job.py runs one on demand), and
# Hosting (web/dist).
#
# Logs: the emulators' own output (firebase-tools, the Functions workers' logs, Flask's
# development-server warning, "socket hang up" when a worker is killed) goes to
# .tools/logs/emulators-<run>.log, never between a command's own lines.
#
# CREDITS_EMULATOR_PORT_OFFSET=N shifts every emulator port by N through a generated config
# next to firebase.json (so paths in it stay valid), for a second suite beside a running one.
#
# Worker cleanup: the Functions emulator runs each Python worker as `sh -c ". venv/bin/activate
# && functions-framework"` and, when it stops, kills only the shell; the Python processes
# (about 150 MB and a port each) live on as orphans. Each run marks its workers with a unique
# environment variable (inherited through the emulator) and kills exactly those at the end.

EMULATOR_OFFSET="${CREDITS_EMULATOR_PORT_OFFSET:-0}"
# Hosting serves web/dist: the demo app (scripts/start.sh) and the pages the browser tier drives.
EMULATOR_ONLY="auth,firestore,functions,pubsub,hosting"
EMULATOR_CONFIG="firebase.json"
EMULATOR_LOG_DIR="$PWD/.tools/logs"
mkdir -p "$EMULATOR_LOG_DIR"
EMULATOR_CONFIG_ARGS=()
export CREDITS_FUNCTIONS_HOST="127.0.0.1:$((5001 + EMULATOR_OFFSET))"
export CREDITS_EMULATOR_RUN="run-$$-$RANDOM$RANDOM"
# How long the Functions emulator waits for a new Python worker to answer its health check.
# Its default, 30 s, is less than 50 workers need to start at once on two cores (each spends
# about 4 s of CPU importing the functions); a worker that misses it is abandoned and the
# request that asked for it is never answered (firebase-tools logs "Failed to load function.").
# The override is firebase-tools' own (FUNCTIONS_DISCOVERY_TIMEOUT, in seconds).
export FUNCTIONS_DISCOVERY_TIMEOUT="${FUNCTIONS_DISCOVERY_TIMEOUT:-600}"
# The local Stripe stand-in (scripts/stripe_standin.py): the functions' Stripe library talks to
# it (CREDITS_STRIPE_API_BASE), and its checkout page sends signed events to stripeWebhook.
# CREDITS_STRIPE_STANDIN=0 leaves it out and the library talks to Stripe itself (test keys in
# functions/.secret.local, events forwarded by the Stripe CLI; see README).
export CREDITS_STRIPE_PORT=$((12111 + EMULATOR_OFFSET))
if [ "${CREDITS_STRIPE_STANDIN:-1}" != "0" ]; then
  export CREDITS_STRIPE_API_BASE="http://127.0.0.1:$CREDITS_STRIPE_PORT"
else
  unset CREDITS_STRIPE_API_BASE
fi
STRIPE_STANDIN_PID=""
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

# start_stripe_standin: the stand-in in the background (its log beside the emulators'), ready
# when this returns. stop_stripe_standin stops it.
start_stripe_standin() {
  [ "${CREDITS_STRIPE_STANDIN:-1}" != "0" ] || return 0
  local webhook="http://$CREDITS_FUNCTIONS_HOST/$CREDITS_PROJECT_ID/us-central1/stripeWebhook"
  python scripts/stripe_standin.py --port "$CREDITS_STRIPE_PORT" --webhook-url "$webhook" \
    >"$EMULATOR_LOG_DIR/stripe-standin-$EMULATOR_OFFSET.log" 2>&1 &
  STRIPE_STANDIN_PID=$!
  for _ in $(seq 1 50); do
    curl -fsS "$CREDITS_STRIPE_API_BASE/_standin/health" >/dev/null 2>&1 && return 0
    kill -0 "$STRIPE_STANDIN_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the Stripe stand-in did not start; see $EMULATOR_LOG_DIR/stripe-standin-$EMULATOR_OFFSET.log" >&2
  return 1
}

stop_stripe_standin() {
  [ -z "$STRIPE_STANDIN_PID" ] || kill "$STRIPE_STANDIN_PID" 2>/dev/null || true
  [ -z "$STRIPE_STANDIN_PID" ] || wait "$STRIPE_STANDIN_PID" 2>/dev/null || true
  STRIPE_STANDIN_PID=""
}

# emulator_log NAME: where a run named NAME (test, start, bench) logs the emulators' output.
# Python's scripts/cmdline.py finds the one of scripts/start.sh by the same rule.
emulator_log() {
  local suffix=""
  [ "$EMULATOR_OFFSET" = "0" ] || suffix="-offset$EMULATOR_OFFSET"
  echo "$EMULATOR_LOG_DIR/emulators-$1$suffix.log"
}

# run_under_emulators NAME "shell command": the emulators up, the command run, everything
# stopped; returns the command's exit status (or firebase-tools' own when the emulators did
# not start). The emulators' output goes to $(emulator_log NAME) (exported as EMULATOR_LOG);
# the command's own output comes here, through a FIFO: firebase-tools hands the command its
# own stdout, which is the log file, and Node closes any other inherited descriptor.
run_under_emulators() {
  local name="$1" command="$2" status fifo reader
  EMULATOR_LOG="$(emulator_log "$name")"
  export EMULATOR_LOG
  check_emulator_ports || return 1
  start_stripe_standin || return 1
  fifo="$EMULATOR_LOG_DIR/.console-$$.fifo"
  rm -f "$fifo"
  mkfifo "$fifo"
  cat "$fifo" &
  reader=$!
  exec 4>"$fifo" # held open until the run ends, so the reader sees end-of-file only then
  set +e
  firebase emulators:exec "${EMULATOR_CONFIG_ARGS[@]}" --only "$EMULATOR_ONLY" --project "$CREDITS_PROJECT_ID" \
    "exec >>'$fifo' 2>&1; $command" >"$EMULATOR_LOG" 2>&1 </dev/null
  status=$?
  set -e
  exec 4>&-
  # The reader ends when the last writer closes; a process the command left behind could
  # hold it open, so do not wait for it forever.
  for _ in $(seq 1 50); do
    kill -0 "$reader" 2>/dev/null || break
    sleep 0.1
  done
  kill "$reader" 2>/dev/null || true
  wait "$reader" 2>/dev/null || true
  rm -f "$fifo"
  stop_run_workers
  stop_stripe_standin
  if [ "$status" != 0 ] && ! grep -q "Running script:" "$EMULATOR_LOG"; then
    echo "the emulators did not start; last lines of $EMULATOR_LOG:" >&2
    tail -n 15 "$EMULATOR_LOG" >&2
  fi
  return "$status"
}
