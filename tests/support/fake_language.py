"""A local stand-in for Cloud Natural Language ``moderateText``, for the official client to talk to.

It answers ``POST /v2/documents:moderateText`` (the documented REST path, the one the
``google-cloud-language`` REST transport calls) with the documented response shape::

    {"moderationCategories": [{"name": "Toxic", "confidence": 0.12, "severity": 0.1}, ...],
     "languageCode": "en", "languageSupported": true}

all 16 categories, in the order the documentation lists them; a confidence of 0 is left out,
as proto3 JSON leaves out default values; ``severity`` only when the request asked for
``MODEL_VERSION_2``. Errors have Google's JSON error shape
(``{"error": {"code": 429, "message": ..., "status": "RESOURCE_EXHAUSTED"}}``).

A test sets ``scores`` (service category -> confidence), or ``answers`` (a text -> the
scores for any prompt that contains it; first match wins, else ``scores``), and ``mode``:
``ok``; ``slow`` (answers after ``delay_seconds``); ``trickle`` (sends the headers at once, then
the body a byte every ``delay_seconds``: a per-read socket timeout never fires); ``http_429``,
``http_500``, ``http_503``; ``garbage_html`` (200 with an HTML page), ``garbage_truncated``
(200 with half a JSON body), ``garbage_shape`` (200, JSON of another shape),
``garbage_range`` (200, a confidence of 7.5), ``garbage_empty`` (200, ``{}``).

``requests`` keeps every request received (path, headers, parsed body) for the test to check.

    with FakeLanguageServer() as server:
        server.scores = {"Sexual": 0.93}
        ... CREDITS_LANGUAGE_ENDPOINT=server.url ...

For the Functions emulator's workers, which read their environment when the emulators start:
export ``CREDITS_LANGUAGE_ENDPOINT=http://127.0.0.1:<emulator_port()>`` before starting them,
and have the tests serve ``FakeLanguageServer(port=emulator_port())``.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/v2/documents:moderateText"

# The documented categories, in the documentation's order.
CATEGORIES = (
    "Toxic",
    "Insult",
    "Profanity",
    "Derogatory",
    "Sexual",
    "Death, Harm & Tragedy",
    "Violent",
    "Firearms & Weapons",
    "Public Safety",
    "Health",
    "Religion & Belief",
    "Illicit Drugs",
    "War & Conflict",
    "Politics",
    "Finance",
    "Legal",
)
# Categories the v2 model gives a severity for (a subset, per the documentation).
SEVERITY_CATEGORIES = ("Toxic", "Insult", "Profanity", "Derogatory", "Sexual", "Violent")

MODES = (
    "ok",
    "slow",
    "trickle",
    "http_429",
    "http_500",
    "http_503",
    "garbage_html",
    "garbage_truncated",
    "garbage_shape",
    "garbage_range",
    "garbage_empty",
)
_ERRORS = {
    429: ("RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests' of service 'language.googleapis.com'."),
    500: ("INTERNAL", "Internal error encountered."),
    503: ("UNAVAILABLE", "The service is currently unavailable."),
}


# The port for a server the Functions emulator's workers are pointed at, shifted like the
# emulators' own ports by CREDITS_EMULATOR_PORT_OFFSET (none of them is near it).
EMULATOR_PORT_BASE = 7400


def emulator_port() -> int:
    """``EMULATOR_PORT_BASE`` plus this run's ``CREDITS_EMULATOR_PORT_OFFSET``."""
    return EMULATOR_PORT_BASE + int(os.environ.get("CREDITS_EMULATOR_PORT_OFFSET") or 0)


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


class FakeLanguageServer:
    """``moderateText`` on 127.0.0.1 (a free port), served from a daemon thread."""

    def __init__(self, port: int = 0) -> None:
        """``port`` 0 takes a free one; a fixed port lets another process (the Functions
        emulator's workers) be told the endpoint before the server starts."""
        self.mode = "ok"
        self.delay_seconds = 5.0
        self.scores: dict[str, float] = {}
        self.answers: dict[str, dict[str, float]] = {}
        self.language_code = "en"
        self.requests: list[Received] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-language", daemon=True)

    @property
    def url(self) -> str:
        """The endpoint to give the client: ``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reset(self) -> None:
        """Back to ``ok``, no scores, no requests recorded."""
        with self._lock:
            self.mode = "ok"
            self.delay_seconds = 5.0
            self.scores = {}
            self.answers = {}
            self.requests = []

    def start(self) -> FakeLanguageServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cuts slow and trickling answers short
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLanguageServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False when the server is stopping."""
        return not self._stopping.wait(seconds)

    def answer(self, body: dict[str, Any] | None) -> dict[str, Any]:
        """The documented response for the scores set, with severities for the v2 model."""
        model_version = (body or {}).get("modelVersion")
        with_severity = model_version in (2, "MODEL_VERSION_2")
        content = str(((body or {}).get("document") or {}).get("content", ""))
        scores = next((s for text, s in self.answers.items() if text in content), self.scores)
        categories = []
        for name in CATEGORIES:
            entry: dict[str, Any] = {"name": name}
            confidence = scores.get(name, 0.0)
            if confidence:
                entry["confidence"] = confidence
            if with_severity and name in SEVERITY_CATEGORIES and confidence:
                entry["severity"] = round(confidence * 0.8, 3)
            categories.append(entry)
        return {"moderationCategories": categories, "languageCode": self.language_code, "languageSupported": True}


def _handler_for(server: FakeLanguageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer on loopback
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read their own logs
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            path = self.path.split("?", 1)[0]
            server.record(Received("POST", self.path, dict(self.headers.items()), body))
            if path != PATH:
                self._json(404, {"error": {"code": 404, "message": "Not found.", "status": "NOT_FOUND"}})
                return
            mode = server.mode
            if mode == "slow":
                if not server.wait(server.delay_seconds):
                    return
                mode = "ok"
            if mode.startswith("http_"):
                code = int(mode[5:])
                status, message = _ERRORS[code]
                self._json(code, {"error": {"code": code, "message": message, "status": status}})
            elif mode == "ok":
                self._json(200, server.answer(body))
            elif mode == "trickle":
                self._trickle(json.dumps(server.answer(body)).encode())
            elif mode == "garbage_html":
                self._raw(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            elif mode == "garbage_truncated":
                self._raw(200, json.dumps(server.answer(body)).encode()[:40], "application/json")
            elif mode == "garbage_shape":
                self._json(200, {"moderationCategories": "none today"})
            elif mode == "garbage_range":
                self._json(200, {"moderationCategories": [{"name": "Sexual", "confidence": 7.5}]})
            elif mode == "garbage_empty":
                self._json(200, {})
            else:
                raise AssertionError(f"unknown mode {mode!r}")

        def _json(self, code: int, payload: dict[str, Any]) -> None:
            self._raw(code, json.dumps(payload).encode(), "application/json; charset=UTF-8")

        def _raw(self, code: int, data: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _trickle(self, data: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            for i in range(len(data)):
                if not server.wait(server.delay_seconds):
                    return
                try:
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                except OSError:  # the client gave up
                    return

    return Handler
