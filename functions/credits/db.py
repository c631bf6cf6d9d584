"""The Firestore client and the names of the collections the backend keeps.

``client()`` builds one ``google.cloud.firestore.Client`` per process. Against the emulator
(``FIRESTORE_EMULATOR_HOST`` set) it uses anonymous credentials, because Application Default
Credentials do not exist there; in production it uses the runtime's service account.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import TypeAlias

from google.cloud import firestore

USERS = "users"
CREDIT_LOGS = "credit_logs"
USAGE_LOGS = "usage_logs"
AI_ACTIVITY = "ai_activity"
RATE_LIMITS = "rate_limits"
ABUSE_DETECTION = "abuse_detection"
ABUSE_SCORES = "abuse_scores"
ADMIN_AUDIT_LOGS = "admin_audit_logs"
ADMIN_NOTIFICATIONS = "admin_notifications"
SYSTEM_CONFIG = "system_config"
IP_BLOCKS = "ip_blocks"
APPLIED_CONFIG = "applied_config"
JOB_RUNS = "job_runs"
PAYMENTS = "payments"
STRIPE_EVENTS = "stripe_events"
STRIPE_CUSTOMERS = "stripe_customers"
STRIPE_PAYMENT_REFS = "stripe_payment_refs"
STRIPE_WEBHOOK_FAILURES = "stripe_webhook_failures"

INDEX_SHARDS = 16
"""Index ranges a time-ordered query of a per-generation collection is split into.

Firestore takes about 500 writes a second into one range of an index whose field only grows
(a timestamp set to "now"). Documents written with every generation (``ai_activity``,
``rate_limits``) carry ``shard``, a number derived from their id, in front of their
timestamps in composite indexes (``firestore.indexes.json``), and their single-field
timestamp indexes are exempt: new entries spread over ``INDEX_SHARDS`` ranges, and the
queries that order by time (the jobs, the admin live view) run once per shard. See
docs/capacity.md.
"""


def index_shard(document_id: str) -> int:
    """The index shard of a document: stable, from its id, even across the shards."""
    return int(hashlib.sha256(document_id.encode()).hexdigest()[:8], 16) % INDEX_SHARDS


Snapshot: TypeAlias = firestore.DocumentSnapshot[firestore.DocumentReference]
"""A document as the synchronous client reads it (what ``get``, ``get_all`` and ``stream`` yield)."""

_lock = threading.Lock()
_client: firestore.Client | None = None


def project_id() -> str:
    """The Firebase project: explicit settings first, then what the runtime provides."""
    for name in ("CREDITS_PROJECT_ID", "GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT"):
        value = os.environ.get(name)
        if value:
            return value
    return "demo-credits"


def client() -> firestore.Client:
    """The process-wide Firestore client (thread-safe, created on first use)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = make_client()
    return _client


def make_client(project: str | None = None) -> firestore.Client:
    """A new client; anonymous credentials against the emulator."""
    project = project or project_id()
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        # google.auth's Credentials.__init__ carries no annotations.
        return firestore.Client(project=project, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    return firestore.Client(project=project)
