"""False positives and catches of the former default term list, measured on fixed corpora.

    .venv/bin/python bench/moderation_false_positives.py [--quiet] [--functions DIR] [--categories]

``--categories`` measures the category rules (``judge`` under the default configuration, as a
charge decides) on the same corpora instead, for comparison with the term list.

Reads, one prompt per line (blank lines ignored):
  tests/data/ordinary_prompts.txt          ordinary creative prompts: none should be refused
  tests/data/ordinary_prompts_holdout.txt  more of them, written after the built-in exceptions
                                           were chosen and never used to choose them (optional)
  tests/data/harmful_prompts.txt           harmful prompts and evasions: every one must be caught

and prints, for ``DEFAULT_TERMS``, the refused ordinary prompts (false positives) with the term
that refused them, the harmful prompts that got through, and the counts and rates. Only the
public API is used (``Moderator(DEFAULT_TERMS).check``), so the script runs unchanged against
an older version of the module: ``--functions DIR`` imports ``credits.moderation`` from DIR
instead of this checkout's ``functions/`` (extract the older file there with ``git show``).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
_FUNCTIONS = sys.argv[sys.argv.index("--functions") + 1] if "--functions" in sys.argv[:-1] else str(ROOT / "functions")
sys.path.insert(0, _FUNCTIONS)

from credits.moderation.terms import DEFAULT_TERMS, Moderator  # noqa: E402

DATA = ROOT / "tests" / "data"
ORDINARY = DATA / "ordinary_prompts.txt"
HOLDOUT = DATA / "ordinary_prompts_holdout.txt"
HARMFUL = DATA / "harmful_prompts.txt"


def read_corpus(path: pathlib.Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def false_positives(moderator: Any, prompts: list[str]) -> list[tuple[str, str]]:
    found = []
    for prompt in prompts:
        match = moderator.check(prompt)
        if match is not None:
            found.append((prompt, match.term))
    return found


def report_ordinary(label: str, moderator: Any, path: pathlib.Path, *, quiet: bool) -> None:
    prompts = read_corpus(path)
    refused = false_positives(moderator, prompts)
    if not quiet:
        for prompt, term in refused:
            print(f"  refused ({term}): {prompt}")
    rate = len(refused) / len(prompts)
    print(f"{label}: {len(refused)} of {len(prompts)} ordinary prompts refused, false-positive rate {rate:.2%}")


class _CategoryModel:
    """The category rules with the term list's ``check`` shape (a refusal's category as its "term")."""

    def __init__(self) -> None:
        from credits.moderation import Policy, judge

        self._judge, self._policy = judge, Policy()

    def check(self, prompt: str) -> Any:
        verdict = self._judge(prompt, self._policy)
        return None if verdict.action != "refuse" else type("Refusal", (), {"term": verdict.category})()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print only the totals")
    parser.add_argument("--functions", default=_FUNCTIONS, help="import credits.moderation from this directory")
    parser.add_argument("--categories", action="store_true", help="measure the category rules instead of the term list")
    args = parser.parse_args()
    if args.categories:
        model: Any = _CategoryModel()
        print("model: the category rules (default configuration)")
        report_ordinary("ordinary", model, ORDINARY, quiet=args.quiet)
        if HOLDOUT.exists():
            report_ordinary("holdout", model, HOLDOUT, quiet=args.quiet)
        harmful = read_corpus(HARMFUL)
        missed = [prompt for prompt in harmful if model.check(prompt) is None]
        if not args.quiet:
            for prompt in missed:
                print(f"  missed: {prompt}")
        print(f"harmful: {len(harmful) - len(missed)} of {len(harmful)} caught, catch rate {1 - len(missed) / len(harmful):.2%}")
        return 0

    moderator = Moderator(DEFAULT_TERMS)
    print(f"module: {sys.modules[Moderator.__module__].__file__}; default list: {len(DEFAULT_TERMS)} terms")
    report_ordinary("ordinary", moderator, ORDINARY, quiet=args.quiet)
    if HOLDOUT.exists():
        report_ordinary("holdout", moderator, HOLDOUT, quiet=args.quiet)

    harmful = read_corpus(HARMFUL)
    missed = [prompt for prompt in harmful if moderator.check(prompt) is None]
    if not args.quiet:
        for prompt in missed:
            print(f"  missed: {prompt}")
    caught = len(harmful) - len(missed)
    print(f"harmful: {caught} of {len(harmful)} caught, catch rate {caught / len(harmful):.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
