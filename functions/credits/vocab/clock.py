"""Time, injectable.

Domain code never calls ``datetime.now`` directly: it takes a ``Clock``. Tests pass a
``ManualClock``. On the Functions *emulator* only, ``SystemClock`` also honours an offset
file named by ``CREDITS_CLOCK_OFFSET_FILE`` so end-to-end tests can roll windows over
without sleeping; outside the emulator (``FUNCTIONS_EMULATOR`` unset) the variable is ignored.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Protocol

UTC = dt.UTC


class Clock(Protocol):
    """Anything that tells the time: ``SystemClock`` in production, ``ManualClock`` in tests."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """Wall-clock time (plus the emulator-only test offset, see the module docstring)."""

    def now(self) -> dt.datetime:
        """The wall-clock time in UTC, moved by the emulator-only offset where it applies."""
        return dt.datetime.now(UTC) + dt.timedelta(seconds=_emulator_offset_seconds())


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> dt.datetime:
        """The time this clock was last set or advanced to."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (backward if negative)."""
        self._now += dt.timedelta(seconds=seconds)

    def set(self, when: dt.datetime) -> None:
        """Put the clock at ``when``."""
        self._now = when


def _emulator_offset_seconds() -> float:
    if os.environ.get("FUNCTIONS_EMULATOR") != "true":
        return 0.0
    path = os.environ.get("CREDITS_CLOCK_OFFSET_FILE")
    if not path:
        return 0.0
    try:
        with open(path, encoding="utf-8") as handle:
            return float(handle.read().strip() or 0)
    except (OSError, ValueError):
        return 0.0


def to_millis(when: dt.datetime) -> int:
    """Epoch milliseconds, the unit of rate-limit logs."""
    return int(when.timestamp() * 1000)


def from_millis(ms: int) -> dt.datetime:
    """The UTC time of epoch milliseconds ``ms`` (the inverse of ``to_millis``)."""
    return dt.datetime.fromtimestamp(ms / 1000, UTC)
