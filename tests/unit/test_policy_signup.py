"""Who receives the sign-up grant: each rule as the contract states it."""

import dataclasses
from typing import Any

from credits.policy.signup import GRANT_WINDOW_MS, SignupDecision, SignupState, decide, live_grants, with_grant

NOW = 10_000_000_000

# An ordinary first call: a known address with no grants yet, 100 credits to grant; the wider
# counts uncapped unless a test names them.
BASE = SignupState(
    amount=100,
    anonymous=False,
    email_verified=False,
    require_verified_email=False,
    ip_known=True,
    ip_blocked=False,
    grants_from_ip=(),
    grants_per_ip_per_day=3,
)


def decision(**changes: Any) -> SignupDecision:
    return decide(dataclasses.replace(BASE, **changes))


def test_an_ordinary_sign_up_is_granted() -> None:
    d = decision()
    assert d.granted and d.amount == 100 and d.rule is None


def test_anonymous_accounts_get_nothing() -> None:
    d = decision(anonymous=True, email_verified=True)
    assert (d.granted, d.amount, d.rule) == (False, 0, "anonymous")


def test_an_unverified_email_gets_nothing_when_verification_is_required() -> None:
    assert decision(require_verified_email=True).rule == "email_unverified"
    assert decision(require_verified_email=True, email_verified=True).granted
    assert decision(require_verified_email=False, email_verified=False).granted


def test_the_fourth_grant_from_one_address_in_a_day_is_withheld() -> None:
    three = (NOW - 3000, NOW - 2000, NOW - 1000)
    assert decision(grants_from_ip=three[:2]).granted
    assert decision(grants_from_ip=three).rule == "ip_limit"


def test_grants_older_than_a_day_no_longer_count() -> None:
    stored = [NOW - GRANT_WINDOW_MS - 1, NOW - GRANT_WINDOW_MS, NOW - 5, "junk", True]
    assert live_grants(stored, NOW) == (NOW - 5,)


def test_an_unknown_or_blocked_address_gets_nothing() -> None:
    assert decision(ip_known=False).rule == "ip_unknown"
    assert decision(ip_blocked=True).rule == "ip_blocked"


def test_a_zero_daily_allowance_withholds_every_grant() -> None:
    assert decision(grants_per_ip_per_day=0).rule == "ip_limit"


def test_the_grant_log_stays_bounded() -> None:
    assert with_grant([1, 2, 3], 4, 3) == [2, 3, 4]
    assert with_grant([], 4, 0) == [4]


def test_a_grant_log_stored_in_the_wrong_shape_counts_as_no_grants() -> None:
    assert live_grants(None, NOW) == () and live_grants({"t": NOW}, NOW) == ()


# ------------------------------------------------------------------ wider networks (issue 20, hole 1)


def test_the_networks_of_an_address() -> None:
    from credits.policy.signup import networks_of

    assert networks_of("203.0.113.77") == networks_of("203.0.113.1")
    assert networks_of("203.0.113.77").network == "203.0.113.0/24" and networks_of("203.0.113.77").allocation is None
    six = networks_of("2001:db8:1:2a3:4:5:6:7")
    assert (six.network, six.allocation) == ("2001:db8:1:200::/56", "2001:db8:1::/48")


def test_six_64s_of_one_48_get_five_grants_with_the_defaults() -> None:
    """Each /64 in a /56 of its own: the /64 and /56 counts are empty, the /48 holds five."""
    caps = {"grants_per_network_per_day": 4, "grants_per_allocation_per_day": 5}
    allocation: list[int] = []
    outcomes = []
    for _ in range(6):
        d = decision(grants_from_allocation=tuple(allocation), **caps)
        outcomes.append(d.rule)
        if d.granted:
            allocation.append(NOW)
    assert outcomes == [None] * 5 + ["allocation_limit"]


def test_the_narrowest_exhausted_network_names_the_rule() -> None:
    full = (NOW - 1, NOW - 2)
    assert (
        decision(grants_from_ip=full, grants_per_ip_per_day=2, grants_from_network=full, grants_per_network_per_day=2).rule
        == "ip_limit"
    )
    assert decision(grants_from_network=full, grants_per_network_per_day=2).rule == "network_limit"
    assert decision(grants_from_allocation=full, grants_per_allocation_per_day=2).rule == "allocation_limit"


def test_the_hourly_cap_of_the_whole_product_withholds_once_reached() -> None:
    assert decision(grants_this_hour=999, grants_per_hour=1000).granted
    assert decision(grants_this_hour=1000, grants_per_hour=1000).rule == "global_limit"
    assert (
        decision(anonymous=True, grants_this_hour=1000, grants_per_hour=1000).rule == "anonymous"
    )  # the account's own rule first


def test_the_shard_of_a_sign_up_is_stable_and_spread() -> None:
    from collections import Counter

    from credits.policy.signup import GLOBAL_SHARDS, hour_of, shard_of

    assert shard_of("abc") == shard_of("abc")
    counts = Counter(shard_of(f"user-{i}") for i in range(1600))
    assert set(counts) == set(range(GLOBAL_SHARDS)) and max(counts.values()) < 2 * 1600 / GLOBAL_SHARDS
    assert hour_of(3_600_000 * 5 + 1) == 5
