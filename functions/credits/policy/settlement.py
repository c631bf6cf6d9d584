"""Settlement and refund arithmetic: how much of a generation's charge is finally kept.

``completed`` with an ``actualQuantity`` settles at the unit cost stored on the activity at
charge time (a later price change does not touch a running generation): the final price is
``ceil(actual x unit)``; above the charge, the difference is collected up to the available
balance (what cannot be collected is recorded, never owed: the balance stays >= 0); below it,
the difference is refunded. ``failed`` refunds the whole net charge. ``completed`` without an
actual quantity keeps the charge as it is.

Worked examples (``tests/unit/test_policy_settlement.py``): 1,000 chat tokens charged 10 at
0.01, 600 produced: final 6, refund 4. A 10-second video charged 50 at 5, 12 rendered, balance
7: final 60, collect 7, 3 uncollected. A failed image charged 10: refund 10.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from credits.vocab import money


@dataclass(frozen=True)
class Settlement:
    """What one ending does to a generation's charge and to the user's balance."""

    charged_before: int
    final: int  # the generation's net charge afterwards
    refund: int = 0  # credits returned by this ending
    extra: int = 0  # credits collected by this ending
    uncollected: int = 0  # owed beyond the balance, recorded and forgiven

    @property
    def delta(self) -> int:
        """The change to the user's balance."""
        return self.refund - self.extra


def keep(charged: int) -> Settlement:
    """A completion without an actual quantity: the charge stands."""
    return Settlement(charged_before=charged, final=charged)


def settle(charged: int, unit_cost: Decimal, actual: Decimal, balance: int) -> Settlement:
    """A completion that reports the units really produced."""
    final = money.charge_for(actual, unit_cost)
    if final <= charged:
        return Settlement(charged_before=charged, final=final, refund=charged - final)
    extra = min(final - charged, balance)
    return Settlement(charged_before=charged, final=charged + extra, extra=extra, uncollected=final - charged - extra)


def refund_all(charged: int) -> Settlement:
    """A failure (or a cancel): the whole net charge comes back."""
    return Settlement(charged_before=charged, final=0, refund=charged)
