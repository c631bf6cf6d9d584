"""The schedules: thin wrappers around ``credits.maintenance`` and ``credits.rollup``."""

from __future__ import annotations

import logging

from firebase_functions import scheduler_fn

from .. import db, maintenance, rollup
from ..clock import SystemClock

log = logging.getLogger("credits")


@scheduler_fn.on_schedule(schedule="every 24 hours", timeout_sec=540)
def cleanupOldData(event: scheduler_fn.ScheduledEvent) -> None:  # noqa: N802 - the contract's name
    """Daily: activities past ``retentionDays`` and spent rate-limit records."""
    report = maintenance.cleanup_old_data(db.client(), SystemClock())
    log.info("cleanupOldData: %s", report.as_dict())


@scheduler_fn.on_schedule(schedule="every 1 hours", timeout_sec=540)
def resetRateLimits(event: scheduler_fn.ScheduledEvent) -> None:  # noqa: N802 - the contract's name
    """Hourly: expired rate-limit windows; stuck generations failed and refunded."""
    report = maintenance.reset_rate_limits(db.client(), SystemClock())
    log.info("resetRateLimits: %s", report.as_dict())


@scheduler_fn.on_schedule(schedule="every 10 minutes", timeout_sec=540)
def rollupUsageStats(event: scheduler_fn.ScheduledEvent) -> None:  # noqa: N802 - a deployed function's name
    """Every 10 minutes: roll up the hours that closed into the statistics' summaries."""
    report = rollup.rollup_usage(db.client(), SystemClock())
    log.info("rollupUsageStats: %s", report.as_dict())
