"""What a generation costs: the generation types, their units and quantity rules, the price.

Units: an image, a second of video, a minute of voice, a chat token. A charge is
``ceil(quantity x unit cost)`` computed exactly (``money.charge_for``); unit costs come from
the configuration (``config.Costs``) and may be fractional (chat: 0.01 credit a token).

The same rules price a charge, a preview (``getCreditStatus``) and a settlement's actual
quantity, so a preview and a charge can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, get_args

from credits.vocab import money
from credits.vocab.errors import InvalidRequest
from credits.vocab.validation import Fields

if TYPE_CHECKING:
    from credits.vocab.config import Costs

GenerationType = Literal["image", "video", "voice", "chat"]
GENERATION_TYPES: tuple[GenerationType, ...] = get_args(GenerationType)


@dataclass(frozen=True)
class QuantityRule:
    """How many units one generation of a type may ask for: ``(0, high]``."""

    integer: bool
    high: Decimal
    default: Decimal | None = None


QUANTITY_RULES: dict[GenerationType, QuantityRule] = {
    "image": QuantityRule(integer=True, high=Decimal(10), default=Decimal(1)),
    "video": QuantityRule(integer=False, high=Decimal(600)),
    "voice": QuantityRule(integer=False, high=Decimal(60)),
    "chat": QuantityRule(integer=True, high=Decimal(1_000_000)),
}


def is_generation_type(value: object) -> bool:
    """Whether ``value`` names a generation type."""
    return isinstance(value, str) and value in GENERATION_TYPES


def parse_quantity(f: Fields, name: str, kind: GenerationType) -> Decimal | None:
    """Read a requested quantity of ``kind`` from ``f`` (its default when absent, if any)."""
    rule = QUANTITY_RULES[kind]
    if not f.present(name):
        if rule.default is not None:
            return rule.default
        f.fail(name, f"is required for {kind}")
        return None
    if rule.integer:
        value = f.integer(name, low=1, high=int(rule.high))
        return None if value is None else Decimal(value)
    return f.decimal(name, above=Decimal(0), high=rule.high)


def check_actual(kind: GenerationType, actual: Decimal) -> None:
    """An ``actualQuantity`` reported for a finished generation: its type's units, zero allowed."""
    rule = QUANTITY_RULES[kind]
    if rule.integer and actual != actual.to_integral_value():
        raise InvalidRequest({"actualQuantity": f"must be a whole number for {kind}"})
    if actual > rule.high:
        raise InvalidRequest({"actualQuantity": f"must be at most {money.decimal_to_json(rule.high)} for {kind}"})


def price(costs: Costs, kind: GenerationType, quantity: Decimal) -> tuple[Decimal, int]:
    """``(unit cost, credits)`` of ``quantity`` units of ``kind`` at ``costs``."""
    unit = costs.of(kind)
    return unit, money.charge_for(quantity, unit)
