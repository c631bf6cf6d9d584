"""Test tiers: ``unit`` needs nothing; ``integration``, ``e2e`` and ``rules`` need the
emulators (run them through ``scripts/test.sh``, which starts the Emulator Suite).

``credits`` and ``tests.support`` are importable through ``pythonpath`` in pyproject.toml."""
