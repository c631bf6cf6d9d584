"""Exact money math. Balances are ``int`` credits; prices and quantities are ``Decimal``.

A charge is ``ceil(quantity x unit cost)``. No float ever touches a balance: a JSON number
that arrives as a Python float is converted through its shortest repr (``0.01`` becomes
``Decimal("0.01")``, not the binary value ``0.01000000000000000020816...``).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal, localcontext

# Enough digits for 1,000,000 units x a price with 6 decimals, with room to spare.
_PRECISION = 50


def to_decimal(value: int | float | str | Decimal) -> Decimal:
    """The exact decimal a client meant. Rejects NaN, infinities and booleans."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return Decimal(repr(value))
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError("not a finite number")
    return result


def charge_for(quantity: Decimal, unit_cost: Decimal) -> int:
    """Credits for ``quantity`` units at ``unit_cost`` each: the exact product, rounded up."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        product = quantity * unit_cost
        return int(product.to_integral_value(rounding=ROUND_CEILING))


def decimal_to_json(value: Decimal) -> int | float:
    """A Decimal as the JSON number a client expects (ints stay ints)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)
