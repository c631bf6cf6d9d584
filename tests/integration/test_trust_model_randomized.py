"""The trust model under fire: owner, generator, admin and the sweep on the same generations.

Each round drives a few hundred actions from several threads at once: charges, admin grants,
and bursts of reports that start together (a barrier) on one generation, from its owner, the
generator, an admin, the sweep (``update_status(..., system=True, only_if_stuck=True)`` with a
clock 31 minutes ahead) and a stranger. Rounds alternate ``lifecycle.ownerReportsOutcome`` off
and on, and run once as one instance (the engine's per-key in-process lock serialises the
reports on one generation) and once as many instances (every call takes a lock of its own, as
calls spread over several Functions instances do: only the commits' preconditions decide).

Each round ends with the sweep on every unfinished generation, racing one late report each.
After every round, for every generation ever charged:

* one terminal state: a final status, reached by exactly one accepted ending, whose response
  is the last thing written on the activity, never changed by a later round; ``usage_logs/{id}``
  exists iff the generation is final;
* at most one ``refund_`` and one ``settle_`` entry, never both, each consistent with the
  activity's ``initialCharge``, ``creditsCharged`` and ``refundedCredits``;
* for every user, the ledger sums to the balance (``reconcile`` finds no drift), the usage
  counters agree with the activities, and every owner-caused refund is counted:
  ``usage.ownerRefunds`` is the number of the user's activities with ``ownerRefund`` and
  ``usage.ownerRefundedCredits`` their refunded credits; ``ownerRefund`` is true exactly when
  the owner's own report refunded credits, or the sweep did while owner reports were on;
* every refusal is the contract's answer for that caller: ``not_owner`` for a stranger,
  ``not_allowed`` for an owner sending ``actualQuantity`` or ``error`` with owner reports off,
  ``invalid_transition`` from a state a report may not leave, ``insufficient_credits`` for a
  charge or claw-back beyond the balance; the sweep is never refused.

The seed is printed (and named in every failure); ``CREDITS_TRUST_SEED=N`` replays a run's
choices as far as the threads' interleaving (the machine's) lets it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from credits.features.admin import GrantRequest, grant
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.features.lifecycle import Skipped, StatusRequest, end_stuck, update_status
from credits.features.reconcile import reconcile
from credits.store import atomic
from credits.store.ledger import EntryId, EntryKind
from credits.vocab.clock import ManualClock
from credits.vocab.context import SYSTEM, Caller, ClientContext
from credits.vocab.errors import CreditsError
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import config as cfg

SEED = int(os.environ.get("CREDITS_TRUST_SEED") or random.SystemRandom().randrange(2**32))
ROUNDS = [(False, "one"), (True, "one"), (False, "many"), (True, "many")]  # (ownerReportsOutcome, instances)
CHARGES_PER_ROUND = 36
BURSTS_PER_ROUND = 34  # 2 to 4 reports each, plus a few charges and grants: ~130 actions a round
USERS = 6
THREADS = 8
FINAL = ("completed", "failed")
MAX_ACTUAL = {"image": Decimal(10), "video": Decimal(600), "voice": Decimal(60), "chat": Decimal(1_000_000)}


@dataclass
class Generation:
    """What the test knows of one charged generation."""

    id: str
    owner: Caller
    type: str
    quantity: Decimal
    charged: int


@dataclass
class Ending:
    """An accepted final report: who sent it, in which round, and its response."""

    role: str
    round: int
    result: dict[str, Any]


@dataclass
class Book:
    """Everything the threads observed, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    generations: dict[str, Generation] = field(default_factory=dict)
    endings: dict[str, list[Ending]] = field(default_factory=lambda: defaultdict(list))
    outcomes: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)

    def count(self, key: str) -> None:
        with self.lock:
            self.outcomes[key] += 1

    def wrong(self, message: str) -> None:
        with self.lock:
            self.unexpected.append(message)


def fail(message: str) -> str:
    return f"{message} (seed {SEED}; replay with CREDITS_TRUST_SEED={SEED})"


def test_owner_generator_admin_and_sweep_racing_keep_one_ending_and_count_every_owner_refund(
    client: firestore.Client, clean: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    print(f"trust-model randomized run: seed {SEED}")
    rng = random.Random(SEED)
    cfg.apply(
        client,
        {
            "defaultCredits": 400,
            "rateLimits": {"image": 10_000, "video": 10_000, "voice": 10_000, "chat": 10_000, "ipRequests": 10_000},
            "signup": {"grantsPerIpPerDay": 1_000, "grantsPerNetworkPerDay": 1_000, "grantsPerAllocationPerDay": 1_000},
            # Owner refunds past a low rate become abuse events (checked below), without
            # suspending anyone: a suspension would only stop the charges this test needs.
            "abuse": {"refundRateMinGenerations": 3, "refundRateThreshold": 0.2, "suspendScore": 1_000_000},
        },
    )
    run = uuid.uuid4().hex[:8]
    users = [Caller(uid=f"tm-{run}-{i}", email=f"tm{i}@example.com", name=f"user {i}") for i in range(USERS)]
    contexts = {
        u.uid: ClientContext(ip=f"198.19.{i + 1}.{rng.randrange(1, 250)}", user_agent="pytest") for i, u in enumerate(users)
    }
    stranger = Caller(uid=f"tm-{run}-stranger", email="stranger@example.com")
    generator = Caller(uid=f"tm-{run}-generator", is_generator=True)
    admin = Caller(uid=f"tm-{run}-admin", email="admin@example.com", is_admin=True)
    book = Book()
    owner_reports_in_round: dict[int, bool] = {}
    final_after: dict[str, dict[str, Any]] = {}  # activity -> its final document, as first seen
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)

    try:
        for number, (owner_reports, instances) in enumerate(ROUNDS):
            owner_reports_in_round[number] = owner_reports
            cfg.apply(client, {"lifecycle": {"ownerReportsOutcome": owner_reports}})
            if instances == "many":
                # Every call as if on its own instance: no in-process serialisation.
                monkeypatch.setattr(atomic, "_lock_for", lambda key: atomic.FairLock())
            else:
                monkeypatch.undo()
            clock = ManualClock(start + dt.timedelta(hours=2 * number))
            sweep_clock = ManualClock(clock.now() + dt.timedelta(minutes=31))
            actors = Actors(client, clock, sweep_clock, users, contexts, stranger, generator, admin, book, number, owner_reports)
            run_concurrently(plan_charges(rng, actors))
            run_concurrently(plan_bursts(rng, actors, book))
            run_concurrently(plan_drain(rng, actors, book))
            assert not book.unexpected, fail(f"round {number}: unexpected answers: {book.unexpected[:10]}")
            check_books(client, book, users, owner_reports_in_round, final_after, number)
    finally:
        monkeypatch.undo()
        cfg.reset(client)
    total = sum(book.outcomes.values())
    print(f"seed {SEED}: {total} actions over {len(ROUNDS)} rounds: {dict(sorted(book.outcomes.items()))}")
    assert book.outcomes["charge:ok"] >= 100 and total >= 400, fail(str(book.outcomes))
    endings = Counter(e[0].role for e in book.endings.values() if e)
    assert all(endings[role] > 0 for role in ("owner", "generator", "admin", "system")), fail(str(endings))


# ------------------------------------------------------------------ the actors


@dataclass
class Actors:
    """The callers of one round and how each one acts."""

    client: firestore.Client
    clock: ManualClock
    sweep_clock: ManualClock
    users: list[Caller]
    contexts: dict[str, ClientContext]
    stranger: Caller
    generator: Caller
    admin: Caller
    book: Book
    round: int
    owner_reports: bool

    def charge(self, user: Caller, kind: str, quantity: Decimal) -> None:
        payload: dict[str, Any] = {"type": kind, "prompt": f"a lighthouse {uuid.uuid4().hex[:6]}"}
        if kind != "image" or quantity != 1:
            payload["quantity"] = int(quantity) if kind in ("image", "chat") else float(quantity)
        request = ChargeRequest.parse(payload)
        try:
            result = charge(Command(self.client, self.clock, user, self.contexts[user.uid]), request)
        except CreditsError as err:
            self.book.count(f"charge:{err.reason}")
            if err.reason != "insufficient_credits":
                self.book.wrong(f"charge refused {err.reason}: {err.details}")
            return
        self.book.count("charge:ok")
        with self.book.lock:
            self.book.generations[result.activityId] = Generation(
                result.activityId, user, kind, request.quantity, result.creditsCharged
            )

    def grant(self, user: Caller, amount: int) -> None:
        try:
            grant(
                Command(self.client, self.clock, self.admin, ClientContext()),
                GrantRequest(user.uid, amount, "randomized"),
                lambda uid: True,
            )
            self.book.count("grant:ok")
        except CreditsError as err:
            self.book.count(f"grant:{err.reason}")
            if not (amount < 0 and err.reason == "insufficient_credits"):
                self.book.wrong(f"grant of {amount} refused {err.reason}")

    def report(self, role: str, generation: Generation, request: StatusRequest) -> None:
        caller = {"owner": generation.owner, "generator": self.generator, "admin": self.admin, "stranger": self.stranger}.get(
            role
        )
        try:
            if role == "system":
                result = end_stuck(Command(self.client, self.sweep_clock, SYSTEM, ClientContext()), request)
            else:
                assert caller is not None
                result = update_status(
                    Command(self.client, self.clock, caller, self.contexts.get(caller.uid, ClientContext())), request
                )
        except CreditsError as err:
            self.book.count(f"{role}:{request.status}:{err.reason}")
            problem = self.refusal_problem(role, request, err)
            if problem:
                self.book.wrong(f"{role} {request} on {generation.id}: {problem}")
            return
        if isinstance(result, Skipped):
            self.book.count("system:skipped")
            if result.status not in FINAL:  # 31 minutes ahead, only a final generation is not stuck
                self.book.wrong(f"the sweep skipped {generation.id} in status {result.status}")
            return
        self.book.count(f"{role}:{request.status}:ok")
        if role == "stranger":
            self.book.wrong(f"a stranger's {request.status} was accepted on {generation.id}")
        if not self.owner_reports and role == "owner" and (request.actual_quantity is not None or request.error):
            self.book.wrong(f"the owner's {request} was accepted with owner reports off")
        # With owner reports off the owner's ``completed`` is a confirmation: it answers the
        # activity as it stands and is never an ending (contract revision 3).
        confirmation = role == "owner" and not self.owner_reports and request.status == "completed"
        if result.status in FINAL and not confirmation:
            with self.book.lock:
                # The answer as the wire carries it, and as ``lastUpdate.response`` stores it.
                self.book.endings[generation.id].append(Ending(role, self.round, result.model_dump(exclude_unset=True)))

    def refusal_problem(self, role: str, request: StatusRequest, err: CreditsError) -> str | None:
        """Why this refusal is not the contract's answer to this caller, or None."""
        owner_limited = role == "owner" and not self.owner_reports
        if role == "system":
            return f"the sweep was refused {err.reason}"
        if role == "stranger":
            return None if err.reason == "not_owner" else f"a stranger got {err.reason}, not not_owner"
        if owner_limited and (request.actual_quantity is not None or request.error):
            return None if err.reason == "not_allowed" else f"got {err.reason}, not not_allowed"
        if err.reason != "invalid_transition":
            return f"refused {err.reason}"
        source = err.details.get("from")
        if source in FINAL:
            return None
        if source == "processing" and owner_limited and request.status == "failed":
            return None  # a cancel once work started
        return f"invalid_transition from {source} to {err.details.get('to')}"


def random_report(rng: random.Random, role: str, generation: Generation) -> StatusRequest:
    """A report this kind of caller would plausibly send (some of them beyond its rights)."""
    gid = generation.id
    if role == "system":
        return StatusRequest(gid, "failed", error="timed out")
    roll = rng.random()
    if roll < 0.3:
        return StatusRequest(gid, "processing", progress=Decimal(rng.randrange(0, 101)))
    if roll < 0.5:
        return StatusRequest(gid, "completed")
    if roll < 0.75:
        return StatusRequest(gid, "completed", actual_quantity=random_actual(rng, generation))
    if role == "owner" and rng.random() < 0.6:
        return StatusRequest(gid, "failed")  # a cancel
    return StatusRequest(gid, "failed", error=rng.choice(["model crashed", "browser closed", "out of memory"]))


def random_actual(rng: random.Random, generation: Generation) -> Decimal:
    """Units produced: none, fewer, the same or more than charged (within the type's bounds)."""
    high = min(MAX_ACTUAL[generation.type], generation.quantity * Decimal("1.5") + 2)
    if generation.type in ("image", "chat"):
        return Decimal(rng.randint(0, int(high)))
    return min(high, Decimal(rng.randint(0, int(high * 10))) / 10)


def random_charge(rng: random.Random) -> tuple[str, Decimal]:
    kind = rng.choice(["image", "video", "voice", "chat"])
    quantity = {
        "image": Decimal(rng.randint(1, 3)),
        "video": Decimal(rng.randint(5, 120)) / 10,
        "voice": Decimal(rng.randint(1, 30)) / 10,
        "chat": Decimal(rng.randint(100, 4000)),
    }[kind]
    return kind, quantity


# ------------------------------------------------------------------ a round


Action = Callable[[], None]


def together(actions: list[Action]) -> list[Action]:
    """The actions, each waiting for the others at a barrier so they start at once."""
    barrier = threading.Barrier(len(actions))

    def wrap(action: Action) -> Action:
        def go() -> None:
            barrier.wait(timeout=60)
            action()

        return go

    return [wrap(a) for a in actions]


def plan_charges(rng: random.Random, actors: Actors) -> list[Action]:
    """The round's opening charges: fresh generations for the bursts to race on."""
    actions: list[Action] = []
    for _ in range(CHARGES_PER_ROUND):
        user = rng.choice(actors.users)
        kind, quantity = random_charge(rng)
        actions.append(lambda u=user, k=kind, q=quantity: actors.charge(u, k, q))
    return actions


def plan_bursts(rng: random.Random, actors: Actors, book: Book) -> list[Action]:
    with book.lock:
        known = list(book.generations.values())
    live_first = [g for g in known if g.id not in book.endings] or known
    actions: list[Action] = []
    for _ in range(BURSTS_PER_ROUND):
        pool = live_first if rng.random() < 0.85 else known
        generation = rng.choice(pool)
        roles = rng.sample(["owner", "generator", "admin", "system", "owner", "stranger"], rng.randint(2, 4))
        if "stranger" in roles and rng.random() < 0.7:
            roles[roles.index("stranger")] = "generator"
        burst: list[Action] = [
            (lambda r=role, g=generation, req=random_report(rng, role, generation): actors.report(r, g, req)) for role in roles
        ]
        if rng.random() < 0.3:  # the owner charges again while its generation is being reported
            kind, quantity = random_charge(rng)
            burst.append(lambda u=generation.owner, k=kind, q=quantity: actors.charge(u, k, q))
        if rng.random() < 0.15:
            amount = rng.choice([50, 100, 200, -20, -5_000])
            burst.append(lambda u=generation.owner, a=amount: actors.grant(u, a))
        actions.extend(together(burst))
    return actions


def plan_drain(rng: random.Random, actors: Actors, book: Book) -> list[Action]:
    """The round's end: the sweep on every unfinished generation, each racing one late report
    (an ending or progress) from the generator, an admin or the owner. Afterwards every
    generation has ended.
    """
    with book.lock:
        unfinished = [g for g in book.generations.values() if g.id not in book.endings]
    actions: list[Action] = []
    for generation in unfinished:
        late = rng.choice(["generator", "admin", "owner"])
        burst: list[Action] = [
            lambda g=generation, req=random_report(rng, "system", generation): actors.report("system", g, req),
            lambda r=late, g=generation, req=random_report(rng, late, generation): actors.report(r, g, req),
        ]
        actions.extend(together(burst))
    return actions


def run_concurrently(actions: list[Action]) -> None:
    """Run actions on ``THREADS`` threads (a burst's members are submitted side by side, and a
    burst is never larger than the pool, so its barrier always fills).
    """
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(a) for a in actions]:
            future.result()


# ------------------------------------------------------------------ the checks


def check_books(
    client: firestore.Client,
    book: Book,
    users: list[Caller],
    owner_reports_in_round: dict[int, bool],
    final_after: dict[str, dict[str, Any]],
    number: int,
) -> None:
    where = f"after round {number}"
    activities = {s.id: s.to_dict() or {} for s in client.collection("ai_activity").stream()}
    usage_logs = {s.id: s.to_dict() or {} for s in client.collection("usage_logs").stream()}
    entries: dict[str, list[tuple[EntryId, dict[str, Any]]]] = defaultdict(list)
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for snap in client.collection("credit_logs").stream():
        data = snap.to_dict() or {}
        by_user[str(data.get("userId"))].append(data)
        parsed = EntryId.parse(snap.id)
        assert parsed is not None, fail(f"{where}: a ledger entry with an unknown id {snap.id}")
        if data.get("activityId"):
            entries[str(data["activityId"])].append((parsed, data))
    accounts = {s.id: s.to_dict() or {} for s in client.collection("users").stream()}

    assert set(activities) == set(book.generations), fail(f"{where}: activities differ from the accepted charges")
    assert set(usage_logs) == set(activities), fail(f"{where}: usage logs without a generation")
    unfinished = sorted(g for g, doc in activities.items() if doc["status"] not in FINAL)
    assert not unfinished, fail(f"{where}: the sweep left generations unfinished: {unfinished[:5]}")
    for gid, generation in book.generations.items():
        doc = activities[gid]
        status = doc["status"]
        assert doc["initialCharge"] == generation.charged, fail(f"{where}: {gid} charged {generation.charged}: {doc}")
        endings = book.endings.get(gid, [])
        # one terminal state, reached by exactly one accepted ending, and nothing written after it
        assert len(endings) == 1, fail(f"{where}: {gid} is {status} after {len(endings)} accepted endings")
        assert gid in usage_logs, fail(f"{where}: {gid} is {status} and has no usage log")
        if gid in final_after:
            assert doc == final_after[gid], fail(f"{where}: the final activity {gid} changed after it ended")
        final_after.setdefault(gid, doc)
        ending = endings[0]
        assert doc["status"] == ending.result["status"], fail(f"{where}: {gid} stored {status}, ended {ending.result}")
        assert doc["lastUpdate"]["response"] == ending.result, fail(f"{where}: {gid} was written after its ending")
        assert doc["endedBy"] == ending.role, fail(f"{where}: {gid} ended by {ending.role}, recorded {doc['endedBy']}")
        check_money(where, gid, doc, entries[gid])
        # who caused the refund
        refunded = doc["refundedCredits"]
        expected = refunded > 0 and (ending.role == "owner" or (ending.role == "system" and owner_reports_in_round[ending.round]))
        assert doc["ownerRefund"] is expected, fail(f"{where}: {gid} ended by {ending.role} in round {ending.round}: {doc}")
        log = usage_logs[gid]
        for name in ("status", "creditsCharged", "refundedCredits", "ownerRefund", "endedBy"):
            assert log[name] == doc[name], fail(f"{where}: usage_logs/{gid}.{name} {log[name]!r} != {doc[name]!r}")

    assert reconcile(client) == [], fail(f"{where}: the books do not balance")
    for user in users:
        mine = [activities[g] for g, gen in book.generations.items() if gen.owner.uid == user.uid]
        account = accounts.get(user.uid)
        if account is None:
            assert not mine
            continue
        usage = account.get("usage", {})
        owner_refunded = [a for a in mine if a.get("ownerRefund") is True]
        counters = {
            "ownerRefunds": len(owner_refunded),
            "ownerRefundedCredits": sum(a["refundedCredits"] for a in owner_refunded),
            "generations": len(mine),
            "creditsUsed": sum(a["creditsCharged"] for a in mine),
            "refunds": sum(1 for a in mine if a["refundedCredits"] > 0),
            "failures": sum(1 for a in mine if a["status"] == "failed"),
        }
        got = {name: usage.get(name, 0) for name in counters}
        assert got == counters, fail(f"{where}: users/{user.uid}.usage {got} != {counters} from the activities")
        granted = sum(e["delta"] for e in by_user[user.uid] if e["reason"] in ("signup_grant", "admin_grant", "admin_clawback"))
        assert granted - account["credits"] == counters["creditsUsed"], fail(f"{where}: {user.uid}'s credits do not add up")
        refund_rate = [
            r.to_dict() or {}
            for r in client.collection("abuse_detection").where(filter=FieldFilter("userId", "==", user.uid)).stream()
            if (r.to_dict() or {}).get("kind") == "refund_rate"
        ]
        flagged = [r["detail"]["activityId"] for r in refund_rate]
        assert len(flagged) == len(set(flagged)), fail(f"{where}: a refund was scored twice: {flagged}")
        owner_refund_ids = {
            g for g, gen in book.generations.items() if gen.owner.uid == user.uid and activities[g].get("ownerRefund")
        }
        assert set(flagged) <= owner_refund_ids, fail(f"{where}: refund_rate events for refunds the owner did not cause")


def check_money(where: str, gid: str, doc: dict[str, Any], entries: list[tuple[EntryId, dict[str, Any]]]) -> None:
    """The activity's ledger entries and its figures tell the same story."""
    kinds = Counter(e.kind for e, _ in entries)
    assert kinds[EntryKind.CHARGE] == 1 and kinds[EntryKind.REFUND] <= 1 and kinds[EntryKind.SETTLE] <= 1, fail(
        f"{where}: {gid}: {kinds}"
    )
    assert not (kinds[EntryKind.REFUND] and kinds[EntryKind.SETTLE]), fail(f"{where}: {gid} was both refunded and settled")
    assert set(kinds) <= {EntryKind.CHARGE, EntryKind.REFUND, EntryKind.SETTLE}, fail(f"{where}: {gid}: {kinds}")
    delta = {e.kind: int(d["delta"]) for e, d in entries}
    initial, charged, refunded = doc["initialCharge"], doc["creditsCharged"], doc["refundedCredits"]
    assert delta[EntryKind.CHARGE] == -initial, fail(f"{where}: {gid} charge entry {delta} vs initialCharge {initial}")
    if doc["status"] == "failed":
        assert charged == 0 and refunded == initial, fail(f"{where}: failed {gid}: {doc}")
        assert delta.get(EntryKind.REFUND, 0) == initial and EntryKind.SETTLE not in delta, fail(f"{where}: {gid}: {delta}")
        assert (EntryKind.REFUND in delta) == (initial > 0), fail(f"{where}: {gid}: {delta}")
    else:
        settled = delta.get(EntryKind.SETTLE, 0)
        assert EntryKind.REFUND not in delta, fail(f"{where}: completed {gid} has a failure refund")
        assert charged == initial - settled, fail(f"{where}: {gid} charged {charged}, initial {initial}, settled {settled}")
        assert refunded == max(0, settled), fail(f"{where}: {gid} refunded {refunded}, settled {settled}")
        assert (EntryKind.SETTLE in delta) == (settled != 0), fail(f"{where}: {gid}: {delta}")
