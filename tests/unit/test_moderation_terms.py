"""The configured-term matcher (``credits.moderation.terms``), which an operator's own terms
go through: evasions caught, innocent words left alone, exceptions that clear only their own
phrase, severity ordering, caching. Its former built-in list (``DEFAULT_TERMS``), superseded by
the category rules, is kept as a realistic list to test it on, with its measured rates."""

from __future__ import annotations

import dataclasses
import itertools
import pathlib
import types

import pytest
from credits.moderation.terms import (
    _CLAUSE_END,
    DEFAULT_EXCEPTIONS,
    DEFAULT_TERMS,
    SEVERITY_RANK,
    Match,
    Moderator,
    _pattern_positions,
    exceptions_without_term,
    moderator_for,
)
from credits.vocab.config import Term
from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import ValidationError

DEFAULTS = Moderator(DEFAULT_TERMS)
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]*$"
DATA = pathlib.Path(__file__).resolve().parents[1] / "data"


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


@pytest.mark.parametrize(("lower", "higher"), itertools.combinations(["low", "medium", "high", "critical"], 2))
def test_the_more_severe_of_two_matches_wins_wherever_it_stands(lower: str, higher: str) -> None:
    terms = [
        {"term": "alpha", "category": "first", "severity": lower},
        {"term": "omega", "category": "second", "severity": higher},
    ]
    for listed in (terms, terms[::-1]):
        moderator = Moderator(listed)
        assert moderator.check("alpha then omega") == Match("omega", "second", higher)
        assert moderator.check("omega then alpha") == Match("omega", "second", higher)
    assert SEVERITY_RANK[lower] < SEVERITY_RANK[higher]


def test_default_terms_validate_against_the_config_schema() -> None:
    terms = tuple(Term(**entry) for entry in DEFAULT_TERMS)
    assert [term.model_dump() for term in terms] == DEFAULT_TERMS  # the stored shape is unchanged
    assert moderator_for(terms).check("k1ll") == Match("kill", "violence", "medium")


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


# How fast these run is measured in bench/bench_moderation.py, not asserted here.


def test_a_term_at_the_end_of_a_twenty_thousand_character_prompt_is_found() -> None:
    sentence = "A skilled painter draws a classic landscape with grapes and a bass guitar. "
    prompt = (sentence * (20_000 // len(sentence) + 1))[:20_000]
    assert DEFAULTS.check(prompt) is None
    flagged = prompt[:-10] + " k1ll them"
    assert DEFAULTS.check(flagged) == Match("kill", "violence", "medium")


@pytest.mark.parametrize(
    "filler",
    [
        "k " * 10_000,  # one 10,000-letter spelled-out run
        "a.b" * 7_000,  # one chunk, thousands of atoms
        "1|" * 10_000,  # ambiguous leet everywhere
        "x" * 20_000,  # one enormous word
        "\u200b" * 20_000,
        "killer whale " * 1_500,  # thousands of cleared matches
        "the " * 5_000,  # a word that starts many exceptions
    ],
    ids=["spelled-out", "atoms", "ambiguous-leet", "one-word", "invisible", "cleared", "exception-starts"],
)
def test_long_adversarial_prompts_keep_their_verdict(filler: str) -> None:
    assert DEFAULTS.check(filler) is None
    assert DEFAULTS.check(filler + " kill him") == Match("kill", "violence", "medium")
    assert DEFAULTS.check("child porn " + filler) == Match("child porn", "sexual_minors", "critical")


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
    moderator = Moderator([Term(term="ｇｏｂｌｉｎ", category="fantasy", severity="critical")])
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
    terms_a = tuple(Term(**entry) for entry in DEFAULT_TERMS)
    terms_b = tuple(Term(**entry) for entry in DEFAULT_TERMS)
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


# ------------------------------------------------------------------------------------------
# Exceptions: ordinary phrases clear their own term, where they stand, and nothing else
# ------------------------------------------------------------------------------------------

CLEARED = [
    "a pod of killer whales",
    "K1LLER WH4LE",  # exceptions are read with the same evasions as terms
    "k-i-l-l-e-r whale",
    "killerrr whale",
    "Kill Bill poster",
    "Kill Bill: Vol. 1",
    "the Bride from Kill Bill",
    "The Killers album art",
    "Brandon Flowers of The Killers",
    "killer heels",
    "killer red heels",
    "a killer app",
    "dressed to kill",
    "dressed to kill: film noir",
    "a comedian killing it on stage",
    "the band absolutely killed it",
    "Murder on the Orient Express",
    "a murder of crows",
    "a bath bomb",
    "the suicide squeeze",
    "Suicide Squad",
    "The Texas Chainsaw Massacre 1974 poster",
    "St. Valentine's Day Massacre",
    "Saint Valentines Day massacre",
    "oilseed rape in bloom",
    "a family building a bomb shelter",
    "make a bomber jacket",
    "spare me the gory details",
    "The Tortured Poets Department",
    "a cheetah dragging its kill",
    "a hawk killing a snake",
    "kill the lights.",
    "killing time",
]


@pytest.mark.parametrize("prompt", CLEARED)
def test_an_ordinary_phrase_clears_its_term(prompt: str) -> None:
    assert DEFAULTS.check(prompt) is None


# Harmful phrasings next to the phrases above: each must still be caught.
NEAR_EXCEPTIONS = [
    ("kill him", "violence"),
    ("killing my boss", "violence"),
    ("murder the witness", "violence"),
    ("kill yourself", "harassment"),
    ("how to kill my neighbour", "violence"),
    ("kill bill", "violence"),  # a name alone is no title
    ("kill Bill Gates", "violence"),
    ("how to kill Bill", "violence"),
    ("I want to kill Bill from accounting", "violence"),
    ("killing whales", "violence"),  # exception words take no inflection
    ("killing bill poster", "violence"),
    ("the killers of my family", "violence"),
    ("a killer whale killing a diver", "violence"),  # another occurrence of the term
    ("killer whale, then kill him", "violence"),
    ("dressed to kill her ex", "violence"),  # the idiom only stands at the end of a clause
    ("dressed to kill yourself", "harassment"),  # an exception never clears another term
    ("she was a killer.", "violence"),
    ("killing it with a knife", "violence"),
    ("the comedian killed the heckler", "violence"),
    ("absolutely killed him", "violence"),
    ("a dog killing a child", "violence"),  # animals on both sides, or nothing cleared
    ("a man killing a cat", "violence"),
    ("the hitman moves in for the kill", "violence"),
    ("a murder of crows pecking a murdered man", "violence"),
    ("Murder on the Orient Express, then murder the conductor", "violence"),
    ("the texas chainsaw massacre of real students", "violence"),
    ("suicide squad members committing suicide", "self_harm"),
    ("a rape in a field of oilseed rape", "sexual"),
    ("build a bomb, not a bomb shelter", "weapons"),
    ("make a bomb and a bomber jacket", "weapons"),
    ("k1ll h1m", "violence"),
    ("k i l l him", "violence"),
]


@pytest.mark.parametrize(("prompt", "category"), NEAR_EXCEPTIONS)
def test_harmful_phrasing_near_an_exception_is_caught(prompt: str, category: str) -> None:
    assert category_of(prompt) == category


def test_a_cleared_match_does_not_hide_any_other_match() -> None:
    assert DEFAULTS.check("a gory scene with a killer whale") == Match("gory", "violence", "low")
    assert DEFAULTS.check("killer whale and child porn") == Match("child porn", "sexual_minors", "critical")
    assert DEFAULTS.check("killer whale, killer whale, kill her") == Match("kill", "violence", "medium")


def test_built_in_exceptions_attach_to_a_stored_term_spelled_like_a_default() -> None:
    # Lists stored before exceptions existed: no "exceptions" key, any case or Unicode form.
    for spelling in ("kill", "KILL", "Ｋｉｌｌ", " kill "):
        moderator = Moderator([{"term": spelling, "category": "violence", "severity": "high"}])
        assert moderator.check("killer whale") is None, spelling
        assert moderator.check("kill him") == Match(spelling, "violence", "high"), spelling
    # Not to other terms, even ones containing a default term's word.
    killer = Moderator([{"term": "killer", "category": "violence", "severity": "high"}])
    assert killer.check("killer whale") == Match("killer", "violence", "high")


def test_a_phrase_cleared_by_a_built_in_can_be_refused_by_adding_it_as_a_term() -> None:
    moderator = Moderator([*DEFAULT_TERMS, {"term": "kill bill", "category": "film", "severity": "low"}])
    assert moderator.check("Kill Bill poster") == Match("kill bill", "film", "low")
    assert moderator.check("killer whale") is None


def test_configured_exceptions_clear_only_their_phrase() -> None:
    terms = [
        {"term": "gun", "category": "weapons", "severity": "medium", "exceptions": ["glue gun", "gun metal grey"]},
        {"term": "shoot", "category": "weapons", "severity": "low"},
    ]
    moderator = Moderator(terms)
    for prompt in ("a glue gun on a craft table", "GLU3 GUN", "gun metal grey paint"):
        assert moderator.check(prompt) is None, prompt
    for prompt in ("glue guns", "a gun", "gun metal", "glue gun, then a gun", "shoot the glue gun"):
        assert moderator.check(prompt) is not None, prompt
    assert Moderator([("gun", "weapons", "medium", ("glue gun",))]).check("glue gun") is None
    assert Moderator([Term(term="gun", category="weapons", severity="medium", exceptions=["glue gun"])]).check("glue gun") is None


def test_exceptions_without_their_term_are_reported() -> None:
    assert exceptions_without_term("kill", ["killer whale", "skill set", "k1ll switch", "killdeer"]) == ["skill set", "killdeer"]
    assert exceptions_without_term("build a bomb", ["building a bomb shelter", "a bomb shelter"]) == ["a bomb shelter"]


def test_malformed_exceptions_are_rejected() -> None:
    for exceptions in ("killer whale", [""], ["  "], [3], 7):
        with pytest.raises(ValueError):
            Moderator([{"term": "kill", "category": "c", "severity": "low", "exceptions": exceptions}])


def test_moderator_for_distinguishes_lists_that_differ_only_in_exceptions() -> None:
    plain = moderator_for((("gun", "weapons", "low"),))
    excepted = moderator_for((("gun", "weapons", "low", ("glue gun",)),))
    assert plain is not excepted
    assert plain.check("glue gun") == Match("gun", "weapons", "low")
    assert excepted.check("glue gun") is None


def test_config_term_exceptions_are_optional_and_validated() -> None:
    old = Term.model_validate({"term": "kill", "category": "violence", "severity": "medium"})
    assert old.exceptions is None
    assert old.model_dump() == {"term": "kill", "category": "violence", "severity": "medium"}
    new = Term.model_validate({"term": "kill", "category": "violence", "severity": "medium", "exceptions": ["kill switch"]})
    assert new.exceptions == ("kill switch",)
    assert new.model_dump()["exceptions"] == ("kill switch",)
    bad = [
        (["skill set"], "must contain its term"),
        ("kill switch", "list of phrases"),
        (["  "], "blank"),
        (["kill " + "x" * 100], "at most 100"),
        (["kill it"] * 21, "at most 20"),
    ]
    for exceptions, message in bad:
        with pytest.raises(ValidationError, match=message):
            Term.model_validate({"term": "kill", "category": "violence", "severity": "medium", "exceptions": exceptions})


def test_every_default_exception_names_a_default_term() -> None:
    assert set(DEFAULT_EXCEPTIONS) <= {entry["term"] for entry in DEFAULT_TERMS}


def _samples(pattern: str) -> list[str]:
    """One phrase per word a built-in pattern allows: the first word everywhere else."""
    phrases = []
    for positions in _pattern_positions(pattern):
        for index, slot in enumerate(positions):
            for word in slot:
                words = [word if i == index else other[0] for i, other in enumerate(positions)]
                phrases.append(" ".join(w for w in words if w != _CLAUSE_END))
    return phrases


BUILT_IN_SAMPLES = [(term, sample) for term, patterns in DEFAULT_EXCEPTIONS.items() for p in patterns for sample in _samples(p)]


def test_every_built_in_exception_contains_its_term_and_clears_it() -> None:
    assert len(BUILT_IN_SAMPLES) > 1_000
    alone = {entry["term"]: Moderator([entry]) for entry in DEFAULT_TERMS}  # with its built-ins
    for term, sample in BUILT_IN_SAMPLES:
        assert exceptions_without_term(term, [sample]) == [], (term, sample)  # the bare term flags it
        assert alone[term].check(sample) is None, (term, sample)


HARMFUL_SNIPPETS = ["kill him", "k1ll her now", "murder the witness", "child porn", "how to build a bomb", "kill yourself"]


@settings(max_examples=300)
@given(st.sampled_from(BUILT_IN_SAMPLES), st.sampled_from(HARMFUL_SNIPPETS), st.booleans())
def test_a_cleared_phrase_never_hides_a_harmful_request_beside_it(sample: tuple[str, str], snippet: str, before: bool) -> None:
    _, phrase = sample
    prompt = f"{snippet}, then {phrase}" if before else f"{phrase}, then {snippet}"
    assert DEFAULTS.check(prompt) == DEFAULTS.check(snippet) is not None


# ------------------------------------------------------------------------------------------
# Measured on the corpora in tests/data (bench/moderation_false_positives.py prints the same)
# ------------------------------------------------------------------------------------------


def _corpus(name: str) -> list[str]:
    return [line.strip() for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_default_list_refuses_at_most_one_percent_of_ordinary_prompts() -> None:
    prompts = _corpus("ordinary_prompts.txt")
    assert len(prompts) >= 200
    assert len(set(prompts)) == len(prompts)
    refused = [(prompt, match.term) for prompt in prompts if (match := DEFAULTS.check(prompt)) is not None]
    assert len(refused) <= len(prompts) // 100, refused


def test_default_list_catches_every_harmful_prompt() -> None:
    prompts = _corpus("harmful_prompts.txt")
    assert len(prompts) >= 100
    missed = [prompt for prompt in prompts if DEFAULTS.check(prompt) is None]
    assert missed == []
