"""The interface of the optional second opinion from an external moderation service.

The service itself lives in ``provider`` (Google Cloud Natural Language ``moderateText``); this
module holds only the shapes both sides share, so that the verdict (pure, no Google import)
can be written and tested against any callable with the same signature:

    second_opinion(prompt, settings, budget_seconds) -> ProviderOpinion | None

``None`` when ``settings.enabled`` is False; ``ProviderUnavailable`` on a timeout, an error, an
answer of the wrong shape, or an open circuit breaker. ``installed()`` finds the provider
module (``provider``, which needs ``google-cloud-language``) on first use and falls back to
``no_second_opinion`` (always ``None``) when it cannot be imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

FailMode = Literal["open", "closed"]


# Our moderation categories (the local layer's); the provider can speak for some of them only.
OUR_CATEGORIES: tuple[str, ...] = (
    "sexual_minors",
    "sexual",
    "violence",
    "threats",
    "weapons",
    "drugs",
    "self_harm",
    "hate",
    "harassment",
    "malware_fraud",
    "real_people",
)


# Starting points, not measured on this project's corpora (the service cannot be reached from
# the machines the tests run on): high, so that the second opinion adds refusals only where the
# service is nearly sure. Topic-like categories get a higher bar than harm-like ones. Tune them
# per category in the private configuration's ``provider.thresholds``.
DEFAULT_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {
        "sexual": 0.80,
        "violence": 0.80,
        "hate": 0.80,
        "harassment": 0.90,
        "weapons": 0.90,
        "drugs": 0.90,
        "self_harm": 0.95,
    }
)


@dataclass(frozen=True)
class ProviderSettings:
    """The private configuration's ``provider`` section: ``{enabled, failMode, timeoutMs, thresholds}``."""

    enabled: bool = False
    fail_mode: Literal["open", "closed"] = "open"
    timeout_ms: int = 1500
    thresholds: Mapping[str, float] = field(default_factory=dict)  # our category -> min confidence

    def __post_init__(self) -> None:
        if self.fail_mode not in ("open", "closed"):
            raise ValueError(f"failMode must be 'open' or 'closed', not {self.fail_mode!r}")
        if isinstance(self.timeout_ms, bool) or not isinstance(self.timeout_ms, int) or not 0 < self.timeout_ms <= 60_000:
            raise ValueError(f"timeoutMs must be an integer from 1 to 60000, not {self.timeout_ms!r}")
        for category, threshold in self.thresholds.items():
            if category not in OUR_CATEGORIES:
                raise ValueError(f"thresholds: {category!r} is not a moderation category")
            if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 < threshold <= 1.0:
                raise ValueError(f"thresholds.{category} must be a number above 0 and at most 1, not {threshold!r}")
        # A read-only copy: the caller's dict may change after the settings were made.
        object.__setattr__(self, "thresholds", MappingProxyType(dict(self.thresholds)))

    def __hash__(self) -> int:  # kept by dataclass; its own would fail on the mapping
        return hash((self.enabled, self.fail_mode, self.timeout_ms, frozenset(self.thresholds.items())))

    def effective_thresholds(self) -> Mapping[str, float]:
        """The defaults with this configuration's thresholds over them."""
        return {**DEFAULT_THRESHOLDS, **self.thresholds}


@dataclass(frozen=True)
class ProviderOpinion:
    """What the service said, in our terms.

    ``category`` is our category whose confidence crossed its threshold (the highest such
    confidence), or None. ``confidence`` is that category's confidence; with no category, the
    highest confidence among the categories the service can speak for (how close it came).
    """

    category: str | None
    confidence: float


class ProviderUnavailable(Exception):
    """No opinion: timeout, HTTP error (429/500), garbage, no time left, or breaker open.

    ``reason`` says which, for logs and counters: ``timeout``, ``http_<status>``, ``garbage``,
    ``error`` (anything else the client raised, e.g. no credentials), ``no_budget``,
    ``circuit_open``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


SecondOpinion = Callable[[str, ProviderSettings, float], "ProviderOpinion | None"]


def no_second_opinion(prompt: str, settings: ProviderSettings, budget_seconds: float) -> ProviderOpinion | None:
    """The stand-in while no provider is deployed: never an opinion."""
    del prompt, settings, budget_seconds
    return None


@dataclass(frozen=True)
class Provider:
    """A second-opinion callable and the exceptions that mean "unavailable"."""

    ask: SecondOpinion = no_second_opinion
    unavailable: tuple[type[BaseException], ...] = (ProviderUnavailable,)


_MODULES = ("credits.moderation.provider",)
_installed: Provider | None = None


def installed() -> Provider:
    """The deployed provider (looked up once per process), or the stand-in."""
    global _installed
    if _installed is not None:
        return _installed
    found = Provider()
    for name in _MODULES:
        try:
            module: Any = importlib.import_module(name)
        except ImportError:
            continue
        ask = getattr(module, "second_opinion", None)
        if callable(ask):
            found = Provider(cast(SecondOpinion, ask))
            break
    _installed = found
    return found


__all__ = [
    "DEFAULT_THRESHOLDS",
    "OUR_CATEGORIES",
    "FailMode",
    "Provider",
    "ProviderOpinion",
    "ProviderSettings",
    "ProviderUnavailable",
    "SecondOpinion",
    "installed",
    "no_second_opinion",
]
