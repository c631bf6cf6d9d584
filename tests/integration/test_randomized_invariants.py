"""A few thousand mixed operations across users, several at a time, then every invariant.

Charges of every type (some with idempotency keys, some replayed, some concurrently on the
same user), settlements up and down, failures, admin grants and claw-backs. Afterwards:

* reconcile() finds no drift (ledger sums to balance, nothing charged/refunded/settled twice);
* for every user, credits granted minus the balance equals the net charge of their
  activities (the ledger and the activities tell the same story);
* every successful response maps to exactly one activity; replays returned the same one.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from credits.features.admin import GrantRequest, grant
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.features.lifecycle import StatusRequest, update_status
from credits.features.reconcile import reconcile
from credits.vocab.clock import ManualClock
from credits.vocab.context import Caller, ClientContext
from credits.vocab.contract.callables import ChargeResponse
from credits.vocab.errors import CreditsError
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import config as cfg

OPERATIONS = 2400
USERS = 12
THREADS = 8
SEED = 20261125


def test_thousands_of_mixed_operations_keep_every_invariant(client: firestore.Client, clock: ManualClock, clean: None) -> None:
    rng_master = random.Random(SEED)
    cfg.apply(
        client,
        {
            "rateLimits": {"image": 10_000, "video": 10_000, "voice": 10_000, "chat": 10_000, "ipRequests": 10_000},
            "defaultCredits": 200,
            "signup": {"grantsPerIpPerDay": 1_000, "grantsPerNetworkPerDay": 1_000, "grantsPerAllocationPerDay": 1_000},
        },
    )
    users = [Caller(uid=f"rnd-{i}-{uuid.uuid4().hex[:8]}", email=f"u{i}@example.com") for i in range(USERS)]
    admin = Caller(uid="rnd-admin", email="admin@example.com", is_admin=True)
    generator = Caller(uid="rnd-generator", is_generator=True)
    ctx = ClientContext(ip="198.19.0.1")
    lock = threading.Lock()
    activities: dict[str, list[str]] = defaultdict(list)  # uid -> activity ids
    keyed: dict[str, tuple[str, dict[str, Any]]] = {}  # requestId -> (uid, payload)
    first_results: dict[str, ChargeResponse] = {}
    outcomes: dict[str, int] = defaultdict(int)

    def op(seed: int) -> None:
        rng = random.Random(seed)
        who = users[rng.randrange(USERS)] if rng.random() < 0.7 else users[0]  # user 0 is hot
        roll = rng.random()
        try:
            if roll < 0.45:
                kind = rng.choice(["image", "video", "voice", "chat"])
                quantity = {
                    "image": rng.randint(1, 3),
                    "video": round(rng.uniform(0.5, 8), 1),
                    "voice": round(rng.uniform(0.1, 3), 2),
                    "chat": rng.randint(1, 3000),
                }[kind]
                payload: dict[str, Any] = {"type": kind, "prompt": f"prompt {rng.random()}", "quantity": quantity}
                if rng.random() < 0.3:
                    payload["requestId"] = f"k-{uuid.UUID(int=rng.getrandbits(128))}"
                    with lock:
                        keyed[payload["requestId"]] = (who.uid, payload)
                result = charge(Command(client, clock, who, ctx), ChargeRequest.parse(payload))
                with lock:
                    if result.activityId not in activities[who.uid]:
                        activities[who.uid].append(result.activityId)
                    if "requestId" in payload:
                        first_results.setdefault(payload["requestId"], result)
                outcomes["charge"] += 1
            elif roll < 0.55:
                with lock:
                    candidates = list(keyed.items())
                if not candidates:
                    return
                key, (uid, payload) = rng.choice(candidates)
                owner = next(u for u in users if u.uid == uid)
                result = charge(Command(client, clock, owner, ctx), ChargeRequest.parse(payload))
                with lock:
                    expected = first_results.setdefault(key, result)
                    if result.activityId not in activities[uid]:
                        activities[uid].append(result.activityId)
                assert result == expected
                outcomes["replay"] += 1
            elif roll < 0.85:
                with lock:
                    mine = list(activities[who.uid])
                if not mine:
                    return
                activity = rng.choice(mine)
                choice = rng.random()
                if choice < 0.3:
                    req = StatusRequest(activity, "processing", progress=None)
                elif choice < 0.7:
                    doc = client.collection("ai_activity").document(activity).get().to_dict() or {}
                    kind = doc.get("type", "image")
                    actual = {
                        "image": rng.randint(0, 4),
                        "video": rng.randint(0, 10),
                        "voice": rng.randint(0, 4),
                        "chat": rng.randint(0, 4000),
                    }[kind]
                    from decimal import Decimal

                    req = StatusRequest(activity, "completed", actual_quantity=Decimal(actual) if rng.random() < 0.8 else None)
                else:
                    req = StatusRequest(activity, "failed", error="boom")
                reporter = rng.random()
                # the generator reports most endings; the owner cancels, completes or reports
                # progress (and is refused what is not theirs); an admin steps in now and then
                if reporter < 0.6:
                    by = generator
                elif reporter < 0.9:
                    by = who
                else:
                    by = admin
                update_status(Command(client, clock, by, ctx), req)
                outcomes["status"] += 1
            else:
                amount = rng.choice([5, 20, 50, -5, -30, -200])
                grant(Command(client, clock, admin, ctx), GrantRequest(who.uid, amount, "random"), lambda uid: True)
                outcomes["grant"] += 1
        except CreditsError as err:
            with lock:
                outcomes[f"refused:{err.reason}"] += 1
            assert err.reason in {"insufficient_credits", "invalid_transition", "not_allowed"}, err.reason

    seeds = [rng_master.getrandbits(64) for _ in range(OPERATIONS)]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(op, seeds))

    assert outcomes["charge"] > 500 and outcomes["status"] > 300 and outcomes["grant"] > 100, dict(outcomes)
    assert reconcile(client) == []

    for user in users:
        entries = [
            e.to_dict() for e in client.collection("credit_logs").where(filter=FieldFilter("userId", "==", user.uid)).stream()
        ]
        granted = sum(e["delta"] for e in entries if e["reason"] in ("signup_grant", "admin_grant", "admin_clawback"))
        balance = client.collection("users").document(user.uid).get().to_dict()["credits"]
        docs = [
            d.to_dict() for d in client.collection("ai_activity").where(filter=FieldFilter("userId", "==", user.uid)).stream()
        ]
        assert sorted(d["userId"] for d in docs) == [user.uid] * len(activities[user.uid])
        net_charged = sum(d["creditsCharged"] for d in docs)
        assert granted - balance == net_charged, user.uid
        for d in docs:
            if d["status"] == "failed":
                assert d["creditsCharged"] == 0 and d["refundedCredits"] == d["initialCharge"]
    cfg.reset(client)
