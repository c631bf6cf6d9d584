"""The credit configuration: its schema, its defaults and how a partial update merges.

The live copy is the document ``system_config/credits``; a missing document (or a missing
part of it) means the defaults below. Every charge reads the document in the same batched
read as the user's balance, so a change is visible to the very next charge in every
instance: there is no cached copy on the money path to go stale (see docs/design.md).

Prices are ``Decimal`` here and plain JSON numbers in Firestore (``0.01``), converted through
the number's shortest repr so no binary-float error reaches a charge.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator

from . import money
from .errors import ConfigurationInvalid, InvalidRequest

GENERATION_TYPES: tuple[str, ...] = ("image", "video", "voice", "chat")
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")

# Sliding-log rate limits keep one timestamp per counted request, so a window's limit
# bounds the size of its document; 10,000 int64s stay far below Firestore's 1 MiB.
MAX_RATE_LIMIT = 10_000
MAX_TERMS = 1_000
MAX_PRICE = Decimal(1_000_000)
PRICE_DECIMALS = 6

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


def _price(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError("must be a number")
    try:
        price = money.to_decimal(value)
    except ValueError as err:
        raise ValueError(str(err)) from None
    if price < 0:
        raise ValueError("must be >= 0")
    if price > MAX_PRICE:
        raise ValueError(f"must be <= {MAX_PRICE}")
    exponent = price.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PRICE_DECIMALS:
        raise ValueError(f"must have at most {PRICE_DECIMALS} decimal places")
    return price


Price = Annotated[Decimal, Field(strict=False)]
Limit = Annotated[StrictInt, Field(ge=1, le=MAX_RATE_LIMIT)]


class Costs(BaseModel):
    """Credits per unit: an image, a second of video, a minute of voice, a chat token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: Price = Decimal(10)
    video: Price = Decimal(5)
    voice: Price = Decimal(3)
    chat: Price = Decimal("0.01")

    @field_validator("image", "video", "voice", "chat", mode="before")
    @classmethod
    def _exact_price(cls, value: Any) -> Decimal:
        return _price(value)

    def of(self, generation_type: str) -> Decimal:
        return getattr(self, generation_type)  # type: ignore[no-any-return]


class RateLimits(BaseModel):
    """Per user and type per ``windowSeconds``; per IP (all types) per ``ipWindowSeconds``."""

    model_config = _STRICT

    image: Limit = 50
    video: Limit = 10
    voice: Limit = 30
    chat: Limit = 100
    windowSeconds: Annotated[StrictInt, Field(ge=1, le=7 * 86_400)] = 3600
    ipRequests: Limit = 100
    ipWindowSeconds: Annotated[StrictInt, Field(ge=1, le=86_400)] = 600

    def of(self, generation_type: str) -> int:
        return getattr(self, generation_type)  # type: ignore[no-any-return]


class Term(BaseModel):
    model_config = _STRICT

    term: Annotated[str, Field(min_length=1, max_length=100)]
    category: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
    severity: Literal["low", "medium", "high", "critical"]

    @field_validator("term")
    @classmethod
    def _has_letters(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


def _default_terms() -> tuple[Term, ...]:
    from .moderation import DEFAULT_TERMS

    return tuple(Term.model_validate(t) for t in DEFAULT_TERMS)


class Moderation(BaseModel):
    model_config = _STRICT

    terms: Annotated[tuple[Term, ...], Field(min_length=1, max_length=MAX_TERMS)] = Field(default_factory=_default_terms)

    @field_validator("terms", mode="before")
    @classmethod
    def _list_to_tuple(cls, value: Any) -> Any:
        if isinstance(value, list):
            return tuple(value)
        return value


class Abuse(BaseModel):
    """Abuse scoring: points per event severity over a sliding 24 h; past the threshold, suspend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suspendScore: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = 100
    refundRateThreshold: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.5")
    refundRateMinGenerations: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = 10

    @field_validator("refundRateThreshold", mode="before")
    @classmethod
    def _exact_rate(cls, value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise ValueError("must be a number")
        return money.to_decimal(value)


class Signup(BaseModel):
    """Who receives the sign-up grant (``defaultCredits``)."""

    model_config = _STRICT

    requireVerifiedEmail: StrictBool = False
    grantsPerIpPerDay: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 3


class Lifecycle(BaseModel):
    """Who may report how a generation ended (see ``docs/design.md``, the trust model)."""

    model_config = _STRICT

    ownerReportsOutcome: StrictBool = False


class CreditConfig(BaseModel):
    """``system_config/credits``. Field names are the contract's (camelCase)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    costs: Costs = Field(default_factory=Costs)
    defaultCredits: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 100
    lowBalanceThreshold: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 20
    rateLimits: RateLimits = Field(default_factory=RateLimits)
    signup: Signup = Field(default_factory=Signup)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    moderation: Moderation = Field(default_factory=Moderation)
    retentionDays: Annotated[StrictInt, Field(ge=1, le=3650)] = 90
    abuse: Abuse = Field(default_factory=Abuse)
    # Server-managed: never accepted in an update.
    version: StrictInt = 0
    updatedAt: dt.datetime | None = None
    updatedBy: str | None = None

    def to_firestore(self) -> dict[str, Any]:
        """The document as stored: Decimals become JSON numbers."""
        return _numbers(self.model_dump())

    def to_json(self) -> dict[str, Any]:
        """The configuration as a callable returns it."""
        data = self.to_firestore()
        if self.updatedAt is not None:
            data["updatedAt"] = self.updatedAt.isoformat()
        return data


SERVER_FIELDS = frozenset({"version", "updatedAt", "updatedBy"})


def _numbers(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money.decimal_to_json(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers(v) for v in value]
    return value


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """Pydantic errors as the contract's ``errors`` map: dotted field path -> message."""
    errors: dict[str, str] = {}
    for item in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in item["loc"] if part != "__root__")
        path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "data")
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "is not a known field"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        errors.setdefault(path, message)
    return errors


def from_document(data: dict[str, Any] | None) -> CreditConfig:
    """The configuration a stored document means (defaults where it is silent)."""
    if not data:
        return CreditConfig()
    try:
        return CreditConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationInvalid(field_errors(exc)) from None


def merge_patch(current: CreditConfig, patch: Any) -> CreditConfig:
    """Apply a partial update: maps merge key by key, lists and scalars replace.

    Raises ``InvalidRequest`` naming every offending field; returns the merged, validated
    configuration with ``version`` unchanged (the caller bumps it).
    """
    if not isinstance(patch, dict):
        raise InvalidRequest({"data": "must be an object"})
    if not patch:
        raise InvalidRequest({"data": "names nothing to change"})
    errors: dict[str, str] = {}
    for key in patch:
        if key in SERVER_FIELDS:
            errors[str(key)] = "is set by the server"
    if errors:
        raise InvalidRequest(errors)
    base = current.to_firestore()
    merged = _deep_merge(base, patch, "", errors)
    if errors:
        raise InvalidRequest(errors)
    try:
        return CreditConfig.model_validate(merged)
    except ValidationError as exc:
        raise InvalidRequest(field_errors(exc)) from None


def _deep_merge(base: dict[str, Any], patch: dict[str, Any], path: str, errors: dict[str, str]) -> dict[str, Any]:
    result = dict(base)
    for key, value in patch.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in base:
            errors[where] = "is not a known field"
            continue
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                errors[where] = "must be an object"
                continue
            result[key] = _deep_merge(base[key], value, where, errors)
        else:
            result[key] = value
    return result
