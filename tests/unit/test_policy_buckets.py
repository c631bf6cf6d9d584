"""Spend order, refunds and claw-backs told as worked examples (``policy.buckets``)."""

import datetime as dt

import pytest
from credits.policy.buckets import (
    MAX_LIVE_BUCKETS,
    Bucket,
    Drawn,
    Move,
    Shortfall,
    claw_back,
    draw,
    expired,
    live_balance,
    next_expiry,
    returns_for,
    spend_order,
)

JAN = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def day(n: int) -> dt.datetime:
    return JAN + dt.timedelta(days=n - 1)


def bucket(bid: str, source: str, remaining: int, expires: dt.datetime | None, created: int = 1) -> Bucket:
    return Bucket(bid, source, remaining, remaining, expires, None, day(created))  # type: ignore[arg-type]


PLAN = bucket("plan", "plan", 100, day(31))
PROMO = bucket("promo", "promo", 20, day(10))
PURCHASE = bucket("purchase", "purchase", 500, None)
ADMIN = bucket("admin", "admin", 50, day(31))
SIGNUP = bucket("signup", "signup", 100, None)


def test_the_soonest_expiry_is_spent_first_and_never_expiring_last() -> None:
    assert [b.id for b in spend_order([PURCHASE, PLAN, PROMO])] == ["promo", "plan", "purchase"]


def test_equal_expiries_go_by_source_priority_promo_plan_signup_admin_purchase() -> None:
    same = day(31)
    held = [bucket(s, s, 1, same) for s in ("purchase", "admin", "signup", "plan", "promo")]
    assert [b.id for b in spend_order(held)] == ["promo", "plan", "signup", "admin", "purchase"]
    never = [bucket(s, s, 1, None) for s in ("purchase", "legacy", "signup")]
    assert [b.id for b in spend_order(never)] == ["signup", "legacy", "purchase"]


def test_a_configured_priority_decides_ties() -> None:
    held = [bucket("a", "admin", 1, None), bucket("p", "promo", 1, None)]
    assert [b.id for b in spend_order(held, ("admin", "promo"))] == ["a", "p"]


def test_a_charge_of_50_draws_the_promo_then_the_plan() -> None:
    assert draw([PLAN, PROMO, PURCHASE], 50, day(5)) == [Move("promo", -20), Move("plan", -30)]


def test_a_charge_never_spends_an_expired_bucket() -> None:
    # On 12 Jan the promo (10 Jan) is gone: 50 come from the plan alone.
    assert draw([PLAN, PROMO, PURCHASE], 50, day(12)) == [Move("plan", -50)]
    assert live_balance([PLAN, PROMO, PURCHASE], day(12)) == 600
    assert [b.id for b in expired([PLAN, PROMO, PURCHASE], day(12))] == ["promo"]


def test_expiry_is_exact_to_the_instant() -> None:
    at = day(10)
    assert live_balance([PROMO], at - dt.timedelta(microseconds=1)) == 20
    assert live_balance([PROMO], at) == 0


def test_a_draw_past_the_buckets_is_a_programming_error() -> None:
    with pytest.raises(Shortfall):
        draw([PROMO], 21, day(1))


def test_a_refund_returns_the_last_drawn_credits_first() -> None:
    drawn = [
        Drawn("promo", 20, "promo", day(10), None, day(1)),
        Drawn("plan", 30, "plan", day(31), None, day(1)),
    ]
    # Settled at 35 of 50: the generation keeps what a charge of 35 would have drawn.
    assert [(d.bucket_id, d.credits) for d in returns_for(drawn, 15)] == [("plan", 15)]
    assert [(d.bucket_id, d.credits) for d in returns_for(drawn, 50)] == [("plan", 30), ("promo", 20)]
    with pytest.raises(Shortfall):
        returns_for(drawn, 51)


def test_a_clawback_takes_the_latest_expiry_first_and_purchases_last() -> None:
    moves, short = claw_back([PLAN, PROMO, PURCHASE, SIGNUP], 130, day(5))
    # Reverse spend order: signup (never expires), plan (31 Jan), promo (10 Jan); purchase last.
    assert moves == [Move("signup", -100), Move("plan", -30)] and short == 0
    moves, short = claw_back([PROMO, PURCHASE], 600, day(5))
    assert moves == [Move("promo", -20), Move("purchase", -500)] and short == 80


def test_a_payment_clawback_starts_with_its_own_bucket() -> None:
    moves, short = claw_back([PLAN, PURCHASE], 550, day(5), first="purchase")
    assert moves == [Move("purchase", -500), Move("plan", -50)] and short == 0


def test_next_expiry_sums_what_expires_at_the_soonest_instant() -> None:
    other = bucket("promo2", "promo", 5, day(10))
    assert next_expiry([PLAN, PROMO, other, PURCHASE], day(1)) == (25, day(10))
    assert next_expiry([PURCHASE], day(1)) is None


def test_the_bound_is_far_from_the_document_limit() -> None:
    # ~200 bytes a bucket as stored: the bound keeps the map below 1% of Firestore's 1 MiB.
    assert MAX_LIVE_BUCKETS * 2 * 200 < 1024 * 1024 // 50


def test_opening_a_bucket_that_exists_is_a_stale_read_not_a_crash() -> None:
    """The bucket of a grant is named after its ledger entry: finding it already there means
    the step read the user's document after that grant committed but its entry before; the
    engine reads again (``StaleRead``) rather than answering ``internal``.
    """
    from credits.store.atomic import StaleRead
    from credits.store.buckets import Book, Open

    book = Book(JAN, {"grant_k": bucket("grant_k", "admin", 30, None)})
    with pytest.raises(StaleRead):
        book.apply(Open("grant_k", "admin", None, None), 30)
