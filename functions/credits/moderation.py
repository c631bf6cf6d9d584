"""Prompt moderation: find configured terms in a prompt despite the usual evasions.

What this module guarantees
---------------------------
* ``Moderator.check(prompt)`` returns ``None`` for a clean prompt, else one ``Match``: the most
  severe one (critical > high > medium > low); among equally severe matches, the one that starts
  first in the prompt; among those, the term listed first.
* Terms match whole words only. A term matches a word that is the term itself, or the term plus
  one inflection suffix (s, es, d, ed, er, ers, ing, ings; a final "e" may be dropped before a
  suffix that starts with a vowel, as in rape -> raping). A word that merely contains a term
  ("skill", "therapist", "assassin", "grape") never matches it.
* Both the prompt and every term go through the same normalisation, so a term matches however
  it is spelled in the configuration: NFKC, casefold, combining marks and format characters
  (zero-width space/joiner, soft hyphen) removed, common Cyrillic/Greek/Armenian look-alikes
  mapped to Latin, fullwidth and mathematical letters folded by NFKC.
* Evasions defeated: leetspeak (0 o, 1 i/l, 3 e, 4 a, 5 s, 7 t, @ a, $ s, ! i, | l/i), punctuation
  or invisible characters inside a word ("k.i.l.l", "mur-der", "k\\u200bill"), letters spelled
  out with spaces ("k i l l"), stretched letters ("kiiill": each letter run of the prompt is at
  least as long as the term's, so "as" never matches "ass"), and for multi-word terms any
  whitespace or punctuation between the words, or none ("child-porn", "#childporn").
* Cost: after normalisation, work is linear in the prompt length. The only regexes are
  single-character classes and ``(.)\\1*`` style run scanners, none of which can backtrack
  catastrophically. Per-word results are memoised per ``Moderator``, so repeated words are free.
* Pure standard library, no I/O, no Firebase import. Safe to share between threads: the only
  mutable state (a per-instance word memo, a module-wide character table, the last term list
  ``moderator_for`` saw) is dicts and references whose single get/set/clear operations are
  atomic under the GIL, holding values that are pure functions of their keys.

Known limits: see ``Moderator.check``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

__all__ = ["DEFAULT_TERMS", "SEVERITY_RANK", "Match", "Moderator", "moderator_for"]

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


@dataclass(frozen=True, slots=True)
class Match:
    term: str  # as configured, so operators recognise their own entry
    category: str
    severity: str  # low | medium | high | critical


# --------------------------------------------------------------------------------------------
# Character normalisation
# --------------------------------------------------------------------------------------------

# Applied after casefold + NFKD, so only lowercase, undecorated forms are needed.
_CONFUSABLES: dict[str, str] = {
    **dict(zip("авьсԁеһніјкӏморԛѕтуүѵԝѡх", "abbcdehhijklmopqstyyvwwx", strict=True)),  # Cyrillic
    **dict(zip("αβϲεγηιϳκμνορτυχω", "abceynijkuvoptuxw", strict=True)),  # Greek
    **dict(zip("հոօսց", "hnoug", strict=True)),  # Armenian
    **dict(zip("ɑƀđɡħıɩɨȷłøŧ", "abdghiiijlot", strict=True)),  # Latin letters NFKD cannot strip (stroke, hook, dotless)
}
# Letters and symbols that render as nothing; attackers use them where a Cf would be stripped.
_INVISIBLE = frozenset({0x115F, 0x1160, 0x2800, 0x3164, 0xFFA0})
# Marks carry no letter identity once decomposed; Cf are zero-width/format controls.
_DROPPED_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cf"})
# Letter-shaped emoji that NFKC leaves alone: (code point of "A", block length).
_LETTER_BLOCKS = (
    (0x1F1E6, 26),  # regional indicators
    (0x1F150, 26),  # negative circled capitals
    (0x1F170, 26),  # negative squared capitals
)
_CHARMAP_LIMIT = 50_000  # memory bound: prompts can contain any of ~150k assigned code points


class _CharMap(dict[int, "int | str | None"]):
    """A ``str.translate`` table filled on first sight of each code point (Unicode is too big
    to tabulate up front, and looking a code point up once beats categorising it per call)."""

    def __missing__(self, code: int) -> int | str | None:
        char = chr(code)
        result: int | str | None = code
        mapped = _CONFUSABLES.get(char)
        if mapped is not None:
            result = mapped
        elif code in _INVISIBLE or unicodedata.category(char) in _DROPPED_CATEGORIES:
            result = None
        else:
            for first, count in _LETTER_BLOCKS:
                if first <= code < first + count:
                    result = chr(ord("a") + code - first)
                    break
        if len(self) < _CHARMAP_LIMIT:
            self[code] = result
        return result


_CHARMAP = _CharMap()


def _normalise(text: str) -> str:
    """Fold case, compatibility forms, accents, invisibles and look-alikes (not leetspeak)."""
    if text.isascii():
        # ASCII has no marks, format characters or confusables: skip the Unicode passes.
        return text.lower()
    # NFKC first so fullwidth/mathematical letters become plain ones before casefolding;
    # casefold before NFKD because it can emit combining marks of its own (İ -> i + U+0307).
    folded = unicodedata.normalize("NFKC", text).casefold()
    return unicodedata.normalize("NFKD", folded).translate(_CHARMAP)


# --------------------------------------------------------------------------------------------
# Words: splitting, leetspeak variants, run-length forms
# --------------------------------------------------------------------------------------------

# Inside a whitespace-delimited chunk, everything that is neither a letter/digit nor a leet
# symbol separates atoms. Underscore is \w in Python, hence the explicit alternative.
_SEPARATORS = re.compile(r"(?:[^\w@$!|]|_)+")
_LEET_FIXED = str.maketrans({"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
# Each maximal run of one ambiguous character is read one way throughout ("ki11" is "kill" or
# "kiii", never "kili"): it keeps the variant count at 2 per run instead of 2 per character.
_LEET_AMBIGUOUS = re.compile(r"1+|\|+")
_EDGE_SYMBOLS = "@$!|"  # at a word's edge these are as likely punctuation ("kill!") as letters
_MAX_VARIANTS = 16

_SQUEEZE = re.compile(r"(.)\1+", re.DOTALL)
_RUN = re.compile(r"(.)\1*", re.DOTALL)

_SUFFIXES = ("s", "es", "d", "ed", "er", "ers", "ing", "ings")
_SUFFIXES_BY_LAST: dict[str, tuple[str, ...]] = {}
for _suffix in _SUFFIXES:
    _SUFFIXES_BY_LAST[_suffix[-1]] = (*_SUFFIXES_BY_LAST.get(_suffix[-1], ()), _suffix)
del _suffix

# Single-letter English words that may sit next to a spelled-out word ("a k i l l e r").
_SPELLING_NEIGHBOURS = frozenset("ai")
_MEMO_LIMIT = 100_000
_MEMO_KEY_LIMIT = 64  # longer strings are rare and would make the memo's memory unbounded


def _atoms(chunk: str) -> list[str]:
    if chunk.isalpha():
        return [chunk]
    return [piece for piece in _SEPARATORS.split(chunk) if piece]


def _leet_readings(word: str) -> Iterator[str]:
    """All readings of ``word``'s leet characters (ambiguous runs expanded)."""
    fixed = word.translate(_LEET_FIXED)
    parts: list[tuple[str, ...]] = []
    position = 0
    for run in _LEET_AMBIGUOUS.finditer(fixed):
        parts.append((fixed[position : run.start()],))
        length = run.end() - run.start()
        parts.append(("i" * length, "l" * length))
        position = run.end()
    if not parts:
        yield fixed
        return
    parts.append((fixed[position:],))
    for combination in itertools.product(*parts):
        yield "".join(combination)


def _variants(word: str) -> list[str]:
    """Candidate spellings of one word: itself if purely alphabetic, else its leet readings,
    with leading/trailing leet symbols both kept and dropped; at most ``_MAX_VARIANTS``."""
    if word.isalpha():
        return [word]
    start, end = 0, len(word)
    while start < end and word[start] in _EDGE_SYMBOLS:
        start += 1
    while end > start and word[end - 1] in _EDGE_SYMBOLS:
        end -= 1
    heads = ("", word[:start]) if start else ("",)
    tails = ("", word[end:]) if end < len(word) else ("",)
    core = word[start:end]
    seen: dict[str, None] = {}
    for head, tail in itertools.product(heads, tails):
        for reading in _leet_readings(head + core + tail):
            if reading:
                seen[reading] = None
                if len(seen) >= _MAX_VARIANTS:
                    return list(seen)
    return list(seen)


def _runs(word: str) -> tuple[int, ...]:
    return tuple(len(run.group()) for run in _RUN.finditer(word))


def _inflected_runs_ok(runs: tuple[int, ...], term_runs: tuple[int, ...], *, doubled_end: bool = True) -> bool:
    """Letter runs of a word's stem against a term's, when an inflection suffix was removed.

    Stricter than the bare-word rule (any run at least as long): an English word never triples
    a letter, so a run of 3+ is deliberate stretching; a run one longer than the term's is only
    accepted on the term's last letter, where English doubles it (stab -> stabbed). Without
    this, "rapped"/"rapping" (rap) would read as rape + d / rape - e + ing. ``doubled_end`` is
    off when ``term_runs`` lacks the term's real last letter (a dropped final "e").
    """
    last = len(term_runs) - 1 if doubled_end else -1
    for index, wanted in enumerate(term_runs):
        got = runs[index]
        if got == wanted:
            continue
        if got < wanted:
            return False
        if got < 3 and not (index == last and got == wanted + 1):
            return False
    return True


def _suffix_runs_ok(runs: tuple[int, ...]) -> bool:
    # Same reasoning: a doubled suffix letter is English ("assess" is not ass + es),
    # a tripled one is stretching.
    return all(run == 1 or run >= 3 for run in runs)


# --------------------------------------------------------------------------------------------
# Terms and the matcher
# --------------------------------------------------------------------------------------------

_TermSpec = tuple[str, str, str]  # (term, category, severity)


def _spec_of(item: Any) -> _TermSpec:
    if isinstance(item, Mapping):
        values = (item.get("term"), item.get("category"), item.get("severity"))
    elif isinstance(item, (tuple, list)) and len(item) == 3:
        values = (item[0], item[1], item[2])
    else:
        values = (
            getattr(item, "term", None),
            getattr(item, "category", None),
            getattr(item, "severity", None),
        )
    term, category, severity = values
    if not isinstance(term, str) or not term.strip():
        raise ValueError(f"moderation term must be a non-blank string, got {term!r}")
    if not isinstance(category, str) or not category:
        raise ValueError(f"moderation category must be a non-empty string, got {category!r}")
    if severity not in SEVERITY_RANK:
        raise ValueError(f"moderation severity must be one of {sorted(SEVERITY_RANK)}, got {severity!r}")
    return term, category, severity


class Moderator:
    """A compiled term list. Build once per term list (see ``moderator_for``), check many."""

    def __init__(self, terms: Iterable[Any]) -> None:
        self._terms: tuple[_TermSpec, ...] = tuple(_spec_of(item) for item in terms)
        self._ranks: tuple[int, ...] = tuple(SEVERITY_RANK[severity] for _, _, severity in self._terms)
        # A pattern is a sequence of words; a multi-word term has two: its words in order, and
        # the words run together ("childporn"), which also covers hashtags and spelled-out text.
        self._pattern_term: list[int] = []
        self._pattern_length: list[int] = []
        # collapsed word -> [(pattern, word index in pattern, letter run lengths)]
        self._index: dict[str, list[tuple[int, int, tuple[int, ...]]]] = {}
        for term_index, (term, _, _) in enumerate(self._terms):
            words = [atom for chunk in _normalise(term).split() for atom in _atoms(chunk)]
            patterns = [words] if len(words) <= 1 else [words, ["".join(words)]]
            for pattern in patterns:
                self._add_pattern(term_index, pattern)
        self._memo: dict[str, tuple[tuple[int, int], ...]] = {}

    def _add_pattern(self, term_index: int, words: list[str]) -> None:
        spellings = [_variants(word) for word in words]
        if not words or not all(spellings):
            return  # e.g. a term made only of punctuation: nothing a prompt could spell
        pattern = len(self._pattern_term)
        self._pattern_term.append(term_index)
        self._pattern_length.append(len(words))
        for position, variants in enumerate(spellings):
            for variant in variants:
                entry = (pattern, position, _runs(variant))
                self._index.setdefault(_SQUEEZE.sub(r"\1", variant), []).append(entry)

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
        """
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        atoms: list[str] = []
        # (first atom, end atom, text): every way of reading a stretch of the prompt as a word.
        edges: list[tuple[int, int, str]] = []
        for chunk in _normalise(prompt).split():
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
        return self._best(edges)

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

    def _best(self, edges: list[tuple[int, int, str]]) -> Match | None:
        best: tuple[int, int, int] | None = None  # (-rank, first atom, term index): min wins
        # atom position -> {(pattern, next word index): earliest atom the partial match began}
        waiting: dict[int, dict[tuple[int, int], int]] = {}
        for start, end, text in edges:
            hits = self._hits(text)
            if not hits:
                continue
            here = waiting.get(start)
            for pattern, word in hits:
                if word == 0:
                    origin = start
                else:
                    if here is None or (pattern, word) not in here:
                        continue
                    origin = here[(pattern, word)]
                if word + 1 == self._pattern_length[pattern]:
                    term = self._pattern_term[pattern]
                    candidate = (-self._ranks[term], origin, term)
                    if best is None or candidate < best:
                        best = candidate
                else:
                    following = waiting.setdefault(end, {})
                    key = (pattern, word + 1)
                    if origin < following.get(key, end):
                        following[key] = origin
        if best is None:
            return None
        text, category, severity = self._terms[best[2]]
        return Match(term=text, category=category, severity=severity)

    def _hits(self, text: str) -> tuple[tuple[int, int], ...]:
        """(pattern, word index) pairs that ``text``, read as one word, matches."""
        memo = self._memo
        cached = memo.get(text)
        if cached is not None:
            return cached
        found: set[tuple[int, int]] = set()
        for variant in _variants(text):
            self._match_word(variant, found)
        result = tuple(sorted(found))
        if len(text) <= _MEMO_KEY_LIMIT:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[text] = result
        return result

    def _match_word(self, word: str, found: set[tuple[int, int]]) -> None:
        index = self._index
        collapsed = _SQUEEZE.sub(r"\1", word)
        runs: tuple[int, ...] | None = None
        entries = index.get(collapsed)
        if entries:
            runs = _runs(word)
            for pattern, position, term_runs in entries:
                if all(got >= wanted for got, wanted in zip(runs, term_runs)):
                    found.add((pattern, position))
        for suffix in _SUFFIXES_BY_LAST.get(collapsed[-1], ()):
            stem_length = len(collapsed) - len(suffix)
            if stem_length <= 0 or not collapsed.endswith(suffix):
                continue
            stem = collapsed[:stem_length]
            entries = index.get(stem)
            dropped_e = index.get(stem + "e") if suffix[0] in "ei" else None
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
