"""Exact sliding-window rate limits, as bounded logs of request times.

A window of ``limit`` requests per ``window`` seconds admits a request at time ``t`` iff
fewer than ``limit`` counted requests lie in ``(t - window, t]``. That is the contract's
"the 51st image in any hour is refused", for *any* hour, not just clock hours: fixed-window
counters let ``2 x limit`` through around a boundary, and the approximate sliding counters
(two weighted buckets) are not exact either.

Why a log is cheap here: the log never needs more than ``limit`` entries (older ones cannot
matter once ``limit`` newer ones exist), limits are capped (``config.MAX_RATE_LIMIT``), and
the log lives in one small document per user (all four types) and one per IP, read and
written in the same atomic commit as the charge. Its precondition makes the limit exact
under any concurrency: two requests that both saw 49 entries cannot both commit.

``retryAfterSeconds`` is honest: the moment the oldest counted request leaves the window,
rounded up to whole seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """Whether one request is admitted, the pruned log, and when to retry if not."""

    allowed: bool
    hits: tuple[int, ...]  # the pruned log, *without* this request
    retry_after_seconds: int = 0

    def with_hit(self, now_ms: int, limit: int) -> list[int]:
        """The log to store once this request is counted (newest ``limit`` entries)."""
        return ([*self.hits, now_ms])[-limit:]


def prune(hits: object, now_ms: int, window_seconds: int) -> tuple[int, ...]:
    """Entries still inside the window, oldest first. Tolerates a malformed stored log."""
    if not isinstance(hits, (list, tuple)):
        return ()
    start = now_ms - window_seconds * 1000
    # Entries a little in the future (another instance's clock runs ahead) still count.
    kept = sorted(h for h in hits if isinstance(h, int) and not isinstance(h, bool) and h > start)
    return tuple(kept)


def decide(hits: object, now_ms: int, limit: int, window_seconds: int) -> Decision:
    """Admit or refuse one request against a stored log."""
    live = prune(hits, now_ms, window_seconds)
    if len(live) < limit:
        return Decision(True, live)
    # The request becomes admissible when the entry that makes the log full ages out.
    blocking = live[len(live) - limit]
    wait_ms = blocking + window_seconds * 1000 - now_ms
    return Decision(False, live, max(1, math.ceil(wait_ms / 1000)))


def expires_at_ms(hits: list[int] | tuple[int, ...], window_seconds: int) -> int | None:
    """When the whole log is spent (its newest entry leaves the window)."""
    if not hits:
        return None
    return max(hits) + window_seconds * 1000
