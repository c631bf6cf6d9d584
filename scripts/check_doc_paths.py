"""Fails when the docs name a file of the repository that does not exist.

Reads README.md, the READMEs under client/ and web/ and every docs/*.md, takes each
`backticked` token or link target that looks like a path of this repository (it ends with a
known file extension, or starts with one of the repository's top-level folders), and looks
it up from the repository's root and from the folders the docs name paths relative to
(functions/, functions/credits/, client/, web/). Firestore paths (`users/{uid}`), URLs,
globs and placeholders are not files and are skipped.

    .venv/bin/python scripts/check_doc_paths.py      # scripts/lint.sh runs it

Prints each stale reference as `doc:line: path` and a closing line; exits 1 if any.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "client/README.md", "web/README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
BASES = ["", "functions", "functions/credits", "client", "web", "tests"]
TOP = ("functions/", "scripts/", "tests/", "bench/", "docs/", "web/", "client/", "typings/", ".ci/")
EXTENSIONS = (
    ".py",
    ".ts",
    ".mjs",
    ".js",
    ".md",
    ".json",
    ".sh",
    ".txt",
    ".rules",
    ".in",
    ".toml",
    ".html",
    ".css",
    ".png",
    ".tsv",
    ".local",
)
TOKEN = re.compile(r"`([^`\s]+)`|\]\(([^)\s#]+)")


def candidates(line: str) -> list[str]:
    """The tokens of one line that name a path of the repository."""
    found = []
    for m in TOKEN.finditer(line):
        token = (m.group(1) or m.group(2)).rstrip(".,;:")
        token = re.sub(r"::.*$", "", token)  # tests/x.py::test_name
        token = re.sub(r":\d+$", "", token)  # file.py:12
        if "://" in token or any(c in token for c in "*{}<>$|?") or token.startswith(("-", "@")):
            continue
        if token.startswith(".") and "/" not in token:
            continue
        if token.endswith(EXTENSIONS) and ("/" in token or token.count(".") == 1):
            found.append(token)
        elif token.startswith(TOP):
            found.append(token)
    return found


def tracked_names() -> set[str]:
    """The file names (without folders) of every file in the repository's tree."""
    skip = {".git", "node_modules", "venv", ".venv", ".tools", "dist"}
    names = set()
    for path in ROOT.rglob("*"):
        if not any(part in skip for part in path.relative_to(ROOT).parts):
            names.add(path.name)
    return names


def exists(token: str, doc_dir: Path, names: set[str]) -> bool:
    """Whether the token names a file or folder: a bare file name anywhere in the tree, a path
    from the root, from one of the bases, or from the doc's own folder."""
    if "/" not in token:
        return token in names
    token = token.removeprefix("./")
    return (doc_dir / token).exists() or any((ROOT / base / token).exists() for base in BASES)


def main() -> int:
    """Checks every doc; prints the stale references and a closing line."""
    stale = 0
    checked = 0
    names = tracked_names()
    for doc in DOCS:
        path = ROOT / doc
        if not path.exists():
            continue
        in_code_block = False
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_code_block = not in_code_block
                continue
            if in_code_block:
                continue
            for token in sorted(set(candidates(line))):
                checked += 1
                if not exists(token, path.parent, names):
                    stale += 1
                    print(f"{doc}:{n}: {token}")
    print(f"doc paths: {checked} checked, {stale} missing")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
