r"""Prompt moderation: find configured terms in a prompt despite the usual evasions, and leave
ordinary phrases that merely contain one ("killer whale", "Kill Bill poster") alone.

What this module guarantees
---------------------------
* ``Moderator.check(prompt)`` returns ``None`` for a clean prompt, else one ``Match``: the most
  severe one (critical > high > medium > low); among equally severe matches, the one that starts
  first in the prompt; among those, the term listed first. Matches cleared by an exception (below)
  take no part in this choice.
* Terms match whole words only. A term matches a word that is the term itself, or the term plus
  one inflection suffix (s, es, d, ed, er, ers, ing, ings; a final "e" may be dropped before a
  suffix that starts with a vowel, as in rape -> raping). A word that merely contains a term
  ("skill", "therapist", "assassin", "grape") never matches it.
* Both the prompt and every term go through the same normalisation, so a term matches however
  it is spelled in the configuration: NFKC, casefold, combining marks and format characters
  (zero-width space/joiner, soft hyphen) removed, common Cyrillic/Greek/Armenian look-alikes
  mapped to Latin, fullwidth and mathematical letters folded by NFKC.
* Evasions defeated: leetspeak (0 o, 1 i/l, 3 e, 4 a, 5 s, 7 t, @ a, $ s, ! i, | l/i), punctuation
  or invisible characters inside a word ("k.i.l.l", "mur-der", "k\u200bill"), letters spelled
  out with spaces ("k i l l"), stretched letters ("kiiill": each letter run of the prompt is at
  least as long as the term's, so "as" never matches "ass"), and for multi-word terms any
  whitespace or punctuation between the words, or none ("child-porn", "#childporn").

Exceptions: phrases that clear a term
-------------------------------------
* A term may carry exceptions, phrases in which it is no finding: "killer whale" for "kill".
  A match of a term is dropped when it lies inside an occurrence, in the prompt, of one of that
  term's exceptions. Nothing else is cleared: other terms, and the term's other occurrences, are
  judged as before ("a killer whale killing a diver" is flagged for "killing"; "dressed to kill
  yourself" is "kill yourself", which "dressed to kill" does not clear).
* Exception words are read like prompt words (case, Unicode, leetspeak, punctuation inside a
  word, stretched letters: "K1LLER wh4le" is "killer whale") but take no inflection, so that
  "kill bill poster" never clears "killing bill". A configured exception that does not contain
  its term could clear nothing; the configuration refuses it (``exceptions_without_term``).
* Built-in exceptions, ``DEFAULT_EXCEPTIONS``, attach to every configured term spelled like a
  default term (after case and Unicode folding), so term lists stored before they existed get
  them too; a term's own ``exceptions`` add to them. To refuse a phrase a built-in clears, add
  the phrase as a term of its own: exceptions never clear another term.
* Built-in patterns use a small syntax (configured exceptions are literal phrases): "a|b" is
  either word, "{name}" any word of ``EXCEPTION_WORDS[name]``, a trailing "?" makes a word
  optional, and "$" is the end of a clause (a word ending in punctuation, or the prompt's end),
  which lets an idiom through only where no object can follow ("dressed to kill $").
* Measured on fixed corpora (``bench/moderation_false_positives.py``, ``tests/data``): the default
  list refuses 0.96% of 418 ordinary creative prompts (47.13% without exceptions) and catches all
  142 harmful prompts and evasions. On 103 ordinary prompts written after the phrases were
  chosen, it refuses 14.56% (73.79% without): the phrase list covers the common cases, not the
  long tail of titles and idioms. See docs/reliability.md, "Moderation false positives".

Cost and sharing
----------------
* After normalisation, work is linear in the prompt length. The only regexes are
  single-character classes and ``(.)\1*`` style run scanners, none of which can backtrack
  catastrophically. Per-word results are memoised per ``Moderator``, so repeated words are free.
  Exceptions cost a second pass over the same words, made only when a term that has exceptions
  matched and could decide the verdict; clean prompts never pay for it.
* Pure standard library, no I/O, no Firebase import. Safe to share between threads: the only
  mutable state (two per-instance word memos, a module-wide character table, the last term list
  ``moderator_for`` saw, and ``functools.lru_cache`` tables) is dicts and references whose
  single get/set/clear operations are atomic under the GIL, holding values that are pure
  functions of their keys.

Known limits: see ``Moderator.check``.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

from credits.moderation.normalise import (
    _MEMO_KEY_LIMIT,
    _MEMO_LIMIT,
    _SPELLING_NEIGHBOURS,
    _SQUEEZE,
    _SUFFIXES_BY_LAST,
    _atoms,
    _inflected_runs_ok,
    _normalise,
    _runs,
    _suffix_runs_ok,
    _variants,
)

__all__ = [
    "DEFAULT_EXCEPTIONS",
    "DEFAULT_TERMS",
    "EXCEPTION_WORDS",
    "SEVERITY_RANK",
    "Match",
    "Moderator",
    "exceptions_without_term",
    "moderator_for",
]

SEVERITY_RANK: dict[str, int] = {"low": 1, "medium": 2, "high": 3, "critical": 4}

# Kept to phrases whose every whole-word occurrence is worth stopping; generic words with
# everyday meanings ("bomb", "shoot", "gun") are left to operators who want them.
DEFAULT_TERMS: list[dict[str, str]] = [
    # violence
    {"term": "kill", "category": "violence", "severity": "medium"},
    {"term": "murder", "category": "violence", "severity": "high"},
    {"term": "behead", "category": "violence", "severity": "high"},
    {"term": "massacre", "category": "violence", "severity": "high"},
    {"term": "dismember", "category": "violence", "severity": "high"},
    {"term": "mass shooting", "category": "violence", "severity": "high"},
    {"term": "torture", "category": "violence", "severity": "medium"},
    {"term": "gory", "category": "violence", "severity": "low"},
    # weapons
    {"term": "build a bomb", "category": "weapons", "severity": "high"},
    {"term": "make a bomb", "category": "weapons", "severity": "high"},
    {"term": "pipe bomb", "category": "weapons", "severity": "high"},
    {"term": "nerve agent", "category": "weapons", "severity": "high"},
    {"term": "ghost gun", "category": "weapons", "severity": "medium"},
    # terrorism
    {"term": "terrorist attack", "category": "terrorism", "severity": "high"},
    {"term": "suicide bomber", "category": "terrorism", "severity": "high"},
    # self-harm
    {"term": "suicide", "category": "self_harm", "severity": "medium"},
    {"term": "self harm", "category": "self_harm", "severity": "medium"},
    {"term": "kill myself", "category": "self_harm", "severity": "high"},
    # hate
    {"term": "ethnic cleansing", "category": "hate", "severity": "high"},
    {"term": "racial holy war", "category": "hate", "severity": "high"},
    # sexual content involving minors
    {"term": "child porn", "category": "sexual_minors", "severity": "critical"},
    {"term": "csam", "category": "sexual_minors", "severity": "critical"},
    {"term": "underage nude", "category": "sexual_minors", "severity": "critical"},
    {"term": "child sexual abuse", "category": "sexual_minors", "severity": "critical"},
    {"term": "lolicon", "category": "sexual_minors", "severity": "critical"},
    # sexual violence / non-consensual content
    {"term": "rape", "category": "sexual", "severity": "high"},
    {"term": "revenge porn", "category": "sexual", "severity": "high"},
    {"term": "bestiality", "category": "sexual", "severity": "high"},
    # harassment
    {"term": "kill yourself", "category": "harassment", "severity": "high"},
    {"term": "dox", "category": "harassment", "severity": "medium"},
    # drugs
    {"term": "cook meth", "category": "drugs", "severity": "medium"},
]


# Ordinary phrases that contain a default term, by the term they clear (see "Exceptions" in the
# module docstring for what clearing means and for this table's small pattern syntax). Chosen
# so that what a phrase clears is a title, an animal, a thing or an idiom, never an act aimed at
# a person: names that also read as a threat ("Kill Bill", "The Killers", "Texas Chainsaw
# Massacre") are cleared only beside a word that makes them a title, and verb idioms only where
# no object can follow ("dressed to kill $": "dressed to kill her" stays flagged).
EXCEPTION_WORDS: dict[str, tuple[str, ...]] = {
    # words that make a name a film, show, book, game or album ...
    "media": (
        "poster", "posters", "movie", "film", "films", "style", "inspired", "scene", "scenes", "soundtrack",
        "fan", "fanart", "cosplay", "costume", "costumes", "vol", "volume", "trailer", "dvd", "vhs", "franchise",
        "remake", "aesthetic", "wallpaper", "logo", "cover", "book", "novel", "comic", "game", "series",
        "episode", "season", "character", "characters",
    ),
    # ... or put it in a sentence as one ("the Bride from Kill Bill", "a poster for Kill Bill")
    "as_title": ("from", "in", "of", "like", "for"),
    "band": (
        "band", "concert", "album", "albums", "live", "tour", "logo", "poster", "song", "songs", "vinyl",
        "frontman", "fans", "tshirt", "performing",
    ),
    "crime_media": (
        "documentary", "documentaries", "podcast", "podcasts", "movie", "film", "novel", "novels", "thriller",
        "series", "show",
    ),
    "years": tuple(str(year) for year in range(1900, 2040)),
    # "killer" meaning excellent or formidable, before the things it praises ...
    "praised": (
        "smile", "smiles", "view", "views", "outfit", "outfits", "look", "looks", "deal", "deals", "workout",
        "combo", "riff", "riffs", "solo", "solos", "feature", "features", "app", "apps", "heels", "stilettos",
        "shoes", "boots", "dress", "playlist", "track", "beat", "beats", "tune", "chorus", "groove", "bassline",
        "idea", "recipe", "sunset", "wave", "waves", "serve", "crossover", "sudoku", "instinct", "queen",
        "burger", "burgers", "brownie", "brownies", "pizza", "tacos", "chili", "cocktail", "cocktails",
        "sandwich", "fries", "sauce", "wings", "dessert", "cake", "cookies", "tofu", "curry", "ramen", "noodles",
        "steak", "salad", "soup", "ribs", "pasta", "nachos", "burrito", "dumplings", "pie", "pancakes", "coffee",
    ),
    # ... with at most one of these between
    "qualities": (
        "red", "black", "white", "pink", "gold", "golden", "silver", "blue", "green", "purple", "nude", "leather",
        "suede", "patent", "velvet", "denim", "new", "little", "vintage", "retro", "high", "platform",
        "chocolate", "vegan", "spicy", "cheese", "beef", "chicken", "guitar", "bass", "drum", "piano",
    ),
    # ... and the non-human killers of fiction and nature
    "creatures": (
        "whale", "whales", "bee", "bees", "hornet", "hornets", "shrimp", "algae", "robot", "robots", "doll",
        "dolls", "shark", "sharks", "rabbit", "bunny", "plant", "plants", "alien", "aliens", "tomatoes", "croc",
        "klowns", "virus", "asteroid", "app", "apps",
    ),
    "animals": (
        "lion", "lions", "lioness", "lionesses", "tiger", "tigers", "leopard", "leopards", "cheetah", "cheetahs",
        "jaguar", "jaguars", "wolf", "wolves", "fox", "foxes", "bear", "bears", "hyena", "hyenas", "lynx",
        "bobcat", "bobcats", "cat", "cats", "dog", "dogs", "hawk", "hawks", "eagle", "eagles", "owl", "owls",
        "falcon", "falcons", "osprey", "ospreys", "heron", "herons", "kingfisher", "kingfishers", "crow", "crows",
        "raven", "ravens", "pelican", "pelicans", "shark", "sharks", "orca", "orcas", "whale", "whales", "seal",
        "seals", "crocodile", "crocodiles", "alligator", "alligators", "snake", "snakes", "python", "pythons",
        "cobra", "cobras", "viper", "vipers", "lizard", "lizards", "frog", "frogs", "toad", "toads", "spider",
        "spiders", "mantis", "mantises", "scorpion", "scorpions", "wasp", "wasps", "hornet", "hornets", "bee",
        "bees", "ant", "ants", "beetle", "beetles", "dragonfly", "dragonflies", "fly", "flies", "moth", "moths",
        "butterfly", "butterflies", "bug", "bugs", "insect", "insects", "worm", "worms", "mouse", "mice", "rat",
        "rats", "rabbit", "rabbits", "hare", "hares", "squirrel", "squirrels", "deer", "zebra", "zebras",
        "gazelle", "gazelles", "antelope", "antelopes", "wildebeest", "buffalo", "fish", "salmon", "octopus",
        "squid", "jellyfish", "penguin", "penguins", "bird", "birds", "chicken", "chickens", "hen", "hens", "duck",
        "ducks", "goose", "geese", "pigeon", "pigeons", "sparrow", "sparrows", "predator", "predators", "prey",
    ),
    "hunting": (
        "go", "goes", "going", "move", "moves", "moving", "close", "closes", "closing", "swoop", "swoops",
        "swooping", "dive", "dives", "diving", "comes", "coming",
    ),
    "performers": (
        "comedian", "comedians", "comic", "singer", "singers", "band", "dancer", "dancers", "chef", "chefs", "dj",
        "rapper", "rappers", "drummer", "guitarist", "pianist", "violinist", "performer", "performers", "actor",
        "actress", "cast", "choir", "team", "crew", "queen", "model", "models", "athlete", "skater", "surfer",
    ),
    "wearing_out": (
        "heat", "feet", "back", "boss", "deadlines", "job", "work", "commute", "kids", "suspense", "shoes",
        "this", "hangover",
    ),
}  # fmt: skip

DEFAULT_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "kill": (
        # titles whose words are no threat to anyone
        "to kill a mockingbird", "killers of the flower moon", "video killed the radio star",
        "killing me softly", "killing in the name", "the killing moon", "the killing joke",
        "the killing of a sacred deer", "kill la kill", "kill the justice league", "killer mike",
        "the killing fields",
        # titles that need their context
        *(
            phrase
            for title in ("kill bill", "killing eve", "natural born killers", "killing floor", "kill team")
            for phrase in (f"{{as_title}} {title}", f"{title} {{years}}? {{media}}")
        ),
        "40k|warhammer kill team", "of|by|like|for the killers", "the killers {years}? {band}",
        "serial killer|killers {crime_media}", "zodiac killer",
        # killer, the adjective, and the killers that are not people
        "killer {qualities}? {praised}", "killer {creatures}", "is|was|looks|sounds|looked|sounded|looking killer $",
        "lady|weed|pain|bug|pest|germ killer|killers",
        # idioms
        "dressed to kill $", "kill|kills|killing|killed two birds", "curiosity killed the cat",
        "kill|kills|killing|killed time", "kill|kills|killing|killed the lights|engine|music|motor",
        "{performers} kill|kills|killed|killing it", "absolutely|totally|really|truly|so kill|kills|killed|killing it",
        "kill|kills|killed|killing it at|on|onstage|tonight|$", "{wearing_out} is|are killing me",
        # games, sport, nature
        "kill streak|streaks|feed|cam|counter|count|banner|medal|icon|switch|switches|screen",
        "a|the penalty kill", "penalty kill unit", "{animals} {hunting} in for the kill", "its|their kill",
        "{animals} made|makes|making|with|and|guarding|dragging|eating|carrying its|her|his|their kill",
        "{animals} kill|kills|killed|killing a|an|the|its|their|another? {animals}",
    ),
    "murder": (
        "murder on the orient express", "murder of crows", "murder mystery|mysteries", "murder hornet|hornets",
        "murder she wrote", "only murders in the building", "murder ballad|ballads", "murder drones",
        "murder by death", "the murder of roger ackroyd", "murder at the vicarage", "murder in the cathedral",
        "murder on the links", "how to get away with murder {years}? {media}", "murder {crime_media}",
    ),
    "massacre": (
        "texas chainsaw massacre {years}? {media}", "texas chainsaw massacre leatherface",
        "texas chain saw massacre {years}? {media}", "{as_title} the? texas chainsaw massacre",
        "{as_title} the? texas chain saw massacre", "boston massacre", "peterloo massacre",
        "saint|st valentine's day massacre", "saint|st bartholomew's day massacre",
    ),
    "torture": ("tortured poets department", "tortured poet|poets|artist|artists|genius|soul|souls", "torture test"),
    "gory": ("gory details",),
    "suicide": (
        "suicide squad", "suicide squeeze", "suicide door|doors", "suicide king|kings", "virgin suicides",
        "suicide burn", "suicide sprint|sprints", "suicide blonde", "suicide lane",
    ),
    "rape": ("oilseed rape", "oil seed rape", "rape seed"),
    "build a bomb": ("build|builds|building a bomb shelter",),
    "make a bomb": ("make|makes|making a bomber jacket", "make|makes|making a bomb pop"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Match:
    """A term found in a prompt: the term as configured, its category and its severity."""

    term: str  # as configured, so operators recognise their own entry
    category: str
    severity: str  # low | medium | high | critical


# --------------------------------------------------------------------------------------------
# Terms and the matcher
# --------------------------------------------------------------------------------------------

_TermSpec = tuple[str, str, str, tuple[str, ...]]  # (term, category, severity, exceptions)
_Entry = tuple[int, int, tuple[int, ...]]  # (pattern, word index in pattern, letter run lengths)
_MAX_EXCEPTION_LENGTH = 200  # characters; the configuration schema allows 100


def _exceptions_of(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"moderation exceptions must be a list of strings, got {value!r}")
    exceptions = tuple(value)
    for phrase in exceptions:
        if not isinstance(phrase, str) or not phrase.strip() or len(phrase) > _MAX_EXCEPTION_LENGTH:
            raise ValueError(
                f"a moderation exception must be a non-blank string of at most {_MAX_EXCEPTION_LENGTH} characters, got {phrase!r}"
            )
    return exceptions


def _spec_of(item: Any) -> _TermSpec:
    if isinstance(item, Mapping):
        values = (item.get("term"), item.get("category"), item.get("severity"), item.get("exceptions"))
    elif isinstance(item, (tuple, list)) and len(item) in (3, 4):
        values = (item[0], item[1], item[2], item[3] if len(item) == 4 else None)
    else:
        values = (
            getattr(item, "term", None),
            getattr(item, "category", None),
            getattr(item, "severity", None),
            getattr(item, "exceptions", None),
        )
    term, category, severity, exceptions = values
    if not isinstance(term, str) or not term.strip():
        raise ValueError(f"moderation term must be a non-blank string, got {term!r}")
    if not isinstance(category, str) or not category:
        raise ValueError(f"moderation category must be a non-empty string, got {category!r}")
    if severity not in SEVERITY_RANK:
        raise ValueError(f"moderation severity must be one of {sorted(SEVERITY_RANK)}, got {severity!r}")
    return term, category, severity, _exceptions_of(exceptions)


def _term_words(term: str) -> list[str]:
    """A term's words as the matcher reads them: the atoms of its normalised chunks."""
    return [atom for chunk in _normalise(term).split() for atom in _atoms(chunk)]


def _exception_words(phrase: str) -> list[str]:
    """An exception's words: each whitespace-separated chunk read as one word, so that
    "valentine's" is the prompt's "valentine's", "valentines" or "valentine’s".
    """
    return [word for word in ("".join(_atoms(chunk)) for chunk in _normalise(phrase).split()) if word]


_Positions = list[tuple[str, ...]]  # per word of a pattern, the words that may stand there
_CLAUSE_END = " "  # what "$" matches: no edge text contains whitespace, so no word can be it


def _literal_positions(phrase: str) -> _Positions:
    return [(word,) for word in _exception_words(phrase)]


def _pattern_positions(pattern: str) -> list[_Positions]:
    """A ``DEFAULT_EXCEPTIONS`` pattern as word positions, one list per choice of its optional
    words: "a|b" either word, "{name}" any word of ``EXCEPTION_WORDS[name]``, a trailing "?"
    an optional word, "$" the end of a clause (punctuation or the end of the prompt).
    """
    slots: list[tuple[tuple[str, ...], bool]] = []
    for token in pattern.split():
        optional = len(token) > 1 and token.endswith("?")
        words: list[str] = []
        for alternative in (token[:-1] if optional else token).split("|"):
            if alternative == "$":
                words.append(_CLAUSE_END)
            elif alternative.startswith("{") and alternative.endswith("}"):
                words.extend(word for item in EXCEPTION_WORDS[alternative[1:-1]] for word in _exception_words(item))
            else:
                words.extend(_exception_words(alternative))
        if words:
            slots.append((tuple(dict.fromkeys(words)), optional))
    choices = itertools.product(*[(True, False) if optional else (True,) for _, optional in slots])
    patterns = [[words for (words, _), kept in zip(slots, choice) if kept] for choice in choices]
    return [positions for positions in patterns if positions]


@lru_cache(maxsize=64)
def _builtin_positions(term: str) -> tuple[_Positions, ...]:
    """The built-in exceptions of the default term spelled like ``term``, if any."""
    words = " ".join(_term_words(term))
    for default, patterns in DEFAULT_EXCEPTIONS.items():
        if " ".join(_term_words(default)) == words:
            return tuple(positions for pattern in patterns for positions in _pattern_positions(pattern))
    return ()


class _Patterns:
    """Word sequences compiled into an index from a word's squeezed spelling to the pattern
    positions it can fill; the automaton in ``_completions`` walks a prompt's edges with it.
    """

    __slots__ = ("index", "length", "owner", "stems")

    def __init__(self, *, inflections: bool) -> None:
        self.owner: list[int] = []  # pattern -> term index
        self.length: list[int] = []  # pattern -> number of words
        self.index: dict[str, list[_Entry]] = {}
        # Stems that may take an inflection suffix: terms only. An exception names its words
        # exactly, or "kill bill poster" would also clear "killing bill".
        self.stems: dict[str, list[_Entry]] | None = self.index if inflections else None

    def add(self, owner: int, positions: _Positions) -> None:
        spellings = [dict.fromkeys(key for word in words for key in _index_keys(word)) for words in positions]
        if not positions or not all(spellings):
            return  # e.g. a term made only of punctuation: nothing a prompt could spell
        pattern = len(self.owner)
        self.owner.append(owner)
        self.length.append(len(positions))
        index = self.index
        for position, keys in enumerate(spellings):
            for squeezed, runs in keys:
                index.setdefault(squeezed, []).append((pattern, position, runs))


@lru_cache(maxsize=16_384)
def _index_keys(word: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(squeezed spelling, letter runs) of each variant of a pattern word; built-in exception
    classes repeat words across patterns (the years), so this is computed once per word.
    """
    return tuple((_SQUEEZE.sub(r"\1", variant), _runs(variant)) for variant in _variants(word))


def _completions(
    edges: list[tuple[int, int, str]], hits: Callable[[str], tuple[tuple[int, int], ...]], lengths: list[int]
) -> Iterator[tuple[int, int, int]]:
    """(pattern, first atom, end atom) for every place a pattern's words follow one another
    along ``edges`` (sorted by start); the first atom is the earliest one a match there can have.
    """
    # atom position -> {(pattern, next word index): earliest atom the partial match began}
    waiting: dict[int, dict[tuple[int, int], int]] = {}
    for start, end, text in edges:
        found = hits(text)
        if not found:
            continue
        here = waiting.get(start)
        following: dict[tuple[int, int], int] | None = None
        for pattern, word in found:
            if word == 0:
                origin = start
            elif here is None:
                continue
            else:
                began = here.get((pattern, word))
                if began is None:
                    continue
                origin = began
            if word + 1 == lengths[pattern]:
                yield pattern, origin, end
            else:
                if following is None:
                    following = waiting.setdefault(end, {})
                key = (pattern, word + 1)
                if origin < following.get(key, end):
                    following[key] = origin


class Moderator:
    """A compiled term list. Build once per term list (see ``moderator_for``), check many."""

    def __init__(self, terms: Iterable[Any]) -> None:
        self._compile(tuple(_spec_of(item) for item in terms), builtin_exceptions=True)

    def _compile(self, specs: tuple[_TermSpec, ...], *, builtin_exceptions: bool) -> None:
        self._terms: tuple[_TermSpec, ...] = specs
        self._ranks: tuple[int, ...] = tuple(SEVERITY_RANK[severity] for _, _, severity, _ in specs)
        # A term's pattern is its words; a multi-word term has a second one, the words run
        # together ("childporn"), which also covers hashtags and spelled-out text.
        self._patterns = _Patterns(inflections=True)
        self._exceptions = _Patterns(inflections=False)
        guarded: list[bool] = []
        for term_index, (term, _, _, own) in enumerate(specs):
            words = _term_words(term)
            for pattern in [words] if len(words) <= 1 else [words, ["".join(words)]]:
                self._patterns.add(term_index, [(word,) for word in pattern])
            exceptions = [*map(_literal_positions, dict.fromkeys(own))]
            if builtin_exceptions:
                exceptions.extend(_builtin_positions(term))
            for positions in exceptions:
                self._exceptions.add(term_index, positions)
            guarded.append(bool(exceptions))
        # Terms with exceptions: their matches wait for the exception pass before they count.
        self._guarded: tuple[bool, ...] = tuple(guarded)
        self._memo: dict[str, tuple[tuple[int, int], ...]] = {}
        self._exception_memo: dict[str, tuple[tuple[int, int], ...]] = {}

    def check(self, prompt: str) -> Match | None:
        """The most severe match in ``prompt``, or ``None`` when it is clean.

        Known limits (deliberate trade-offs against false positives or cost):
        a word split by a space in the middle ("mur der") is not rejoined unless every letter
        stands alone ("m u r d e r"); a term glued to other letters ("iwanttokill", scripts
        written without spaces) is not found; at most 16 leet readings are tried per word;
        a letter doubled (not tripled) inside an inflected word ("kiilled") is read as English
        spelling and not matched; only the listed suffixes count as inflections ("murderous",
        "suicidal" and irregular forms do not match); look-alike mapping covers a common table,
        not all of Unicode's confusables.
        Exceptions read only the words of their phrase: a title or idiom is cleared only next to
        the words listed with it ("Kill Bill poster", but not "Kill Bill, Uma Thurman on a
        motorbike", which is refused), and what surrounds a cleared phrase is judged by the
        other terms alone, so a cleared phrase can carry words the list does not name
        ("killer whale" clears the "killer" of "a killer whale ramming a boat"; "ramming" is no
        term). Neither is a parser: "dressed to kill, her ex" is cleared by its comma.
        """
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        atoms: list[str] = []
        # (first atom, end atom, text): every way of reading a stretch of the prompt as a word.
        edges: list[tuple[int, int, str]] = []
        chunks = _normalise(prompt).split()
        for chunk in chunks:
            pieces = _atoms(chunk)
            first = len(atoms)
            for piece in pieces:
                edges.append((len(atoms), len(atoms) + 1, piece))
                atoms.append(piece)
            if len(pieces) > 1:  # "k.i.l.l", "mur-der", "child-porn"
                edges.append((first, len(atoms), "".join(pieces)))
        self._add_spelled_out(atoms, edges)
        if not edges:
            return None
        edges.sort(key=itemgetter(0))  # spelled-out edges were appended late; sort is stable
        return self._best(edges, chunks)

    @staticmethod
    def _add_spelled_out(atoms: list[str], edges: list[tuple[int, int, str]]) -> None:
        """Edges for runs of one-character atoms ("k i l l", "k. i. l. l.")."""
        count = len(atoms)
        index = 0
        while index < count:
            if len(atoms[index]) != 1:
                index += 1
                continue
            end = index
            while end < count and len(atoms[end]) == 1:
                end += 1
            if end - index >= 2:
                # Let the spelled-out word shed up to two neighbouring one-letter English words
                # ("a k i l l e r") without scanning every sub-run, which would be quadratic.
                starts = [index]
                while len(starts) < 3 and end - starts[-1] > 2 and atoms[starts[-1]] in _SPELLING_NEIGHBOURS:
                    starts.append(starts[-1] + 1)
                ends = [end]
                while len(ends) < 3 and ends[-1] - index > 2 and atoms[ends[-1] - 1] in _SPELLING_NEIGHBOURS:
                    ends.append(ends[-1] - 1)
                for start in starts:
                    for stop in ends:
                        if stop - start >= 2:
                            edges.append((start, stop, "".join(atoms[start:stop])))
            index = end

    def _best(self, edges: list[tuple[int, int, str]], chunks: list[str]) -> Match | None:
        best: tuple[int, int, int] | None = None  # (-rank, first atom, term index): min wins
        guarded: list[tuple[tuple[int, int, int], int]] = []  # (candidate, end atom)
        owner, ranks = self._patterns.owner, self._ranks
        for pattern, origin, end in _completions(edges, self._hits, self._patterns.length):
            term = owner[pattern]
            candidate = (-ranks[term], origin, term)
            if self._guarded[term]:
                guarded.append((candidate, end))
            elif best is None or candidate < best:
                best = candidate
        if guarded:
            guarded.sort()
            if best is None or guarded[0][0] < best:
                # Only now, and only for prompts where it can change the verdict, find where
                # exceptions stand: most prompts never pay for this second pass.
                cleared = self._cleared(edges, chunks, {candidate[2] for candidate, _ in guarded})
                for candidate, end in guarded:
                    if best is not None and candidate >= best:
                        break
                    if not cleared(candidate[2], candidate[1], end):
                        best = candidate
                        break
        if best is None:
            return None
        text, category, severity, _ = self._terms[best[2]]
        return Match(term=text, category=category, severity=severity)

    def _cleared(self, edges: list[tuple[int, int, str]], chunks: list[str], terms: set[int]) -> Callable[[int, int, int], bool]:
        """A test of whether a match of a term spanning atoms [first, end) lies inside one of
        that term's exceptions in the prompt.
        """
        # A clause end (after a chunk ending in punctuation, and at the end of the prompt) is an
        # empty edge that only "$" matches. Found here, not in ``check``: most prompts never
        # need them. Sorting is stable, so one follows the edges that start where it stands;
        # the ones ending there, which it continues, come earlier anyway.
        clause_ends: list[tuple[int, int, str]] = []
        position = 0
        for chunk in chunks:
            position += 1 if chunk.isalpha() else len(_atoms(chunk))
            if not chunk[-1].isalnum():
                clause_ends.append((position, position, _CLAUSE_END))
        clause_ends.append((position, position, _CLAUSE_END))
        edges = sorted([*edges, *clause_ends], key=itemgetter(0))
        spans: dict[int, list[tuple[int, int]]] = {}
        owner = self._exceptions.owner
        for pattern, origin, end in _completions(edges, self._exception_hits, self._exceptions.length):
            if owner[pattern] in terms:
                spans.setdefault(owner[pattern], []).append((origin, end))
        # Per term: exception starts in order, and the furthest end reached by any exception
        # starting at or before each of them; a match is inside one iff that end covers it.
        reach: dict[int, tuple[list[int], list[int]]] = {}
        for term, found in spans.items():
            found.sort()
            furthest, ends = 0, []
            for _, end in found:
                furthest = max(furthest, end)
                ends.append(furthest)
            reach[term] = ([start for start, _ in found], ends)

        def cleared(term: int, first: int, end: int) -> bool:
            if term not in reach:
                return False
            starts, ends = reach[term]
            position = bisect.bisect_right(starts, first) - 1
            return position >= 0 and ends[position] >= end

        return cleared

    def _hits(self, text: str) -> tuple[tuple[int, int], ...]:
        """(pattern, word index) pairs of the terms that ``text``, read as one word, matches."""
        memo = self._memo
        cached = memo.get(text)
        if cached is not None:
            return cached
        found: set[tuple[int, int]] = set()
        for variant in _variants(text):
            _match_word(self._patterns, variant, found)
        return _remember(memo, text, tuple(sorted(found)))

    def _exception_hits(self, text: str) -> tuple[tuple[int, int], ...]:
        """The same for the exceptions' patterns (words matched exactly, no inflection)."""
        memo = self._exception_memo
        cached = memo.get(text)
        if cached is not None:
            return cached
        found: set[tuple[int, int]] = set()
        for variant in _variants(text):
            _match_word(self._exceptions, variant, found)
        return _remember(memo, text, tuple(sorted(found)))


def _remember(
    memo: dict[str, tuple[tuple[int, int], ...]], text: str, result: tuple[tuple[int, int], ...]
) -> tuple[tuple[int, int], ...]:
    if len(text) <= _MEMO_KEY_LIMIT:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[text] = result
    return result


def _match_word(patterns: _Patterns, word: str, found: set[tuple[int, int]]) -> None:
    collapsed = _SQUEEZE.sub(r"\1", word)
    runs: tuple[int, ...] | None = None
    entries = patterns.index.get(collapsed)
    if entries:
        runs = _runs(word)
        for pattern, position, term_runs in entries:
            if all(got >= wanted for got, wanted in zip(runs, term_runs)):
                found.add((pattern, position))
    stems = patterns.stems
    if stems is None:
        return
    for suffix in _SUFFIXES_BY_LAST.get(collapsed[-1], ()):
        stem_length = len(collapsed) - len(suffix)
        if stem_length <= 0 or not collapsed.endswith(suffix):
            continue
        stem = collapsed[:stem_length]
        entries = stems.get(stem)
        dropped_e = stems.get(stem + "e") if suffix[0] in "ei" else None
        if not entries and not dropped_e:
            continue
        if runs is None:
            runs = _runs(word)
        if not _suffix_runs_ok(runs[stem_length:]):
            continue
        for pattern, position, term_runs in entries or ():
            if _inflected_runs_ok(runs, term_runs):
                found.add((pattern, position))
        for pattern, position, term_runs in dropped_e or ():
            # raping = rap(e) + ing: the term's final "e" is absent, compare the rest.
            if term_runs[-1] == 1 and _inflected_runs_ok(runs, term_runs[:-1], doubled_end=False):
                found.add((pattern, position))


@lru_cache(maxsize=4096)
def _occurs_in(term: str, phrase: str) -> bool:
    return _single_term(term).check(phrase) is not None


@lru_cache(maxsize=1024)
def _single_term(term: str) -> Moderator:
    """A matcher of one term alone (no exceptions), compiled once per term."""
    bare = Moderator.__new__(Moderator)
    bare._compile(((term, "term", "low", ()),), builtin_exceptions=False)
    return bare


def exceptions_without_term(term: str, exceptions: Iterable[str]) -> list[str]:
    """The phrases of ``exceptions`` in which ``term`` does not occur as the matcher reads it
    (those could never clear anything: the configuration refuses them).
    """
    return [phrase for phrase in exceptions if not _occurs_in(term, phrase)]


@lru_cache(maxsize=8)
def _compiled(specs: tuple[_TermSpec, ...]) -> Moderator:
    return Moderator(specs)


# The config object is usually the very same tuple call after call: an identity check spares
# re-hashing hundreds of terms per request. Holding the tuple keeps its id from being reused.
_last: tuple[tuple[Any, ...], Moderator] | None = None


def moderator_for(terms: tuple[Any, ...]) -> Moderator:
    """A ``Moderator`` for ``terms``, compiled once per distinct term list (LRU of 8)."""
    global _last
    last = _last
    if last is not None and last[0] is terms:
        return last[1]
    moderator = _compiled(tuple(_spec_of(item) for item in terms))
    _last = (terms, moderator)
    return moderator
