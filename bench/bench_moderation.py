"""Throughput of ``credits.moderation`` on a 500-term list.

    .venv/bin/python bench/bench_moderation.py [--json PATH]

Builds 500 terms (the defaults plus deterministic pseudo-words and pseudo-phrases), then checks
English-like prompts of 100, 2,000 and 20,000 characters and prints, per size, prompts per
second, mean and p99 latency. Everything is seeded, so runs differ only by machine noise.
Each size is timed twice, with the per-word memo warm (a live instance) and emptied before
every check (unseen vocabulary), for a fixed budget each: the whole run takes about 15 s.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import random
import statistics
import time
from typing import Any

from credits.moderation import DEFAULT_TERMS, Moderator

SEED = 20240601
TERM_COUNT = 500
SIZES = (100, 2_000, 20_000)
PROMPTS_PER_SIZE = {100: 400, 2_000: 60, 20_000: 12}
BUDGET_SECONDS = 2.0  # per size and memo state, after warm-up
CATEGORIES = ("violence", "weapons", "hate", "harassment", "sexual", "drugs", "spam")
SEVERITIES = ("low", "medium", "high", "critical")

# Common English words (no default term among them), so prompts look like real requests.
WORDS = """
a an the of and to in is it that for on with as at by from this be are was or not but have
image picture photo portrait painting drawing render style scene background foreground light
shadow colour color soft warm cold bright dark golden blue red green yellow purple orange white
black silver detailed realistic cinematic dramatic moody dreamy vintage modern futuristic
ancient medieval city street forest mountain river lake ocean beach desert village castle
tower bridge garden field sky cloud sunset sunrise night morning evening rain snow fog storm
cat dog horse bird dragon robot knight wizard princess astronaut sailor farmer painter child
woman man family friends crowd market cafe kitchen library museum train car boat ship plane
walking running sitting standing flying reading smiling looking holding wearing playing
under over near behind beside above between through across along into onto
high resolution sharp focus wide angle close up lens bokeh depth film grain octane unreal
engine trending artstation concept art illustration watercolor oil pencil sketch anime
please make draw show create generate imagine describe add remove keep change use
very quite rather slightly extremely beautiful lovely quiet busy empty crowded tiny huge
""".split()
PUNCTUATION = [",", ",", ".", ".", ";", ":", "!", "?", " -"]


def pseudo_word(rng: random.Random) -> str:
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    syllables = rng.randint(2, 4)
    return "".join(
        rng.choice(consonants) + rng.choice(vowels) + rng.choice(["", "", rng.choice(consonants)]) for _ in range(syllables)
    )


def build_terms(rng: random.Random) -> list[dict[str, str]]:
    terms = list(DEFAULT_TERMS)
    seen = {t["term"] for t in terms}
    while len(terms) < TERM_COUNT:
        words = [pseudo_word(rng) for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))]
        term = " ".join(words)
        if term in seen:
            continue
        seen.add(term)
        terms.append({"term": term, "category": rng.choice(CATEGORIES), "severity": rng.choice(SEVERITIES)})
    return terms


def build_prompt(rng: random.Random, length: int) -> str:
    parts: list[str] = []
    size = 0
    capitalise = True
    while size - 1 < length:  # size - 1: the joined text has one separator fewer than words
        word = rng.choice(WORDS)
        if capitalise:
            word = word.capitalize()
            capitalise = False
        if rng.random() < 0.12:
            mark = rng.choice(PUNCTUATION)
            word += mark
            capitalise = mark in ".!?"
        if rng.random() < 0.01:
            word = f"{rng.randint(2, 4096)}px"
        parts.append(word)
        size += len(word) + 1
    return " ".join(parts)[:length]


def measure(moderator: Moderator, prompts: list[str], *, cold: bool) -> dict[str, Any]:
    """Warm: the per-word memo is full, as on a live instance. Cold: it is emptied before every
    check (reaching into a private attribute: this is the worst case for unseen vocabulary)."""
    for prompt in prompts:
        moderator.check(prompt)
    timings: list[float] = []
    deadline = time.perf_counter() + BUDGET_SECONDS
    while time.perf_counter() < deadline:
        for prompt in prompts:
            if cold:
                moderator._memo.clear()
            started = time.perf_counter()
            moderator.check(prompt)
            timings.append(time.perf_counter() - started)
    timings.sort()
    total = sum(timings)
    return {
        "chars": len(prompts[0]),
        "memo": "cold" if cold else "warm",
        "prompts": len(timings),
        "prompts_per_second": len(timings) / total,
        "mean_ms": statistics.fmean(timings) * 1e3,
        "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1e3,
        "max_ms": timings[-1] * 1e3,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    args = parser.parse_args()

    rng = random.Random(SEED)
    terms = build_terms(rng)
    started = time.perf_counter()
    moderator = Moderator(terms)
    compile_ms = (time.perf_counter() - started) * 1e3

    fresh = Moderator(terms)
    first_prompt = build_prompt(random.Random(SEED + 1), 20_000)
    started = time.perf_counter()
    fresh.check(first_prompt)
    first_ms = (time.perf_counter() - started) * 1e3

    results = []
    for size in SIZES:
        prompts = [build_prompt(rng, size) for _ in range(PROMPTS_PER_SIZE[size])]
        for cold in (False, True):
            results.append(measure(moderator, prompts, cold=cold))

    print(f"{len(terms)} terms, compiled in {compile_ms:.1f} ms; first 20,000-char check on a new instance {first_ms:.1f} ms")
    print(f"{'chars':>7} {'memo':>5} {'prompts/s':>11} {'mean ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for row in results:
        print(
            f"{row['chars']:>7} {row['memo']:>5} {row['prompts_per_second']:>11,.0f}"
            f" {row['mean_ms']:>9.3f} {row['p99_ms']:>9.3f} {row['max_ms']:>9.3f}"
        )

    if args.json:
        payload = {
            "terms": len(terms),
            "compile_ms": compile_ms,
            "first_20000_ms": first_ms,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "results": results,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
