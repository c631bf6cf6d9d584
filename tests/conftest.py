"""Test tiers: ``unit`` needs nothing; ``integration``, ``e2e`` and ``rules`` need the
emulators (run them through ``scripts/test.sh``, which starts the Emulator Suite)."""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))
