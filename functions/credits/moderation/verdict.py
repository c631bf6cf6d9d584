"""The verdict on a prompt: the category rules, the configured terms, the configured actions,
and the optional second opinion, merged into one answer a charge and ``testModeration`` share.

Order of judgement (``judge``):

1. Local layer: every category rule that fires (``categories.classify``) and the first
   configured term that matches (``terms.Moderator``), each mapped through its category's
   configured action. The verdict is the strictest action (refuse > flag > allow); among
   equally strict ones, the most serious category (``categories.CATEGORIES`` order; a
   configured term's own category, when it names none of ours, comes last).
2. ``sexual_minors`` is always ``refuse``, whatever the configuration says.
3. Only when the local verdict is not ``refuse`` and the provider is enabled, the second
   opinion is asked, within ``min(timeoutMs, budget)``. Its category goes through the same
   actions (``source: "provider"``) and wins when it is stricter. When the provider is
   unavailable, ``failMode`` decides: ``open`` keeps the local verdict, ``closed`` raises
   ``ModerationUnavailable`` (the charge answers ``unavailable`` / ``backend_unavailable``).

Pure: no I/O of its own (the provider callable is injected), no Firebase or Google import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, cast

from credits.moderation.categories import CATEGORIES, Category, classify
from credits.moderation.second_opinion import Provider, ProviderSettings
from credits.moderation.terms import Moderator, moderator_for

Action = Literal["refuse", "flag", "allow"]
Severity = Literal["low", "medium", "high", "critical"]
Source = Literal["local", "provider"]
ACTIONS: Final[tuple[Action, ...]] = ("refuse", "flag", "allow")
_ACTION_RANK: Final[dict[Action, int]] = {"refuse": 2, "flag": 1, "allow": 0}
ALWAYS_REFUSED: Final = "sexual_minors"

# How much a refused or flagged prompt of each category weighs in the user's abuse score.
DEFAULT_SEVERITY: Final[dict[Category, Severity]] = {
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
# Families: a harmful prompt refused or flagged under another category of its family counts
# as caught (a revenge-porn request named "real_people" rather than "sexual").
FAMILIES: Final[dict[str, str]] = {
    "sexual_minors": "sexual",
    "sexual": "sexual",
    "real_people": "sexual",
    "violence": "violence",
    "threats": "violence",
    "weapons": "violence",
    "hate": "hate",
    "harassment": "hate",
    "self_harm": "self_harm",
    "drugs": "drugs",
    "malware_fraud": "malware_fraud",
}


@dataclass(frozen=True)
class CategoryRule:
    """What to do with a prompt of one category, and how much it weighs as an abuse event."""

    action: Action = "refuse"
    severity: Severity = "medium"


@dataclass(frozen=True)
class Policy:
    """The moderation configuration in force, as the verdict reads it."""

    categories: Mapping[str, CategoryRule] = field(default_factory=dict)
    terms: tuple[object, ...] = ()  # configured terms (Term models, dicts or tuples)
    provider: ProviderSettings = field(default_factory=ProviderSettings)

    def rule(self, category: str) -> CategoryRule:
        """The configured rule of ``category`` (defaults: refuse, the category's severity)."""
        default = CategoryRule("refuse", DEFAULT_SEVERITY.get(cast(Category, category), "medium"))
        configured = self.categories.get(category, default)
        if category == ALWAYS_REFUSED and configured.action != "refuse":
            return CategoryRule("refuse", configured.severity)
        return configured

    def matcher(self) -> Moderator | None:
        """The compiled configured terms, or None when there are none."""
        return moderator_for(self.terms) if self.terms else None


@dataclass(frozen=True)
class Verdict:
    """The answer: what to do, why (the category), and who decided (local rules or provider)."""

    action: Action
    category: str | None = None
    source: Source = "local"
    severity: Severity | None = None
    term: str | None = None  # the configured term that decided, if one did

    def to_json(self) -> dict[str, str]:
        """``testModeration``'s answer: ``{verdict, category?, source}``."""
        data: dict[str, str] = {"verdict": self.action, "source": self.source}
        if self.category is not None:
            data["category"] = self.category
        return data


ALLOW: Final = Verdict("allow")


class ModerationUnavailable(Exception):
    """The provider could not answer and ``failMode`` is ``closed``."""


_ORDER: Final[dict[str, int]] = {category: index for index, category in enumerate(CATEGORIES)}


def _key(verdict: Verdict) -> tuple[int, int]:
    order = _ORDER.get(verdict.category or "", len(CATEGORIES))
    return (-_ACTION_RANK[verdict.action], order)


def local_verdict(prompt: str, policy: Policy) -> Verdict:
    """The local layer's verdict (steps 1 and 2 of the module docstring)."""
    candidates: list[Verdict] = []
    for category in classify(prompt):
        rule = policy.rule(category)
        candidates.append(Verdict(rule.action, category, "local", rule.severity))
    matcher = policy.matcher()
    if matcher is not None:
        match = matcher.check(prompt)
        if match is not None:
            rule = policy.rule(match.category)
            action = rule.action if match.category in policy.categories or match.category in CATEGORIES else "refuse"
            severity = cast(Severity, match.severity)  # the configuration admits only these four
            candidates.append(Verdict(action, match.category, "local", severity, match.term))
    if not candidates:
        return ALLOW
    return min(candidates, key=_key)


def judge(prompt: str, policy: Policy, provider: Provider | None = None, budget_seconds: float | None = None) -> Verdict:
    """The verdict a charge with ``prompt`` gets under ``policy`` (see the module docstring).

    ``provider`` is the second opinion (default: none); ``budget_seconds`` what is left of
    the call's time budget (default: the configured timeout).
    """
    local = local_verdict(prompt, policy)
    settings = policy.provider
    if local.action == "refuse" or not settings.enabled or provider is None:
        return local
    budget = settings.timeout_ms / 1000
    if budget_seconds is not None:
        budget = max(0.0, min(budget, budget_seconds))
    try:
        opinion = provider.ask(prompt, settings, budget)
    except provider.unavailable as err:
        if settings.fail_mode == "closed":
            raise ModerationUnavailable(type(err).__name__) from None
        return local
    if opinion is None or opinion.category is None:
        return local
    rule = policy.rule(opinion.category)
    second = Verdict(rule.action, opinion.category, "provider", rule.severity)
    return second if _ACTION_RANK[second.action] > _ACTION_RANK[local.action] else local


__all__ = [
    "ACTIONS",
    "ALLOW",
    "ALWAYS_REFUSED",
    "DEFAULT_SEVERITY",
    "FAMILIES",
    "Action",
    "CategoryRule",
    "ModerationUnavailable",
    "Policy",
    "Severity",
    "Source",
    "Verdict",
    "judge",
    "local_verdict",
]
