"""A webhook storm: 1,000 signed Stripe events (20% of them duplicates), shuffled, sent to the
real stripeWebhook on the Functions emulator; then every balance is checked against what the
events imply, and the ledger reconciled.

    CREDITS_EMULATOR_PORT_OFFSET=N bench/run.sh bench/bench_webhooks.py [--events 1000] [--users 25] [--width 8]

The events per user: pack purchases (``checkout.session.completed``), partial and full refunds
of some of them (``charge.refunded``, cumulative totals, some before their payment), a plan's
paid invoices (``invoice.paid``, one period twice under two invoices), and for a few users a
dispute (``charge.dispute.created``). Nothing is spent, so no claw-back exceeds what the user
holds and the implied state is, per user: 100 (sign-up) + every pack and period granted once
- each payment's clawed share (all of it if disputed); suspended if any dispute.

Prints events applied per second and p50/p99 per event (the HTTP round trip, as Stripe sees
it). Deliveries the Functions emulator drops under a burst (no answer, or its own 500) are
resent, as Stripe would, and counted apart.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import benchlib
import requests

PACKS = {"pack-small": (100, 500), "pack-large": (500, 2000)}
PLAN_CREDITS, PLAN_AMOUNT = 1000, 1500


@dataclass
class Expect:
    credits: int = 100
    disputed: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)


def build(users: list[Any], target: int, rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Expect]]:
    from tests.support import stripe_events as se

    expect = {u.uid: Expect() for u, _ in users}
    unique_target = int(target * 0.8)
    unique: list[dict[str, Any]] = []
    i = 0
    while len(unique) < unique_target:
        user, customer = users[i % len(users)]
        i += 1
        e = expect[user.uid]
        roll = rng.random()
        if roll < 0.55:
            product = rng.choice(sorted(PACKS))
            credits, amount = PACKS[product]
            event = se.checkout_completed(uid=user.uid, customer=customer, product_id=product, amount=amount)
            e.events.append(event)
            unique.append(event)
            pi = event["data"]["object"]["payment_intent"]
            clawed = 0
            if rng.random() < 0.3:  # a partial refund, then maybe the rest
                part = rng.randrange(1, amount)
                unique.append(se.charge_refunded(payment_intent=pi, amount=amount, amount_refunded=part))
                clawed = credits * part // amount
                if rng.random() < 0.5:
                    unique.append(se.charge_refunded(payment_intent=pi, amount=amount, amount_refunded=amount))
                    clawed = credits
            if not e.disputed and rng.random() < 0.03:
                unique.append(se.dispute(payment_intent=pi, amount=amount))
                clawed = credits
                e.disputed = True
            e.credits += credits - clawed
        else:
            sub = se.new_id("sub")
            start = int(time.time()) - rng.randrange(0, 10) * 86_400
            periods = rng.randrange(1, 4)
            for n in range(periods):
                unique.append(
                    se.invoice_paid(
                        uid=user.uid,
                        customer=customer,
                        product_id="plan-pro",
                        subscription=sub,
                        start=start + n * 30 * 86_400,
                        amount=PLAN_AMOUNT,
                    )
                )
                e.credits += PLAN_CREDITS
            # A second invoice for the first period: recorded, not granted again.
            unique.append(
                se.invoice_paid(
                    uid=user.uid, customer=customer, product_id="plan-pro", subscription=sub, start=start, amount=PLAN_AMOUNT
                )
            )
    unique = unique[:unique_target] if len(unique) > unique_target else unique
    # Trimming may cut a story short: recompute the expectation from the events kept.
    expect = implied(unique, {u.uid for u, _ in users})
    duplicates = [rng.choice(unique) for _ in range(target - len(unique))]
    storm = unique + duplicates
    rng.shuffle(storm)
    return storm, expect


def implied(events: list[dict[str, Any]], uids: set[str]) -> dict[str, Expect]:
    """What a set of unique events implies for each user (independent of order)."""
    expect = {uid: Expect() for uid in uids}
    pays: dict[str, tuple[str, int, int]] = {}  # payment intent -> (uid, credits, amount)
    refunded: dict[str, int] = defaultdict(int)
    disputed: set[str] = set()
    periods: set[str] = set()
    for event in events:
        obj = event["data"]["object"]
        if event["type"] == "checkout.session.completed":
            uid = obj["client_reference_id"]
            credits = PACKS[obj["metadata"]["productId"]][0]
            pays[obj["payment_intent"]] = (uid, credits, obj["amount_total"])
            expect[uid].credits += credits
        elif event["type"] == "invoice.paid":
            details = obj["parent"]["subscription_details"]
            key = f"{details['subscription']}_{obj['lines']['data'][0]['period']['start']}"
            if key not in periods:
                periods.add(key)
                expect[details["metadata"]["uid"]].credits += PLAN_CREDITS
        elif event["type"] == "charge.refunded":
            refunded[obj["payment_intent"]] = max(refunded[obj["payment_intent"]], obj["amount_refunded"])
        elif event["type"] == "charge.dispute.created":
            disputed.add(obj["payment_intent"])
    for pi, (uid, credits, amount) in pays.items():
        clawed = credits if pi in disputed else min(credits, credits * refunded.get(pi, 0) // amount)
        expect[uid].credits -= clawed
        expect[uid].disputed = expect[uid].disputed or pi in disputed
    return expect


def send(event: dict[str, Any]) -> tuple[float, str, int]:
    """Deliver until answered; returns (seconds of the answered delivery, outcome, drops)."""
    from tests.support import stripe_events as se

    drops = 0
    while True:
        started = time.perf_counter()
        try:
            r = se.send(event, timeout=30)
        except requests.exceptions.RequestException:
            drops += 1
            continue
        elapsed = time.perf_counter() - started
        if r.status_code == 200:
            return elapsed, str(r.json().get("outcome")), drops
        drops += 1  # an emulator drop or a 503 (contention): Stripe would deliver again


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--users", type=int, default=25)
    parser.add_argument("--width", type=int, default=8, help="deliveries in flight at once")
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    benchlib.require_emulators()
    from credits.features import reconcile
    from credits.store import db as dbmod

    from tests.e2e.payments_fixtures import checkout, sell
    from tests.support import emulators as emu

    client = dbmod.make_client(emu.PROJECT)
    sell(client)
    rng = random.Random(args.seed)
    print(f"setting up {args.users} buyers (sign-up, account, Stripe customer through createCheckoutSession) ...", flush=True)
    users = []
    for _ in range(args.users):
        user = emu.sign_up()
        assert emu.call("getCreditStatus", {}, user).ok
        assert checkout(user).ok
        customer = (client.collection("stripe_customers").document(user.uid).get().to_dict() or {})["customerId"]
        users.append((user, customer))
    storm, expect = build(users, args.events, rng)
    # Warm the webhook's workers so the first burst measures the webhook, not cold starts.
    from tests.support import stripe_events as se

    for _ in range(args.width):
        se.send(se.event("ping", {"id": "x"}), timeout=60)
    print(f"sending {len(storm)} events ({len({e['id'] for e in storm})} unique), {args.width} at a time ...", flush=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(args.width) as pool:
        results = list(pool.map(send, storm))
    wall = time.perf_counter() - started
    latencies = [r[0] for r in results]
    outcomes: dict[str, int] = defaultdict(int)
    for _, outcome, _ in results:
        outcomes[outcome] += 1
    drops = sum(r[2] for r in results)

    wrong = []
    for user, _ in users:
        doc = client.collection("users").document(user.uid).get().to_dict() or {}
        e = expect[user.uid]
        status = "suspended" if e.disputed else "active"
        if doc.get("credits") != e.credits or doc.get("status") != status or doc.get("debt", 0) != 0:
            wrong.append((user.uid, doc.get("credits"), e.credits, doc.get("status"), status))
    drifts = [d for d in reconcile.reconcile(client) if d.user_id in {u.uid for u, _ in users}]

    applied = sum(n for k, n in outcomes.items() if k not in ("duplicate",))
    print(
        benchlib.table(
            [
                "events",
                "unique",
                "applied",
                "duplicates",
                "wall s",
                "applied/s",
                "events/s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "drops resent",
            ],
            [
                [
                    len(storm),
                    len({e["id"] for e in storm}),
                    applied,
                    outcomes.get("duplicate", 0),
                    f"{wall:.1f}",
                    f"{applied / wall:.1f}",
                    f"{len(storm) / wall:.1f}",
                    f"{benchlib.percentile(latencies, 50) * 1000:.0f}",
                    f"{benchlib.percentile(latencies, 99) * 1000:.0f}",
                    f"{max(latencies) * 1000:.0f}",
                    drops,
                ]
            ],
            title="stripeWebhook storm",
        )
    )
    print("outcomes:", dict(sorted(outcomes.items())))
    print(
        f"balances equal to what the events imply: {len(users) - len(wrong)} of {len(users)}; reconciliation drifts: {len(drifts)}"
    )
    for row in wrong[:10]:
        print("  mismatch", row)
    for d in drifts[:10]:
        print("  drift", d)
    return 0 if not wrong and not drifts else 1


if __name__ == "__main__":
    sys.exit(main())
