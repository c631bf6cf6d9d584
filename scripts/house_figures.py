"""Counts the figures issue-style reviews of the backend's structure use, on functions/credits:

* functions whose return annotation is ``dict[str, Any]`` (untyped results);
* ``type: ignore`` comments, and those without a reason after them on their line;
* functions longer than 60 lines, and functions with more than 6 parameters (self excluded).

    .venv/bin/python scripts/house_figures.py          # the counts
    .venv/bin/python scripts/house_figures.py --list   # and each finding
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "functions" / "credits"
IGNORE = re.compile(r"#\s*type:\s*ignore(\[[^\]]*\])?(.*)$")


def main() -> int:
    """Print the counts (and with ``--list`` every finding)."""
    show = "--list" in sys.argv[1:]
    untyped, long_fns, many_params, ignores, bare_ignores = [], [], [], [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT)
        text = path.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            m = IGNORE.search(line)
            if m:
                ignores.append(f"{rel}:{n}")
                if not m.group(2).strip().lstrip("#").strip():
                    bare_ignores.append(f"{rel}:{n}")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            where = f"{rel}:{node.lineno} {node.name}"
            if node.returns is not None and ast.unparse(node.returns).replace(" ", "") == "dict[str,Any]":
                untyped.append(where)
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > 60:
                long_fns.append(f"{where} ({length} lines)")
            params = [
                a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs] if a.arg not in ("self", "cls")
            ]
            if len(params) > 6:
                many_params.append(f"{where} ({len(params)} parameters)")
    figures = {
        "functions returning dict[str, Any]": untyped,
        "type: ignore comments": ignores,
        "type: ignore without a reason": bare_ignores,
        "functions over 60 lines": long_fns,
        "functions with more than 6 parameters": many_params,
    }
    for name, found in figures.items():
        print(f"{name}: {len(found)}")
        if show:
            for item in found:
                print(f"  {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
