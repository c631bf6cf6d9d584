"""The Firestore client and the names of the collections the backend keeps.

``client()`` builds one ``google.cloud.firestore.Client`` per process. Against the emulator
(``FIRESTORE_EMULATOR_HOST`` set) it uses anonymous credentials, because Application Default
Credentials do not exist there; in production it uses the runtime's service account.
"""

from __future__ import annotations

import os
import threading

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
USAGE_STATS = "usage_stats"
APPLIED_CONFIG = "applied_config"
JOB_RUNS = "job_runs"

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

        return firestore.Client(project=project, credentials=AnonymousCredentials())
    return firestore.Client(project=project)
