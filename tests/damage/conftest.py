"""The damage tier: documents broken the way a console user breaks them, then the whole
workload, the sweep and the cleanup. Needs the Emulator Suite (scripts/test.sh runs it)."""

from tests.e2e.conftest import _emulators, admin, config, db, generator, user  # noqa: F401 - fixtures
