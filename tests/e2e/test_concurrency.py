"""Same-user concurrency over HTTP: exact outcomes, clean codes, balanced books."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance, balance

PARALLEL = 50


def _burst(user: emu.User, payloads: list[dict]) -> list[emu.CallResult]:
    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return list(pool.map(lambda p: emu.call_retrying_drops("validateAndDeductCredits", p, user, timeout=300), payloads))


def test_fifty_parallel_charges_on_one_balance_charge_exactly_what_it_covers(user: emu.User, db: firestore.Client) -> None:
    # balance 100 (first-use grant), cost 10: exactly min(50, 100 // 10) = 10 succeed
    emu.warm_workers("validateAndDeductCredits", PARALLEL)
    # Each call carries a key, as a careful client's would, so a request the emulator drops
    # before answering can be sent again without risk of a second charge.
    results = _burst(
        user, [{"type": "image", "prompt": f"tile {i}", "requestId": f"tile-{user.uid}-{i}"} for i in range(PARALLEL)]
    )
    outcomes = Counter("dropped" if r.dropped else r.reason if r.code else "charged" for r in results)
    assert outcomes == {"charged": 10, "insufficient_credits": 40}, outcomes
    assert all(r.code in (None, "FAILED_PRECONDITION") for r in results)
    assert balance(db, user.uid) == 0
    assert_books_balance(db, user.uid)
    activities = list(db.collection("ai_activity").where(filter=FieldFilter("userId", "==", user.uid)).stream())
    assert len(activities) == 10
    charged = sorted(r.result["remainingCredits"] for r in results if r.ok)
    assert charged == list(range(0, 100, 10))  # each success saw a distinct balance
