"""Whether a generation may be charged: the contract's checks, in the contract's order.

Input (already validated), IP block, account status, rate limits (the user's, then the
address's), moderation, balance. The first check that fails decides the refusal; a refusal
still records what the contract names:

* the address's request log counts the charges that passed, and nothing else: a refused
  attempt (a rejected prompt, too few credits, any rate limit) takes no place in it, so one
  free account knocking again and again behind a shared address (a carrier-grade NAT, an
  office) cannot lock everyone else there out;
* the address's window is shared fairly: one user may hold at most its share of it
  (``rateLimits.ipSharePercent``, half by default), counted in the address's log, whose
  entries are tagged with the user who made them (``rate_limit.IpRecord``). Past it the user is refused with ``scope: ip``
  and its share as ``limit``, and that refusal is held against the user;
* a refusal by the user's own limits (its rate limits, its share of the address, its
  balance) counts toward the user's refusal milestones (abuse events); one by the shared
  per-address limit does not: it says nothing about the individual who happened to hit it;
* a rejected prompt is an abuse event of its category's (or term's) severity;
* a flagged prompt is approved like any other, and the approval carries the verdict: the
  charge records it on the activity and as an abuse event of the category's severity.

The same function answers a preview (``getCreditStatus``): there is no prompt, so no
moderation, and nothing is recorded.

Worked examples (``tests/unit/test_policy_charge.py``): a suspended user behind a blocked
address is refused ``ip_blocked`` (the address comes first); a user with 50 images in the hour
asks for one more and is refused ``rate_limited`` with ``scope: user`` and the seconds until the
oldest of the 50 leaves the window; a user with 5 credits asks for an image at 10 and is
refused ``insufficient_credits`` (required 10, available 5), counted on the user, not the address.
"""

from __future__ import annotations

from dataclasses import dataclass

from credits.moderation import Verdict
from credits.policy import window
from credits.policy.abuse import Severity
from credits.vocab.errors import AccountSuspended, CreditsError, InsufficientCredits, IpBlocked, PromptRejected, RateLimited


@dataclass(frozen=True)
class Window:
    """One sliding-log rate limit as read: its live entries, its limit and its length."""

    hits: tuple[int, ...]
    limit: int
    seconds: int


@dataclass(frozen=True)
class ChargeState:
    """Everything the decision depends on, read and parsed."""

    ip_blocked: bool
    suspended: bool
    balance: int
    cost: int
    user_window: Window
    ip_window: Window | None  # None when the address is unknown
    verdict: Verdict | None  # moderation's verdict on the prompt (None: allowed, or a preview)
    now_ms: int
    # The user's own charges in the address's window and its share of that window (None:
    # the address is unknown).
    ip_share: Window | None = None


@dataclass(frozen=True)
class Refusal:
    """A refused charge and what it still records."""

    error: CreditsError
    user_refusal: bool = False  # counts toward the user's refusal milestones
    abuse_severity: Severity | None = None  # a moderation event of this severity

    @property
    def reason(self) -> str:
        """The contract's ``details.reason`` of the refusal."""
        return self.error.reason


@dataclass(frozen=True)
class Approval:
    """An accepted charge: the cost, the balance after, and the logs to store."""

    cost: int
    remaining: int
    user_hits: list[int]
    ip_hits: list[int] | None
    flagged: Verdict | None = None  # moderation flagged the prompt: recorded, not refused


def decide(state: ChargeState) -> Refusal | Approval:
    """The first failing check's refusal, or the approval (see the module docstring)."""
    if state.ip_blocked:
        return Refusal(IpBlocked())
    if state.suspended:
        return Refusal(AccountSuspended())
    user = window.decide(state.user_window.hits, state.now_ms, state.user_window.limit, state.user_window.seconds)
    ip = None
    if state.ip_window is not None:
        ip = window.decide(state.ip_window.hits, state.now_ms, state.ip_window.limit, state.ip_window.seconds)
    if not user.allowed:
        error = RateLimited("user", state.user_window.limit, state.user_window.seconds, user.retry_after_seconds)
        return Refusal(error, user_refusal=True)
    if ip is not None and not ip.allowed:
        assert state.ip_window is not None
        return Refusal(RateLimited("ip", state.ip_window.limit, state.ip_window.seconds, ip.retry_after_seconds))
    if ip is not None and state.ip_share is not None:
        # Checked after the full window: a refusal the whole address would get anyway is not
        # held against the user; one only its own share explains is.
        share = window.decide(state.ip_share.hits, state.now_ms, state.ip_share.limit, state.ip_share.seconds)
        if not share.allowed:
            error = RateLimited("ip", state.ip_share.limit, state.ip_share.seconds, share.retry_after_seconds)
            return Refusal(error, user_refusal=True)
    verdict = state.verdict
    if verdict is not None and verdict.action == "refuse":
        severity: Severity = verdict.severity or "medium"
        return Refusal(PromptRejected(verdict.category or "other"), abuse_severity=severity)
    if state.balance < state.cost:
        return Refusal(InsufficientCredits(required=state.cost, available=state.balance), user_refusal=True)
    ip_hits = None
    if ip is not None and state.ip_window is not None:
        ip_hits = ip.with_hit(state.now_ms, state.ip_window.limit)
    return Approval(
        cost=state.cost,
        remaining=state.balance - state.cost,
        user_hits=user.with_hit(state.now_ms, state.user_window.limit),
        ip_hits=ip_hits,
        flagged=verdict if verdict is not None and verdict.action == "flag" else None,
    )
