"""Who receives the sign-up grant: each rule as the contract states it."""

from credits.policy.signup import GRANT_WINDOW_MS, decide, live_grants, with_grant

NOW = 10_000_000_000


def decision(**changes: object):  # type: ignore[no-untyped-def]
    base = {
        "amount": 100,
        "anonymous": False,
        "email_verified": False,
        "require_verified_email": False,
        "ip_known": True,
        "ip_blocked": False,
        "grants_from_ip": (),
        "grants_per_ip_per_day": 3,
    }
    base.update(changes)
    return decide(**base)  # type: ignore[arg-type]


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
