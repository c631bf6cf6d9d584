#!/usr/bin/env bash
# Starts the backend locally: Auth, Firestore, Functions and Pub/Sub emulators (Pub/Sub so
# that the scheduled functions are registered; scripts/run_job.py runs one), seeded with the
# default configuration and the demo accounts, and Hosting serving the demo app and the admin
# dashboard (web/dist) with scripts/demo_generator.py and scripts/demo_traffic.py behind them.
# Ctrl-C stops everything. The emulators' own output goes to .tools/logs/emulators-start.log.
#
#   scripts/start.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
# shellcheck disable=SC1091
source .tools/env.sh
# shellcheck disable=SC1091
source scripts/emulators.sh
check_emulator_ports
start_stripe_standin

LOG="$(emulator_log start)"
firebase emulators:start "${EMULATOR_CONFIG_ARGS[@]}" --only "$EMULATOR_ONLY" --project "$CREDITS_PROJECT_ID" >"$LOG" 2>&1 &
EMULATORS=$!
GENERATOR=""
TRAFFIC=""
stop() {
  [ -z "$TRAFFIC" ] || kill "$TRAFFIC" 2>/dev/null || true
  [ -z "$GENERATOR" ] || kill "$GENERATOR" 2>/dev/null || true
  kill "$EMULATORS" 2>/dev/null || true
  wait "$EMULATORS" 2>/dev/null || true
  stop_run_workers
  stop_stripe_standin
}
trap stop INT TERM EXIT

echo "starting the Emulator Suite (its log: $LOG) ..."
for _ in $(seq 1 180); do
  if grep -q "All emulators ready" "$LOG" 2>/dev/null; then break; fi
  if ! kill -0 "$EMULATORS" 2>/dev/null; then
    echo "the emulators exited; last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
  sleep 1
done
grep -q "All emulators ready" "$LOG" || { echo "emulators did not become ready in 180 s; see $LOG" >&2; exit 1; }

AUTH_PORT=$((9099 + EMULATOR_OFFSET))
FIRESTORE_PORT=$((8080 + EMULATOR_OFFSET))
FUNCTIONS_PORT=$((5001 + EMULATOR_OFFSET))
PUBSUB_PORT=$((8085 + EMULATOR_OFFSET))
if ! FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:$AUTH_PORT" FIRESTORE_EMULATOR_HOST="127.0.0.1:$FIRESTORE_PORT" python scripts/seed.py; then
  echo "seeding failed; the emulators' log: $LOG" >&2
  exit 1
fi
HOSTING_PORT=$((5000 + EMULATOR_OFFSET))
# The demo's stand-in model pipeline: moves new generations along as the demo generator.
GENERATOR_LOG="$EMULATOR_LOG_DIR/demo-generator$( [ "$EMULATOR_OFFSET" = 0 ] || echo "-offset$EMULATOR_OFFSET").log"
FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:$AUTH_PORT" FIRESTORE_EMULATOR_HOST="127.0.0.1:$FIRESTORE_PORT" \
  python scripts/demo_generator.py >"$GENERATOR_LOG" 2>&1 &
GENERATOR=$!
# Demo traffic for the admin dashboard: some days of history written through the domain code and
# rolled up, then a few demo users generating now and then, and the statistics rollup every 10
# minutes (scripts/demo_traffic.py). CREDITS_DEMO_HISTORY_DAYS=0 skips the history.
TRAFFIC_LOG="$EMULATOR_LOG_DIR/demo-traffic$( [ "$EMULATOR_OFFSET" = 0 ] || echo "-offset$EMULATOR_OFFSET").log"
FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:$AUTH_PORT" FIRESTORE_EMULATOR_HOST="127.0.0.1:$FIRESTORE_PORT" \
  python scripts/demo_traffic.py run --history-days "${CREDITS_DEMO_HISTORY_DAYS:-30}" >"$TRAFFIC_LOG" 2>&1 &
TRAFFIC=$!

cat <<TXT

The credit backend is running on the Emulator Suite (project $CREDITS_PROJECT_ID).
  Functions  http://127.0.0.1:$FUNCTIONS_PORT/$CREDITS_PROJECT_ID/us-central1/<callable>
  Firestore  127.0.0.1:$FIRESTORE_PORT      Auth  127.0.0.1:$AUTH_PORT      Pub/Sub  127.0.0.1:$PUBSUB_PORT
  The emulators' log: $LOG

Demo accounts: user@demo.test / demo-user-password, admin@demo.test / demo-admin-password (admin claim),
generator@demo.test / demo-generator-password (generator claim: the pipeline that runs the models).
Run a scheduled job now: .venv/bin/python scripts/run_job.py --emulators resetRateLimits   (or cleanupOldData)

Call it as the web client does (an ID token from the Auth emulator, then the callable):
  TOKEN=\$(curl -s 'http://127.0.0.1:$AUTH_PORT/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=any' \\
    -H 'Content-Type: application/json' \\
    -d '{"email":"user@demo.test","password":"demo-user-password","returnSecureToken":true}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["idToken"])')
  curl -s http://127.0.0.1:$FUNCTIONS_PORT/$CREDITS_PROJECT_ID/us-central1/validateAndDeductCredits \\
    -H 'Content-Type: application/json' -H "Authorization: Bearer \$TOKEN" \\
    -d '{"data":{"type":"image","prompt":"a lighthouse at dawn"}}'

From a web app: connectAuthEmulator(auth, "http://127.0.0.1:$AUTH_PORT"),
connectFunctionsEmulator(functions, "127.0.0.1", $FUNCTIONS_PORT), then httpsCallable(functions, "validateAndDeductCredits").

The demo app, on the client library (client/): sign in, live balance, the cost before
generating, generations moved along by scripts/demo_generator.py (its log: $GENERATOR_LOG):
  http://127.0.0.1:$HOSTING_PORT/demo/

The admin dashboard (Credits and Live AI tabs; sign in as admin@demo.test, filled in):
  http://127.0.0.1:$HOSTING_PORT/admin/
Demo traffic (${CREDITS_DEMO_HISTORY_DAYS:-30} days of history first, about a minute, then a few users
generating every few seconds; the statistics rollup every 10 minutes), its log: $TRAFFIC_LOG

Ctrl-C stops the emulators (their log: $LOG).
TXT
wait "$EMULATORS"
