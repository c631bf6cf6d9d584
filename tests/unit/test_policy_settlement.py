"""Settlement and refund arithmetic, as the contract's worked examples."""

from decimal import Decimal

from credits.policy.settlement import keep, refund_all, settle


def test_chat_settles_down_to_the_tokens_produced() -> None:
    # 1,000 tokens charged 10 at 0.01; 600 produced: 6 is the price, 4 come back.
    s = settle(10, Decimal("0.01"), Decimal(600), balance=90)
    assert (s.final, s.refund, s.extra, s.uncollected, s.delta) == (6, 4, 0, 0, 4)


def test_video_settles_up_within_the_balance_and_forgives_the_rest() -> None:
    # A 10-second video charged 50 at 5 renders 12 seconds (60); the user has 7 left.
    s = settle(50, Decimal(5), Decimal(12), balance=7)
    assert (s.final, s.refund, s.extra, s.uncollected, s.delta) == (57, 0, 7, 3, -7)


def test_settling_at_the_charge_changes_nothing() -> None:
    s = settle(10, Decimal(10), Decimal(1), balance=0)
    assert (s.final, s.delta) == (10, 0)


def test_a_fraction_of_a_credit_rounds_up() -> None:
    s = settle(10, Decimal("0.01"), Decimal(1), balance=0)
    assert (s.final, s.refund) == (1, 9)


def test_nothing_produced_costs_nothing() -> None:
    s = settle(50, Decimal(5), Decimal(0), balance=0)
    assert (s.final, s.refund) == (0, 50)


def test_a_failure_refunds_the_whole_net_charge() -> None:
    s = refund_all(10)
    assert (s.final, s.refund, s.delta) == (0, 10, 10)


def test_a_completion_without_units_keeps_the_charge() -> None:
    s = keep(10)
    assert (s.final, s.refund, s.extra, s.delta) == (10, 0, 0, 0)
