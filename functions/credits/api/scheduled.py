"""The schedules and the configuration trigger: thin wrappers around ``credits.features.maintenance``,
``credits.features.rollup`` and ``credits.store.config_store``.
"""

from __future__ import annotations

import logging

from firebase_functions import firestore_fn, scheduler_fn
from firebase_functions.core import Change

from credits.api import logs
from credits.features import maintenance, rollup
from credits.store import config_store, db
from credits.vocab.clock import SystemClock

log = logging.getLogger("credits.jobs")
logs.install()


def _run(name: str) -> None:
    report = maintenance.JOBS[name](db.client(), SystemClock())
    summary = report.as_dict()
    log.info(
        "%s: deleted %s, failed %d (refunded %d), skipped %d, migrations %s, more %s",
        name,
        summary["deleted"],
        summary["failedActivities"],
        summary["refundedCredits"],
        summary["skippedCount"],
        summary["migrations"],
        summary["more"],
    )


@scheduler_fn.on_schedule(schedule="every 24 hours", timeout_sec=540)
def cleanupOldData(event: scheduler_fn.ScheduledEvent) -> None:  # noqa: N802 - the contract's name
    """Daily: activities past ``retentionDays`` and spent rate-limit records."""
    _run("cleanupOldData")


@scheduler_fn.on_schedule(schedule="every 1 hours", timeout_sec=540)
def resetRateLimits(event: scheduler_fn.ScheduledEvent) -> None:  # noqa: N802 - the contract's name
    """Hourly: expired rate-limit windows; stuck generations failed and refunded."""
    _run("resetRateLimits")


@scheduler_fn.on_schedule(schedule="every 10 minutes", timeout_sec=540)
def rollupUsageStats(event: scheduler_fn.ScheduledEvent) -> None:  # noqa: N802 - a deployed function's name
    """Every 10 minutes: roll up the hours that closed into the statistics' summaries."""
    report = rollup.rollup_usage(db.client(), SystemClock())
    log.info("rollupUsageStats: %s", report.as_dict())


@firestore_fn.on_document_written(document="system_config/{docId}", timeout_sec=60)
def onConfigWritten(event: firestore_fn.Event[Change[db.Snapshot | None]]) -> None:  # noqa: N802 - a function name
    """Check a hand edit of ``system_config/credits`` or ``/moderation`` within seconds."""
    name = str(event.params.get("docId", ""))
    outcome = config_store.check_edit(db.client(), SystemClock(), name)
    log.info("configuration edit of %s/%s: %s", db.SYSTEM_CONFIG, name, outcome)


@firestore_fn.on_document_written(document="applied_config/{docId}", timeout_sec=60)
def onAppliedConfigWritten(event: firestore_fn.Event[Change[db.Snapshot | None]]) -> None:  # noqa: N802 - a function name
    """Put back a hand edit of the applied configuration (``applied_config/current``, ``/terms``)."""
    name = str(event.params.get("docId", ""))
    outcome = config_store.check_applied(db.client(), SystemClock(), name)
    if outcome != "ignored":
        log.info("applied configuration %s/%s: %s", db.APPLIED_CONFIG, name, outcome)
