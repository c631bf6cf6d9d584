"""Prompt moderation: evasions caught, innocent words left alone, severity ordering, caching."""

from __future__ import annotations

import dataclasses
import time
import types

import pytest
from credits.moderation import (
    DEFAULT_TERMS,
    SEVERITY_RANK,
    Match,
    Moderator,
    moderator_for,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DEFAULTS = Moderator(DEFAULT_TERMS)
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]*$"


def category_of(prompt: str) -> str | None:
    match = DEFAULTS.check(prompt)
    return None if match is None else match.category


# ------------------------------------------------------------------------------------------
# The default list
# ------------------------------------------------------------------------------------------


def test_default_terms_are_well_formed() -> None:
    import re

    assert 20 <= len(DEFAULT_TERMS) <= 40
    seen = set()
    for entry in DEFAULT_TERMS:
        assert set(entry) == {"term", "category", "severity"}
        assert 1 <= len(entry["term"]) <= 100
        assert re.fullmatch(CATEGORY_PATTERN, entry["category"])
        assert entry["severity"] in SEVERITY_RANK
        assert entry["term"] not in seen
        seen.add(entry["term"])


def test_default_terms_include_kill_at_medium_severity() -> None:
    assert {"term": "kill", "category": "violence", "severity": "medium"} in DEFAULT_TERMS


def test_severity_rank_orders_low_to_critical() -> None:
    assert SEVERITY_RANK == {"low": 1, "medium": 2, "high": 3, "critical": 4}


def test_default_terms_validate_against_the_config_schema() -> None:
    config = pytest.importorskip("credits.config")
    terms = tuple(config.Term(**entry) for entry in DEFAULT_TERMS)
    assert len(terms) == len(DEFAULT_TERMS)


# ------------------------------------------------------------------------------------------
# Evasions are flagged with the right category
# ------------------------------------------------------------------------------------------

EVASIONS = [
    # plain and case
    ("kill", "violence"),
    ("KILL", "violence"),
    ("KiLl them all", "violence"),
    # Unicode look-alikes, accents, fullwidth, invisible characters
    ("kíll", "violence"),
    ("k\u0301i\u0308l\u0300l", "violence"),  # combining marks
    ("ｋｉｌｌ", "violence"),  # fullwidth
    ("𝐤𝐢𝐥𝐥", "violence"),  # mathematical bold
    ("ⓚⓘⓛⓛ", "violence"),  # circled
    ("\U0001f1f0\U0001f1ee\U0001f1f1\U0001f1f1", "violence"),  # regional indicators
    ("кіll", "violence"),  # Cyrillic ka, i
    ("κιll", "violence"),  # Greek kappa, iota
    ("КІLL", "violence"),  # Cyrillic capitals
    ("mսrdеr", "violence"),  # Armenian u, Cyrillic e
    ("k\u200bill", "violence"),  # zero-width space
    ("k\u200di\u200cll", "violence"),  # zero-width joiner / non-joiner
    ("ki\u00adll", "violence"),  # soft hyphen
    ("k\u2060i\ufeffll", "violence"),  # word joiner, BOM
    ("k\u3164ill", "violence"),  # Hangul filler (an invisible letter)
    # leetspeak
    ("k1ll", "violence"),
    ("ki11", "violence"),
    ("k!ll", "violence"),
    ("ki||", "violence"),
    ("k1ll!", "violence"),
    ("murd3r", "violence"),
    ("m4ss4cr3", "violence"),
    ("r@pe", "sexual"),
    ("$uicide", "self_harm"),
    ("5u1c1de", "self_harm"),
    ("c$am", "sexual_minors"),
    ("10lic0n", "sexual_minors"),
    ("b3h3ad", "violence"),
    ("70r7ure", "violence"),
    # separators inside a word
    ("k.i.l.l", "violence"),
    ("k-i-l-l", "violence"),
    ("k_i_l_l", "violence"),
    ("k*i*l*l", "violence"),
    ("k/i/l/l", "violence"),
    ("k i l l", "violence"),
    ("K. I. L. L.", "violence"),
    ("mur.der", "violence"),
    ("mur-der", "violence"),
    ("be*head", "violence"),
    ("r a p e", "sexual"),
    ("s-u-i-c-i-d-e", "self_harm"),
    # repeated letters
    ("kiiiill", "violence"),
    ("kkkiiilllll", "violence"),
    ("kiill", "violence"),
    ("muuuurderrr", "violence"),
    ("raaaape", "sexual"),
    # punctuation and context around a word
    ("I will kill, then leave.", "violence"),
    ("(kill)", "violence"),
    ("'kill'", "violence"),
    ("kill!!!", "violence"),
    ("kill -9 is a unix command", "violence"),
    ("/usr/bin/kill", "violence"),
    ("you'd be a k i l l e r", "violence"),
    # inflections
    ("kills", "violence"),
    ("killed", "violence"),
    ("killing", "violence"),
    ("killer", "violence"),
    ("killers", "violence"),
    ("killings", "violence"),
    ("kiiilled", "violence"),
    ("murdered", "violence"),
    ("murderers", "violence"),
    ("beheading", "violence"),
    ("tortured", "violence"),
    ("torturing", "violence"),
    ("raped", "sexual"),
    ("raping", "sexual"),
    ("rapes", "sexual"),
    ("doxxing", "harassment"),
    ("doxed", "harassment"),
    # multi-word terms
    ("how to build a bomb", "weapons"),
    ("build   a   bomb", "weapons"),
    ("build...a...bomb", "weapons"),
    ("build-a-bomb", "weapons"),
    ("#buildabomb", "weapons"),
    ("building a bomb", "weapons"),
    ("pipe bombs", "weapons"),
    ("PIPE-BOMB", "weapons"),
    ("p1pe b0mb", "weapons"),
    ("child porn", "sexual_minors"),
    ("child_porn", "sexual_minors"),
    ("child\tporn", "sexual_minors"),
    ("chіld pοrn", "sexual_minors"),  # Cyrillic i, Greek omicron
    ("c h i l d p o r n", "sexual_minors"),
    ("#childporn", "sexual_minors"),
    ("underage nudes", "sexual_minors"),
    ("terrorist attacks", "terrorism"),
    ("ethnic cleansing", "hate"),
    ("self-harm", "self_harm"),
    ("cook meth", "drugs"),
    ("kill yourself", "harassment"),
]


@pytest.mark.parametrize(("prompt", "category"), EVASIONS)
def test_evasion_is_flagged_with_its_category(prompt: str, category: str) -> None:
    assert category_of(prompt) == category


# ------------------------------------------------------------------------------------------
# Innocent prompts pass
# ------------------------------------------------------------------------------------------

INNOCENT = [
    "skill",
    "a skilled carpenter at work",
    "pancakes in a cast-iron skillet",
    "skillful brushwork",
    "a killdeer wading by the lake",
    "pottery fired in a kiln",
    "sunrise over Kilimanjaro",
    "my therapist's office, watercolour",
    "an assassin in a hooded cloak",
    "a classic car",
    "bass guitar on a stage",
    "a bowl of grapes",
    "grapefruit juice",
    "drape the curtains",
    "Scunthorpe United football club",
    "document the API",
    "a rapper on stage",
    "rapping battle",
    "she rapped on the door",
    "a raptor in flight",
    "therapeutic massage",
    "a paradox",
    "an orthodox church",
    "Gregory's category theory notes",
    "a massive sale",
    "assess the damage",
    "as you wish",
    "a stable horse",
    "a child playing in the park",
    "child safety seat",
    "a self-care routine",
    "a ghost story",
    "ethnic food market",
    "cook dinner for friends",
    "methane on Titan",
    "a holy war epic painting",
    "nerve damage diagram",
    "café au lait, naïve art",
    "Ελληνικά γράμματα",
    "日本語のテキスト",
    "bombastic speech",
    "a 3d model of a kiosk",
    "version 1.0.1 released!",
    "",
]


@pytest.mark.parametrize("prompt", INNOCENT)
def test_innocent_prompt_passes(prompt: str) -> None:
    assert DEFAULTS.check(prompt) is None


def test_empty_and_whitespace_prompts_are_clean() -> None:
    for prompt in ("", " ", "\n\t  \r\n", "\u3000\u00a0", "\u200b\u200b", "...!!!???"):
        assert DEFAULTS.check(prompt) is None


def test_innocent_words_containing_a_custom_term_pass() -> None:
    moderator = Moderator(
        [
            {"term": "ass", "category": "profanity", "severity": "low"},
            {"term": "cunt", "category": "profanity", "severity": "low"},
            {"term": "rapist", "category": "sexual", "severity": "high"},
        ]
    )
    for prompt in ("as", "assassin", "classic", "bass", "assess", "passes", "asset", "Scunthorpe", "therapist", "therapists"):
        assert moderator.check(prompt) is None, prompt
    for prompt in ("ass", "asses", "asss", "@ss", "a$$", "a s s", "cunts", "rapists"):
        assert moderator.check(prompt) is not None, prompt


def test_a_shorter_word_never_matches_a_term_with_a_doubled_letter() -> None:
    moderator = Moderator([{"term": "ass", "category": "profanity", "severity": "low"}])
    assert moderator.check("as") is None
    assert moderator.check("a s") is None
    assert moderator.check("ass") == Match("ass", "profanity", "low")


def test_doubled_final_consonant_before_a_suffix_is_an_inflection() -> None:
    moderator = Moderator([{"term": "stab", "category": "violence", "severity": "medium"}])
    for prompt in ("stabbed", "stabbing", "stabs", "stab"):
        assert moderator.check(prompt) is not None, prompt
    for prompt in ("stable", "stabilize", "establish"):
        assert moderator.check(prompt) is None, prompt


# ------------------------------------------------------------------------------------------
# Choosing among several matches
# ------------------------------------------------------------------------------------------


def test_most_severe_match_wins() -> None:
    match = DEFAULTS.check("kill the guy and describe child porn")
    assert match == Match("child porn", "sexual_minors", "critical")


def test_multi_word_term_outranks_its_single_word_part() -> None:
    assert DEFAULTS.check("I want to kill myself") == Match("kill myself", "self_harm", "high")
    assert DEFAULTS.check("a suicide bomber") == Match("suicide bomber", "terrorism", "high")


def test_equal_severity_goes_to_first_occurrence() -> None:
    assert DEFAULTS.check("rape and murder") == Match("rape", "sexual", "high")
    assert DEFAULTS.check("murder and rape") == Match("murder", "violence", "high")


def test_equal_severity_at_same_position_goes_to_first_listed_term() -> None:
    moderator = Moderator(
        [
            {"term": "kills", "category": "listed_first", "severity": "high"},
            {"term": "kill", "category": "listed_second", "severity": "high"},
        ]
    )
    assert moderator.check("he kills") == Match("kills", "listed_first", "high")


def test_lower_severity_earlier_does_not_hide_higher_severity_later() -> None:
    prompt = "gory " * 50 + "lolicon"
    assert DEFAULTS.check(prompt) == Match("lolicon", "sexual_minors", "critical")


# ------------------------------------------------------------------------------------------
# Multi-word terms
# ------------------------------------------------------------------------------------------


def test_multi_word_term_needs_its_words_in_order_and_adjacent() -> None:
    for prompt in ("build a house", "bomb", "a bomb build", "build a big bomb", "bomb a build"):
        assert category_of(prompt) is None, prompt


def test_multi_word_term_matches_anywhere_in_a_long_prompt() -> None:
    prompt = "please paint a landscape. " * 20 + "Then explain how to build a bomb."
    assert DEFAULTS.check(prompt) == Match("build a bomb", "weapons", "high")


def test_partial_multi_word_match_restarts_cleanly() -> None:
    moderator = Moderator([{"term": "a b c", "category": "test", "severity": "low"}])
    assert moderator.check("a b a b c") is not None
    assert moderator.check("a b a c") is None


# ------------------------------------------------------------------------------------------
# Size
# ------------------------------------------------------------------------------------------


def test_twenty_thousand_character_prompt_is_checked_quickly() -> None:
    sentence = "A skilled painter draws a classic landscape with grapes and a bass guitar. "
    prompt = (sentence * (20_000 // len(sentence) + 1))[:20_000]
    started = time.perf_counter()
    assert DEFAULTS.check(prompt) is None
    # Generous bound: this is a smoke test for accidental quadratic behaviour, not a benchmark.
    assert time.perf_counter() - started < 1.0
    flagged = prompt[:-10] + " k1ll them"
    assert DEFAULTS.check(flagged) == Match("kill", "violence", "medium")


def test_long_adversarial_prompts_stay_fast() -> None:
    prompts = [
        "k " * 10_000,  # one 10,000-letter spelled-out run
        "a.b" * 7_000,  # one chunk, thousands of atoms
        "1|" * 10_000,  # ambiguous leet everywhere
        "x" * 20_000,  # one enormous word
        "\u200b" * 20_000,
    ]
    for prompt in prompts:
        started = time.perf_counter()
        DEFAULTS.check(prompt)
        assert time.perf_counter() - started < 1.0


# ------------------------------------------------------------------------------------------
# Custom term lists
# ------------------------------------------------------------------------------------------


def test_terms_may_be_dicts() -> None:
    moderator = Moderator([{"term": "Dragon", "category": "fantasy", "severity": "low"}])
    assert moderator.check("three dragons") == Match("Dragon", "fantasy", "low")
    assert moderator.check("kill") is None


def test_terms_may_be_attribute_objects() -> None:
    @dataclasses.dataclass(frozen=True)
    class Term:
        term: str
        category: str
        severity: str

    moderator = Moderator(
        [Term("wizard", "fantasy", "medium"), types.SimpleNamespace(term="orc", category="fantasy", severity="high")]
    )
    assert moderator.check("a w1zard and an orc") == Match("orc", "fantasy", "high")


def test_terms_may_be_config_models() -> None:
    config = pytest.importorskip("credits.config")
    moderator = Moderator([config.Term(term="ｇｏｂｌｉｎ", category="fantasy", severity="critical")])
    assert moderator.check("goblins!") == Match("ｇｏｂｌｉｎ", "fantasy", "critical")


def test_terms_are_normalised_like_prompts() -> None:
    moderator = Moderator([{"term": "  Kíll-Bill ", "category": "film", "severity": "low"}])
    for prompt in ("kill bill", "KILL-BILL", "k1ll b1ll", "killbill"):
        assert moderator.check(prompt) is not None, prompt


def test_invalid_severity_is_rejected() -> None:
    with pytest.raises(ValueError):
        Moderator([{"term": "x", "category": "c", "severity": "extreme"}])


def test_blank_term_is_rejected() -> None:
    with pytest.raises(ValueError):
        Moderator([{"term": "  ", "category": "c", "severity": "low"}])


def test_a_term_of_only_punctuation_never_matches() -> None:
    moderator = Moderator([{"term": "...", "category": "c", "severity": "low"}])
    assert moderator.check("... wait ...") is None


def test_empty_term_list_flags_nothing() -> None:
    assert Moderator([]).check("kill") is None


# ------------------------------------------------------------------------------------------
# moderator_for
# ------------------------------------------------------------------------------------------


def test_moderator_for_returns_the_same_object_for_equal_term_tuples() -> None:
    first = moderator_for(tuple((t["term"], t["category"], t["severity"]) for t in DEFAULT_TERMS))
    second = moderator_for(tuple((t["term"], t["category"], t["severity"]) for t in DEFAULT_TERMS))
    assert first is second
    assert first.check("k1ll") == Match("kill", "violence", "medium")


def test_moderator_for_caches_config_models() -> None:
    config = pytest.importorskip("credits.config")
    terms_a = tuple(config.Term(**entry) for entry in DEFAULT_TERMS)
    terms_b = tuple(config.Term(**entry) for entry in DEFAULT_TERMS)
    assert terms_a is not terms_b
    assert moderator_for(terms_a) is moderator_for(terms_b) is moderator_for(terms_a)


def test_moderator_for_distinguishes_different_term_lists() -> None:
    one = moderator_for((("kill", "violence", "medium"),))
    other = moderator_for((("kill", "violence", "high"),))
    assert one is not other
    assert other.check("kill") == Match("kill", "violence", "high")


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------

SINGLE_WORD_TERMS = [t for t in DEFAULT_TERMS if t["term"].isalpha()]
SEPARATORS = ["", ".", "-", "_", "*", "/", "'", "~", "\u200b", "\u200d", "\u00ad", "\u2060"]
CONTEXT_WORDS = ["please", "draw", "now", "the", "scene", "where", "they", "quickly"]


@st.composite
def obfuscated(draw: st.DrawFn) -> tuple[dict[str, str], str]:
    entry = draw(st.sampled_from(SINGLE_WORD_TERMS))
    letters = ["".join(draw(st.sampled_from([ch, ch.upper()])) for _ in range(draw(st.integers(1, 4)))) for ch in entry["term"]]
    if draw(st.booleans()):
        word = " ".join(" ".join(group) for group in letters)  # every letter stands alone
    else:
        word = letters[0]
        for group in letters[1:]:
            word += draw(st.sampled_from(SEPARATORS)) + group
    before = draw(st.lists(st.sampled_from(CONTEXT_WORDS), max_size=3))
    after = draw(st.lists(st.sampled_from(CONTEXT_WORDS), max_size=3))
    return entry, " ".join([*before, word, *after])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(obfuscated())
def test_separators_and_repeated_letters_keep_a_word_flagged(case: tuple[dict[str, str], str]) -> None:
    entry, prompt = case
    assert Moderator([entry]).check(prompt) == Match(entry["term"], entry["category"], entry["severity"])
    found = DEFAULTS.check(prompt)
    assert found is not None
    assert SEVERITY_RANK[found.severity] >= SEVERITY_RANK[entry["severity"]]


# Words that are clean on their own and are no word of any default term (so no sequence of
# them can complete a multi-word term): checked below, which is what makes the property sound.
VOCABULARY = """
the painter draws classic landscape with grapes bass guitar skilled skillet therapist
assassin document river mountain sunset portrait castle dragon forest quiet village
morning golden light across field killdeer kiln scunthorpe raptor paradox stable
""".split()
PUNCTUATION = ["", ",", ".", ";", ":", "?"]


def test_vocabulary_contains_no_term_word() -> None:
    words = {w for t in DEFAULT_TERMS for w in t["term"].split()}
    word_moderator = Moderator([{"term": w, "category": "w", "severity": "low"} for w in words])
    for word in VOCABULARY:
        assert word_moderator.check(word) is None, word
        assert DEFAULTS.check(word) is None, word


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(PUNCTUATION), st.booleans()),
        max_size=40,
    )
)
def test_text_of_innocent_words_is_never_flagged(parts: list[tuple[str, str, bool]]) -> None:
    prompt = " ".join((word.upper() if shout else word) + mark for word, mark, shout in parts)
    assert DEFAULTS.check(prompt) is None


_PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_WORDY = st.one_of(
    st.sampled_from(["kill", "k1ll", "child porn", "build a bomb", "rape", "skill", "grape", " ", "."]),
    st.text(_PRINTABLE, max_size=8),
)


@settings(max_examples=200)
@given(st.lists(_WORDY, max_size=12).map("".join))
def test_fullwidth_and_uppercase_forms_give_the_same_verdict(prompt: str) -> None:
    # NFKC maps every fullwidth form back to its printable-ASCII original, and casefolding
    # undoes upper(), so the normalised text (hence the verdict) must be identical.
    fullwidth = "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) for c in prompt)
    expected = DEFAULTS.check(prompt)
    assert DEFAULTS.check(fullwidth) == expected
    assert DEFAULTS.check(prompt.upper()) == expected


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_any_text_yields_none_or_a_configured_match(prompt: str) -> None:
    found = DEFAULTS.check(prompt)
    if found is not None:
        assert {"term": found.term, "category": found.category, "severity": found.severity} in DEFAULT_TERMS
