"""Grant buckets over HTTP: spend order, exact expiry, refunds to their buckets, the ledger's legs."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from google.cloud import firestore

from tests.support import emulators as emu
from tests.support.ledger import assert_buckets_balance, balance, entries

DAY = 86_400


def iso(seconds_from_now: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def grant(
    admin: emu.User, uid: str, amount: int, *, source: str = "admin", expires_in: float | None = None, **extra: Any
) -> dict:
    data: dict[str, Any] = {"userId": uid, "amount": amount, "reason": "test grant", "source": source, **extra}
    if expires_in is not None:
        data["expiresAt"] = iso(expires_in)
    r = emu.call("grantCreditsToUser", data, admin)
    assert r.ok, r.body
    return r.result


def warm(name: str, count: int) -> None:
    """``emu.warm_workers`` with room for a loaded machine (starting 50 workers takes a while)."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(lambda _: emu.call(name, None, timeout=600), range(count)))


def status(user: emu.User) -> dict:
    r = emu.call("getCreditStatus", {}, user)
    assert r.ok, r.body
    return r.result


def charge(user: emu.User, kind: str = "image", quantity: int = 1, **extra: Any) -> emu.CallResult:
    return emu.call("validateAndDeductCredits", {"type": kind, "prompt": "a lighthouse", "quantity": quantity, **extra}, user)


def entry(db: firestore.Client, entry_id: str) -> dict:
    snap = db.collection("credit_logs").document(entry_id).get()
    assert snap.exists, entry_id
    return snap.to_dict() or {}


def test_spend_order_is_soonest_expiry_first_then_source_priority(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    status(user)  # the sign-up bucket: 100, never expires
    promo = grant(admin, user.uid, 30, source="promo", expires_in=10 * DAY)["ledgerEntryId"]
    at30 = iso(30 * DAY)  # the same instant for both: the source decides
    admin_grant = grant(admin, user.uid, 40, source="admin", expiresAt=at30)["ledgerEntryId"]
    later = grant(admin, user.uid, 25, source="promo", expiresAt=at30)["ledgerEntryId"]
    got = status(user)
    assert got["credits"] == 195
    # Spend order: promo (10 days), then at 30 days the promo before the admin grant, then sign-up.
    assert [(b["source"], b["remaining"]) for b in got["buckets"]] == [
        ("promo", 30),
        ("promo", 25),
        ("admin", 40),
        ("signup", 100),
    ]
    assert got["nextExpiry"]["credits"] == 30
    assert got["plan"] is None and got["debt"] == 0

    r = charge(user, quantity=7)  # 70 credits
    assert r.ok, r.body
    legs = entry(db, f"charge_{r.result['activityId']}")["buckets"]
    assert legs == [{"bucketId": promo, "delta": -30}, {"bucketId": later, "delta": -25}, {"bucketId": admin_grant, "delta": -15}]
    assert [(b["source"], b["remaining"]) for b in status(user)["buckets"]] == [("admin", 25), ("signup", 100)]
    assert_buckets_balance(db, user.uid)


def test_the_user_reads_the_note_meant_for_them_not_the_admins_reason(
    user: emu.User, admin: emu.User, db: firestore.Client
) -> None:
    status(user)
    r = emu.call(
        "grantCreditsToUser",
        {"userId": user.uid, "amount": 5, "reason": "ticket 7: angry customer", "userNote": "Sorry for the outage!"},
        admin,
    )
    assert r.ok, r.body
    logged = entry(db, r.result["ledgerEntryId"])
    assert logged["note"] == "Sorry for the outage!" and "actorId" not in logged
    assert "angry" not in str(logged)
    assert logged["newBuckets"][0]["source"] == "admin" and logged["newBuckets"][0]["expiresAt"] is None


def test_a_grant_that_expires_in_the_past_or_with_a_bad_source_writes_nothing(
    user: emu.User, admin: emu.User, db: firestore.Client
) -> None:
    status(user)
    for data, field in (
        ({"expiresAt": iso(-60)}, "expiresAt"),
        ({"expiresAt": "2030-01-01T00:00:00+02:00"}, "expiresAt"),
        ({"expiresAt": "next tuesday"}, "expiresAt"),
        ({"source": "purchase"}, "source"),
        ({"amount": -5, "expiresAt": iso(60)}, "expiresAt"),
    ):
        r = emu.call("grantCreditsToUser", {"userId": user.uid, "amount": 5, "reason": "r", **data}, admin)
        assert r.code == "INVALID_ARGUMENT" and field in r.details["errors"], (data, r.body)
    assert balance(db, user.uid) == 100


def test_expiry_is_exact_without_the_job(user: emu.User, admin: emu.User, db: firestore.Client, clock: None) -> None:
    status(user)
    promo = grant(admin, user.uid, 50, source="promo", expires_in=3600)["ledgerEntryId"]
    assert status(user)["credits"] == 150
    emu.set_clock_offset(3601)  # an hour later: no job has run
    got = status(user)
    assert got["credits"] == 100 and [b["source"] for b in got["buckets"]] == ["signup"] and got["nextExpiry"] is None
    assert balance(db, user.uid) == 150  # getCreditStatus records nothing...
    r = charge(user)
    assert r.ok and r.result["remainingCredits"] == 90  # ...and a charge never spends the expired promo
    expired = entry(db, f"expire_{promo}")
    assert expired["delta"] == -50 and expired["reason"] == "expired"
    assert expired["buckets"] == [{"bucketId": promo, "delta": -50}]
    assert entry(db, f"charge_{r.result['activityId']}")["buckets"] == [{"bucketId": f"signup_{user.uid}", "delta": -10}]
    assert_buckets_balance(db, user.uid)


def test_a_refund_after_expiry_expires_at_once(
    user: emu.User, admin: emu.User, generator: emu.User, db: firestore.Client, clock: None
) -> None:
    status(user)
    promo = grant(admin, user.uid, 30, source="promo", expires_in=3600)["ledgerEntryId"]
    r = charge(user, quantity=4)  # 40: 30 from the promo, 10 from the sign-up bucket
    assert r.ok, r.body
    activity = r.result["activityId"]
    emu.set_clock_offset(3601)
    done = emu.call("updateAIActivityStatus", {"activityId": activity, "status": "failed", "error": "gpu"}, generator)
    assert done.ok, done.body
    assert done.result["refundedCredits"] == 40 and done.result["remainingCredits"] == 100
    refund = entry(db, f"refund_{activity}")
    assert sorted((leg["bucketId"], leg["delta"]) for leg in refund["buckets"]) == sorted(
        [(promo, 30), (f"signup_{user.uid}", 10)]
    )
    lapsed = entry(db, f"expire_{promo}~refund_{activity}")
    assert lapsed["delta"] == -30 and lapsed["reason"] == "expired"
    got = status(user)
    assert got["credits"] == 100 and [b["source"] for b in got["buckets"]] == ["signup"]
    assert_buckets_balance(db, user.uid)


def test_a_settlement_returns_the_last_drawn_credits_and_collects_in_spend_order(
    user: emu.User, admin: emu.User, generator: emu.User, db: firestore.Client
) -> None:
    status(user)
    promo = grant(admin, user.uid, 30, source="promo", expires_in=DAY)["ledgerEntryId"]
    r = emu.call("validateAndDeductCredits", {"type": "chat", "prompt": "hi", "quantity": 5000}, user)  # 50
    assert r.ok, r.body
    activity = r.result["activityId"]
    done = emu.call("updateAIActivityStatus", {"activityId": activity, "status": "completed", "actualQuantity": 4000}, generator)
    assert done.ok and done.result["refundedCredits"] == 10
    # The charge drew 30 from the promo and 20 from the sign-up bucket: the 10 go back to sign-up.
    assert entry(db, f"settle_{activity}")["buckets"] == [{"bucketId": f"signup_{user.uid}", "delta": 10}]
    r = emu.call("validateAndDeductCredits", {"type": "chat", "prompt": "hi", "quantity": 100}, user)  # 1
    done = emu.call(
        "updateAIActivityStatus", {"activityId": r.result["activityId"], "status": "completed", "actualQuantity": 500}, generator
    )
    assert done.ok and done.result["creditsCharged"] == 5
    assert entry(db, f"settle_{r.result['activityId']}")["buckets"] == [{"bucketId": f"signup_{user.uid}", "delta": -4}]
    assert promo not in (db.collection("users").document(user.uid).get().to_dict() or {})["buckets"]
    assert_buckets_balance(db, user.uid)


def test_a_clawback_takes_the_latest_expiry_first(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    status(user)
    soon = grant(admin, user.uid, 20, source="promo", expires_in=DAY)["ledgerEntryId"]
    late = grant(admin, user.uid, 20, source="admin", expires_in=10 * DAY)["ledgerEntryId"]
    r = emu.call("grantCreditsToUser", {"userId": user.uid, "amount": -110, "reason": "error"}, admin)
    assert r.ok, r.body
    legs = entry(db, r.result["ledgerEntryId"])["buckets"]
    assert legs == [
        {"bucketId": f"signup_{user.uid}", "delta": -100},
        {"bucketId": late, "delta": -10},
    ]
    assert [(b["source"], b["remaining"]) for b in status(user)["buckets"]] == [("promo", 20), ("admin", 10)]
    assert soon
    assert_buckets_balance(db, user.uid)


def test_fifty_parallel_charges_across_buckets_stay_exact(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    status(user)
    for days, source in ((1, "promo"), (2, "admin"), (3, "promo"), (4, "admin")):
        grant(admin, user.uid, 55, source=source, expires_in=days * DAY)
    # 100 + 4 x 55 = 320 at 10 a charge: 32 succeed, and their draws cross every bucket.
    warm("validateAndDeductCredits", 50)
    payloads = [{"type": "image", "prompt": f"tile {i}", "requestId": f"b-{user.uid}-{i}"} for i in range(50)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda p: emu.call_retrying_drops("validateAndDeductCredits", p, user, timeout=300), payloads))
    outcomes = Counter("dropped" if r.dropped else r.reason if r.code else "charged" for r in results)
    assert outcomes == {"charged": 32, "insufficient_credits": 18}, outcomes
    assert balance(db, user.uid) == 0
    assert_buckets_balance(db, user.uid)
    crossing = [e for e in entries(db, user.uid) if e["reason"] == "generation_charge" and len(e["buckets"]) > 1]
    # Buckets of 55 in spend order: the draws cross a boundary at 55 and 165 (110 and 220 are
    # multiples of 10), whatever order the commits land in.
    assert len(crossing) == 2, crossing


def test_expiry_racing_charges_never_spends_an_expired_bucket(
    user: emu.User, admin: emu.User, db: firestore.Client, clock: None
) -> None:
    status(user)
    promo = grant(admin, user.uid, 200, source="promo", expires_in=3600)["ledgerEntryId"]
    emu.set_clock_offset(3598)  # the promo lapses during the burst
    warm("validateAndDeductCredits", 20)

    def one(i: int) -> emu.CallResult:
        return emu.call_retrying_drops(
            "validateAndDeductCredits", {"type": "image", "prompt": f"x {i}", "requestId": f"r-{user.uid}-{i}"}, user, timeout=300
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(20)))
    assert all(r.ok or r.reason in ("insufficient_credits", "rate_limited") for r in results)
    user_doc = db.collection("users").document(user.uid).get().to_dict() or {}
    expires = None
    for e in entries(db, user.uid):
        if e.get("newBuckets"):
            for opened in e["newBuckets"]:
                if opened["bucketId"] == promo:
                    expires = opened["expiresAt"]
    assert expires is not None
    for e in entries(db, user.uid):
        for leg in e.get("buckets") or []:
            if leg["bucketId"] == promo and e["reason"] == "generation_charge":
                assert e["createdAt"] < expires, e["id"]
    assert user_doc["credits"] >= 0
    assert_buckets_balance(db, user.uid)


def test_refunds_racing_expiry_keep_the_books(
    user: emu.User, admin: emu.User, generator: emu.User, db: firestore.Client, clock: None
) -> None:
    status(user)
    grant(admin, user.uid, 100, source="promo", expires_in=3600)
    activities = []
    for i in range(10):
        r = charge(user, requestId=f"q-{user.uid}-{i}")
        assert r.ok, r.body
        activities.append(r.result["activityId"])
    emu.set_clock_offset(3599)  # the promo lapses while the refunds land
    warm("updateAIActivityStatus", 10)

    def fail(activity: str) -> emu.CallResult:
        return emu.call_retrying_drops("updateAIActivityStatus", {"activityId": activity, "status": "failed"}, generator)

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(fail, activities))
    assert all(r.ok for r in results), [r.body for r in results if not r.ok]
    emu.set_clock_offset(3700)
    assert status(user)["credits"] == 100  # the promo's credits expired, returned or not
    assert charge(user).ok
    assert_buckets_balance(db, user.uid)


# ----------------------------------------------------------------- plans

PLANS = {
    "free": {"name": "Free", "monthlyCredits": 50, "rolloverPeriods": 0},
    "pro": {"name": "Pro", "monthlyCredits": 300, "rolloverPeriods": 1},
}


def test_a_plan_grants_its_allowance_and_spends_before_what_never_expires(
    user: emu.User, admin: emu.User, db: firestore.Client, config: Any
) -> None:
    config({"plans": PLANS})
    status(user)
    r = emu.call("setUserPlan", {"userId": user.uid, "planId": "free"}, admin)
    assert r.ok and r.result["changed"] is True, r.body
    promo = grant(admin, user.uid, 20, source="promo", expires_in=5 * DAY)["ledgerEntryId"]
    purchase_like = grant(admin, user.uid, 40, source="admin")["ledgerEntryId"]
    got = status(user)
    assert got["plan"]["id"] == "free" and got["plan"]["monthlyCredits"] == 50 and got["plan"]["name"] == "Free"
    assert [(b["source"], b["remaining"]) for b in got["buckets"]] == [
        ("promo", 20),
        ("plan", 50),
        ("signup", 100),
        ("admin", 40),
    ]
    r = charge(user, quantity=8)  # 80: the promo (5 days), the plan (a month), then the sign-up grant
    assert r.ok, r.body
    legs = entry(db, f"charge_{r.result['activityId']}")["buckets"]
    assert [leg["delta"] for leg in legs] == [-20, -50, -10] and legs[0]["bucketId"] == promo
    assert purchase_like not in [leg["bucketId"] for leg in legs]
    # The same plan again changes nothing; an unknown plan writes nothing.
    assert emu.call("setUserPlan", {"userId": user.uid, "planId": "free"}, admin).result["changed"] is False
    bad = emu.call("setUserPlan", {"userId": user.uid, "planId": "gold"}, admin)
    assert bad.code == "INVALID_ARGUMENT" and "planId" in bad.details["errors"]
    assert_buckets_balance(db, user.uid)


def test_a_free_plan_renews_once_on_the_first_call_of_the_next_period(
    user: emu.User, admin: emu.User, db: firestore.Client, config: Any, clock: None
) -> None:
    config({"plans": PLANS})
    status(user)
    assert emu.call("setUserPlan", {"userId": user.uid, "planId": "free"}, admin).ok
    first_end = status(user)["plan"]["periodEnd"]
    emu.set_clock_offset(32 * DAY)  # the first period (and its allowance) is over
    emu.warm_workers("validateAndDeductCredits", 8)

    def one(i: int) -> emu.CallResult:
        return emu.call_retrying_drops(
            "validateAndDeductCredits", {"type": "image", "prompt": f"p {i}", "requestId": f"n-{user.uid}-{i}"}, user
        )

    with ThreadPoolExecutor(max_workers=8) as pool:  # the renewal races eight charges
        results = list(pool.map(one, range(8)))
    assert all(r.ok for r in results), [r.body for r in results if not r.ok]
    got = status(user)
    assert got["plan"]["periodEnd"] > first_end
    renewals = [e for e in entries(db, user.uid) if e["reason"] == "plan_allowance"]
    assert len(renewals) == 2  # the first period's and exactly one renewal
    expired = [e for e in entries(db, user.uid) if e["reason"] == "expired"]
    assert sum(e["delta"] for e in expired) == -50  # the first allowance lapsed unused
    assert got["credits"] == 100 + 50 - 80
    assert_buckets_balance(db, user.uid)


def test_a_renewal_racing_charges_pays_them_from_the_new_allowance_alone(
    user: emu.User, admin: emu.User, db: firestore.Client, config: Any, clock: None
) -> None:
    config({"plans": PLANS})
    status(user)
    assert emu.call("setUserPlan", {"userId": user.uid, "planId": "free"}, admin).ok
    # Only the first allowance is left (the sign-up grant, which never expires, is clawed back
    # first), and 20 of it is spent: 30 lapse at the period's end.
    clawback = emu.call("grantCreditsToUser", {"userId": user.uid, "amount": -100, "reason": "test"}, admin)
    assert clawback.ok, clawback.body
    assert charge(user, quantity=2).ok
    (old_plan,) = [b for b in (db.collection("users").document(user.uid).get().to_dict() or {})["buckets"]]
    emu.set_clock_offset(32 * DAY)
    warm("validateAndDeductCredits", 8)

    def one(i: int) -> emu.CallResult:
        return emu.call_retrying_drops(
            "validateAndDeductCredits",
            {"type": "image", "prompt": f"r {i}", "requestId": f"rr-{user.uid}-{i}"},
            user,
            timeout=300,
        )

    # Eight charges of 10 race the renewal they trigger: the new allowance (50) pays exactly
    # five of them; the old one's 30 expire, once, and pay none.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(8)))
    outcomes = Counter("dropped" if r.dropped else r.reason if r.code else "charged" for r in results)
    assert outcomes == {"charged": 5, "insufficient_credits": 3}, outcomes
    log = entries(db, user.uid)
    renewals = [e for e in log if e["reason"] == "plan_allowance"]
    assert len(renewals) == 2 and renewals[1]["delta"] == 50
    (new_plan,) = [b["bucketId"] for b in renewals[1]["newBuckets"]]
    expired = [e for e in log if e["reason"] == "expired"]
    assert [(e["delta"], [leg["bucketId"] for leg in e["buckets"]]) for e in expired] == [(-30, [old_plan])]
    paid = [e for e in log if e["reason"] == "generation_charge" and e["createdAt"] >= renewals[1]["createdAt"]]
    assert len(paid) == 5
    assert all([leg["bucketId"] for leg in e["buckets"]] == [new_plan] for e in paid)
    assert status(user)["credits"] == 0
    assert_buckets_balance(db, user.uid)


def test_a_plan_change_racing_charges_keeps_the_books(user: emu.User, admin: emu.User, db: firestore.Client, config: Any) -> None:
    config({"plans": PLANS})
    status(user)
    assert emu.call("setUserPlan", {"userId": user.uid, "planId": "free"}, admin).ok
    warm("validateAndDeductCredits", 10)

    def one(i: int) -> emu.CallResult:
        return emu.call_retrying_drops(
            "validateAndDeductCredits",
            {"type": "image", "prompt": f"c {i}", "requestId": f"pc-{user.uid}-{i}"},
            user,
            timeout=300,
        )

    # The admin moves the user to Pro while ten charges land: whatever the order, every charge
    # is paid, Pro's allowance is granted once, and the old allowance keeps its credits and expiry.
    with ThreadPoolExecutor(max_workers=11) as pool:
        change = pool.submit(emu.call, "setUserPlan", {"userId": user.uid, "planId": "pro"}, admin)
        results = list(pool.map(one, range(10)))
        changed = change.result()
    assert changed.ok and changed.result["changed"] is True and changed.result["previousPlanId"] == "free", changed.body
    assert all(r.ok for r in results), [r.body for r in results if not r.ok]
    got = status(user)
    assert got["plan"]["id"] == "pro"
    assert got["credits"] == 100 + 50 + 300 - 10 * 10
    allowances = sorted(e["delta"] for e in entries(db, user.uid) if e["reason"] == "plan_allowance")
    assert allowances == [50, 300]
    assert_buckets_balance(db, user.uid)
