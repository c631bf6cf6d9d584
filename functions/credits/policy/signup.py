"""Who receives the sign-up grant (``defaultCredits``), decided once per account.

The contract's policy: no grant for anonymous accounts; a verified email when
``signup.requireVerifiedEmail``; at most ``signup.grantsPerIpPerDay`` grants from one address
(IPv6: one /64) in any 24 hours. Two rules of this backend's own come before the count: an
address it cannot determine, or one that is blocked, gets no grant. Anyone refused gets an
account with 0 credits and the rule that withheld the grant; an admin can still grant.

A subscriber who holds a wider IPv6 allocation can pick any of its /64s (a /56 has 256, a
/48 65,536), and an IPv4 farm sits on neighbouring addresses; so the count holds at the
wider networks together (issue 20, hole 1), each with its own daily cap:

=========================  =====================  ===============  ====================
rule                       IPv4                   IPv6             setting (default)
=========================  =====================  ===============  ====================
``ip_limit``               the address            its /64          grantsPerIpPerDay (3)
``network_limit``          its /24                its /56          grantsPerNetworkPerDay (4)
``allocation_limit``       (none)                 its /48          grantsPerAllocationPerDay (5)
``global_limit``           every sign-up of the product, per clock hour: grantsPerHour (10,000)
=========================  =====================  ===============  ====================

The global cap protects the product from a botnet on many networks. Its count is sharded
(``GLOBAL_SHARDS`` documents per hour, a sign-up writes the one of its uid): a first call
reads all of them, so the cap holds to within the sign-ups committing at the same moment
(docs/capacity.md has the arithmetic). Worked example (``tests/unit/test_policy_signup.py``):
with the defaults, six /64s of one /48, each in a /56 of its own, get five grants; the sixth
is withheld by ``allocation_limit``.

The per-address count is a sliding log of grant times kept on the address's record
(``rate_limits/ip_{bucket}.signupGrants``) and written in the same commit as the account,
under its precondition, so parallel sign-ups from one address race for the last grant of the
day and exactly one wins it.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from credits.vocab.contract.base import SignupGrantRule as WithholdRule

GRANT_WINDOW_MS = 24 * 3600 * 1000
HOUR_MS = 3600 * 1000
GLOBAL_SHARDS = 16
IPV4_NETWORK_PREFIX = 24
IPV6_NETWORK_PREFIX = 56
IPV6_ALLOCATION_PREFIX = 48


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


@dataclass(frozen=True)
class Networks:
    """The wider networks an address is counted in: ``network`` (IPv4 /24, IPv6 /56) and,
    for IPv6, ``allocation`` (its /48).
    """

    network: str
    allocation: str | None


def networks_of(ip: str) -> Networks:
    """The networks of a canonical address (see ``ip_blocks.normalize_ip``)."""
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        return Networks(str(ipaddress.ip_network(f"{address}/{IPV4_NETWORK_PREFIX}", strict=False)), None)
    return Networks(
        str(ipaddress.ip_network(f"{address}/{IPV6_NETWORK_PREFIX}", strict=False)),
        str(ipaddress.ip_network(f"{address}/{IPV6_ALLOCATION_PREFIX}", strict=False)),
    )


def hour_of(now_ms: int) -> int:
    """The clock hour (hours since the epoch) the global cap counts in."""
    return now_ms // HOUR_MS


def shard_of(uid: str) -> int:
    """The global count's shard a user's sign-up writes (stable per uid, spread evenly)."""
    return int(hashlib.sha256(uid.encode()).hexdigest()[:8], 16) % GLOBAL_SHARDS


_UNCAPPED = 1 << 62


@dataclass(frozen=True)
class SignupState:
    """What the sign-up decision reads: the grant, the caller's identity, the address, and the
    grants already counted at the address, its wider networks and in the hour, each with its cap.

    The wider counts default to uncapped so a caller can decide the cheap rules first and
    read the wider counts only for a sign-up those rules would grant.
    """

    amount: int
    anonymous: bool
    email_verified: bool
    require_verified_email: bool
    ip_known: bool
    ip_blocked: bool
    grants_from_ip: Sequence[int]
    grants_per_ip_per_day: int
    grants_from_network: Sequence[int] = ()
    grants_per_network_per_day: int = _UNCAPPED
    grants_from_allocation: Sequence[int] = ()
    grants_per_allocation_per_day: int = _UNCAPPED
    grants_this_hour: int = 0
    grants_per_hour: int = _UNCAPPED


def decide(state: SignupState) -> SignupDecision:
    """The sign-up decision for a new account (see the module docstring for the order)."""
    rule: WithholdRule | None = None
    if state.anonymous:
        rule = "anonymous"
    elif state.require_verified_email and not state.email_verified:
        rule = "email_unverified"
    elif not state.ip_known:
        rule = "ip_unknown"
    elif state.ip_blocked:
        rule = "ip_blocked"
    elif len(state.grants_from_ip) >= state.grants_per_ip_per_day:
        rule = "ip_limit"
    elif len(state.grants_from_network) >= state.grants_per_network_per_day:
        rule = "network_limit"
    elif len(state.grants_from_allocation) >= state.grants_per_allocation_per_day:
        rule = "allocation_limit"
    elif state.grants_this_hour >= state.grants_per_hour:
        rule = "global_limit"
    if rule is not None:
        return SignupDecision(granted=False, amount=0, rule=rule)
    return SignupDecision(granted=True, amount=state.amount)


def with_grant(grants: Sequence[int], now_ms: int, per_day: int) -> list[int]:
    """The log to store once a grant at ``now_ms`` is counted (bounded by ``per_day``)."""
    return [*grants, now_ms][-max(1, per_day) :]
