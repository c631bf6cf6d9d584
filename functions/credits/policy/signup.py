"""Who receives the sign-up grant (``defaultCredits``), decided once per account.

The contract's policy: no grant for anonymous accounts; a verified email when
``signup.requireVerifiedEmail``; at most ``signup.grantsPerIpPerDay`` grants from one address
(IPv6: one /64) in any 24 hours. Two rules of this backend's own come before the count: an
address it cannot determine, or one that is blocked, gets no grant. Anyone refused gets an
account with 0 credits and the rule that withheld the grant; an admin can still grant.

The per-address count is a sliding log of grant times kept on the address's record
(``rate_limits/ip_{bucket}.signupGrants``) and written in the same commit as the account,
under its precondition, so parallel sign-ups from one address race for the last grant of the
day and exactly one wins it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

WithholdRule = Literal["anonymous", "email_unverified", "ip_unknown", "ip_blocked", "ip_limit"]
GRANT_WINDOW_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class SignupDecision:
    """The grant an account opens with: ``amount`` credits, or withheld by ``rule``."""

    granted: bool
    amount: int
    rule: WithholdRule | None = None


def live_grants(stored: object, now_ms: int) -> tuple[int, ...]:
    """Grant times (epoch ms) of the last 24 hours from a stored log; tolerant of junk."""
    if not isinstance(stored, list):
        return ()
    start = now_ms - GRANT_WINDOW_MS
    return tuple(sorted(t for t in stored if isinstance(t, int) and not isinstance(t, bool) and t > start))


def decide(
    *,
    amount: int,
    anonymous: bool,
    email_verified: bool,
    require_verified_email: bool,
    ip_known: bool,
    ip_blocked: bool,
    grants_from_ip: Sequence[int],
    grants_per_ip_per_day: int,
) -> SignupDecision:
    """The sign-up decision for a new account (see the module docstring for the order)."""
    rule: WithholdRule | None = None
    if anonymous:
        rule = "anonymous"
    elif require_verified_email and not email_verified:
        rule = "email_unverified"
    elif not ip_known:
        rule = "ip_unknown"
    elif ip_blocked:
        rule = "ip_blocked"
    elif len(grants_from_ip) >= grants_per_ip_per_day:
        rule = "ip_limit"
    if rule is not None:
        return SignupDecision(granted=False, amount=0, rule=rule)
    return SignupDecision(granted=True, amount=amount)


def with_grant(grants: Sequence[int], now_ms: int, per_day: int) -> list[int]:
    """The log to store once a grant at ``now_ms`` is counted (bounded by ``per_day``)."""
    return [*grants, now_ms][-max(1, per_day) :]
