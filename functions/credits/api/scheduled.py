"""The schedules: thin wrappers around ``credits.maintenance``."""

from __future__ import annotations

import logging

from firebase_functions import scheduler_fn

from .. import db, maintenance
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
