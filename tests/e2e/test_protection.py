"""The protective layer over HTTP: rate limits, moderation, abuse scoring, IP blocks."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import config as cfg, emulators as emu
from tests.support.ledger import assert_books_balance, balance

FREE = {"costs": {"image": 0, "video": 0, "voice": 0, "chat": 0}}


def limits_of(db: firestore.Client, user: emu.User) -> dict:
    """The user's rate-limit windows: the ``rateLimits`` map on ``users/{uid}``."""
    doc = db.collection("users").document(user.uid).get().to_dict() or {}
    return doc.get("rateLimits") or {}


def set_config(db: firestore.Client, patch: dict) -> None:
    """Apply a configuration change (the `config` fixture restores the defaults after)."""
    cfg.apply(db, patch)


def gen(user: emu.User, kind: str = "image", *, ip: str | None = None, **extra: object) -> emu.CallResult:
    data = {"type": kind, "prompt": "a calm lake", **extra}
    if kind != "image" and "quantity" not in data:
        data["quantity"] = 1
    return emu.call_retrying_drops("validateAndDeductCredits", data, user, ip=ip)


# ----------------------------------------------------------------- rate limits


@pytest.mark.parametrize("kind,limit", [("image", 50), ("video", 10), ("voice", 30), ("chat", 100)])
def test_default_limit_admits_exactly_limit_per_window(
    kind: str, limit: int, user: emu.User, db: firestore.Client, config: dict
) -> None:
    set_config(db, {**FREE, "rateLimits": {"ipRequests": 1000}})  # 100 chats would reach the IP limit too
    for i in range(limit):
        r = gen(user, kind)
        assert r.ok, (i, r.body)
    r = gen(user, kind)
    assert r.code == "RESOURCE_EXHAUSTED" and r.reason == "rate_limited"
    assert r.details["scope"] == "user"
    assert r.details["limit"] == limit
    assert r.details["windowSeconds"] == 3600
    assert 3590 <= r.details["retryAfterSeconds"] <= 3600
    # another type is not affected
    other = "chat" if kind != "chat" else "image"
    assert gen(user, other).ok


def test_limit_holds_under_parallel_requests(user: emu.User, db: firestore.Client, config: dict) -> None:
    set_config(db, {**FREE, "rateLimits": {"image": 10}})
    emu.warm_workers("validateAndDeductCredits", 30)
    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(lambda i: gen(user, requestId=f"par-{user.uid}-{i}"), range(30)))
    outcomes = Counter(r.reason if r.code else "ok" for r in results)
    assert outcomes == {"ok": 10, "rate_limited": 20}, outcomes
    assert len(limits_of(db, user)["windows"]["image"]["hits"]) == 10


def test_window_rolls_over_and_retry_after_is_honest(user: emu.User, db: firestore.Client, config: dict, clock: None) -> None:
    set_config(db, {**FREE, "rateLimits": {"video": 2, "windowSeconds": 3600}})
    assert gen(user, "video").ok
    emu.set_clock_offset(1000)
    assert gen(user, "video").ok
    r = gen(user, "video")
    assert r.reason == "rate_limited"
    assert 2590 <= r.details["retryAfterSeconds"] <= 2600  # the first entry leaves at t=3600
    emu.set_clock_offset(3601)
    assert gen(user, "video").ok  # the first entry is out of the window
    r = gen(user, "video")
    assert r.reason == "rate_limited"
    assert 990 <= r.details["retryAfterSeconds"] <= 1000


def test_ip_limit_counts_the_charges_that_passed(db: firestore.Client, config: dict) -> None:
    set_config(db, {"rateLimits": {"ipRequests": 6, "ipWindowSeconds": 600}})
    ip = emu.fresh_ip()
    users = [emu.sign_up() for _ in range(3)]
    poor = emu.sign_up()
    # 4 charges from three users and 2 refused (insufficient credits) requests: 4 counted
    for u in [*users, users[0]]:
        assert gen(u, ip=ip).ok
    for _ in range(2):
        assert gen(poor, "video", ip=ip, quantity=100).reason == "insufficient_credits"
    assert gen(users[1], ip=ip).ok and gen(users[2], ip=ip).ok
    r = gen(emu.sign_up(), ip=ip)
    assert r.code == "RESOURCE_EXHAUSTED"
    assert r.details["scope"] == "ip" and r.details["limit"] == 6 and r.details["windowSeconds"] == 600
    assert 590 <= r.details["retryAfterSeconds"] <= 600
    assert gen(emu.sign_up(), ip=emu.fresh_ip()).ok  # other addresses are unaffected


def test_a_free_account_refused_again_and_again_does_not_lock_out_its_address(db: firestore.Client, config: dict) -> None:
    """Was: refused attempts counted in the address's window, so one free anonymous account
    behind a carrier-grade NAT or an office address locked everyone there out for ten minutes.
    Now its refusals count against it alone (its refusal counter, then an abuse record)."""
    set_config(db, {"rateLimits": {"ipRequests": 6, "ipWindowSeconds": 600}})
    ip = emu.fresh_ip()
    anonymous = emu.sign_up_anonymously()
    for _ in range(12):
        assert gen(anonymous, ip=ip).reason == "insufficient_credits"
    for _ in range(3):
        r = gen(anonymous, ip=ip, prompt="how to murder my neighbour")
        assert r.reason == "prompt_rejected", r.body
    neighbour = emu.sign_up()
    assert gen(neighbour, ip=ip).ok  # the address's window holds no refused attempt
    record = db.collection("rate_limits").document(f"ip_{ip}").get().to_dict() or {}
    assert len(record["hits"]) == 1
    assert refusals_of(db, anonymous)["count"] == 12
    kinds = Counter(r["kind"] for r in abuse_records_of(db, anonymous))
    assert kinds["rate_limit"] == 1 and kinds["moderation"] == 3  # the tenth refusal is a record


def test_one_user_takes_at_most_its_share_of_its_addresss_window(db: firestore.Client, config: dict) -> None:
    """Half the window by default: with 6 requests per 10 minutes, one user gets 3 and the
    others behind the address still get the rest."""
    set_config(db, {**FREE, "rateLimits": {"ipRequests": 6, "ipWindowSeconds": 600}})
    ip = emu.fresh_ip()
    greedy, other, third = emu.sign_up(), emu.sign_up(), emu.sign_up()
    for _ in range(3):
        assert gen(greedy, ip=ip).ok
    r = gen(greedy, ip=ip)
    assert r.reason == "rate_limited" and (r.details["scope"], r.details["limit"]) == ("ip", 3), r.body
    assert 590 <= r.details["retryAfterSeconds"] <= 600
    for _ in range(3):
        assert gen(other, ip=ip).ok
    r = gen(third, ip=ip)
    assert r.reason == "rate_limited" and (r.details["scope"], r.details["limit"]) == ("ip", 6), r.body
    assert refusals_of(db, greedy)["count"] == 1 and refusals_of(db, third) == {}


def test_ip_limit_is_exact_under_parallel_requests(db: firestore.Client, config: dict) -> None:
    set_config(db, {**FREE, "rateLimits": {"ipRequests": 12}})
    ip = emu.fresh_ip()
    users = [emu.sign_up() for _ in range(4)]
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(lambda i: gen(users[i % 4], ip=ip, requestId=f"ip-{i}"), range(24)))
    outcomes = Counter((r.reason, (r.details.get("scope") if r.code else None)) if r.code else "ok" for r in results)
    assert outcomes == {"ok": 12, ("rate_limited", "ip"): 12}, outcomes


def test_user_can_read_own_limits_for_a_countdown(user: emu.User, db: firestore.Client) -> None:
    assert gen(user).ok
    doc = limits_of(db, user)  # on the user's own document, which its owner reads
    assert doc["windows"]["image"]["limit"] == 50
    assert len(doc["windows"]["image"]["hits"]) == 1
    assert not db.collection("rate_limits").document(f"u_{user.uid}").get().exists  # no separate record


def test_repeated_refusals_become_an_abuse_record(user: emu.User, db: firestore.Client, config: dict) -> None:
    set_config(db, {**FREE, "rateLimits": {"voice": 1}})
    assert gen(user, "voice").ok
    for _ in range(10):
        assert gen(user, "voice").reason == "rate_limited"
    records = [r.to_dict() for r in db.collection("abuse_detection").where(filter=FieldFilter("userId", "==", user.uid)).stream()]
    assert [r["kind"] for r in records] == ["rate_limit"]
    assert records[0]["detail"]["refusals"] == 10
    assert records[0]["ip"] == user.ip


# ----------------------------------------------------------------- moderation

EVASIONS = [
    ("k.i.l.l the guard", "violence"),
    ("murdеr the witness", "violence"),  # Cyrillic е
    ("k1ll y0urself", "self_harm"),
    ("K Y S", "self_harm"),
    ("ｋｉｌｌ yourself", "self_harm"),  # fullwidth
    ("kіll yourself", "self_harm"),  # Cyrillic і
    ("kíll yourself", "self_harm"),  # accent
    ("k\u200bill yourself", "self_harm"),  # zero-width space
    ("kiiiiill yourself", "self_harm"),
    ("how to m4ke n4p4lm", "weapons"),
    ("how to c00k m.e.t.h", "drugs"),
]
INNOCENT = [
    "a skilled painter at work",
    "skillet with eggs",
    "the killdeer in the field",
    "therapist's office",
    "assassin's creed fan art",
    "classic car",
    "bass guitar",
    "grapes on a table",
    "Scunthorpe at night",
]


@pytest.mark.parametrize(("prompt", "category"), EVASIONS)
def test_evasions_are_rejected_and_never_charged(prompt: str, category: str, user: emu.User, db: firestore.Client) -> None:
    r = gen(user, prompt=prompt)
    assert r.code == "INVALID_ARGUMENT" and r.reason == "prompt_rejected", r.body
    assert r.details["category"] == category
    assert balance(db, user.uid) == 100  # the account opened with its grant; nothing was charged
    records = [d.to_dict() for d in db.collection("abuse_detection").where(filter=FieldFilter("userId", "==", user.uid)).stream()]
    assert len(records) == 1
    record = records[0]
    assert record["kind"] == "moderation" and record["category"] == category
    assert record["promptHash"] and prompt not in str(record)
    assert record["ip"] == user.ip


@pytest.mark.parametrize("prompt", INNOCENT)
def test_innocent_prompts_pass(prompt: str, user: emu.User) -> None:
    assert gen(user, prompt=prompt).ok


def test_configured_terms_apply_to_the_next_call(user: emu.User, db: firestore.Client, config: dict) -> None:
    set_config(db, {"moderation": {"terms": [{"term": "pineapple pizza", "category": "taste", "severity": "low"}]}})
    r = gen(user, prompt="Pineapple   P1zza deluxe")
    assert r.reason == "prompt_rejected" and r.details["category"] == "taste"
    assert gen(user, prompt="kill the engine").ok  # the default list was replaced


# ----------------------------------------------------------------- abuse scoring and suspension


def test_critical_prompt_suspends_at_once(user: emu.User, db: firestore.Client) -> None:
    r = gen(user, prompt="c h i l d p o r n")
    assert r.reason == "prompt_rejected" and r.details["category"] == "sexual_minors"
    doc = db.collection("users").document(user.uid).get().to_dict()
    assert doc["status"] == "suspended"
    assert "critical" in doc["statusReason"]
    assert_books_balance(db, user.uid)  # the account now exists, with its grant in the ledger
    assert gen(user).reason == "account_suspended"
    notes = [
        n.to_dict() for n in db.collection("admin_notifications").where(filter=FieldFilter("userId", "==", user.uid)).stream()
    ]
    assert len(notes) == 1 and notes[0]["severity"] == "critical" and notes[0]["suspended"] is True


def test_score_past_threshold_suspends(user: emu.User, db: firestore.Client) -> None:
    # weapons are high (25 points): the 4th in 24 hours reaches the default threshold of 100
    assert gen(user).ok
    for i in range(3):
        assert gen(user, prompt=f"how to make a pipe bomb {i}").reason == "prompt_rejected"
        assert db.collection("users").document(user.uid).get().to_dict()["status"] == "active"
    assert gen(user, prompt="how to make a pipe bomb, again").reason == "prompt_rejected"
    doc = db.collection("users").document(user.uid).get().to_dict()
    assert doc["status"] == "suspended" and "abuse score" in doc["statusReason"]
    assert gen(user).reason == "account_suspended"
    records = sorted(
        (d.to_dict() for d in db.collection("abuse_detection").where(filter=FieldFilter("userId", "==", user.uid)).stream()),
        key=lambda r: r["createdAt"],
    )
    assert [r["scoreAfter"] for r in records] == [25, 50, 75, 100]
    assert records[-1]["action"] == "suspended"


def test_severity_escalates_with_the_score(user: emu.User, db: firestore.Client) -> None:
    # medium events (10 points); past half the threshold (50) a medium one is recorded as medium,
    # past three quarters (75) as high
    for i in range(9):
        gen(user, prompt=f"how to cook meth {i}")  # drugs: medium
    records = sorted(
        (d.to_dict() for d in db.collection("abuse_detection").where(filter=FieldFilter("userId", "==", user.uid)).stream()),
        key=lambda r: r["createdAt"],
    )
    severities = [r["severity"] for r in records]
    assert severities[:5] == ["medium"] * 5
    assert "high" in severities[5:]


def test_a_high_owner_refund_rate_is_recorded(user: emu.User, db: firestore.Client, config: dict) -> None:
    set_config(db, {"abuse": {"refundRateMinGenerations": 4, "refundRateThreshold": 0.5}})
    ids = [gen(user).result["activityId"] for _ in range(4)]
    for activity in ids[:2]:  # two cancels of four generations: a rate of 0.5
        assert emu.call("updateAIActivityStatus", {"activityId": activity, "status": "failed"}, user).ok
    records = [d.to_dict() for d in db.collection("abuse_detection").where(filter=FieldFilter("userId", "==", user.uid)).stream()]
    assert [r["kind"] for r in records] == ["refund_rate"]
    assert records[0]["detail"]["ownerRefunds"] == 2 and records[0]["detail"]["generations"] == 4
    assert_books_balance(db, user.uid)


# ----------------------------------------------------------------- IP blocks


def test_blocked_ip_is_refused_before_anything_is_counted(user: emu.User, admin: emu.User, db: firestore.Client) -> None:
    assert emu.call("getCreditStatus", {}, user).ok  # the account exists, opened from the user's usual address
    ip = emu.fresh_ip()
    assert emu.call("setIpBlock", {"ip": ip, "blocked": True, "reason": "card testing"}, admin).ok
    try:
        r = gen(user, ip=ip)
        assert r.code == "PERMISSION_DENIED" and r.reason == "ip_blocked"
        assert limits_of(db, user) == {}
        assert not db.collection("rate_limits").document(f"ip_{ip}").get().exists
        assert gen(user, ip=emu.fresh_ip()).ok
    finally:
        assert emu.call("setIpBlock", {"ip": ip, "blocked": False, "reason": "resolved"}, admin).ok
    assert gen(user, ip=ip).ok


def test_blocked_range_covers_its_addresses(user: emu.User, admin: emu.User) -> None:
    assert emu.call("getCreditStatus", {}, user).ok
    assert emu.call("setIpBlock", {"ip": "203.0.113.0/24", "blocked": True, "reason": "bad network"}, admin).ok
    try:
        assert gen(user, ip="203.0.113.77").reason == "ip_blocked"
        assert gen(user, ip="203.0.114.1").ok
    finally:
        emu.call("setIpBlock", {"ip": "203.0.113.0/24", "blocked": False, "reason": "done"}, admin)


def test_spoofed_forwarded_for_entries_are_ignored(user: emu.User, admin: emu.User) -> None:
    assert emu.call("getCreditStatus", {}, user).ok
    ip = emu.fresh_ip()
    assert emu.call("setIpBlock", {"ip": ip, "blocked": True, "reason": "abuse"}, admin).ok
    try:
        # the client prepends a fake address; the proxy-appended (last) one is what counts
        r = gen(user, ip=f"1.2.3.4, {ip}")
        assert r.reason == "ip_blocked"
    finally:
        emu.call("setIpBlock", {"ip": ip, "blocked": False, "reason": "done"}, admin)


# ----------------------------------------------------------------- whose refusal it is


def refusals_of(db: firestore.Client, user: emu.User) -> dict:
    return limits_of(db, user).get("refusals") or {}


def abuse_records_of(db: firestore.Client, user: emu.User) -> list[dict]:
    return [d.to_dict() for d in db.collection("abuse_detection").where(filter=FieldFilter("userId", "==", user.uid)).stream()]


def test_refusals_by_the_shared_address_limit_are_not_held_against_the_user(
    user: emu.User, db: firestore.Client, config: dict
) -> None:
    """Thirty refusals by the address's limit (shared by everyone behind it) add no abuse
    points, no record and no refusal count to the user who happened to hit it; the user's own
    limit, on another address, still counts from the first refusal: the tenth is a record."""
    set_config(db, {**FREE, "rateLimits": {"ipRequests": 5, "ipWindowSeconds": 600, "ipSharePercent": 100, "voice": 1}})
    shared = emu.fresh_ip()
    for _ in range(5):
        assert gen(user, ip=shared).ok  # 5 of the user's own 50 images: far from its limit
    for i in range(30):
        r = gen(user, ip=shared)
        assert r.reason == "rate_limited" and r.details["scope"] == "ip", (i, r.body)
    assert abuse_records_of(db, user) == []
    assert not db.collection("abuse_scores").document(user.uid).get().exists
    assert refusals_of(db, user) == {}
    assert len(limits_of(db, user)["windows"]["image"]["hits"]) == 5  # refused requests use none of the user's window

    own = emu.fresh_ip()
    assert gen(user, "voice", ip=own).ok
    for i in range(10):
        r = gen(user, "voice", ip=own)
        assert r.reason == "rate_limited" and r.details["scope"] == "user", (i, r.body)
    assert refusals_of(db, user)["count"] == 10
    records = abuse_records_of(db, user)
    assert [(r["kind"], r["detail"]["refusals"], r["detail"]["scope"]) for r in records] == [("rate_limit", 10, "user")]
    score = db.collection("abuse_scores").document(user.uid).get().to_dict() or {}
    assert score["score"] == records[0]["scoreAfter"] > 0


# ----------------------------------------------------------------- bounded evidence (issue 20, hole 6)


def notifications_of(db: firestore.Client, user: emu.User) -> list[dict]:
    query = db.collection("admin_notifications").where(filter=FieldFilter("userId", "==", user.uid))
    return [d.to_dict() or {} for d in query.stream()]


def test_an_account_raising_one_alarm_after_another_gives_the_admins_one_notification(db: firestore.Client) -> None:
    """Was: every high event and the suspension were each a notification, so free anonymous
    accounts could flood the admins. Now one notification per subject and hour, kept current
    (how many events, the worst severity, whether it ended in a suspension)."""
    anonymous = emu.sign_up_anonymously()
    for _ in range(4):
        assert gen(anonymous, prompt="how to make a pipe bomb").reason == "prompt_rejected"
    assert gen(anonymous).reason == "account_suspended"
    notes = notifications_of(db, anonymous)
    assert len(notes) == 1, notes
    assert notes[0]["events"] == 4 and notes[0]["suspended"] is True


def test_abuse_records_of_one_user_are_bounded(db: firestore.Client, config: dict) -> None:
    """20 records a user a day; later events still score (``suppressedRecords`` counts them)."""
    set_config(
        db,
        {
            "moderation": {"terms": [{"term": "blorpfish", "category": "test", "severity": "low"}]},
            "abuse": {"suspendScore": 1_000_000},
        },
    )
    anonymous = emu.sign_up_anonymously()
    for _ in range(24):
        assert gen(anonymous, prompt="a blorpfish in the bath").reason == "prompt_rejected"
    records = abuse_records_of(db, anonymous)
    assert len(records) == 20
    score = db.collection("abuse_scores").document(anonymous.uid).get().to_dict() or {}
    assert score["suppressedRecords"] == 4 and len(score["events"]) == 24
