"""The moderation model evaluated like a classifier, on one split of the project's corpora.

    .venv/bin/python bench/moderation_eval.py [--split dev|test] [--show] [--json PATH] [--model terms]

Reads ``tests/data/moderation/harmful.<split>.tsv`` (``category<TAB>prompt``) and
``ordinary.<split>.tsv`` (``plain|tricky<TAB>prompt``) and judges every prompt with the
default configuration, exactly as a charge would (``credits.moderation.judge``). Prints, per
category: harmful prompts caught (refused or flagged in the right family), caught in exactly
their category, missed; ordinary prompts refused (plain and tricky apart); a confusion table
(labelled category -> verdict category, "-" for allowed); and the cost per prompt in µs.
``--show`` lists every miss and every refused ordinary prompt (use it on ``dev`` only: the
``test`` split is read to report, never to tune).

``--model terms`` judges with the former built-in term list instead (``FORMER_DEFAULT_TERMS``,
every match refused), for comparison with what came before the categories.

The split of a line is a pure function of its prompt (``split_of``): the first 32 bits of the
SHA-256 of the prompt's UTF-8 text, even -> dev, odd -> test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))

from credits.moderation import (  # noqa: E402
    CATEGORIES,
    FAMILIES,
    FORMER_DEFAULT_TERMS,
    Moderator,
    Policy,
    Verdict,
    judge as _judge,
)

DATA = ROOT / "tests" / "data" / "moderation"


def split_of(prompt: str) -> str:
    """``dev`` or ``test``: where a prompt belongs, decided by its hash alone."""
    return "dev" if int(hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0 else "test"


def read(name: str, split: str) -> list[tuple[str, str]]:
    """(label, prompt) pairs of one corpus file."""
    rows = []
    for line in (DATA / f"{name}.{split}.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip():
            label, prompt = line.split("\t", 1)
            rows.append((label, prompt))
    return rows


# The former list's own category names, in our families.
_FORMER_FAMILIES = {**FAMILIES, "terrorism": "violence"}


def _former_judge() -> Callable[[str, Policy], Verdict]:
    moderator = Moderator(FORMER_DEFAULT_TERMS)

    def check(prompt: str, policy: Policy) -> Verdict:
        del policy
        match = moderator.check(prompt)
        return Verdict("allow") if match is None else Verdict("refuse", match.category)

    return check


def evaluate(split: str, *, show: bool = False, model: str = "categories") -> dict[str, object]:
    """Judge one split; print the tables; return the figures."""
    policy = Policy()
    judge = _former_judge() if model == "terms" else _judge
    harmful = read("harmful", split)
    ordinary = read("ordinary", split)
    for _, prompt in harmful + ordinary:  # warm the memos, as on a live instance
        judge(prompt, policy)
    started = time.perf_counter()
    verdicts = [judge(prompt, policy) for _, prompt in harmful]
    plain_verdicts = [judge(prompt, policy) for _, prompt in ordinary]
    elapsed = time.perf_counter() - started
    per_prompt_us = elapsed / (len(harmful) + len(ordinary)) * 1e6

    rows: dict[str, Counter[str]] = defaultdict(Counter)
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    misses: list[tuple[str, str, str]] = []
    for (label, prompt), verdict in zip(harmful, verdicts, strict=True):
        got = verdict.category if verdict.action != "allow" else None
        confusion[label][got or "-"] += 1
        rows[label]["total"] += 1
        if got is not None and _FORMER_FAMILIES.get(got) == FAMILIES[label]:
            rows[label]["caught"] += 1
            rows[label]["exact"] += int(got == label)
        else:
            misses.append((label, got or "-", prompt))
    refused: list[tuple[str, str, str]] = []
    kinds: Counter[str] = Counter()
    for (kind, prompt), verdict in zip(ordinary, plain_verdicts, strict=True):
        kinds[kind] += 1
        if verdict.action == "refuse":
            refused.append((kind, verdict.category or "?", prompt))
            rows[verdict.category or "?"]["ordinary_refused"] += 1

    total = sum(row["total"] for row in rows.values())
    caught = sum(row["caught"] for row in rows.values())
    print(f"model: {model}")
    print(f"split {split}: {total} harmful, {len(ordinary)} ordinary ({kinds['plain']} plain, {kinds['tricky']} tricky)")
    print(f"{'category':<15}{'harmful':>8}{'caught':>8}{'exact':>7}{'missed':>8}{'rate':>8}{'ordinary refused':>18}")
    for category in CATEGORIES:
        row = rows.get(category, Counter())
        n = row["total"]
        rate = f"{row['caught'] / n:.0%}" if n else "-"
        print(
            f"{category:<15}{n:>8}{row['caught']:>8}{row['exact']:>7}{n - row['caught']:>8}{rate:>8}{row['ordinary_refused']:>18}"
        )
    refused_kinds = Counter(kind for kind, _, _ in refused)
    print(
        f"{'all':<15}{total:>8}{caught:>8}{sum(r['exact'] for r in rows.values()):>7}{total - caught:>8}"
        f"{caught / total:>8.1%}{len(refused):>18}"
    )
    print(
        f"ordinary refused: {len(refused)} of {len(ordinary)} ({len(refused) / len(ordinary):.2%});"
        f" plain {refused_kinds['plain']} of {kinds['plain']}, tricky {refused_kinds['tricky']} of {kinds['tricky']}"
    )
    print(f"cost: {per_prompt_us:.1f} µs per prompt (warm, mean over {len(harmful) + len(ordinary)} prompts)")
    columns = [*CATEGORIES, "-"]
    short = {c: c[:6] for c in columns}
    print("confusion (rows: labelled category; columns: the verdict's category, '-' allowed):")
    print(f"{'':<15}" + "".join(f"{short[c]:>7}" for c in columns))
    for category in CATEGORIES:
        print(f"{category:<15}" + "".join(f"{confusion[category][c] or '.':>7}" for c in columns))
    if show:
        for label, got, prompt in misses:
            print(f"  missed [{label} -> {got}]: {prompt}")
        for kind, category, prompt in refused:
            print(f"  refused ordinary [{kind}, {category}]: {prompt}")
    return {
        "split": split,
        "harmful": total,
        "caught": caught,
        "ordinary": len(ordinary),
        "ordinary_refused": len(refused),
        "us_per_prompt": per_prompt_us,
        "per_category": {c: dict(rows.get(c, Counter())) for c in CATEGORIES},
        "confusion": {c: dict(confusion[c]) for c in CATEGORIES},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--show", action="store_true", help="list misses and refused ordinary prompts")
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    parser.add_argument("--model", choices=("categories", "terms"), default="categories")
    args = parser.parse_args()
    figures = evaluate(args.split, show=args.show, model=args.model)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
