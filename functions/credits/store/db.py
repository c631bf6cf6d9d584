"""The Firestore client and the names of the collections the backend keeps.

``client()`` builds one ``google.cloud.firestore.Client`` per process. Against the emulator
(``FIRESTORE_EMULATOR_HOST`` set) it uses anonymous credentials, because Application Default
Credentials do not exist there; in production it uses the runtime's service account.
"""

from __future__ import annotations

import os
import threading
from typing import TypeAlias

from google.cloud import firestore

from credits.vocab.names import (  # the store's names, defined with the vocabulary
    ABUSE_DETECTION as ABUSE_DETECTION,
    ABUSE_SCORES as ABUSE_SCORES,
    ADMIN_AUDIT_LOGS as ADMIN_AUDIT_LOGS,
    ADMIN_NOTIFICATIONS as ADMIN_NOTIFICATIONS,
    AI_ACTIVITY as AI_ACTIVITY,
    APPLIED_CONFIG as APPLIED_CONFIG,
    CREDIT_LOGS as CREDIT_LOGS,
    INDEX_SHARDS as INDEX_SHARDS,
    IP_BLOCKS as IP_BLOCKS,
    JOB_RUNS as JOB_RUNS,
    PAYMENTS as PAYMENTS,
    RATE_LIMITS as RATE_LIMITS,
    STRIPE_CUSTOMERS as STRIPE_CUSTOMERS,
    STRIPE_EVENTS as STRIPE_EVENTS,
    STRIPE_PAYMENT_REFS as STRIPE_PAYMENT_REFS,
    STRIPE_WEBHOOK_FAILURES as STRIPE_WEBHOOK_FAILURES,
    SYSTEM_CONFIG as SYSTEM_CONFIG,
    USAGE_LOGS as USAGE_LOGS,
    USERS as USERS,
    index_shard as index_shard,
)

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


def activity_ref(client: firestore.Client, activity_id: str | None = None) -> firestore.DocumentReference:
    """``ai_activity/{activity_id}`` (a new random id when None)."""
    return client.collection(AI_ACTIVITY).document(activity_id)


def make_client(project: str | None = None) -> firestore.Client:
    """A new client; anonymous credentials against the emulator."""
    project = project or project_id()
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return firestore.Client(project=project, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]  # unannotated __init__
    return firestore.Client(project=project)
