"""The scheduled jobs and the reconciliation check, as plain functions of (client, clock).

``sweep_stuck`` and ``expire_rate_limits`` run hourly (``resetRateLimits``);
``cleanup_old_data`` runs daily (``cleanupOldData``). Each works in bounded batches and
stops after ``max_docs`` so one run has a bounded cost and duration; a backlog is finished
by the next runs. They never touch ``credit_logs``, ``usage_logs``, ``abuse_detection`` or
``admin_audit_logs``: those are the permanent record.

Deletions carry the ``update_time`` the job read as a precondition, so a document that a
charge touched meanwhile (a rate-limit log that just got a new entry) is left alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from . import db
from .clock import Clock
from .config import from_document
from .context import SYSTEM, ClientContext
from .errors import CreditsError
from .lifecycle import SOURCE_SYSTEM, STUCK_AFTER, StatusRequest, update_status

log = logging.getLogger(__name__)

BATCH = 200
SWEEP_ERROR = "timed out: no final status within 30 minutes"


@dataclass
class JobReport:
    """What a run did; returned to the schedule wrapper for the log and to tests."""

    deleted: dict[str, int] = field(default_factory=dict)
    failed_activities: list[str] = field(default_factory=list)
    refunded_credits: int = 0
    errors: list[str] = field(default_factory=list)
    more: bool = False  # stopped at max_docs with work left

    def as_dict(self) -> dict[str, Any]:
        return {
            "deleted": self.deleted,
            "failedActivities": len(self.failed_activities),
            "refundedCredits": self.refunded_credits,
            "errors": self.errors,
            "more": self.more,
        }


def _delete_guarded(client: firestore.Client, snapshots: list[Any]) -> int:
    """Delete documents unless they changed since read; returns how many were deleted."""
    if not snapshots:
        return 0
    batch = client.batch()
    for snap in snapshots:
        batch.delete(snap.reference, option=client.write_option(last_update_time=snap.update_time))
    try:
        batch.commit()
        return len(snapshots)
    except (gexc.FailedPrecondition, gexc.NotFound, gexc.Aborted):
        # One of them changed: fall back to one by one, skipping the changed ones.
        deleted = 0
        for snap in snapshots:
            try:
                snap.reference.delete(option=client.write_option(last_update_time=snap.update_time))
                deleted += 1
            except (gexc.FailedPrecondition, gexc.NotFound, gexc.Aborted):
                continue
        return deleted


def expire_rate_limits(client: firestore.Client, clock: Clock, *, max_docs: int = 5000) -> JobReport:
    """Delete rate-limit documents whose every window is spent (``expiresAt`` passed)."""
    report = JobReport()
    now = clock.now()
    total = 0
    while total < max_docs:
        query = (
            client.collection(db.RATE_LIMITS)
            .where(filter=FieldFilter("expiresAt", "<", now))
            .order_by("expiresAt")
            .limit(min(BATCH, max_docs - total))
        )
        snaps = list(query.stream())
        if not snaps:
            break
        total += len(snaps)
        report.deleted[db.RATE_LIMITS] = report.deleted.get(db.RATE_LIMITS, 0) + _delete_guarded(client, snaps)
        if len(snaps) < BATCH:
            break
    report.more = total >= max_docs
    return report


def sweep_stuck(client: firestore.Client, clock: Clock, *, max_docs: int = 1000) -> JobReport:
    """Fail and refund activities left ``pending`` or ``processing`` for over 30 minutes.

    Each goes through the same ``update_status`` as a client's ``failed`` (one refund, one
    usage entry, at most once), with a re-check inside its commit that it is still stuck.
    """
    report = JobReport()
    cutoff = clock.now() - STUCK_AFTER
    seen = 0
    for status in ("pending", "processing"):
        while seen < max_docs:
            query = (
                client.collection(db.AI_ACTIVITY)
                .where(filter=FieldFilter("status", "==", status))
                .where(filter=FieldFilter("updatedAt", "<", cutoff))
                .order_by("updatedAt")
                .limit(min(BATCH, max_docs - seen))
            )
            snaps = list(query.stream())
            if not snaps:
                break
            seen += len(snaps)
            for snap in snaps:
                try:
                    result = update_status(
                        client,
                        clock,
                        SYSTEM,
                        ClientContext(),
                        StatusRequest(activity_id=snap.id, status="failed", error=SWEEP_ERROR),
                        source=SOURCE_SYSTEM,
                        only_if_stuck=True,
                    )
                except CreditsError as err:  # finished meanwhile: invalid_transition, fine
                    report.errors.append(f"{snap.id}: {err.reason}")
                    continue
                if not result.get("skipped"):
                    report.failed_activities.append(snap.id)
                    report.refunded_credits += int(result.get("refundedCredits", 0))
            if len(snaps) < BATCH:
                break
        if seen >= max_docs:
            report.more = True
            break
    return report


def reset_rate_limits(client: firestore.Client, clock: Clock) -> JobReport:
    """The hourly job: expired windows out, stuck generations failed and refunded."""
    report = expire_rate_limits(client, clock)
    swept = sweep_stuck(client, clock)
    report.failed_activities = swept.failed_activities
    report.refunded_credits = swept.refunded_credits
    report.errors += swept.errors
    report.more = report.more or swept.more
    return report


def cleanup_old_data(client: firestore.Client, clock: Clock, *, max_docs: int = 10_000) -> JobReport:
    """The daily job: activities older than ``retentionDays`` and spent rate-limit records.

    Only final activities are deleted (a stuck one is the hourly sweep's to finish first).
    The idempotency keys of charges are their activities, so they live exactly as long:
    ``retentionDays`` is at least 1, which keeps every key for at least 24 hours.
    """
    report = expire_rate_limits(client, clock, max_docs=max_docs)
    snap = client.collection(db.SYSTEM_CONFIG).document(db.CONFIG_DOC).get()
    try:
        retention = from_document(snap.to_dict() if snap.exists else None).retentionDays
    except CreditsError:
        retention = 90
    cutoff = clock.now() - dt.timedelta(days=retention)
    deleted = 0
    while deleted < max_docs:
        query = (
            client.collection(db.AI_ACTIVITY)
            .where(filter=FieldFilter("createdAt", "<", cutoff))
            .order_by("createdAt")
            .limit(min(BATCH, max_docs - deleted))
        )
        snaps = list(query.stream())
        if not snaps:
            break
        final = [s for s in snaps if (s.to_dict() or {}).get("status") in ("completed", "failed")]
        deleted += _delete_guarded(client, final)
        if len(final) < len(snaps) or len(snaps) < BATCH:
            break  # the rest are unfinished: next run, after the sweep
    report.more = report.more or deleted >= max_docs
    report.deleted[db.AI_ACTIVITY] = deleted
    return report


# ------------------------------------------------------------------ reconciliation


@dataclass
class Drift:
    user_id: str
    kind: str
    detail: str


def reconcile(client: firestore.Client) -> list[Drift]:
    """Check every ledger invariant; an empty list means the books balance.

    * per user: the ledger's deltas sum to ``users/{uid}.credits``, which is >= 0;
    * per user: every entry's ``balanceAfter`` is a non-negative integer (clocks of different
      instances may disagree by milliseconds, so entries are not replayed in time order);
    * per activity: at most one charge, one refund, one settlement; a failure refund
      returns exactly the net charge; no activity is both refunded and settled upward.
    """
    drifts: list[Drift] = []
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_activity: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for snap in client.collection(db.CREDIT_LOGS).stream():
        data = snap.to_dict() or {}
        data["_id"] = snap.id
        by_user[str(data.get("userId"))].append(data)
        activity = data.get("activityId")
        if activity:
            kind = snap.id.split("_", 1)[0]
            by_activity[str(activity)][kind].append(data)
    balances: dict[str, int] = {}
    for snap in client.collection(db.USERS).stream():
        credits = (snap.to_dict() or {}).get("credits", 0)
        balances[snap.id] = credits if isinstance(credits, int) else -1
    for uid in sorted(set(balances) | set(by_user)):
        entries = by_user.get(uid, [])
        total = sum(int(e.get("delta", 0)) for e in entries)
        balance = balances.get(uid)
        if balance is None:
            drifts.append(Drift(uid, "missing_user", f"{len(entries)} ledger entries but no users document"))
            continue
        if balance < 0:
            drifts.append(Drift(uid, "negative_balance", f"credits={balance}"))
        if total != balance:
            drifts.append(Drift(uid, "ledger_mismatch", f"ledger sums to {total}, balance is {balance}"))
        for e in entries:
            after = e.get("balanceAfter")
            if not isinstance(after, int) or after < 0:
                drifts.append(Drift(uid, "bad_balance_after", f"{e['_id']}: balanceAfter={after!r}"))
        if sum(1 for e in entries if e["_id"].startswith("signup_")) > 1:
            drifts.append(Drift(uid, "double_signup_grant", "more than one signup grant"))
    for activity, kinds in by_activity.items():
        for kind in ("charge", "refund", "settle"):
            if len(kinds.get(kind, [])) > 1:
                drifts.append(Drift(activity, f"double_{kind}", f"{len(kinds[kind])} {kind} entries"))
        charge = sum(-int(e.get("delta", 0)) for e in kinds.get("charge", []))
        refund = sum(int(e.get("delta", 0)) for e in kinds.get("refund", []))
        settle = sum(int(e.get("delta", 0)) for e in kinds.get("settle", []))
        if kinds.get("refund") and kinds.get("settle"):
            drifts.append(Drift(activity, "refund_and_settlement", "an activity both failed and settled"))
        if refund > charge + max(0, -settle):
            drifts.append(Drift(activity, "over_refund", f"refunded {refund} of a {charge} charge"))
        if settle > charge:
            drifts.append(Drift(activity, "over_settlement", f"settlement refunded {settle} of a {charge} charge"))
    return drifts
