"""The collections' names and the index shards of per-generation documents (plain values: the
store, the rules' tests, the scripts and the policies name documents by them).
"""

from __future__ import annotations

import hashlib

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
