"""The scheduled jobs, as plain functions of (client, clock): they cannot be jammed.

* ``reset_rate_limits`` (hourly, ``resetRateLimits``): expired rate-limit records out (and the
  spent ``rateLimits`` map off users' documents), and
  generations stuck in ``pending``/``processing`` for over 30 minutes failed and refunded
  (through the same ``update_status`` as any report, exactly once);
* ``expire_buckets`` (inside the hourly job): the ``expired`` entries of users whose grant
  buckets lapsed while they made no call (expiry itself is exact without it);
* ``cleanup_old_data`` (daily, ``cleanupOldData``): final activities older than
  ``retentionDays`` and spent rate-limit records. Never the ledger, usage logs, abuse records or
  the audit trail: those are the permanent record.

Each job pages through its query with a cursor (``start_after`` the last document seen), so a
document it cannot process (damaged by hand, owned by a damaged account, changed meanwhile) is
skipped, reported and passed, never met again in the same run, and never blocks the rest. Each
run stops after ``max_docs`` or its time budget with ``more`` set (the next run continues), and
leaves a report: a structured log line and a ``job_runs`` document an admin can read (what it
did, what it skipped and why). Before its work, each run applies pending migrations of older
data shapes (configuration, IP blocks), which are idempotent and cheap when there is nothing
to do.

Deletions carry the ``update_time`` the job read as a precondition, so a document that a call
touched meanwhile (a rate-limit log that just got a new entry) is left alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from credits.features import expiry, migrations, promos
from credits.features.command import Command
from credits.features.lifecycle import Skipped, StatusRequest, end_stuck
from credits.policy.lifecycle import STUCK_AFTER
from credits.store import config_store, db, notifications, rate_limit
from credits.store.atomic import Deadline
from credits.vocab.activity import ACTIVE, FINAL
from credits.vocab.clock import Clock
from credits.vocab.context import SYSTEM
from credits.vocab.errors import CreditsError, DataInvalid

log = logging.getLogger(__name__)

PAGE = 200
SWEEP_ERROR = "timed out: no final status within 30 minutes"
JOB_BUDGET_SECONDS = 480.0  # below the schedules' 540 s timeout
MAX_REPORTED_SKIPS = 100


@dataclass
class JobReport:
    """What one run did; stored in ``job_runs`` and logged."""

    job: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    deleted: dict[str, int] = field(default_factory=dict)
    failed_activities: list[str] = field(default_factory=list)
    refunded_credits: int = 0
    expired_credits: int = 0
    expired_users: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    skipped_count: int = 0
    errors: list[str] = field(default_factory=list)
    migrations: dict[str, str] = field(default_factory=dict)
    more: bool = False  # stopped at its limit with work left

    def skip(self, document: str, reason: str) -> None:
        """Record a document the run passed over, and why."""
        self.skipped_count += 1
        if len(self.skipped) < MAX_REPORTED_SKIPS:
            self.skipped.append({"document": document, "reason": reason})

    def count(self, collection: str, n: int) -> None:
        """Add ``n`` deletions in ``collection``."""
        self.deleted[collection] = self.deleted.get(collection, 0) + n

    def merge(self, other: JobReport) -> None:
        """Fold another part's report into this one."""
        for collection, n in other.deleted.items():
            self.count(collection, n)
        self.failed_activities += other.failed_activities
        self.refunded_credits += other.refunded_credits
        self.expired_credits += other.expired_credits
        self.expired_users += other.expired_users
        for item in other.skipped:
            self.skip(item["document"], item["reason"])
        self.skipped_count += other.skipped_count - len(other.skipped)
        self.errors += other.errors
        self.migrations.update(other.migrations)
        self.more = self.more or other.more

    def as_dict(self) -> dict[str, Any]:
        """The report as stored and logged."""
        return {
            "job": self.job,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "deleted": self.deleted,
            "failedActivities": len(self.failed_activities),
            "refundedCredits": self.refunded_credits,
            "expiredCredits": self.expired_credits,
            "expiredUsers": self.expired_users,
            "skipped": self.skipped,
            "skippedCount": self.skipped_count,
            "errors": self.errors[:MAX_REPORTED_SKIPS],
            "migrations": self.migrations,
            "more": self.more,
        }


class _Budget:
    def __init__(self, seconds: float, max_docs: int) -> None:
        self.deadline = Deadline(seconds)
        self.left = max_docs

    def spent(self) -> bool:
        return self.left <= 0 or self.deadline.expired()


def _pages(query: firestore.Query, budget: _Budget) -> Iterator[list[db.Snapshot]]:
    """Pages of ``query`` (which must be ordered), each starting after the last one."""
    cursor: db.Snapshot | None = None
    while not budget.spent():
        page_query = query.limit(min(PAGE, budget.left))
        if cursor is not None:
            page_query = page_query.start_after(cursor)
        snaps = list(page_query.stream())
        if not snaps:
            return
        budget.left -= len(snaps)
        yield snaps
        if len(snaps) < PAGE:
            return
        cursor = snaps[-1]


USER_WINDOWS = "userRateLimits"
"""How the jobs' reports count users whose spent ``rateLimits`` map was cleared."""


def _delete_guarded(client: firestore.Client, snapshots: list[db.Snapshot], *, field_only: str | None = None) -> int:
    """Delete documents (with ``field_only``: remove that field from them) unless they changed
    since read; returns how many were written.
    """
    if not snapshots:
        return 0

    def add(batch: firestore.WriteBatch, snap: db.Snapshot) -> None:
        option = client.write_option(last_update_time=snap.update_time)
        if field_only is None:
            batch.delete(snap.reference, option=option)
        else:
            batch.update(snap.reference, {field_only: firestore.DELETE_FIELD}, option=option)

    batch = client.batch()
    for snap in snapshots:
        add(batch, snap)
    try:
        batch.commit()
        return len(snapshots)
    except (gexc.FailedPrecondition, gexc.NotFound, gexc.Aborted):
        # One of them changed: fall back to one by one, skipping the changed ones.
        written = 0
        for snap in snapshots:
            one = client.batch()
            add(one, snap)
            try:
                one.commit()
                written += 1
            except (gexc.FailedPrecondition, gexc.NotFound, gexc.Aborted):
                continue
        return written


def expire_rate_limits(
    client: firestore.Client, clock: Clock, *, max_docs: int = 5000, seconds: float = JOB_BUDGET_SECONDS
) -> JobReport:
    """Delete rate-limit records whose every log is spent (``expiresAt`` passed), and clear the
    users' spent windows (``users/{uid}.rateLimits``), counted as ``userRateLimits``.
    """
    now = clock.now()
    report = JobReport("expireRateLimits", now, deleted={db.RATE_LIMITS: 0, USER_WINDOWS: 0})
    budget = _Budget(seconds, max_docs)
    for shard in range(db.INDEX_SHARDS):
        query = (
            client.collection(db.RATE_LIMITS)
            .where(filter=FieldFilter("shard", "==", shard))
            .where(filter=FieldFilter("expiresAt", "<", now))
            .order_by("expiresAt")
        )
        for page in _pages(query, budget):
            report.count(db.RATE_LIMITS, _delete_guarded(client, page))
    expiry = f"{rate_limit.USER_FIELD}.expiresAt"
    for shard in range(db.INDEX_SHARDS):
        query = (
            client.collection(db.USERS)
            .where(filter=FieldFilter(f"{rate_limit.USER_FIELD}.shard", "==", shard))
            .where(filter=FieldFilter(expiry, "<", now))
            .order_by(expiry)
        )
        for page in _pages(query, budget):
            report.count(USER_WINDOWS, _delete_guarded(client, page, field_only=rate_limit.USER_FIELD))
    report.more = budget.spent()
    return report


def sweep_stuck(
    client: firestore.Client, clock: Clock, *, max_docs: int = 1000, seconds: float = JOB_BUDGET_SECONDS
) -> JobReport:
    """Fail and refund generations left ``pending`` or ``processing`` for over 30 minutes.

    Each goes through ``update_status`` as the system (one refund, one usage entry, at most
    once), re-checking inside its commit that it is still stuck; whether the refund counts
    against the owner is the trust model's call (``policy.lifecycle``).
    """
    now = clock.now()
    report = JobReport("sweepStuck", now)
    budget = _Budget(seconds, max_docs)
    cutoff = now - STUCK_AFTER
    for status in ACTIVE:
        for shard in range(db.INDEX_SHARDS):
            query = (
                client.collection(db.AI_ACTIVITY)
                .where(filter=FieldFilter("shard", "==", shard))
                .where(filter=FieldFilter("status", "==", status))
                .where(filter=FieldFilter("updatedAt", "<", cutoff))
                .order_by("updatedAt")
            )
            for page in _pages(query, budget):
                for snap in page:
                    _sweep_one(client, clock, snap, report)
    report.more = budget.spent()
    return report


def _sweep_one(client: firestore.Client, clock: Clock, snap: db.Snapshot, report: JobReport) -> None:
    request = StatusRequest(activity_id=snap.id, status="failed", error=SWEEP_ERROR)
    try:
        # update_status reports a damaged document itself (once per document).
        result = end_stuck(Command(client, clock, SYSTEM), request)
    except DataInvalid as err:
        report.skip(err.document, "data_invalid: " + ", ".join(sorted(err.problems)))
        return
    except CreditsError as err:  # finished meanwhile (invalid_transition), contention, ...
        report.errors.append(f"{snap.id}: {err.reason}")
        return
    except Exception as err:  # one document must not end the run; the log has the type
        log.exception("sweep: %s could not be processed", snap.reference.path)
        report.skip(snap.reference.path, f"error: {type(err).__name__}")
        return
    if not isinstance(result, Skipped):
        report.failed_activities.append(snap.id)
        report.refunded_credits += result.refundedCredits


def expire_buckets(
    client: firestore.Client, clock: Clock, *, max_docs: int = 2000, seconds: float = JOB_BUDGET_SECONDS
) -> JobReport:
    """Write the ``expired`` entries of users whose buckets lapsed while they made no call.

    One atomic step per user (``expiry.expire_user``); a damaged account is reported and
    passed. A user done by a call meanwhile is a no-op (the entries' ids are per bucket).
    """
    now = clock.now()
    report = JobReport("expireBuckets", now)
    budget = _Budget(seconds, max_docs)
    for page in _pages(expiry.due_query(client, now), budget):
        for snap in page:
            try:
                credits = expiry.expire_user(
                    client, clock, snap.id, deadline=Deadline(min(30.0, budget.deadline.remaining() + 0.05))
                )
            except DataInvalid as err:
                notifications.data_invalid(client, err, clock.now(), seen_by="expireBuckets")
                report.skip(err.document, "data_invalid: " + ", ".join(sorted(err.problems)))
                continue
            except CreditsError as err:
                report.errors.append(f"{snap.id}: {err.reason}")
                continue
            except Exception as err:  # one user must not end the run
                log.exception("expiry: %s could not be processed", snap.reference.path)
                report.skip(snap.reference.path, f"error: {type(err).__name__}")
                continue
            report.expired_credits += credits
            report.expired_users += 1 if credits else 0
    report.more = budget.spent()
    return report


def resume_promos(client: firestore.Client, clock: Clock, *, seconds: float = 120.0) -> JobReport:
    """Continue promotional grant jobs an admin's call did not finish (``promos``)."""
    report = JobReport("resumePromos", clock.now())
    deadline = Deadline(seconds)
    for job_id in promos.running_jobs(client):
        if deadline.expired():
            report.more = True
            break
        try:
            promos.resume(client, clock, job_id, seconds=deadline.remaining())
        except Exception as err:  # one job must not end the run
            log.exception("promo job %s could not be resumed", job_id)
            report.skip(f"{promos.PROMO_JOBS}/{job_id}", f"error: {type(err).__name__}")
    return report


def cleanup_old_activities(
    client: firestore.Client, clock: Clock, retention_days: int, *, max_docs: int = 10_000, seconds: float = JOB_BUDGET_SECONDS
) -> JobReport:
    """Delete final activities older than ``retention_days``; unfinished ones are the sweep's.

    The idempotency keys of charges outlive their activities (``charge_{id}`` in the ledger),
    so deleting an activity never makes its key reusable.
    """
    now = clock.now()
    report = JobReport("cleanupActivities", now, deleted={db.AI_ACTIVITY: 0})
    budget = _Budget(seconds, max_docs)
    cutoff = now - dt.timedelta(days=retention_days)
    for shard in range(db.INDEX_SHARDS):
        query = (
            client.collection(db.AI_ACTIVITY)
            .where(filter=FieldFilter("shard", "==", shard))
            .where(filter=FieldFilter("createdAt", "<", cutoff))
            .order_by("createdAt")
        )
        _delete_final(client, query, budget, report)
    report.more = budget.spent()
    return report


def _delete_final(client: firestore.Client, query: firestore.Query, budget: _Budget, report: JobReport) -> None:
    """Delete the final activities of ``query``'s pages; report the damaged ones."""
    for page in _pages(query, budget):
        final = []
        for snap in page:
            status = (snap.to_dict() or {}).get("status")
            if status in FINAL:
                final.append(snap)
            elif status not in ACTIVE:
                report.skip(snap.reference.path, f"data_invalid: status {status!r}")
        report.count(db.AI_ACTIVITY, _delete_guarded(client, final))


def reset_rate_limits(client: firestore.Client, clock: Clock) -> JobReport:
    """The hourly job: migrations, expired windows out, stuck generations failed and refunded."""
    report = JobReport("resetRateLimits", clock.now())
    report.migrations = migrations.run_all(client, clock)
    report.merge(expire_rate_limits(client, clock))
    report.merge(sweep_stuck(client, clock))
    report.merge(expire_buckets(client, clock))
    report.merge(resume_promos(client, clock))
    return _finish(client, clock, report)


def cleanup_old_data(client: firestore.Client, clock: Clock) -> JobReport:
    """The daily job: migrations, old final activities and spent rate-limit records."""
    report = JobReport("cleanupOldData", clock.now())
    report.migrations = migrations.run_all(client, clock)
    retention = config_store.current_settings(client).credits.retentionDays
    report.merge(cleanup_old_activities(client, clock, retention))
    report.merge(expire_rate_limits(client, clock))
    return _finish(client, clock, report)


def _finish(client: firestore.Client, clock: Clock, report: JobReport) -> JobReport:
    report.finished_at = clock.now()
    record_run(client, report)
    return report


def record_run(client: firestore.Client, report: JobReport) -> None:
    """Store the run's report in ``job_runs`` (best effort: the work is done either way)."""
    try:
        client.collection(db.JOB_RUNS).document().create(report.as_dict(), timeout=10.0)
    except gexc.GoogleAPICallError as err:
        log.warning("could not record the %s run: %s", report.job, type(err).__name__)


JobFunction = Callable[[firestore.Client, Clock], JobReport]
JOBS: dict[str, JobFunction] = {"resetRateLimits": reset_rate_limits, "cleanupOldData": cleanup_old_data}
"""The scheduled jobs by their function names, for the schedules and the run-now command."""
