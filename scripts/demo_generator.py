#!/usr/bin/env python3
"""The demo's stand-in for a model pipeline: it plays the ``generator`` identity on the
emulators, so that a person using the demo page sees a generation run and end.

It watches ``ai_activity`` for ``pending`` generations and reports each one through the
public callable, exactly as a real pipeline would: ``processing`` with progress steps, then
``completed`` (with ``actualQuantity`` for video, voice and chat: chat produces four fifths of
the tokens asked for, so the page shows the settlement's refund), or ``failed`` (refunded)
when the prompt contains the word "fail".

It signs in as the demo generator (``generator@demo.test``, ID token claim
``generator == true``). The account is seeded by ``scripts/seed.py``; where it is missing,
this script creates it on the Auth emulator. Finding the work uses the Firestore emulator
directly (a pipeline reads its queue with its own authority); every change goes through
``updateAIActivityStatus``. Emulators only; generations created before it started are left
alone.

    scripts/demo_generator.py                  # started by scripts/start.sh
    scripts/demo_generator.py --step-seconds 0.2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import cmdline
import requests
from credits.store import db
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

GENERATOR = ("generator@demo.test", "demo-generator-password")
PROGRESS_STEPS = (10, 35, 60, 85)
CHAT_YIELD = Decimal("0.8")  # the share of the asked-for tokens the stand-in model "produces"

log = logging.getLogger("demo-generator")


class Backend:
    """The generator's side of the public API: an ID token and the status callable."""

    def __init__(self, project: str, auth_host: str, functions_host: str) -> None:
        self.identity = f"http://{auth_host}/identitytoolkit.googleapis.com/v1"
        self.functions = f"http://{functions_host}/{project}/us-central1"
        self.project = project
        self.http = requests.Session()
        self._token = ""
        self._token_at = 0.0
        self._lock = threading.Lock()

    def token(self, refresh: bool = False) -> str:
        with self._lock:
            if refresh or not self._token or time.monotonic() - self._token_at > 45 * 60:
                self._token = self._sign_in()
                self._token_at = time.monotonic()
            return self._token

    def _sign_in(self) -> str:
        email, password = GENERATOR
        body = {"email": email, "password": password, "returnSecureToken": True}
        r = self.http.post(f"{self.identity}/accounts:signInWithPassword?key=any", json=body, timeout=30)
        if not r.ok:
            # Not seeded yet: create the account and its claim (the Auth emulator's admin endpoint).
            r = self.http.post(f"{self.identity}/accounts:signUp?key=any", json=body, timeout=30)
            r.raise_for_status()
            uid = r.json()["localId"]
            self.http.post(
                f"{self.identity}/projects/{self.project}/accounts:update",
                json={"localId": uid, "customAttributes": json.dumps({"generator": True})},
                headers={"Authorization": "Bearer owner"},
                timeout=30,
            ).raise_for_status()
            r = self.http.post(f"{self.identity}/accounts:signInWithPassword?key=any", json=body, timeout=30)
            r.raise_for_status()
            log.info("created the demo generator account %s", email)
        return str(r.json()["idToken"])

    def report(self, data: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Send one status update; (ok, result or error). Resent on contention, unavailability
        and lost answers for progress reports only (a final status is sent once)."""
        final = data["status"] in ("completed", "failed")
        for attempt in range(4):
            try:
                r = self.http.post(
                    f"{self.functions}/updateAIActivityStatus",
                    json={"data": data},
                    headers={"Authorization": f"Bearer {self.token(refresh=attempt > 0)}"},
                    timeout=60,
                )
                body = r.json() if r.content else {}
            except (requests.RequestException, ValueError):
                body = {}
            if "result" in body:
                return True, body["result"]
            error = body.get("error") or {}
            status = error.get("status")
            # Contention and unavailability wrote nothing; an expired token is renewed. A lost
            # answer (no callable body) is resent only for progress, which may repeat.
            if not (status in ("ABORTED", "UNAVAILABLE", "UNAUTHENTICATED") or (not error and not final)):
                return False, error
            time.sleep(0.2 * 2**attempt)
        return False, {"status": "UNAVAILABLE"}


def actual_quantity(activity: dict[str, Any]) -> float | int | None:
    """What the stand-in model produced: the units asked for (chat: four fifths of the tokens)."""
    kind, quantity = activity.get("type"), activity.get("quantity")
    if kind == "image" or not isinstance(quantity, (int, float)):
        return None
    if kind == "chat":
        return max(1, int((Decimal(int(quantity)) * CHAT_YIELD).to_integral_value(ROUND_FLOOR)))
    return quantity


def run_one(backend: Backend, activity_id: str, activity: dict[str, Any], step_seconds: float) -> None:
    for progress in PROGRESS_STEPS:
        ok, answer = backend.report({"activityId": activity_id, "status": "processing", "progress": progress})
        if not ok:
            # Cancelled by its owner, swept, or refused: leave it as it is.
            log.info("%s: stopped at %s%% (%s)", activity_id, progress, (answer.get("details") or {}).get("reason", answer))
            return
        time.sleep(step_seconds)
    if re.search(r"\bfail\b", str(activity.get("promptPreview", "")), re.IGNORECASE):
        ok, answer = backend.report(
            {"activityId": activity_id, "status": "failed", "error": "The model could not render this prompt."}
        )
    else:
        update: dict[str, Any] = {"activityId": activity_id, "status": "completed"}
        actual = actual_quantity(activity)
        if actual is not None:
            update["actualQuantity"] = actual
        ok, answer = backend.report(update)
    log.info("%s: %s", activity_id, answer.get("status") if ok else f"refused: {answer}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step-seconds", type=float, default=float(os.environ.get("CREDITS_DEMO_STEP_SECONDS", "0.7")))
    parser.add_argument("--poll-seconds", type=float, default=0.5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    if not os.environ.get("FIRESTORE_EMULATOR_HOST") or not os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"):
        print(
            "demo_generator.py runs against the emulators only (FIRESTORE_EMULATOR_HOST, FIREBASE_AUTH_EMULATOR_HOST)",
            file=sys.stderr,
        )
        return 2
    project = db.project_id()
    backend = Backend(
        project,
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"],
        cmdline.emulator_host("functions"),
    )
    backend.token()
    client = db.make_client(project)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    seen: set[str] = set()
    # Generations from before this loop started are not the demo's (the hourly sweep refunds
    # abandoned ones); a backlog of them would only delay the new ones a person is watching.
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    log.info("watching ai_activity for pending generations (project %s)", project)
    with ThreadPoolExecutor(max_workers=4) as pool:
        while not stop.is_set():
            try:
                pending = (
                    client.collection(db.AI_ACTIVITY)
                    .where(filter=FieldFilter("status", "==", "pending"))
                    .order_by("createdAt", direction=firestore.Query.DESCENDING)
                    .limit(25)
                    .get()
                )
            except Exception as err:  # the emulator going away at shutdown
                log.warning("cannot read the queue: %s", type(err).__name__)
                stop.wait(2)
                continue
            for snap in pending:
                created = snap.get("createdAt") if "createdAt" in (snap.to_dict() or {}) else None
                if snap.id not in seen and (created is None or created >= started):
                    seen.add(snap.id)
                    pool.submit(run_one, backend, snap.id, snap.to_dict() or {}, args.step_seconds)
            stop.wait(args.poll_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
