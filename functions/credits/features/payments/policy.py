"""The arithmetic of paid credits, as pure functions (worked examples in tests/unit/test_payments_policy.py).

The debt rule: a claw-back (a refund's share, a dispute) takes what the user still holds, and
what was already spent becomes ``debt`` on the account; a balance never goes below zero. The
next payment (a pack or a plan period) pays the debt off first and credits the rest.

Refunds arrive as the charge's cumulative ``amount_refunded``, so the share to claw back is a
function of that total, not of the event: applying the same total twice, or an older total
after a newer one, claws nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass


def refunded_share(credits: int, amount: int, amount_refunded: int) -> int:
    """The credits a refund of ``amount_refunded`` (of ``amount`` paid, minor units) takes back.

    Rounded down, so a partial refund never takes more than its share; a full refund takes
    every credit. A payment of 0 (a 100% coupon) refunded is taken back whole.
    """
    if credits <= 0 or amount_refunded <= 0:
        return 0
    if amount <= 0 or amount_refunded >= amount:
        return credits
    return credits * amount_refunded // amount


@dataclass(frozen=True)
class Credit:
    """How a payment's ``credits`` land: ``to_debt`` pays the debt off, ``to_balance`` is spendable."""

    to_debt: int
    to_balance: int


def credit(debt: int, credits: int) -> Credit:
    """A payment's credits pay the debt off first (the debt rule)."""
    paid = min(max(0, debt), credits)
    return Credit(to_debt=paid, to_balance=credits - paid)
