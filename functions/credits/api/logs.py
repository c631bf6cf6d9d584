"""Structured logs: one JSON entry per call, and the domain's own log lines, for Cloud Logging.

Cloud Functions sends a function's stdout/stderr to Cloud Logging; a line that is a JSON
object becomes a structured entry (``severity``, fields to filter on, and
``logging.googleapis.com/trace`` to group a request's lines). ``firebase_functions.logger``
writes such lines; this module uses it for:

* the call entry (``call_entry``): callable, outcome, reason, latency, attempts, reads and
  writes, role, and a correlation id (the request's Cloud Trace id when the platform sends
  one, else a fresh id), once per call;
* every ``logging`` record of the ``credits`` package (``install``), with the call's
  correlation id attached.

What never appears: request data (prompts), tokens, emails, addresses. A user is named by a
short hash of the uid, enough to follow one user's calls.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from firebase_functions import logger as firebase_logger

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/|$)")
_SEVERITY = {
    logging.DEBUG: firebase_logger.LogSeverity.DEBUG,
    logging.INFO: firebase_logger.LogSeverity.INFO,
    logging.WARNING: firebase_logger.LogSeverity.WARNING,
    logging.ERROR: firebase_logger.LogSeverity.ERROR,
    logging.CRITICAL: firebase_logger.LogSeverity.CRITICAL,
}


def new_correlation_id(trace_header: str | None) -> str:
    """The request's trace id from ``X-Cloud-Trace-Context`` if well-formed, else a new id."""
    match = _TRACE.match(trace_header or "")
    return match.group(1).lower() if match else uuid.uuid4().hex


def user_tag(uid: str | None) -> str | None:
    """A short, stable, non-reversible tag for a uid."""
    return None if not uid else hashlib.sha256(uid.encode()).hexdigest()[:12]


def _trace_fields(cid: str | None) -> dict[str, str]:
    if not cid:
        return {}
    fields = {"correlationId": cid}
    project = os.environ.get("GCLOUD_PROJECT") or os.environ.get("GOOGLE_CLOUD_PROJECT")
    if project:
        fields["logging.googleapis.com/trace"] = f"projects/{project}/traces/{cid}"
    return fields


@dataclass(frozen=True)
class CallSummary:
    """What one call's log entry says: which callable, how it ended, how long and what it cost."""

    callable_name: str
    outcome: str
    reason: str | None
    latency_ms: float
    role: str
    uid: str | None
    attempts: int = 0
    reads: int = 0
    writes: int = 0


def call_entry(summary: CallSummary) -> None:
    """Write the one entry that sums up a call."""
    severity = firebase_logger.LogSeverity.INFO
    if summary.outcome == "error":
        severity = firebase_logger.LogSeverity.ERROR
    elif summary.outcome == "refused" and summary.reason in (
        "contention",
        "backend_unavailable",
        "data_invalid",
        "config_invalid",
    ):
        severity = firebase_logger.LogSeverity.WARNING
    entry: dict[str, Any] = {
        "severity": severity,
        "message": f"{summary.callable_name} {summary.outcome}" + (f" ({summary.reason})" if summary.reason else ""),
        "event": "call",
        "callable": summary.callable_name,
        "outcome": summary.outcome,
        "reason": summary.reason,
        "latencyMs": round(summary.latency_ms, 1),
        "attempts": summary.attempts,
        "reads": summary.reads,
        "writes": summary.writes,
        "role": summary.role,
        "user": user_tag(summary.uid),
        **_trace_fields(correlation_id.get()),
    }
    firebase_logger.write(entry)  # type: ignore[arg-type]  # LogEntry allows extra fields at run time


class StructuredHandler(logging.Handler):
    """``logging`` records as structured entries with the call's correlation id."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` as one JSON line."""
        try:
            entry: dict[str, Any] = {
                "severity": _SEVERITY.get(record.levelno, firebase_logger.LogSeverity.INFO),
                "message": record.getMessage(),
                "logger": record.name,
                **_trace_fields(correlation_id.get()),
            }
            if record.exc_info and record.exc_info[0] is not None:
                entry["exception"] = self.formatException(record.exc_info)
            firebase_logger.write(entry)  # type: ignore[arg-type]  # LogEntry allows extra fields at run time
        except Exception:  # a log line must never break a call
            self.handleError(record)

    def formatException(self, exc_info: Any) -> str:  # noqa: N802 - logging's name
        """The traceback's text (frames only: exception messages may quote data)."""
        return logging.Formatter().formatException(exc_info)


_installed = False


def install() -> None:
    """Route the ``credits`` package's log records through ``StructuredHandler`` (once)."""
    global _installed
    if _installed:
        return
    package = logging.getLogger("credits")
    package.addHandler(StructuredHandler())
    package.setLevel(logging.INFO)
    package.propagate = False
    _installed = True
