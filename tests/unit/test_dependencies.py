"""The locks against the code: every package the code imports is declared where it runs,
and the two locks agree (scripts/lock.sh writes them; this catches a hand edit or a
forgotten re-lock)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(\s*;\s*([^\\]+?))?\s*\\?$")
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, set[str]]:
    """Package -> pinned versions (several only when split by a Python-version marker)."""
    found: dict[str, set[str]] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            found.setdefault(normalize(match[1]), set()).add(match[2])
    return found


def declared(requirements_in: Path) -> set[str]:
    names = set()
    for line in requirements_in.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= declared(requirements_in.parent / line[3:].strip())
        elif line and not line.startswith("-"):
            match = REQUIREMENT.match(line)
            assert match, line
            names.add(normalize(match[1]))
    return names


def imports(paths: list[Path]) -> set[str]:
    """Every absolute import in the files, down to the imported name (``google.cloud.firestore``,
    ``flask.Flask``: the deepest importable module decides)."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # the names may be submodules (``from google.cloud import firestore``)
                names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@cache
def _files_of(dist: str) -> frozenset[Path]:
    found = importlib.metadata.distribution(dist)
    return frozenset(Path(str(found.locate_file(f))).resolve() for f in found.files or ())


def _owner(top: str, origin: Path) -> str | None:
    """Which of the distributions that install the top-level name ``top`` has ``origin``."""
    candidates = importlib.metadata.packages_distributions().get(top, [])
    if len(candidates) == 1:
        return normalize(candidates[0])
    return next((normalize(d) for d in candidates if origin in _files_of(d)), None)  # google.*: many


def _locate(parts: list[str]) -> Path | None:
    """The file of the deepest module among ``parts`` found on sys.path, without importing it
    (a namespace package such as ``google`` has no file of its own)."""
    for end in range(len(parts), 0, -1):
        for base in map(Path, sys.path):
            candidate = base.joinpath(*parts[:end])
            for found in (
                candidate / "__init__.py",
                candidate.with_suffix(".py"),
                *candidate.parent.glob(f"{parts[end - 1]}.*.so"),
            ):
                if found.is_file():
                    return found.resolve()
    return None


def distribution_of(module: str) -> str | None:
    """The installed distribution that provides ``module``; None for the standard library and
    for the project's own modules (functions/, tests/, and the siblings of scripts and benchmarks)."""
    parts = module.split(".")
    if parts[0] in sys.stdlib_module_names or parts[0] == "__future__":
        return None
    if any((ROOT / folder / f"{parts[0]}.py").exists() for folder in ("scripts", "bench")):
        return None
    origin = _locate(parts)
    assert origin, f"cannot find {module}"
    if ROOT in origin.parents and not {".venv", "venv"} & set(origin.relative_to(ROOT).parts):
        return None
    owner = _owner(parts[0], origin)
    assert owner, f"{module}: {origin} belongs to no installed distribution"
    return owner


def python_files(*dirs: str) -> list[Path]:
    return [p for d in dirs for p in (ROOT / d).rglob("*.py") if "venv" not in p.parts]


RUNTIME = declared(ROOT / "functions" / "requirements.in")
DEV = declared(ROOT / "requirements-dev.in")


def undeclared(paths: list[Path], allowed: set[str]) -> dict[str, str]:
    """Import -> the distribution it comes from, for those not in ``allowed``."""
    owners = {module: distribution_of(module) for module in sorted(imports(paths))}
    return {module: owner for module, owner in owners.items() if owner is not None and owner not in allowed}


def test_every_import_of_the_functions_is_declared_in_their_requirements() -> None:
    assert undeclared(python_files("functions"), RUNTIME) == {}, "declare these in functions/requirements.in"


def test_every_import_of_tests_scripts_and_benchmarks_is_declared() -> None:
    assert undeclared(python_files("tests", "scripts", "bench"), DEV) == {}, "declare these in requirements-dev.in"


def test_the_dev_lock_pins_what_it_shares_with_the_runtime_lock_to_the_same_version() -> None:
    runtime, dev = pins(ROOT / "functions" / "requirements.txt"), pins(ROOT / "requirements-dev.txt")
    assert RUNTIME <= runtime.keys() and DEV <= dev.keys()
    assert runtime.keys() <= dev.keys()
    assert {name: dev[name] for name in runtime} == runtime


@pytest.mark.parametrize("lock", ["functions/requirements.txt", "requirements-dev.txt"])
def test_every_pin_has_hashes(lock: str) -> None:
    text = (ROOT / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])  # after the two header lines
    assert entries
    for entry in entries:
        assert "==" in entry.splitlines()[0] and "--hash=sha256:" in entry, entry[:200]
