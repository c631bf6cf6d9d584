"""Input validation for every callable: any JSON value in, a typed request or ``InvalidRequest`` out.

Hand-written rather than generated because the contract's rules depend on each other
(``quantity`` depends on ``type``) and because every refusal must name its field in
``details.errors``. The checks here never raise anything but ``InvalidRequest``, whatever
the input: wrong types, NaN or infinities (Python's JSON parser accepts them), booleans
posing as numbers, lone UTF-16 surrogates (they cannot be hashed or stored), huge numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from credits.vocab import money
from credits.vocab.errors import InvalidRequest

_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_RESERVED_ID = re.compile(r"^(\.|\.\.|__.*__)$", re.DOTALL)

Choice = TypeVar("Choice", bound=str)


def is_document_id(value: str) -> bool:
    """Whether Firestore accepts ``value`` as a document id (no '/', not '.', '..' or
    '__*__', at most 1,500 bytes): ids that come from input are checked before use.
    """
    return (
        bool(value)
        and "/" not in value
        and _RESERVED_ID.match(value) is None
        and is_valid_unicode(value)
        and len(value.encode("utf-8")) <= 1500
    )


@dataclass(frozen=True)
class Shape:
    """A shape a string must have (``regex``, matched in full), and the error that names a
    string of another shape.
    """

    regex: re.Pattern[str]
    message: str = "has characters that are not allowed"


class Fields:
    """Reads fields from a request object, collecting one message per bad field."""

    def __init__(self, data: Any, allowed: set[str]) -> None:
        self.errors: dict[str, str] = {}
        if not isinstance(data, dict):
            self.data: dict[str, Any] = {}
            self.errors["data"] = "must be an object"
            return
        self.data = data
        for key in data:
            if key not in allowed:
                self.errors[_safe_name(key)] = "is not a known field"

    def present(self, name: str) -> bool:
        """Whether the request has field ``name`` with a value other than null."""
        return name in self.data and self.data[name] is not None

    def fail(self, name: str, message: str) -> None:
        """Record ``message`` for field ``name``, unless the field already has one."""
        self.errors.setdefault(name, message)

    def raise_if_any(self) -> None:
        """Raise ``InvalidRequest`` with every recorded error, sorted by field, if there is one."""
        if self.errors:
            raise InvalidRequest(dict(sorted(self.errors.items())))

    # -- typed readers: return None (and record an error) when the field is bad

    def string(
        self,
        name: str,
        *,
        required: bool = True,
        min_len: int = 1,
        max_len: int,
        strip: bool = True,
        pattern: Shape | None = None,
    ) -> str | None:
        """A string of ``min_len``..``max_len`` characters (after stripping, unless ``strip`` is
        false), valid Unicode, of the ``pattern``'s shape when one is given.
        """
        if not self.present(name):
            if required:
                self.fail(name, "is required")
            return None
        value = self.data[name]
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return None
        if not is_valid_unicode(value):
            self.fail(name, "must be valid Unicode text")
            return None
        text = value.strip() if strip else value
        if len(text) < min_len:
            self.fail(name, "must not be empty" if min_len == 1 else f"must be at least {min_len} characters")
            return None
        if len(text) > max_len:
            self.fail(name, f"must be at most {max_len} characters")
            return None
        if pattern is not None and not pattern.regex.fullmatch(text):
            self.fail(name, pattern.message)
            return None
        return text

    def document_id(self, name: str, *, max_len: int = 128, pattern: re.Pattern[str] | None = None) -> str | None:
        """A string that will be used as (part of) a document id."""
        shape = Shape(pattern, "is not a valid id") if pattern is not None else None
        value = self.string(name, max_len=max_len, strip=False, pattern=shape)
        if value is not None and not is_document_id(value):
            self.fail(name, "is not a valid id")
            return None
        return value

    def choice(self, name: str, choices: tuple[Choice, ...], *, required: bool = True) -> Choice | None:
        """A string that is exactly one of ``choices`` (typed as they are: a tuple of a
        ``Literal``'s values gives that ``Literal``).
        """
        if not self.present(name):
            if required:
                self.fail(name, "is required")
            return None
        value = self.data[name]
        for choice in choices:
            if isinstance(value, str) and value == choice:
                return choice
        self.fail(name, "must be one of " + ", ".join(choices))
        return None

    def integer(self, name: str, *, low: int, high: int, required: bool = True) -> int | None:
        """A whole number in [low, high]; 3.0 counts as 3 (JavaScript has one number type)."""
        if not self.present(name):
            if required:
                self.fail(name, "is required")
            return None
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(name, "must be a whole number")
            return None
        if isinstance(value, float):
            if not math.isfinite(value) or not value.is_integer():
                self.fail(name, "must be a whole number")
                return None
            value = int(value)
        if not low <= value <= high:
            self.fail(name, f"must be between {low} and {high}")
            return None
        return value

    def decimal(self, name: str, *, above: Decimal, high: Decimal, required: bool = True) -> Decimal | None:
        """A finite number in (above, high], exact."""
        if not self.present(name):
            if required:
                self.fail(name, "is required")
            return None
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(name, "must be a number")
            return None
        try:
            number = money.to_decimal(value)
        except (ValueError, ArithmeticError):
            self.fail(name, "must be a finite number")
            return None
        if not above < number <= high:
            self.fail(name, f"must be greater than {_fmt(above)} and at most {_fmt(high)}")
            return None
        return number

    def boolean(self, name: str, *, required: bool = True) -> bool | None:
        """A JSON boolean; no number or string stands in for one."""
        if not self.present(name):
            if required:
                self.fail(name, "is required")
            return None
        value = self.data[name]
        if not isinstance(value, bool):
            self.fail(name, "must be true or false")
            return None
        return value


def request_key(fields: Fields, name: str = "requestId") -> str | None:
    """An optional idempotency key: 1..128 of ``[A-Za-z0-9_.:-]``."""
    return fields.string(
        name,
        required=False,
        max_len=128,
        strip=False,
        pattern=Shape(_KEY, "must be 1..128 characters of A-Z a-z 0-9 _ . : -"),
    )


def is_valid_unicode(text: str) -> bool:
    """False for lone surrogates, which JSON can carry but UTF-8 cannot encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _safe_name(key: Any) -> str:
    name = key if isinstance(key, str) and is_valid_unicode(key) else repr(key)
    return name if len(name) <= 64 else name[:61] + "..."


def _fmt(value: Decimal) -> str:
    return str(money.decimal_to_json(value))
