"""The arithmetic of paid credits, told as stories (see credits.payments.policy)."""

from __future__ import annotations

import datetime as dt

from credits.ledger import EntryId, EntryKind
from credits.payments import grants, policy


def test_a_partial_refund_takes_its_share_rounded_down_and_a_full_refund_everything() -> None:
    # 100 credits bought for $5.00: $1.25 back is a quarter, $3.33 back is 66.6% -> 66.
    assert policy.refunded_share(100, 500, 125) == 25
    assert policy.refunded_share(100, 500, 333) == 66
    assert policy.refunded_share(100, 500, 500) == 100
    assert policy.refunded_share(100, 500, 900) == 100  # never more than the payment granted
    assert policy.refunded_share(100, 500, 0) == 0
    assert policy.refunded_share(100, 0, 1) == 100  # a free payment refunded: all of it


def test_refunds_are_cumulative_so_a_repeated_or_older_total_takes_nothing_more() -> None:
    clawed = 0
    for total in (125, 125, 500, 125):  # a duplicate, then the rest, then an older total late
        target = policy.refunded_share(100, 500, total)
        clawed = max(clawed, target)
    assert clawed == 100


def test_a_claw_back_takes_what_is_left_and_the_rest_becomes_debt() -> None:
    # 75 to take back, 15 still held: 15 taken, 60 owed; the balance never goes below zero.
    assert policy.claw_back(15, 75) == policy.ClawBack(taken=15, shortfall=60)
    assert policy.claw_back(200, 75) == policy.ClawBack(taken=75, shortfall=0)
    assert policy.claw_back(0, 10) == policy.ClawBack(taken=0, shortfall=10)


def test_the_next_payment_pays_the_debt_off_first() -> None:
    assert policy.credit(60, 100) == policy.Credit(to_debt=60, to_balance=40)
    assert policy.credit(150, 100) == policy.Credit(to_debt=100, to_balance=0)
    assert policy.credit(0, 100) == policy.Credit(to_debt=0, to_balance=100)


def test_a_grant_with_debt_posts_the_purchase_and_the_debt_payment_naming_the_payment() -> None:
    entry = EntryId(EntryKind.PURCHASE, "cs_test_1")
    granted = grants.grant(
        source="purchase",
        entry=entry,
        payment_id="cs_test_1",
        credits=100,
        expires_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        debt=60,
    )
    assert [(leg.delta, str(leg.entry)) for leg in granted.legs] == [(100, "purchase_cs_test_1"), (-60, "debtpay_cs_test_1")]
    assert all((leg.fields or {}).get("paymentId") == "cs_test_1" for leg in granted.legs)
    assert granted.credited == 40 and granted.debt_after == 0


def test_a_claw_back_names_its_running_total_so_it_posts_once() -> None:
    first = grants.claw_back(payment_id="cs_test_1", balance=175, wanted=25, clawed_total=25, why="refund")
    assert first.leg is not None and str(first.leg.entry) == "clawback_cs_test_1_25" and first.leg.delta == -25
    empty = grants.claw_back(payment_id="cs_test_1", balance=0, wanted=75, clawed_total=100, why="refund")
    assert empty.leg is None and empty.shortfall == 75
