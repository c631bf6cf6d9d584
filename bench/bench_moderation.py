"""Throughput of ``credits.moderation``: the verdict a charge computes (category rules under
the default configuration), and the configured-term matcher on a 500-term list.

    .venv/bin/python bench/bench_moderation.py [--json PATH] [--baseline FILE] [--verdict-only]

The verdict part times ``judge(prompt, Policy())`` on the same English-like prompts of 100,
2,000 and 20,000 characters, warm (a live instance: its per-chunk memo full) and cold (the
memo emptied before every check), and prints prompts per second, µs per 1,000 characters (flat
when the cost is linear in the length) and whether 2,000-character prompts reach the goal of
5,000 a second warm in one process; then adversarial prompts, one by one.

Builds 500 terms (the defaults plus deterministic pseudo-words and pseudo-phrases), then checks
English-like prompts of 100, 2,000 and 20,000 characters and prints, per size, prompts per
second, mean and p99 latency. Two families of prompts: "plain" ones, whose words hit no term,
and "near" ones, the same with an ordinary phrase containing a default term ("killer whale",
"Kill Bill poster", ...) every 30 words or so, which is where exceptions cost something.
Everything is seeded, so runs differ only by machine noise. Each size and family is timed
twice, with the per-word memos warm (a live instance) and emptied before every check (unseen
vocabulary), for a fixed budget each; then a few adversarial prompts are timed one by one.
The whole run takes about 30 s.

``--baseline FILE`` also loads an older moderation.py (``git show REV:functions/credits/moderation.py
> /tmp/moderation_old.py``) and times both versions on the same prompts, alternating between
them in four slices per row, so that a busy machine slows both alike; it prints the ratio of
their throughputs (current / baseline) per row.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import platform
import random
import statistics
import sys
import time
from typing import Any

from credits.moderation import Policy, categories as category_rules, judge
from credits.moderation.terms import DEFAULT_TERMS, Moderator

SEED = 20240601
TERM_COUNT = 500
SIZES = (100, 2_000, 20_000)
PROMPTS_PER_SIZE = {100: 400, 2_000: 60, 20_000: 12}
BUDGET_SECONDS = 1.0  # per size, family, memo state and version, after warm-up
SLICES = 4  # the budget is spent in this many slices, alternating between versions
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
# Ordinary phrases that contain a default term (written here, not imported, so that an older
# version of the module without exceptions can be timed on the very same prompts).
NEAR_MISSES = [
    "a pod of killer whales", "Kill Bill poster", "a murder of crows", "suicide doors", "dressed to kill,",
    "a comedian killing it on stage", "The Killers album", "oilseed rape fields", "killer heels",
    "Murder on the Orient Express", "the suicide squeeze", "spare me the gory details",
]  # fmt: skip
ADVERSARIAL = {
    "spelled-out run of 10,000 letters": "k " * 10_000,
    "one chunk of 14,000 atoms": "a.b" * 7_000,
    "ambiguous leet everywhere": "1|" * 10_000,
    "one 20,000-letter word": "x" * 20_000,
    "20,000 invisible characters": "\u200b" * 20_000,
    "1,500 cleared phrases": "killer whale " * 1_500,
    "5,000 words that start exceptions": "the " * 5_000,
    "2,000 matches of a term with exceptions": "kill " * 2_000,
}


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


def build_prompt(rng: random.Random, length: int, *, near: bool = False) -> str:
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
        if near and rng.random() < 1 / 30:
            word = rng.choice(NEAR_MISSES)
        parts.append(word)
        size += len(word) + 1
    return " ".join(parts)[:length]


def load_baseline(path: pathlib.Path) -> Any:
    """An older moderation.py as a module of its own (it imports only the standard library)."""
    spec = importlib.util.spec_from_file_location("baseline_moderation", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _memos(moderator: Any) -> list[dict[str, Any]]:
    return [getattr(moderator, name) for name in ("_memo", "_exception_memo") if hasattr(moderator, name)]


def measure(versions: dict[str, Any], prompts: list[str], *, family: str, cold: bool) -> dict[str, dict[str, Any]]:
    """Warm: the per-word memos are full, as on a live instance. Cold: they are emptied before
    every check (reaching into private attributes: the worst case for unseen vocabulary)."""
    timings: dict[str, list[float]] = {label: [] for label in versions}
    for moderator in versions.values():
        for prompt in prompts:
            moderator.check(prompt)
    for _ in range(SLICES):
        for label, moderator in versions.items():
            memos = _memos(moderator)
            deadline = time.perf_counter() + BUDGET_SECONDS / SLICES
            while time.perf_counter() < deadline:
                for prompt in prompts:
                    if cold:
                        for memo in memos:
                            memo.clear()
                    started = time.perf_counter()
                    moderator.check(prompt)
                    timings[label].append(time.perf_counter() - started)
    results = {}
    for label, found in timings.items():
        found.sort()
        results[label] = {
            "chars": len(prompts[0]),
            "family": family,
            "memo": "cold" if cold else "warm",
            "prompts": len(found),
            "prompts_per_second": len(found) / sum(found),
            "mean_ms": statistics.fmean(found) * 1e3,
            "p99_ms": found[min(len(found) - 1, int(len(found) * 0.99))] * 1e3,
            "max_ms": found[-1] * 1e3,
        }
    return results


def best_ms(action: Any, repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append((time.perf_counter() - started) * 1e3)
    return min(runs)


GOAL_PER_SECOND = 5_000  # prompts of 2,000 characters, warm, one process
VERDICT_ADVERSARIAL = {
    **ADVERSARIAL,
    "4,000 harm verbs": "kill " * 4_000,
    "1,200 first-person threats": "i will kill you " * 1_200,
    "1,800 minor markers beside sexual terms": "child nude " * 1_800,
    "2,000 masked phrases": "murder mystery " * 1_300,
}


def measure_verdict() -> dict[str, Any]:
    """``judge`` under the default policy, per size and family, warm and cold (best of slices)."""
    policy = Policy()
    rows = []
    for size in SIZES:
        for family in ("plain", "near"):
            family_rng = random.Random(f"{SEED}-{size}-{family}")
            prompts = [build_prompt(family_rng, size, near=family == "near") for _ in range(PROMPTS_PER_SIZE[size])]
            for cold in (False, True):
                for prompt in prompts:
                    judge(prompt, policy)
                best = 0.0
                timings: list[float] = []
                for _ in range(SLICES):
                    count, spent = 0, 0.0
                    deadline = time.perf_counter() + BUDGET_SECONDS / SLICES
                    while time.perf_counter() < deadline:
                        for prompt in prompts:
                            if cold:
                                category_rules._chunk_memo.clear()
                            started = time.perf_counter()
                            judge(prompt, policy)
                            elapsed = time.perf_counter() - started
                            timings.append(elapsed)
                            spent += elapsed
                            count += 1
                    best = max(best, count / spent)
                timings.sort()
                rows.append(
                    {
                        "chars": size,
                        "family": family,
                        "memo": "cold" if cold else "warm",
                        "prompts_per_second": best,  # the least disturbed slice: the machine is shared
                        "us_per_1000_chars": 1e9 / best / size,
                        "p99_ms": timings[int(len(timings) * 0.99)] * 1e3,
                    }
                )
    adversarial = {}
    for name, prompt in VERDICT_ADVERSARIAL.items():

        def check(prompt: str = prompt) -> None:
            category_rules._chunk_memo.clear()
            judge(prompt, policy)

        adversarial[name] = best_ms(check)
    return {"rows": rows, "adversarial_ms": adversarial}


def print_verdict(figures: dict[str, Any]) -> None:
    print("verdict (category rules, default configuration):")
    print(f"{'chars':>7} {'family':>6} {'memo':>5} {'prompts/s':>11} {'µs/1k chars':>12} {'p99 ms':>8}")
    for row in figures["rows"]:
        print(
            f"{row['chars']:>7} {row['family']:>6} {row['memo']:>5} {row['prompts_per_second']:>11,.0f}"
            f" {row['us_per_1000_chars']:>12.1f} {row['p99_ms']:>8.3f}"
        )
    warm = [r for r in figures["rows"] if r["chars"] == 2_000 and r["memo"] == "warm"]
    slowest = min(r["prompts_per_second"] for r in warm)
    verdict = "met" if slowest >= GOAL_PER_SECOND else "NOT met"
    print(f"goal: >= {GOAL_PER_SECOND:,} prompts of 2,000 characters a second warm: {slowest:,.0f} ({verdict})")
    print("adversarial prompts, memo emptied, best of 3 (ms):")
    for name, ms in figures["adversarial_ms"].items():
        print(f"  {name:<42} {ms:>7.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    parser.add_argument("--baseline", type=pathlib.Path, help="an older moderation.py to compare with, in the same run")
    parser.add_argument("--verdict-only", action="store_true", help="time only the verdict, not the 500-term list")
    args = parser.parse_args()

    verdict = measure_verdict()
    print_verdict(verdict)
    if args.verdict_only:
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"verdict": verdict}, indent=2) + "\n")
        return 0

    modules: dict[str, Any] = {"current": sys.modules[Moderator.__module__]}
    if args.baseline:
        modules = {"baseline": load_baseline(args.baseline), **modules}

    rng = random.Random(SEED)
    terms = build_terms(rng)
    first_prompt = build_prompt(random.Random(SEED + 1), 20_000)
    compile_ms: dict[str, float] = {}
    first_ms: dict[str, float] = {}
    versions: dict[str, Any] = {}
    for label, module in modules.items():
        started = time.perf_counter()
        versions[label] = module.Moderator(terms)
        compile_ms[label] = (time.perf_counter() - started) * 1e3
        fresh = module.Moderator(terms)
        first_ms[label] = best_ms(lambda fresh=fresh: fresh.check(first_prompt), repeat=1)

    rows = []
    for size in SIZES:
        for family in ("plain", "near"):
            family_rng = random.Random(f"{SEED}-{size}-{family}")
            prompts = [build_prompt(family_rng, size, near=family == "near") for _ in range(PROMPTS_PER_SIZE[size])]
            for cold in (False, True):
                rows.append(measure(versions, prompts, family=family, cold=cold))

    adversarial: dict[str, dict[str, float]] = {}
    defaults = {label: module.Moderator(module.DEFAULT_TERMS) for label, module in modules.items()}
    for name, prompt in ADVERSARIAL.items():
        adversarial[name] = {}
        for label, moderator in defaults.items():

            def check(moderator: Any = moderator, prompt: str = prompt) -> None:
                for memo in _memos(moderator):
                    memo.clear()
                moderator.check(prompt)

            adversarial[name][label] = best_ms(check)

    for label, module in modules.items():
        print(
            f"{label}: {module.__file__}: {len(terms)} terms compiled in {compile_ms[label]:.1f} ms;"
            f" first 20,000-char check on a new instance {first_ms[label]:.1f} ms"
        )
    labels = list(modules)
    header = f"{'chars':>7} {'family':>6} {'memo':>5}" + "".join(f" {label + ' p/s':>14}" for label in labels)
    if args.baseline:
        header += f" {'ratio':>6}"
    print(header + f" {'mean ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for row in rows:
        current = row["current"]
        line = f"{current['chars']:>7} {current['family']:>6} {current['memo']:>5}"
        line += "".join(f" {row[label]['prompts_per_second']:>14,.0f}" for label in labels)
        if args.baseline:
            line += f" {current['prompts_per_second'] / row['baseline']['prompts_per_second']:>6.2f}"
        print(line + f" {current['mean_ms']:>9.3f} {current['p99_ms']:>9.3f} {current['max_ms']:>9.3f}")
    print("adversarial prompts, default list, memos emptied, best of 3 (ms):")
    for name, by_label in adversarial.items():
        print(f"  {name:<42}" + "".join(f" {label} {by_label[label]:>7.1f}" for label in labels))

    if args.json:
        payload = {
            "terms": len(terms),
            "compile_ms": compile_ms,
            "first_20000_ms": first_ms,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "results": rows,
            "adversarial_ms": adversarial,
            "verdict": verdict,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
