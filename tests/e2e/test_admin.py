"""The admin callables over HTTP: identity, each action and its audit entry, statistics."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from credits.features import rollup
from credits.vocab.clock import ManualClock
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance, balance

ADMIN_CALLS = [
    ("grantCreditsToUser", {"userId": "someone", "amount": 5, "reason": "r"}),
    ("updateCreditConfiguration", {"defaultCredits": 50}),
    ("setUserStatus", {"userId": "someone", "status": "suspended", "reason": "r"}),
    ("setIpBlock", {"ip": "203.0.113.9", "blocked": True, "reason": "r"}),
    ("getUsageStats", {}),
]


def audits(db: firestore.Client, actor: str, action: str) -> list[dict]:
    q = (
        db.collection("admin_audit_logs")
        .where(filter=FieldFilter("actorId", "==", actor))
        .where(filter=FieldFilter("action", "==", action))
    )
    return sorted((d.to_dict() for d in q.stream()), key=lambda d: d["createdAt"])


@pytest.mark.parametrize("name,data", ADMIN_CALLS, ids=[n for n, _ in ADMIN_CALLS])
def test_admin_callable_refuses_a_plain_user(name: str, data: dict, user: emu.User, db: firestore.Client) -> None:
    r = emu.call(name, data, user)
    assert r.code == "PERMISSION_DENIED" and r.reason == "admin_required"
    assert not audits(db, user.uid, "grant_credits")


@pytest.mark.parametrize("name,data", ADMIN_CALLS, ids=[n for n, _ in ADMIN_CALLS])
def test_admin_callable_refuses_an_anonymous_caller(name: str, data: dict) -> None:
    assert emu.call(name, data).code == "UNAUTHENTICATED"


def test_claim_must_be_exactly_true(db: firestore.Client) -> None:
    almost = emu.sign_up()
    emu.set_claims(almost.uid, {"admin": "true"})
    almost.refresh()
    assert emu.call("getUsageStats", {}, almost).reason == "admin_required"


# ----------------------------------------------------------------- grants


def test_grant_adds_credits_with_ledger_and_audit(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).ok
    r = emu.call(
        "grantCreditsToUser",
        {"userId": user.uid, "amount": 250, "reason": "support ticket 42"},
        admin,
        headers={"User-Agent": "console/1"},
    )
    assert r.result["userId"] == user.uid and r.result["newBalance"] == 340
    entry = db.collection("credit_logs").document(r.result["ledgerEntryId"]).get().to_dict()
    assert entry["delta"] == 250 and entry["reason"] == "admin_grant"
    # What the user can read carries neither the admin's reason nor who they are (revision 3).
    assert entry["balanceAfter"] == 340 and "note" not in entry and "actorId" not in entry
    (audit,) = [a for a in audits(db, admin.uid, "grant_credits") if a["target"] == f"users/{user.uid}"]
    assert audit["note"] == "support ticket 42" and audit["actorId"] == admin.uid
    assert audit["before"] == {"credits": 90}
    assert audit["after"]["credits"] == 340
    assert audit["ip"] == admin.ip and audit["userAgent"] == "console/1" and audit["createdAt"] is not None
    assert_books_balance(db, user.uid)


def test_clawback_may_not_go_below_zero(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).ok
    r = emu.call("grantCreditsToUser", {"userId": user.uid, "amount": -91, "reason": "chargeback"}, admin)
    assert r.code == "FAILED_PRECONDITION" and r.reason == "insufficient_credits"
    assert r.details == {"reason": "insufficient_credits", "required": 91, "available": 90}
    r = emu.call("grantCreditsToUser", {"userId": user.uid, "amount": -90, "reason": "chargeback"}, admin)
    assert r.result["newBalance"] == 0
    entry = db.collection("credit_logs").document(r.result["ledgerEntryId"]).get().to_dict()
    assert entry["reason"] == "admin_clawback" and entry["delta"] == -90
    assert_books_balance(db, user.uid)


def test_grant_to_unknown_user_is_not_found(admin: emu.User) -> None:
    r = emu.call("grantCreditsToUser", {"userId": f"ghost-{uuid.uuid4().hex}", "amount": 5, "reason": "r"}, admin)
    assert r.code == "NOT_FOUND" and r.reason == "not_found"


def test_grant_to_a_user_who_never_called_opens_the_account_with_the_sign_up_grant_pending(
    admin: emu.User, db: firestore.Client
) -> None:
    fresh = emu.sign_up()
    r = emu.call("grantCreditsToUser", {"userId": fresh.uid, "amount": 5, "reason": "welcome bonus"}, admin)
    assert r.result["newBalance"] == 5
    assert db.collection("users").document(fresh.uid).get().to_dict()["signupGrant"] == "pending"
    assert not db.collection("credit_logs").document(f"signup_{fresh.uid}").get().exists
    # the user's own first call decides the sign-up grant, once
    status = emu.call("getCreditStatus", {}, fresh).result
    assert status["credits"] == 105 and status["signupGrant"] == "granted"
    assert emu.call("getCreditStatus", {}, fresh).result["credits"] == 105
    assert db.collection("credit_logs").document(f"signup_{fresh.uid}").get().to_dict()["delta"] == 100
    assert_books_balance(db, fresh.uid)


def test_grant_request_id_is_idempotent(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    key = f"grant-{uuid.uuid4()}"
    payload = {"userId": user.uid, "amount": 30, "reason": "promo", "requestId": key}
    emu.warm_workers("grantCreditsToUser", 10)
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: emu.call_retrying_drops("grantCreditsToUser", payload, admin), range(10)))
    assert all(r.ok for r in results), [r.body for r in results]
    assert len({r.result["ledgerEntryId"] for r in results}) == 1
    assert balance(db, user.uid) == 30  # the user never called: sign-up grant still pending
    assert len([a for a in audits(db, admin.uid, "grant_credits") if a["requestId"] == key]) == 1
    r = emu.call("grantCreditsToUser", {**payload, "amount": 31}, admin)
    assert r.code == "INVALID_ARGUMENT" and "requestId" in r.details["errors"]


BAD_GRANTS = [
    ({"amount": 5, "reason": "r"}, "userId"),
    ({"userId": "a/b", "amount": 5, "reason": "r"}, "userId"),
    ({"userId": "u", "amount": 0, "reason": "r"}, "amount"),
    ({"userId": "u", "amount": 1.5, "reason": "r"}, "amount"),
    ({"userId": "u", "amount": 1_000_001, "reason": "r"}, "amount"),
    ({"userId": "u", "amount": -1_000_001, "reason": "r"}, "amount"),
    ({"userId": "u", "amount": "5", "reason": "r"}, "amount"),
    ({"userId": "u", "amount": 5}, "reason"),
    ({"userId": "u", "amount": 5, "reason": "x" * 501}, "reason"),
    ({"userId": "u", "amount": 5, "reason": "r", "requestId": "no spaces"}, "requestId"),
]


@pytest.mark.parametrize("payload,field", BAD_GRANTS, ids=[f for _, f in BAD_GRANTS])
def test_malformed_grant_is_invalid_argument(payload: dict, field: str, admin: emu.User) -> None:
    r = emu.call("grantCreditsToUser", payload, admin)
    assert r.code == "INVALID_ARGUMENT" and field in r.details["errors"]


def test_grants_and_charges_in_parallel_keep_the_books(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    def work(i: int) -> emu.CallResult:
        key = f"mix-{user.uid}-{i}"  # keyed, so a request the emulator drops is sent again safely
        if i % 3 == 0:
            return emu.call_retrying_drops(
                "grantCreditsToUser", {"userId": user.uid, "amount": 7, "reason": f"g{i}", "requestId": key}, admin
            )
        if i % 3 == 1:
            return emu.call_retrying_drops(
                "grantCreditsToUser", {"userId": user.uid, "amount": -3, "reason": f"c{i}", "requestId": key}, admin
            )
        return emu.call_retrying_drops(
            "validateAndDeductCredits", {"type": "chat", "prompt": "hello", "quantity": 500, "requestId": key}, user
        )

    assert emu.call("validateAndDeductCredits", {"type": "chat", "prompt": "hello", "quantity": 1}, user).ok
    emu.warm_workers("grantCreditsToUser", 20)
    emu.warm_workers("validateAndDeductCredits", 10)
    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(work, range(30)))
    assert all(r.ok or r.reason == "insufficient_credits" for r in results), [r.body for r in results if not r.ok]
    granted = sum(7 for i, r in enumerate(results) if i % 3 == 0 and r.ok)
    clawed = sum(3 for i, r in enumerate(results) if i % 3 == 1 and r.ok)
    charged = sum(5 for i, r in enumerate(results) if i % 3 == 2 and r.ok)
    assert balance(db, user.uid) == 99 + granted - clawed - charged
    assert_books_balance(db, user.uid)


# ----------------------------------------------------------------- configuration


def applied_version(db: firestore.Client) -> int:
    return int((db.collection("applied_config").document("current").get().to_dict() or {}).get("version", 0))


def test_configuration_update_merges_bumps_version_and_audits(admin: emu.User, db: firestore.Client, config: object) -> None:
    base = applied_version(db)
    r = emu.call("updateCreditConfiguration", {"costs": {"image": 12.5}, "rateLimits": {"video": 20}}, admin)
    body = r.result
    assert body["version"] == base + 1
    assert body["config"]["costs"] == {"image": 12.5, "video": 5, "voice": 3, "chat": 0.01}
    assert body["config"]["rateLimits"]["video"] == 20 and body["config"]["rateLimits"]["image"] == 50
    assert body["config"]["updatedBy"] == admin.uid
    assert {"moderation", "abuse", "signup", "lifecycle"} <= set(body["config"])  # both documents, merged
    r2 = emu.call("updateCreditConfiguration", {"defaultCredits": 250, "abuse": {"suspendScore": 80}}, admin).result
    assert r2["version"] == base + 2 and r2["config"]["costs"]["image"] == 12.5 and r2["config"]["abuse"]["suspendScore"] == 80
    (last,) = audits(db, admin.uid, "update_configuration")[-1:]
    assert last["before"]["defaultCredits"] == 100 and last["after"]["defaultCredits"] == 250
    assert last["before"]["version"] == base + 1 and last["after"]["version"] == base + 2
    public = db.collection("system_config").document("credits").get().to_dict()
    private = db.collection("system_config").document("moderation").get().to_dict()
    assert "abuse" not in public and "moderation" not in public
    assert private["abuse"]["suspendScore"] == 80 and private["version"] == base + 2


def test_new_price_applies_to_the_very_next_charge(admin: emu.User, user: emu.User, config: dict) -> None:
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).result["creditsCharged"] == 10
    for price, expected in ((20, 20), (7.5, 8), (10, 10)):
        assert emu.call("updateCreditConfiguration", {"costs": {"image": price}}, admin).ok
        r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user)
        assert r.result["creditsCharged"] == expected


BAD_CONFIGS = [
    ({}, "data"),
    ({"colour": "blue"}, "colour"),
    ({"costs": {"image": -1}}, "costs.image"),
    ({"costs": {"image": "10"}}, "costs.image"),
    ({"costs": {"image": 0.0000001}}, "costs.image"),
    ({"costs": {"gif": 1}}, "costs.gif"),
    ({"costs": 5}, "costs"),
    ({"rateLimits": {"image": 2.5}}, "rateLimits.image"),
    ({"rateLimits": {"image": 0}}, "rateLimits.image"),
    ({"rateLimits": {"windowSeconds": True}}, "rateLimits.windowSeconds"),
    ({"defaultCredits": -5}, "defaultCredits"),
    ({"defaultCredits": 1.5}, "defaultCredits"),
    ({"retentionDays": 0}, "retentionDays"),
    ({"categories": {"sexual_minors": {"action": "allow"}}}, "categories.sexual_minors"),
    ({"provider": {"failMode": "sometimes"}}, "provider.failMode"),
    ({"moderation": {"terms": [{"term": "x", "category": "c", "severity": "low"}] * 1001}}, "moderation.terms"),
    ({"moderation": {"terms": [{"term": "x", "category": "c", "severity": "extreme"}]}}, "moderation.terms.0.severity"),
    ({"moderation": {"terms": [{"term": "", "category": "c", "severity": "low"}]}}, "moderation.terms.0.term"),
    ({"moderation": {"terms": [{"term": "x", "category": "Bad Cat", "severity": "low"}]}}, "moderation.terms.0.category"),
    ({"version": 99}, "version"),
    ({"updatedBy": "me"}, "updatedBy"),
]


@pytest.mark.parametrize("patch,field", BAD_CONFIGS, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_CONFIGS)])
def test_invalid_configuration_is_refused_naming_the_field(
    patch: dict, field: str, admin: emu.User, db: firestore.Client, config: object
) -> None:
    before = applied_version(db)
    r = emu.call("updateCreditConfiguration", patch, admin)
    assert r.code == "INVALID_ARGUMENT" and r.reason == "invalid_request"
    assert field in r.details["errors"], r.details
    assert applied_version(db) == before


# ----------------------------------------------------------------- account status and IP blocks


def test_suspend_and_reactivate(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).ok
    r = emu.call("setUserStatus", {"userId": user.uid, "status": "suspended", "reason": "chargeback fraud"}, admin)
    assert r.result["status"] == "suspended" and r.result["previousStatus"] == "active"
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).reason == "account_suspended"
    doc = db.collection("users").document(user.uid).get().to_dict()
    assert doc["statusReason"] == "chargeback fraud" and doc["statusChangedBy"] == admin.uid
    assert emu.call("setUserStatus", {"userId": user.uid, "status": "active", "reason": "appeal accepted"}, admin).ok
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "p"}, user).ok
    trail = [a for a in audits(db, admin.uid, "set_user_status") if a["target"] == f"users/{user.uid}"]
    assert [(a["before"]["status"], a["after"]["status"]) for a in trail] == [("active", "suspended"), ("suspended", "active")]


def test_set_user_status_for_unknown_user_is_not_found(admin: emu.User) -> None:
    r = emu.call("setUserStatus", {"userId": f"ghost-{uuid.uuid4().hex}", "status": "suspended", "reason": "r"}, admin)
    assert r.code == "NOT_FOUND"


def test_ip_block_is_audited(admin: emu.User, db: firestore.Client) -> None:
    ip = emu.fresh_ip()
    assert emu.call("setIpBlock", {"ip": ip, "blocked": True, "reason": "scraper"}, admin).result["blocked"] is True
    assert emu.call("setIpBlock", {"ip": ip, "blocked": False, "reason": "ok now"}, admin).result["blocked"] is False
    trail = [a for a in audits(db, admin.uid, "set_ip_block") if a["target"] == ip]
    assert [(a["before"]["blocked"], a["after"]["blocked"]) for a in trail] == [(False, True), (True, False)]


@pytest.mark.parametrize("ip", ["not-an-ip", "999.1.1.1", "10.0.0.0/33", ""])
def test_bad_ip_is_refused(ip: str, admin: emu.User) -> None:
    r = emu.call("setIpBlock", {"ip": ip, "blocked": True, "reason": "r"}, admin)
    assert r.code == "INVALID_ARGUMENT" and "ip" in r.details["errors"]


# ----------------------------------------------------------------- statistics


class FunctionsTime:
    """The functions' clock (the emulator's offset file) and the same time for the rollup
    job, which the tests run in process against the same Firestore emulator (the schedule
    only wraps it; the Pub/Sub trigger is not part of the local suite)."""

    def __init__(self) -> None:
        # Twenty minutes into an hour, so a test's calls all fall in the same buckets.
        real = dt.datetime.now(dt.UTC)
        self.offset = (real.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1, minutes=20) - real).total_seconds()
        emu.set_clock_offset(self.offset)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        emu.set_clock_offset(self.offset)

    def roll_up(self, db: firestore.Client) -> dt.datetime:
        report = rollup.rollup_usage(db, ManualClock(self.now()))
        assert report.skipped is None and report.cursor is not None, report.as_dict()
        return report.cursor


@pytest.fixture
def fn_time(clock: None, db: firestore.Client) -> Iterator[FunctionsTime]:
    emu.clear_firestore()
    yield FunctionsTime()
    for name in (rollup.ROLLUPS, rollup.ROLLUP_USERS):  # no rollup "from the future" left behind
        for snap in db.collection(name).stream():
            snap.reference.delete()


RANGES = ("24h", "7d", "30d", "90d")


def summary(
    generations: int, completed: int, failed: int, used: int, refunded: int, refunds: int, cost: float | None, ms: float | None
) -> dict:
    return {
        "generations": generations,
        "completedGenerations": completed,
        "failedGenerations": failed,
        "successRate": None if not generations else round(completed / generations, 4),
        "creditsUsed": used,
        "refundedCredits": refunded,
        "refunds": refunds,
        "averageCostPerGeneration": cost,
        "averageProcessingTimeMs": ms,
    }


def test_usage_stats_of_every_range_match_a_known_sequence_exactly(
    admin: emu.User, generator: emu.User, db: firestore.Client, fn_time: FunctionsTime
) -> None:
    alice, bob, carol = emu.sign_up(), emu.sign_up(), emu.sign_up()

    def go(u: emu.User, **data: object) -> str:
        return str(emu.call("validateAndDeductCredits", {"prompt": "p", **data}, u).result["activityId"])

    go(alice, type="image", quantity=3)  # 30
    go(alice, type="chat", quantity=1000)  # 10
    failed = go(bob, type="video", quantity=4)  # 20, then refunded
    settled = go(bob, type="chat", quantity=2000)  # 20, settled to 5 (refund 15)
    go(carol, type="voice", quantity=2)  # 6
    go(carol, type="image")  # 10
    fn_time.advance(90)
    assert emu.call("updateAIActivityStatus", {"activityId": failed, "status": "failed"}, bob).ok
    assert emu.call("updateAIActivityStatus", {"activityId": settled, "status": "completed", "actualQuantity": 500}, generator).ok
    ms = db.collection("usage_logs").document(settled).get().to_dict()["processingTimeMs"]
    assert 90_000 <= ms < 100_000

    # 6 charged, 2 finished (1 completed at 5 credits, 1 failed), 4 still pending.
    totals = summary(2, 1, 1, 61, 35, 2, 5.0, float(ms))
    by_type = {
        "image": summary(0, 0, 0, 40, 0, 0, None, None),
        "video": summary(1, 0, 1, 0, 20, 1, None, None),
        "voice": summary(0, 0, 0, 6, 0, 0, None, None),
        "chat": summary(1, 1, 0, 15, 15, 1, 5.0, float(ms)),
    }

    def check(name: str, rolled: dt.datetime | None) -> dict:
        stats = emu.call("getUsageStats", {"range": name}, admin).result
        assert stats["range"] == name and stats["interval"] == ("hour" if name == "24h" else "day")
        assert stats["totals"] == totals and stats["byType"] == by_type
        assert len(stats["series"]) == {"24h": 24, "7d": 7, "30d": 30, "90d": 90}[name]
        (point,) = [p for p in stats["series"] if p["generations"]]  # everything fell in one bucket
        assert (
            point["creditsUsed"] == 61
            and point["refunds"] == 2
            and point == {"start": point["start"], **totals, "expiredCredits": 0}
        )
        assert stats["activeNow"] == 4 and stats["activeByStatus"] == {"pending": 4, "processing": 0}
        assert stats["documentsRead"] == stats["readCost"]["documents"] + stats["readCost"]["aggregationReads"]
        assert stats["rolledUpUntil"] == (rolled.isoformat() if rolled else None)
        return stats

    for name in RANGES:  # before any rollup: the whole range from aggregation queries
        assert check(name, None)["topUsers"] == []

    fn_time.advance(2 * 3600)  # the hour closed; the job rolls it up
    rolled = fn_time.roll_up(db)
    for name in RANGES:
        stats = check(name, rolled)
        top = [(u["userId"], u["email"], u["creditsUsed"], u["generations"]) for u in stats["topUsers"]]
        assert top == [(alice.uid, alice.email, 40, 0), (carol.uid, carol.email, 16, 0), (bob.uid, bob.email, 5, 2)]
        assert stats["topUsersWindow"]["until"] == rolled.isoformat()
        assert stats["readCost"]["aggregationQueries"] <= 2 * 17 + 2  # the open hours only
    (audit,) = audits(db, admin.uid, "get_usage_stats")[-1:]
    assert audit["target"] == "90d" and audit["result"]["documentsRead"] == stats["documentsRead"]


def test_top_users_are_at_most_ten_in_order(admin: emu.User, db: firestore.Client, fn_time: FunctionsTime) -> None:
    users = [emu.sign_up() for _ in range(12)]
    for i, u in enumerate(users):
        # With a requestId, so that a request the Functions emulator drops can be sent again.
        charge = {"type": "chat", "prompt": "p", "quantity": 100 * (i + 1), "requestId": uuid.uuid4().hex}
        assert emu.call_retrying_drops("validateAndDeductCredits", charge, u).ok
    fn_time.advance(3600)
    fn_time.roll_up(db)
    for name in RANGES:
        top = emu.call("getUsageStats", {"range": name}, admin).result["topUsers"]
        assert [t["userId"] for t in top] == [u.uid for u in reversed(users)][:10]
        assert [t["creditsUsed"] for t in top] == [12, 11, 10, 9, 8, 7, 6, 5, 4, 3]


def test_stats_reads_do_not_grow_with_the_traffic(admin: emu.User, db: firestore.Client, fn_time: FunctionsTime) -> None:
    fn_time.roll_up(db)  # the job runs from the start, as deployed

    def reads() -> dict[str, int]:
        return {name: emu.call("getUsageStats", {"range": name}, admin).result["documentsRead"] for name in RANGES}

    empty = reads()
    users = [emu.sign_up() for _ in range(6)]  # 10 images each with the default grant
    emu.warm_workers("validateAndDeductCredits", 6)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(
                lambda i: emu.call_retrying_drops(
                    "validateAndDeductCredits", {"type": "image", "prompt": "p", "requestId": f"r{i}"}, users[i % 6]
                ),
                range(60),
            )
        )
    assert sum(r.ok for r in results) >= 55
    busy = reads()
    assert busy == empty, (empty, busy)
    for name, n in (("24h", 24), ("7d", 7), ("30d", 30), ("90d", 90)):
        # state + rollup documents + 17 aggregations per open piece (2 at most: 16 of
        # generations, one of expiries) + activeNow + the top users' query (nothing rolled up
        # yet: 1 read for no result)
        assert busy[name] <= 1 + n + 2 * 17 + 2 + 1


@pytest.mark.parametrize(
    "data,field",
    [
        ({"range": "1y"}, "range"),
        ({"range": 7}, "range"),
        ({"range": ["24h"]}, "range"),
        ({"since": "2026-01-01"}, "since"),
        ([], "data"),
    ],
)
def test_bad_usage_stats_request_is_invalid_argument(data: object, field: str, admin: emu.User) -> None:
    r = emu.call("getUsageStats", data, admin)
    assert r.code == "INVALID_ARGUMENT" and r.reason == "invalid_request" and field in r.details["errors"]


def test_concurrent_admin_configuration_updates_all_land(admin: emu.User, db: firestore.Client, config: object) -> None:
    base = applied_version(db)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: emu.call("updateCreditConfiguration", {"defaultCredits": 100 + i}, admin), range(8)))
    assert all(r.ok for r in results)
    assert sorted(r.result["version"] for r in results) == list(range(base + 1, base + 9))
    assert Counter(r.code for r in results) == {None: 8}
