"""Prompt moderation: what a prompt asks for, by category, and what the configuration says to
do about it.

* ``normalise``: Unicode folding, look-alikes, zero-width characters, leetspeak readings.
* ``lexicon`` and ``categories``: the category rules, deciding by what co-occurs in a prompt
  (an age marker with a sexual term, a synthesis verb with a dangerous agent, a first-person
  intent with a harm verb and a target), not by single words.
* ``terms``: the configured terms an operator adds (whole words, inflections, exceptions).
* ``verdict``: the configured action per category (refuse, flag, allow), ``sexual_minors``
  always refused, and the optional second opinion (``second_opinion``) merged in.

``judge(prompt, policy, provider, budget)`` is the one entry point: a charge and
``testModeration`` both call it, so they cannot decide differently.
"""

from credits.moderation.categories import CATEGORIES, Category, classify
from credits.moderation.second_opinion import (
    Provider,
    ProviderOpinion,
    ProviderSettings,
    ProviderUnavailable,
    installed,
    no_second_opinion,
)
from credits.moderation.terms import (
    DEFAULT_EXCEPTIONS,
    DEFAULT_TERMS as FORMER_DEFAULT_TERMS,
    EXCEPTION_WORDS,
    SEVERITY_RANK,
    Match,
    Moderator,
    exceptions_without_term,
    moderator_for,
)
from credits.moderation.verdict import (
    ACTIONS,
    ALLOW,
    ALWAYS_REFUSED,
    DEFAULT_SEVERITY,
    FAMILIES,
    Action,
    CategoryRule,
    ModerationUnavailable,
    Policy,
    Severity,
    Verdict,
    judge,
    local_verdict,
)


def superseded(term: object) -> bool:
    """Whether a configured term is one of the former built-in list, exactly as it was stored
    (term, category, severity, no exceptions of its own): the category rules replace those, so
    a stored list that still carries them keeps only its operator's own terms in force.
    """
    names = ("term", "category", "severity", "exceptions")
    if isinstance(term, dict):
        values = tuple(term.get(name) for name in names)
    else:
        values = tuple(getattr(term, name, None) for name in names)
    return values[3] in (None, (), []) and values[:3] in _FORMER


_FORMER = frozenset((t["term"], t["category"], t["severity"]) for t in FORMER_DEFAULT_TERMS)

__all__ = [
    "ACTIONS",
    "ALLOW",
    "ALWAYS_REFUSED",
    "CATEGORIES",
    "DEFAULT_EXCEPTIONS",
    "DEFAULT_SEVERITY",
    "EXCEPTION_WORDS",
    "FAMILIES",
    "FORMER_DEFAULT_TERMS",
    "SEVERITY_RANK",
    "Action",
    "Category",
    "CategoryRule",
    "Match",
    "ModerationUnavailable",
    "Moderator",
    "Policy",
    "Provider",
    "ProviderOpinion",
    "ProviderSettings",
    "ProviderUnavailable",
    "Severity",
    "Verdict",
    "classify",
    "exceptions_without_term",
    "installed",
    "judge",
    "local_verdict",
    "moderator_for",
    "no_second_opinion",
    "superseded",
]
