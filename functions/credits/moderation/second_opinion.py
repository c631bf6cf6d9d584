"""The interface of the optional second opinion from an external moderation service.

The service itself lives in ``provider`` (Google Cloud Natural Language ``moderateText``); this
module holds only the shapes both sides share, so that the verdict (pure, no Google import)
can be written and tested against any callable with the same signature:

    second_opinion(prompt, settings, budget_seconds) -> ProviderOpinion | None

``None`` when ``settings.enabled`` is False; ``ProviderUnavailable`` on a timeout, an error, an
answer of the wrong shape, or an open circuit breaker. ``installed()`` finds the provider
module when it is deployed and falls back to ``no_second_opinion`` (always ``None``) when it
is not; the provider's own exception class is caught as well as this one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

FailMode = Literal["open", "closed"]


@dataclass(frozen=True)
class ProviderSettings:
    """The private configuration's ``provider`` section: ``{enabled, failMode, timeoutMs, thresholds}``."""

    enabled: bool = False
    fail_mode: FailMode = "open"
    timeout_ms: int = 1500
    thresholds: Mapping[str, float] = field(default_factory=dict)  # our category -> min confidence


@dataclass(frozen=True)
class ProviderOpinion:
    """What the service said, in our terms: the category whose confidence crossed its
    threshold (the highest), or None.
    """

    category: str | None
    confidence: float


class ProviderUnavailable(Exception):
    """No opinion: timeout, error, garbage, no time left, or breaker open."""


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


_MODULES = ("credits.moderation.provider", "credits.moderation_provider")
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
            theirs = getattr(module, "ProviderUnavailable", ProviderUnavailable)
            found = Provider(cast(SecondOpinion, ask), (ProviderUnavailable, theirs))
            break
    _installed = found
    return found


__all__ = [
    "FailMode",
    "Provider",
    "ProviderOpinion",
    "ProviderSettings",
    "ProviderUnavailable",
    "SecondOpinion",
    "installed",
    "no_second_opinion",
]
