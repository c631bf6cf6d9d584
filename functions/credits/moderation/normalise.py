r"""Text normalisation shared by the term matcher and the category rules.

* ``normalise``: NFKC, casefold, combining marks and format characters (zero-width
  space/joiner, soft hyphen) removed, common Cyrillic/Greek/Armenian look-alikes mapped to
  Latin, letter-shaped emoji folded; ASCII takes a fast path.
* ``variants``: the leetspeak readings of one word (0 o, 1 i/l, 3 e, 4 a, 5 s, 7 t, @ a, $ s,
  ! i, | l/i), at most ``_MAX_VARIANTS``.
* ``atoms``: a whitespace-delimited chunk split at punctuation ("k.i.l.l" -> k, i, l, l).

Pure standard library; the only regexes are single-character classes and ``(.)\1*`` run
scanners, which cannot backtrack catastrophically. The character table is filled lazily and
bounded; its single dict operations are atomic under the GIL, so threads may share it.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator

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
    to tabulate up front, and looking a code point up once beats categorising it per call).
    """

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
    with leading/trailing leet symbols both kept and dropped; at most ``_MAX_VARIANTS``.
    """
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


normalise = _normalise
variants = _variants
atoms = _atoms

__all__ = ["atoms", "normalise", "variants"]
