"""The category rules: what a prompt asks for, judged by what co-occurs in it.

``scan(prompt)`` reads the prompt once into words and finds where each feature of the lexicon
(``lexicon.FEATURES``) stands; ``classify(prompt)`` applies the rules below and returns the
categories that fire, most serious first (``CATEGORIES`` order). A single word never decides
but for unambiguous phrases ("child porn", "kys", "heil hitler", a slur):

* ``sexual_minors``: an age or school marker (including ages under 18 written as numbers or
  words, "12 year old", "fifteen-year-old", "12yo", "teen", "schoolgirl") near a sexual or
  suggestive term, or an undressing request;
* ``real_people``: a real, identifiable person (a role such as "politician", "my coworker", or a
  well-known name) near a sexual term, an undressing or deepfake request, or a fake photo of
  them in a compromising situation; a deepfake request on its own;
* ``sexual``: an explicit sexual term; a weaker one ("nude", "naked") outside an art context;
* ``weapons``: a dangerous agent (explosives, napalm, chemical, biological or nuclear agents,
  untraceable guns) near a synthesis, build or acquisition verb;
* ``threats``: a first-person intent, then a harm verb, then a person or a place;
* ``self_harm``: encouraging someone to harm themselves; asking how to harm oneself (not
  prevention or awareness);
* ``hate``: slurs, dehumanising a group, calls to exterminate a group, extremist slogans;
* ``malware_fraud``: building malware or a phishing page, stealing credentials, carding, scams
  (not detecting, removing or teaching about them);
* ``drugs``: a drug near a synthesis, cook or acquisition verb;
* ``harassment``: doxxing, abuse or humiliation aimed at a person;
* ``violence``: graphic violence or gore (not a murder mystery, a museum, Halloween make-up).

"Near" is within ``WINDOW`` words, so a long prompt is judged sentence by sentence rather than
by words scattered across pages.

Cost: linear in the prompt's length. The per-chunk readings are memoised (bounded), so a warm
instance pays a dict lookup for most words; co-occurrence is found with sorted positions and
binary search (no quadratic pairing, however many hits a prompt repeats). No regex can
backtrack: the only ones are run squeezers. Pure standard library; thread-safe (memos are plain
dicts whose single operations are atomic under the GIL, holding values that are pure functions
of their keys).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from credits.moderation.lexicon import FEATURES, MASKS
from credits.moderation.normalise import atoms, normalise, variants

Category = Literal[
    "sexual_minors",
    "real_people",
    "sexual",
    "weapons",
    "threats",
    "self_harm",
    "hate",
    "malware_fraud",
    "drugs",
    "harassment",
    "violence",
]
# Most serious first: when a prompt fires several rules, the verdict names the first.
CATEGORIES: Final[tuple[Category, ...]] = (
    "sexual_minors",
    "real_people",
    "weapons",
    "threats",
    "self_harm",
    "hate",
    "malware_fraud",
    "drugs",
    "harassment",
    "violence",
    "sexual",
)
WINDOW = 12  # words: how close two features must stand to count as one request
_SHORT = 6
_TARGET = 5  # a harm verb's object: "kill my boss", "put a bullet in my boss's head"

_STRETCH = re.compile(r"(.)\1{2,}")
_SUFFIXES = ("s", "es", "ed", "d", "ing", "ings", "ly")  # not -er: a "killer workout" is no act
_MEMO_LIMIT = 50_000
_MEMO_KEY_LIMIT = 48
_MASK = "@mask"


# ------------------------------------------------------------------ the compiled lexicon


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(atom for chunk in normalise(phrase).split() for atom in atoms(chunk))


class _Lexicon:
    """Single words -> features, and phrases indexed by their first word."""

    def __init__(self, features: dict[str, tuple[str, ...]], masks: Iterable[str]) -> None:
        self.single: dict[str, set[str]] = {}
        self.phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self.vocab: set[str] = set()
        for feature, entries in features.items():
            for entry in entries:
                self._add(entry, feature)
        for mask in masks:
            self._add(mask, _MASK)
        self.longest = max((len(rest) for items in self.phrases.values() for rest, _ in items), default=0) + 1

    def _add(self, entry: str, feature: str) -> None:
        words = _words(entry)
        if not words:
            return
        self.vocab.update(words)
        if len(words) == 1:
            self.single.setdefault(words[0], set()).add(feature)
            return
        self.phrases.setdefault(words[0], []).append((words[1:], feature))
        if feature != _MASK:  # "childporn", "#killyourself"
            joined = "".join(words)
            self.vocab.add(joined)
            self.single.setdefault(joined, set()).add(feature)


_LEXICON = _Lexicon(FEATURES, MASKS)


_Follow = dict[str, tuple[tuple[tuple[str, ...], str], ...]]


@dataclass(frozen=True, slots=True)
class _Word:
    """One prompt word as the rules read it: the lexicon forms it can be, their features, and
    the phrases it can start, indexed by their second word (so a common first word such as
    "the" costs one lookup of the next word, not one check per phrase).
    """

    forms: frozenset[str]
    features: tuple[str, ...]
    follow: _Follow | None
    interesting: bool


_NOTHING = _Word(frozenset(), (), None, False)


def _forms(atom: str) -> frozenset[str]:
    """The lexicon words ``atom`` can be read as: leet readings, stretched letters squeezed,
    a regular inflection removed ("killing" -> kill, "stabbed" -> stab, "raping" -> rape).
    """
    vocab = _LEXICON.vocab
    readings = {atom, *variants(atom)} if not atom.isalpha() else {atom}
    for reading in list(readings):
        if _STRETCH.search(reading):
            readings.add(_STRETCH.sub(r"\1", reading))
            readings.add(_STRETCH.sub(r"\1\1", reading))
    found = {reading for reading in readings if reading in vocab}
    for reading in readings:
        for suffix in _SUFFIXES:
            if len(reading) > len(suffix) + 2 and reading.endswith(suffix):
                stem = reading[: -len(suffix)]
                for candidate in (stem, stem + "e", stem[:-1] if stem[-1:] == stem[-2:-1] else ""):
                    if candidate and candidate in vocab:
                        found.add(candidate)
    return frozenset(found)


def _word(atom: str, extra: Iterable[str] = ()) -> _Word:
    forms = _forms(atom)
    features: set[str] = set(extra)
    follow: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for form in forms:
        features.update(_LEXICON.single.get(form, ()))
        for rest, feature in _LEXICON.phrases.get(form, ()):
            follow.setdefault(rest[0], []).append((rest[1:], feature))
    if not forms and not features:
        return _NOTHING
    merged = {second: tuple(dict.fromkeys(items)) for second, items in follow.items()} or None
    return _Word(forms, tuple(sorted(features)), merged, bool(features or merged))


# A chunk as the scanner reads it: its words, the (offset, feature) pairs they carry, the
# offsets of those that may start a phrase, and whether it is a lone letter ("k" of "k y s").
_Chunk = tuple[tuple[_Word, ...], tuple[tuple[int, str], ...], tuple[int, ...], bool]
_chunk_memo: dict[str, _Chunk] = {}


def _chunk_words(chunk: str) -> tuple[_Word, ...]:
    """The words of one whitespace-delimited chunk ("child-porn," -> child, porn; "n.u.d.e" -> nude)."""
    pieces = atoms(chunk)
    if len(pieces) > 2 and all(len(piece) == 1 for piece in pieces):
        pieces = ["".join(pieces)]
    words = tuple(_word(piece) for piece in pieces)
    if len(pieces) > 1:
        joined = _word("".join(pieces))  # "childporn" spelled "child-porn"
        if joined.features:
            words = (_word(pieces[0], joined.features), *words[1:])
    return words


def _chunk(chunk: str) -> _Chunk:
    """``chunk`` read once, remembered (bounded) for the next prompt that has it."""
    cached = _chunk_memo.get(chunk)
    if cached is not None:
        return cached
    words = _chunk_words(chunk)
    events = tuple((offset, feature) for offset, word in enumerate(words) for feature in word.features)
    starts = tuple(offset for offset, word in enumerate(words) if word.follow is not None)
    entry: _Chunk = (words, events, starts, len(chunk) == 1 and chunk.isalpha())
    if len(chunk) <= _MEMO_KEY_LIMIT:
        if len(_chunk_memo) >= _MEMO_LIMIT:
            _chunk_memo.clear()
        _chunk_memo[chunk] = entry
    return entry


# ------------------------------------------------------------------ scanning


@dataclass(frozen=True)
class Scan:
    """Where each feature stands in a prompt (sorted word positions), masks applied."""

    positions: dict[str, list[int]]
    length: int

    def has(self, feature: str) -> bool:
        """Whether the feature occurs anywhere."""
        return feature in self.positions

    def near(self, first: str, second: str, window: int = WINDOW) -> bool:
        """Whether some occurrence of ``first`` stands within ``window`` words of one of ``second``."""
        a, b = self.positions.get(first), self.positions.get(second)
        if not a or not b:
            return False
        for position in a:
            index = bisect.bisect_left(b, position - window)
            if index < len(b) and b[index] <= position + window:
                return True
        return False

    def chain(self, first: str, second: str, third: str, window: int = WINDOW, reach: int | None = None) -> bool:
        """``first``, then ``second`` within ``window`` words after it, then ``third`` within
        ``reach`` words after that (default ``window``): an intent, a harm verb, its target.
        """
        reach = window if reach is None else reach
        a, b, c = self.positions.get(first), self.positions.get(second), self.positions.get(third)
        if not a or not b or not c:
            return False
        for middle in b:
            index = bisect.bisect_left(a, middle - window)
            if index >= len(a) or a[index] >= middle:
                continue
            after = bisect.bisect_right(c, middle)
            if after < len(c) and c[after] <= middle + reach:
                return True
        return False


def scan(prompt: str) -> Scan:
    """Read ``prompt`` into words and find every feature (see the module docstring)."""
    words: list[_Word] = []
    positions: dict[str, list[int]] = {}
    masked: list[tuple[int, int]] = []
    starts: list[int] = []
    letters: list[str] = []  # a run of one-letter chunks: "k y s"
    memo_get = _chunk_memo.get
    for text in normalise(prompt).split():
        entry = memo_get(text)
        if entry is None:
            entry = _chunk(text)
        if entry[3]:
            letters.append(text)
            continue
        if letters:
            _add(_letters(letters), words, positions, masked, starts)
            letters = []
        if entry[1] or entry[2]:
            _add(entry, words, positions, masked, starts)
        else:
            words += entry[0]
    if letters:
        _add(_letters(letters), words, positions, masked, starts)
    count = len(words)
    spans: dict[tuple[str, int], int] = {}  # (feature, start) -> end, for phrases only
    for index in starts:
        follow = words[index].follow
        if follow is None or index + 1 >= count:
            continue
        for second in words[index + 1].forms:
            for rest, feature in follow.get(second, ()):
                end = index + 2 + len(rest)
                if end > count:
                    continue
                if not rest or all(expected in words[index + 2 + offset].forms for offset, expected in enumerate(rest)):
                    if feature == _MASK:
                        masked.append((index, end))
                    else:
                        positions.setdefault(feature, []).append(index)
                        spans[feature, index] = max(end, spans.get((feature, index), end))
    if masked:
        positions = _unmasked(positions, spans, masked, count)
    for found in positions.values():
        found.sort()
    return Scan(positions, count)


def _add(
    entry: _Chunk, words: list[_Word], positions: dict[str, list[int]], masked: list[tuple[int, int]], starts: list[int]
) -> None:
    """Append a chunk's words, and record its features and phrase starts at their positions."""
    base = len(words)
    words += entry[0]
    for offset, feature in entry[1]:
        if feature == _MASK:
            masked.append((base + offset, base + offset + 1))
        else:
            positions.setdefault(feature, []).append(base + offset)
    starts.extend(base + offset for offset in entry[2])


def _letters(letters: list[str]) -> _Chunk:
    """A run of one-letter chunks: spelled out ("k y s" -> kys) from three letters, else as they are."""
    if len(letters) >= 3:
        return _chunk("".join(letters))
    parts = [_chunk(letter) for letter in letters]
    words = tuple(word for part in parts for word in part[0])
    events = tuple((offset, feature) for offset, word in enumerate(words) for feature in word.features)
    starts = tuple(offset for offset, word in enumerate(words) if word.follow is not None)
    return (words, events, starts, False)


def _unmasked(
    positions: dict[str, list[int]], spans: dict[tuple[str, int], int], masked: list[tuple[int, int]], count: int
) -> dict[str, list[int]]:
    """Occurrences not wholly inside a mask: a word inside "murder mystery" counts for nothing,
    but a phrase that runs past one still counts ("dressed to kill yourself" is "kill yourself").
    """
    hidden = bytearray(count)
    for start, end in masked:
        hidden[start:end] = b"\x01" * (end - start)
    kept: dict[str, list[int]] = {}
    for feature, found in positions.items():
        left = [p for p in found if not hidden[p] or not all(hidden[p : spans.get((feature, p), p + 1)])]
        if left:
            kept[feature] = left
    return kept


# ------------------------------------------------------------------ the rules


def _sexual_minors(s: Scan) -> bool:
    if s.has("sexual_minors_direct"):
        return True
    return any(s.near("minor", feature) for feature in ("sexual_strong", "sexual_weak", "suggestive", "sexual_abbrev", "undress"))


def _real_people(s: Scan) -> bool:
    if s.has("deepfake") and not s.has("defense_context"):
        return True
    if not s.has("real_person"):
        return False
    if any(s.near("real_person", feature) for feature in ("sexual_strong", "sexual_weak", "suggestive", "undress", "deepfake")):
        return True
    if s.near("real_person", "fake_media"):
        return True
    # "a realistic photo of <politician> getting arrested": a depiction of them compromised.
    return s.near("real_person", "compromising") and s.has("depiction")


def _sexual(s: Scan) -> bool:
    if s.has("sexual_strong"):
        return True
    return s.has("sexual_weak") and not s.has("art_context")


def _weapons(s: Scan) -> bool:
    if not s.has("weapon_agent"):
        return False
    strong = any(s.near("weapon_agent", feature, _SHORT + 2) for feature in ("produce", "howto"))
    if strong:
        return True
    # Buying a gun is legal in many places: acquisition counts only for the dangerous agents.
    return s.near("weapon_agent", "acquire", _SHORT) and not _only_weak(s)


def _only_weak(s: Scan) -> bool:
    agents = set(s.positions.get("weapon_agent", ()))
    return agents <= set(s.positions.get("weapon_weak", ()))


def _threats(s: Scan) -> bool:
    if s.has("threat_direct"):
        return True
    if not s.has("intent"):
        return False
    # A first-person intent, a harm verb within a sentence after it, its target right after that.
    if s.chain("intent", "harm_strong", "target", WINDOW, _TARGET):
        return True
    if not s.has("photo_context") and s.chain("intent", "harm_shoot", "target", WINDOW, _TARGET):
        return True
    return s.chain("intent", "harm_weak", "target", WINDOW, _TARGET) and s.near("harm_weak", "violent_marker", _SHORT + 2)


def _self_harm(s: Scan) -> bool:
    if s.has("self_harm_encourage"):
        return True
    if s.has("prevention_context"):
        return False
    # "kill myself" asks on its own; "suicide" or "overdose" only with a how-to beside it.
    if s.has("self_harm_self"):
        return True
    return any(s.near("self_harm_topic", feature) for feature in ("howto", "intent", "glorify"))


def _hate(s: Scan) -> bool:
    if s.has("slur"):
        return True
    if s.has("history_context"):
        return False
    if s.has("hate_direct"):
        return True
    if not s.has("group"):
        return False
    return s.near("group", "dehumanize") or s.near("group", "eliminate")


def _malware_fraud(s: Scan) -> bool:
    defended = s.has("defense_context")
    if s.has("fraud_direct") and not defended:
        return True
    if defended:
        return False
    if s.near("steal", "credential", _SHORT):
        return True
    return s.near("malware", "create") or s.near("fraud", "create") or (s.has("malware") and s.has("howto"))


def _drugs(s: Scan) -> bool:
    if not s.has("drug"):
        return False
    return any(s.near("drug", feature, _SHORT + 2) for feature in ("produce", "acquire"))


def _harassment(s: Scan) -> bool:
    if s.has("prevention_context"):
        return False
    if s.has("harass_direct"):
        return True
    return s.near("harass_verb", "person_target")


def _violence(s: Scan) -> bool:
    if s.has("history_context") or s.has("prevention_context") or s.has("props_context"):
        return False
    if s.has("gore"):
        return True
    return s.near("violent_act", "victim", _SHORT + 2) or s.near("violent_act", "graphic", _SHORT)


_RULES = {
    "sexual_minors": _sexual_minors,
    "real_people": _real_people,
    "weapons": _weapons,
    "threats": _threats,
    "self_harm": _self_harm,
    "hate": _hate,
    "malware_fraud": _malware_fraud,
    "drugs": _drugs,
    "harassment": _harassment,
    "violence": _violence,
    "sexual": _sexual,
}


def classify(prompt: str) -> tuple[Category, ...]:
    """The categories whose rules fire on ``prompt``, most serious first (empty: nothing)."""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    found = scan(prompt)
    if not found.positions:
        return ()
    return tuple(category for category in CATEGORIES if _RULES[category](found))


__all__ = ["CATEGORIES", "WINDOW", "Category", "Scan", "classify", "scan"]
