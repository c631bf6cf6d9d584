"""One place for money: no module but the ledger writes a balance.

``atomic.Plan`` refuses a ``credits`` write to ``users/{uid}`` from anywhere else at run time
(tests/unit/test_ledger.py). This reads the source: the balance field is named only by the
engine that guards it and the ledger that posts it, only the ledger opens the guard's door,
and every module that changes a balance calls the ledger. (The word ``credits`` also names
response fields, audit entries' before/after and the configuration document; those are not
balances, so the check is on the field's name in the engine, not on the word.)
"""

from __future__ import annotations

import re
from pathlib import Path

CODE = Path(__file__).resolve().parents[2] / "functions" / "credits"


def modules() -> dict[str, str]:
    return {str(p.relative_to(CODE)): p.read_text(encoding="utf-8") for p in sorted(CODE.rglob("*.py"))}


def test_only_the_ledger_posts_the_balance_field() -> None:
    users = {name for name, text in modules().items() if "BALANCE_FIELD" in text}
    assert users == {"store/atomic.py", "store/ledger.py"}  # the guard's definition, and the one door
    assert "_post_balance(" in modules()["store/ledger.py"]
    callers = {name for name, text in modules().items() if "_post_balance(" in text}
    assert callers == {"store/atomic.py", "store/ledger.py"}


def test_every_balance_change_goes_through_ledger_post() -> None:
    posting = {name for name, text in modules().items() if re.search(r"\bledger\.post\(|\.post\(\s*plan", text)}
    # the charge, settlement and refund, grants, account opening/restoring, repairs
    assert {"features/accounts.py", "features/reconcile.py"} <= posting
    for path in ("features/charging.py", "features/lifecycle.py", "features/admin.py", "features/status.py"):
        assert re.search(r"account\.post\(|\.post\(\s*\n?\s*plan", modules()[path]), path
