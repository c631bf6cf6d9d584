"""Pricing is exact: ceil(quantity x unit cost) in Decimal, never float."""

from decimal import Decimal

import pytest
from credits.features.charging import ChargeRequest
from credits.vocab import money
from credits.vocab.config import CreditConfig
from credits.vocab.pricing import price


@pytest.mark.parametrize(
    "quantity,unit,expected",
    [
        ("1000", "0.01", 10),  # the contract's example
        ("1", "0.01", 1),
        ("999", "0.01", 10),
        ("1001", "0.01", 11),
        ("2.5", "5", 13),
        ("0.1", "3", 1),
        ("3", "0", 0),
        ("600", "5", 3000),
        ("1000000", "0.000001", 1),
        ("1000000", "0.01", 10000),
    ],
)
def test_charge_is_the_exact_product_rounded_up(quantity: str, unit: str, expected: int) -> None:
    assert money.charge_for(Decimal(quantity), Decimal(unit)) == expected


def test_floats_are_read_through_their_shortest_repr() -> None:
    # 0.1 + 0.2 in binary is 0.30000000000000004; a client sending 0.3 means 0.3
    assert money.to_decimal(0.3) == Decimal("0.3")
    assert money.charge_for(money.to_decimal(0.1) * 3, Decimal(10)) == 3
    assert money.to_decimal(0.01) == Decimal("0.01")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), True, False])
def test_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        money.to_decimal(bad)  # type: ignore[arg-type]


def test_chat_thousand_tokens_at_default_price() -> None:
    request = ChargeRequest.parse({"type": "chat", "prompt": "hi", "quantity": 1000})
    unit, cost = price(CreditConfig().costs, request.type, request.quantity)
    assert unit == Decimal("0.01") and cost == 10


def test_decimal_to_json_keeps_ints_as_ints() -> None:
    assert money.decimal_to_json(Decimal("10")) == 10 and isinstance(money.decimal_to_json(Decimal("10.0")), int)
    assert money.decimal_to_json(Decimal("0.01")) == 0.01
