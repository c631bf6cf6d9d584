"""The configuration: its schema, its defaults, and how a partial update merges.

Two documents, edited through ``updateCreditConfiguration`` or by hand in the console:

* ``system_config/credits`` (``CreditConfig``), readable by every signed-in user: what a client
  needs (prices, the sign-up grant and its policy, rate limits, the low-balance threshold, who
  reports a generation's outcome, retention);
* ``system_config/moderation`` (``PrivateConfig``), readable by admins only: the moderation
  categories' actions, the operator's own terms, the optional provider, and the abuse
  thresholds, which must not be probed.

``Settings`` is the pair. What charges actually use is the last *valid* configuration, kept by
``config_store`` (hand edits are checked there). Prices are ``Decimal`` here and plain JSON
numbers in Firestore (``0.01``), converted through the number's shortest repr so no
binary-float error reaches a charge.

Older deployments kept ``moderation`` and ``abuse`` inside ``system_config/credits``;
``split_legacy`` reads that shape and ``config_store.migrate`` moves it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from credits.vocab import money
from credits.vocab.errors import InvalidRequest
from credits.vocab.pricing import GenerationType

# Sliding-log rate limits keep one timestamp per counted request, so a window's limit
# bounds the size of its document; 10,000 int64s stay far below Firestore's 1 MiB.
MAX_RATE_LIMIT = 10_000
MAX_TERMS = 1_000
MAX_PRICE = Decimal(1_000_000)
PRICE_DECIMALS = 6

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)

Model = TypeVar("Model", bound=BaseModel)


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

    def of(self, generation_type: GenerationType) -> Decimal:
        """The unit cost of a generation type."""
        value: Decimal = getattr(self, generation_type)
        return value


class RateLimits(BaseModel):
    """Per user and type per ``windowSeconds``; per address (all types) per ``ipWindowSeconds``."""

    model_config = _STRICT

    image: Limit = 50
    video: Limit = 10
    voice: Limit = 30
    chat: Limit = 100
    windowSeconds: Annotated[StrictInt, Field(ge=1, le=7 * 86_400)] = 3600
    ipRequests: Limit = 100
    ipWindowSeconds: Annotated[StrictInt, Field(ge=1, le=86_400)] = 600
    # One user's share of its address's window, in percent (see policy.charge).
    ipSharePercent: Annotated[StrictInt, Field(ge=1, le=100)] = 50

    def ip_share(self) -> int:
        """How many of the address's window one user may hold (at least one)."""
        return max(1, self.ipRequests * self.ipSharePercent // 100)

    def of(self, generation_type: GenerationType) -> int:
        """The per-user limit of a generation type."""
        value: int = getattr(self, generation_type)
        return value


class Signup(BaseModel):
    """Who receives the sign-up grant (``defaultCredits``); see ``policy.signup``."""

    model_config = _STRICT

    requireVerifiedEmail: StrictBool = False
    grantsPerIpPerDay: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 3  # IPv4 address, IPv6 /64
    grantsPerNetworkPerDay: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 4  # IPv4 /24, IPv6 /56
    grantsPerAllocationPerDay: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 5  # IPv6 /48
    grantsPerHour: Annotated[StrictInt, Field(ge=0, le=10_000_000)] = 10_000  # the whole product


class Lifecycle(BaseModel):
    """Who may report how a generation ended; see ``policy.lifecycle``."""

    model_config = _STRICT

    ownerReportsOutcome: StrictBool = False


class Term(BaseModel):
    """An operator's moderation term, refused (or flagged, or allowed) as its ``category``'s
    action says; a category that is none of ours is refused. ``exceptions`` (optional, absent
    in lists stored before it existed): phrases that contain the term and clear it where they
    stand, e.g. "kill" with ["kill the engine"] (see credits.moderation.terms).
    """

    model_config = _STRICT

    term: Annotated[str, Field(min_length=1, max_length=100)]
    category: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
    severity: Literal["low", "medium", "high", "critical"]
    # At most 20 of 100 characters: a full list of 1,000 terms stays far below Firestore's
    # 1 MiB document limit only if exceptions are the exception.
    exceptions: Annotated[tuple[Annotated[str, Field(min_length=1, max_length=100)], ...], Field(max_length=20)] | None = None

    @field_validator("term")
    @classmethod
    def _has_letters(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("exceptions", mode="before")
    @classmethod
    def _exceptions_list_to_tuple(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError("must be a list of phrases")
        return tuple(value) if isinstance(value, list) else value

    @field_validator("exceptions")
    @classmethod
    def _exceptions_contain_term(cls, value: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        if value is None:
            return None
        if any(not phrase.strip() for phrase in value):
            raise ValueError("an exception must not be blank")
        term = info.data.get("term")
        if term is not None:
            from credits.moderation.terms import exceptions_without_term

            useless = exceptions_without_term(term, value)
            if useless:
                raise ValueError(f"an exception must contain its term, {useless[0]!r} does not")
        return value

    @model_serializer(mode="wrap")
    def _omit_absent_exceptions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A term without exceptions is stored and returned in the contract's original shape.
        data: dict[str, Any] = handler(self)
        if self.exceptions is None:
            data.pop("exceptions", None)
        return data


class Moderation(BaseModel):
    """The operator's own moderation terms, on top of the category rules (none by default).

    Lists stored before the categories existed hold the former built-in terms; those are
    superseded by the category rules (``credits.moderation.superseded``) and stay valid.
    """

    model_config = _STRICT

    terms: Annotated[tuple[Term, ...], Field(max_length=MAX_TERMS)] = ()

    @field_validator("terms", mode="before")
    @classmethod
    def _list_to_tuple(cls, value: Any) -> Any:
        if isinstance(value, list):
            return tuple(value)
        return value


ModerationAction = Literal["refuse", "flag", "allow"]
Severity = Literal["low", "medium", "high", "critical"]
CategoryName = Literal[
    "sexual_minors",
    "real_people",
    "sexual",
    "weapons",
    "threats",
    "self_harm",
    "hate",
    "malware_fraud",
    "drugs",
    "harassment",
    "violence",
]
# How much a refused or flagged prompt of each category weighs as an abuse event (mirrors
# credits.moderation.DEFAULT_SEVERITY; a unit test keeps them equal).
CATEGORY_SEVERITY: dict[str, Severity] = {
    "sexual_minors": "critical",
    "real_people": "high",
    "weapons": "high",
    "threats": "high",
    "self_harm": "medium",
    "hate": "high",
    "malware_fraud": "high",
    "drugs": "medium",
    "harassment": "medium",
    "violence": "medium",
    "sexual": "low",
}
ALWAYS_REFUSED = "sexual_minors"


class CategorySetting(BaseModel):
    """What a charge does with a prompt of one category: ``refuse`` (``prompt_rejected``),
    ``flag`` (charged, recorded on the activity, counted toward abuse) or ``allow``; and the
    abuse severity of a refused or flagged one.
    """

    model_config = _STRICT

    action: ModerationAction = "refuse"
    severity: Severity = "medium"


def _category_default(name: str) -> Any:
    return Field(default_factory=lambda: CategorySetting(severity=CATEGORY_SEVERITY[name]))


class Categories(BaseModel):
    """``categories``: one setting per moderation category. Defaults: every category refused
    (``sexual`` included: an operator of an adult product sets it to ``flag`` or ``allow``);
    ``sexual_minors`` is always refused and takes no other action.
    """

    model_config = _STRICT

    sexual_minors: CategorySetting = _category_default("sexual_minors")
    real_people: CategorySetting = _category_default("real_people")
    sexual: CategorySetting = _category_default("sexual")
    weapons: CategorySetting = _category_default("weapons")
    threats: CategorySetting = _category_default("threats")
    self_harm: CategorySetting = _category_default("self_harm")
    hate: CategorySetting = _category_default("hate")
    malware_fraud: CategorySetting = _category_default("malware_fraud")
    drugs: CategorySetting = _category_default("drugs")
    harassment: CategorySetting = _category_default("harassment")
    violence: CategorySetting = _category_default("violence")

    @model_validator(mode="before")
    @classmethod
    def _default_severities(cls, data: Any) -> Any:
        # {"sexual": {"action": "flag"}} keeps the category's own severity, not the model's.
        if isinstance(data, dict):
            return {
                name: {"severity": CATEGORY_SEVERITY[name], **value}
                if isinstance(value, dict) and name in CATEGORY_SEVERITY
                else value
                for name, value in data.items()
            }
        return data

    @field_validator(ALWAYS_REFUSED)
    @classmethod
    def _always_refused(cls, value: CategorySetting) -> CategorySetting:
        if value.action != "refuse":
            raise ValueError("action must be refuse: sexual content involving minors is always refused")
        return value

    def of(self, name: str) -> CategorySetting | None:
        """The setting of one of our categories (None for any other name)."""
        value = getattr(self, name, None) if name in CATEGORY_SEVERITY else None
        return value if isinstance(value, CategorySetting) else None


Threshold = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]  # above 0: 0 would flag everything


class Provider(BaseModel):
    """``provider``: the optional second opinion of an external moderation service (off by
    default). ``failMode`` says what a charge does when it cannot answer in ``timeoutMs``:
    ``open`` keeps the local verdict, ``closed`` answers ``backend_unavailable``.
    ``thresholds``: per category, the service's confidence (above 0, at most 1) from which it
    counts; a category it does not name keeps the provider's default.
    """

    model_config = _STRICT

    enabled: StrictBool = False
    failMode: Literal["open", "closed"] = "open"
    timeoutMs: Annotated[StrictInt, Field(ge=50, le=10_000)] = 1500
    thresholds: dict[CategoryName, Threshold] = Field(default_factory=dict)

    @field_validator("thresholds", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key, number in value.items():
                if isinstance(number, bool) or not isinstance(number, (int, float)):
                    raise ValueError(f"{key}: must be a number above 0 and at most 1")
            return {key: float(number) for key, number in value.items()}
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


MAX_PRODUCTS = 50
MAX_ORIGINS = 20
MAX_PRODUCT_CREDITS = 1_000_000
PRODUCT_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Stripe price ids: "price_" and an alphanumeric tail (test and live mode alike).
PRICE_ID = r"^price_[A-Za-z0-9_]{1,200}$"
PLAN_ID = r"^[A-Za-z0-9_-]{1,64}$"
ORIGIN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$"
OPEN_MAPS = frozenset({"plans", "products"})
"""Top-level maps whose keys are the admin's own names: a patch may add a key, and ``null``
removes one; each value given replaces that key's whole entry."""


class Product(BaseModel):
    """Something sold through Stripe Checkout: a ``pack`` of credits or a ``plan`` subscription.

    A pack grants ``credits`` as a ``purchase`` bucket (expiring ``expiresInDays`` after the
    payment, or never). A plan product names ``planId``, a plan of ``plans``, whose
    ``monthlyCredits`` each paid period grants as a ``plan`` bucket. ``active`` false: no new
    checkout (payments already made are honoured).
    """

    model_config = _STRICT

    kind: Literal["pack", "plan"]
    priceId: Annotated[str, Field(pattern=PRICE_ID)]
    credits: Annotated[StrictInt, Field(ge=1, le=MAX_PRODUCT_CREDITS)] | None = None
    planId: Annotated[str, Field(pattern=PLAN_ID)] | None = None
    expiresInDays: Annotated[StrictInt, Field(ge=1, le=3650)] | None = None
    active: StrictBool = True

    @model_validator(mode="after")
    def _kind_fields(self) -> Product:
        if self.kind == "pack":
            if self.credits is None:
                raise ValueError("a pack needs credits")
            if self.planId is not None:
                raise ValueError("a pack has no planId")
        else:
            if self.planId is None:
                raise ValueError("a plan product needs planId")
            if self.credits is not None:
                raise ValueError("a plan product has no credits (its plan's monthlyCredits are granted)")
            if self.expiresInDays is not None:
                raise ValueError("a plan product has no expiresInDays (its period ends it)")
        return self

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class Payments(BaseModel):
    """Where Checkout and the billing portal may send a user back: the origins
    (``scheme://host[:port]``) of ``successUrl``, ``cancelUrl`` and ``returnUrl``.
    """

    model_config = _STRICT

    allowedOrigins: Annotated[
        tuple[Annotated[str, Field(pattern=ORIGIN, max_length=200)], ...], Field(max_length=MAX_ORIGINS)
    ] = ()

    @field_validator("allowedOrigins", mode="before")
    @classmethod
    def _list_to_tuple(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value


def _product_ids(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) > MAX_PRODUCTS:
            raise ValueError(f"at most {MAX_PRODUCTS} products")
        for key in value:
            if not isinstance(key, str) or not re.match(PRODUCT_ID, key):
                raise ValueError(f"product id {str(key)[:64]!r} must match {PRODUCT_ID}")
    return value


MAX_PLANS = 50
_PLAN_ID = re.compile(PLAN_ID)


class PlanSpec(BaseModel):
    """One plan of ``plans``: a monthly allowance (a ``plan`` bucket per period) that lapses
    ``rolloverPeriods`` periods after its own period ends (0: at the period's end).
    """

    model_config = _STRICT

    name: Annotated[str, Field(min_length=1, max_length=100)]
    monthlyCredits: Annotated[StrictInt, Field(ge=0, le=10_000_000)]
    rolloverPeriods: Annotated[StrictInt, Field(ge=0, le=12)] = 0


def _check_plans(value: dict[str, PlanSpec]) -> dict[str, PlanSpec]:
    if len(value) > MAX_PLANS:
        raise ValueError(f"at most {MAX_PLANS} plans")
    for key in value:
        if not _PLAN_ID.fullmatch(key):
            raise ValueError(f"plan id {key[:64]!r} must be 1..64 of A-Z a-z 0-9 _ -")
    return value


class _ConfigDocument(BaseModel):
    """What both configuration documents share: how they are stored, and their settings."""

    def to_firestore(self) -> dict[str, Any]:
        """The document as stored: Decimals become JSON numbers."""
        return _stored(self.model_dump())

    def content(self) -> dict[str, Any]:
        """The settings without the server-managed fields (what an edit changes)."""
        return {k: v for k, v in self.to_firestore().items() if k not in SERVER_FIELDS}


class CreditConfig(_ConfigDocument):
    """``system_config/credits``: the public part. Field names are the contract's (camelCase)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    costs: Costs = Field(default_factory=Costs)
    defaultCredits: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 100
    lowBalanceThreshold: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = 20
    rateLimits: RateLimits = Field(default_factory=RateLimits)
    signup: Signup = Field(default_factory=Signup)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    retentionDays: Annotated[StrictInt, Field(ge=1, le=3650)] = 90
    # Plans by id (see ``plans.py``); none by default: users have no plan (``plan: null``).
    plans: dict[str, PlanSpec] = Field(default_factory=dict)
    products: dict[str, Product] = Field(default_factory=dict)
    payments: Payments = Field(default_factory=Payments)
    # Server-managed: never accepted in an update.
    version: StrictInt = 0
    updatedAt: dt.datetime | None = None
    updatedBy: str | None = None

    @field_validator("products", mode="before")
    @classmethod
    def _products_keys(cls, value: Any) -> Any:
        return _product_ids(value)

    @field_validator("products")
    @classmethod
    def _plan_products(cls, value: dict[str, Product], info: ValidationInfo) -> dict[str, Product]:
        plans = info.data.get("plans")
        if plans is None:
            return value  # the plans failed their own checks, which report it
        for product_id, product in value.items():
            if product.kind == "plan" and product.planId not in plans:
                raise ValueError(f"product {product_id!r}: planId {product.planId!r} is not a configured plan")
        return value

    @field_validator("plans")
    @classmethod
    def _plan_ids(cls, value: dict[str, PlanSpec]) -> dict[str, PlanSpec]:
        return _check_plans(value)


class PrivateConfig(_ConfigDocument):
    """``system_config/moderation``: the admin-only part (categories, terms, provider, abuse)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    moderation: Moderation = Field(default_factory=Moderation)
    categories: Categories = Field(default_factory=Categories)
    provider: Provider = Field(default_factory=Provider)
    abuse: Abuse = Field(default_factory=Abuse)
    version: StrictInt = 0
    updatedAt: dt.datetime | None = None
    updatedBy: str | None = None


SERVER_FIELDS = frozenset({"version", "updatedAt", "updatedBy"})
PUBLIC_KEYS = frozenset(CreditConfig.model_fields) - SERVER_FIELDS
PRIVATE_KEYS = frozenset(PrivateConfig.model_fields) - SERVER_FIELDS
DocumentName = Literal["credits", "moderation"]


@dataclass(frozen=True)
class Settings:
    """The whole configuration: both documents, as one view."""

    credits: CreditConfig
    private: PrivateConfig
    version: int = 0

    def to_json(self) -> dict[str, Any]:
        """The merged configuration as ``updateCreditConfiguration`` returns it."""
        data = {**self.credits.content(), **self.private.content(), "version": self.version}
        stamps = [c for c in (self.credits, self.private) if c.updatedAt is not None]
        if stamps:
            latest = max(stamps, key=lambda c: c.updatedAt or dt.datetime.min.replace(tzinfo=dt.UTC))
            data["updatedAt"] = latest.updatedAt.isoformat() if latest.updatedAt else None
            data["updatedBy"] = latest.updatedBy
        return data


def _stored(document: dict[str, Any]) -> dict[str, Any]:
    """A model's dump as Firestore stores it: every Decimal in it a JSON number."""
    return {k: _numbers(v) for k, v in document.items()}


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


class ConfigProblems(ValueError):
    """A stored configuration document does not validate; ``errors`` names the fields."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(sorted(errors)))
        self.errors = errors


def parse_credits(data: dict[str, Any] | None) -> CreditConfig:
    """``system_config/credits`` as stored (defaults where it is silent); ``ConfigProblems``."""
    if not data:
        return CreditConfig()
    try:
        return CreditConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigProblems(field_errors(exc)) from None


def parse_private(data: dict[str, Any] | None) -> PrivateConfig:
    """``system_config/moderation`` as stored (defaults where it is silent); ``ConfigProblems``."""
    if not data:
        return PrivateConfig()
    try:
        return PrivateConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigProblems(field_errors(exc)) from None


def split_legacy(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A credits document of the older shape, split into its public and private parts.

    Returns ``(public, private)``; ``private`` is None when the document holds no private part.
    """
    public = {k: v for k, v in data.items() if k not in PRIVATE_KEYS}
    if not any(k in data for k in PRIVATE_KEYS):
        return public, None
    private = {k: data[k] for k in PRIVATE_KEYS if k in data}
    return public, private


def merge_patch(current: Settings, patch: Any) -> tuple[Settings, frozenset[DocumentName]]:
    """Apply a partial update to either document: maps merge key by key, lists, scalars and
    ``provider.thresholds`` replace. Returns the merged, validated settings (versions unchanged: the caller bumps
    them) and which documents the patch touched. Raises ``InvalidRequest`` naming every
    offending field.
    """
    if not isinstance(patch, dict):
        raise InvalidRequest({"data": "must be an object"})
    if not patch:
        raise InvalidRequest({"data": "names nothing to change"})
    errors: dict[str, str] = {}
    for key in patch:
        if key in SERVER_FIELDS:
            errors[str(key)] = "is set by the server"
        elif key not in PUBLIC_KEYS and key not in PRIVATE_KEYS:
            errors[_safe(key)] = "is not a known field"
    if errors:
        raise InvalidRequest(errors)
    public_patch = {k: v for k, v in patch.items() if k in PUBLIC_KEYS}
    private_patch = {k: v for k, v in patch.items() if k in PRIVATE_KEYS}
    credits = current.credits
    private = current.private
    touched: set[DocumentName] = set()
    if public_patch:
        merged = _deep_merge(credits.to_firestore(), public_patch, "", errors)
        credits = _validate(CreditConfig, merged, errors) or credits  # None only with errors, raised below
        touched.add("credits")
    if private_patch:
        merged = _deep_merge(private.to_firestore(), private_patch, "", errors)
        private = _validate(PrivateConfig, merged, errors) or private  # None only with errors, raised below
        touched.add("moderation")
    if errors:
        raise InvalidRequest(errors)
    return Settings(credits=credits, private=private, version=current.version), frozenset(touched)


def _validate(model: type[Model], data: dict[str, Any], errors: dict[str, str]) -> Model | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors.update(field_errors(exc))
        return None


def _safe(key: Any) -> str:
    name = key if isinstance(key, str) else repr(key)
    return name if len(name) <= 64 else name[:61] + "..."


# Maps whose keys are data, not fields: a patch replaces them whole, as it does a list.
_REPLACED_WHOLE = frozenset({"provider.thresholds"})


def _deep_merge(base: dict[str, Any], patch: dict[str, Any], path: str, errors: dict[str, str]) -> dict[str, Any]:
    result = dict(base)
    for key, value in patch.items():
        where = f"{path}.{key}" if path else str(key)
        if path in OPEN_MAPS:
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
            continue
        if key not in base:
            errors[where] = "is not a known field"
            continue
        if isinstance(base[key], dict) and where not in _REPLACED_WHOLE:
            if not isinstance(value, dict):
                errors[where] = "must be an object"
                continue
            result[key] = _deep_merge(base[key], value, where, errors)
        else:
            result[key] = value
    return result
