"""The sign-up grant policy with real Auth-emulator accounts over HTTP: each rule, the per-address
count (IPv4 and IPv6 /64), the race for the last grant of the day, the admin's way around a
withheld grant, and a decision that is made once.

Every test signs its users up from addresses no other test uses (``emu.fresh_ip``, and fresh
/64s for IPv6), so the per-address grant counts start at zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from credits.store.ip_blocks import bucket_id
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.ledger import assert_books_balance, balance

Config = Callable[[dict[str, Any]], dict[str, Any]]
DAY = 24 * 3600


def status(user: emu.User, ip: str | None = None) -> dict[str, Any]:
    return emu.call_retrying_drops("getCreditStatus", {}, user, ip=ip).result


def signup_entries(db: firestore.Client, uid: str) -> list[dict[str, Any]]:
    """The user's ledger entries that record a sign-up decision."""
    entries = db.collection("credit_logs").where(filter=FieldFilter("userId", "==", uid)).stream()
    return [{"id": e.id, **(e.to_dict() or {})} for e in entries if e.id.startswith("signup_")]


def signup_from(ip: str) -> emu.User:
    user = emu.sign_up()
    user.ip = ip
    return user


def grants_recorded(db: firestore.Client, ip: str) -> list[int]:
    doc = db.collection("rate_limits").document(f"ip_{bucket_id(ip)}").get()
    return list((doc.to_dict() or {}).get("signupGrants", [])) if doc.exists else []


def assert_withheld(user: emu.User, rule: str, db: firestore.Client, ip: str | None = None) -> None:
    got = status(user, ip)
    assert (got["credits"], got["signupGrant"], got.get("signupGrantRule")) == (0, "withheld", rule), got
    [entry] = signup_entries(db, user.uid)
    assert (entry["id"], entry["delta"], entry["reason"]) == (f"signup_{user.uid}", 0, "signup_grant_withheld")
    assert_books_balance(db, user.uid)


def assert_granted(user: emu.User, db: firestore.Client, ip: str | None = None, amount: int = 100) -> None:
    got = status(user, ip)
    assert (got["credits"], got["signupGrant"], got.get("signupGrantRule")) == (amount, "granted", None), got
    [entry] = signup_entries(db, user.uid)
    assert (entry["delta"], entry["reason"]) == (amount, "signup_grant")


# ------------------------------------------------------------------ the grant and each rule


def test_a_new_user_is_granted_the_default_credits_once(db: firestore.Client) -> None:
    user = emu.sign_up()
    emu.warm_workers("getCreditStatus", 6)
    with ThreadPoolExecutor(max_workers=6) as pool:  # several tabs opening at once
        first = list(pool.map(lambda _: emu.call_retrying_drops("getCreditStatus", {}, user), range(6)))
    assert [r.result["credits"] for r in first] == [100] * 6
    charged = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a tin robot"}, user).result
    assert charged["remainingCredits"] == 90
    assert status(user)["credits"] == 90
    [entry] = signup_entries(db, user.uid)
    assert (entry["id"], entry["delta"], entry["reason"], entry["balanceAfter"]) == (
        f"signup_{user.uid}",
        100,
        "signup_grant",
        100,
    )
    assert grants_recorded(db, user.ip) and len(grants_recorded(db, user.ip)) == 1
    assert_books_balance(db, user.uid)


def test_an_anonymous_account_gets_nothing(db: firestore.Client) -> None:
    anonymous = emu.sign_up_anonymously()
    assert_withheld(anonymous, "anonymous", db)
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a tin robot"}, anonymous)
    assert r.reason == "insufficient_credits" and (r.details["required"], r.details["available"]) == (10, 0)
    assert grants_recorded(db, anonymous.ip) == []  # a withheld grant uses none of the address's


def test_an_unverified_email_gets_nothing_when_verification_is_required(db: firestore.Client, config: Config) -> None:
    config({"signup": {"requireVerifiedEmail": True}})
    assert_withheld(emu.sign_up(), "email_unverified", db)
    verified = emu.verify_email(emu.sign_up())
    assert_granted(verified, db)


def test_without_the_requirement_an_unverified_email_is_granted(db: firestore.Client) -> None:
    assert_granted(emu.sign_up(), db)


# ------------------------------------------------------------------ the per-address count


def test_at_most_the_daily_number_of_grants_from_one_address(db: firestore.Client, config: Config, clock: None) -> None:
    config({"signup": {"grantsPerIpPerDay": 2}})
    ip = emu.fresh_ip()
    assert_granted(signup_from(ip), db)
    emu.set_clock_offset(3600)
    assert_granted(signup_from(ip), db)
    assert_withheld(signup_from(ip), "ip_limit", db)
    assert len(grants_recorded(db, ip)) == 2
    assert_granted(emu.sign_up(), db)  # another address: its own count
    # 24 hours after the first grant (and not yet after the second) one grant is free again:
    # a sliding day, not a calendar one
    emu.set_clock_offset(DAY + 60)
    assert_granted(signup_from(ip), db)
    assert_withheld(signup_from(ip), "ip_limit", db)


def test_addresses_of_one_ipv6_network_share_the_count_and_another_network_does_not(db: firestore.Client, config: Config) -> None:
    config({"signup": {"grantsPerIpPerDay": 1}})
    network, other_network = emu.fresh_ipv6_prefix(), emu.fresh_ipv6_prefix()
    assert_granted(signup_from(f"{network}::1"), db)
    assert_withheld(signup_from(f"{network}:8a2e:370:7334:1"), "ip_limit", db)  # the same /64
    assert_withheld(signup_from(f"{network}:ffff:ffff:ffff:ffff"), "ip_limit", db)
    assert_granted(signup_from(f"{other_network}::1"), db)
    record = db.collection("rate_limits").document(f"ip_{bucket_id(network + '::1')}").get().to_dict() or {}
    assert record["ip"] == f"{network}::/64" and len(record["signupGrants"]) == 1


@pytest.mark.parametrize("network", ["ipv4", "ipv6"])
def test_parallel_sign_ups_race_for_the_last_grant_of_the_day(network: str, db: firestore.Client, config: Config) -> None:
    """Eight new users' first calls at once from one address (IPv6: eight addresses of one
    /64) when one grant is left today: exactly one is granted."""
    config({"signup": {"grantsPerIpPerDay": 3}})
    if network == "ipv4":
        ip = emu.fresh_ip()
        addresses = [ip] * 10
    else:
        prefix = emu.fresh_ipv6_prefix()
        ip = f"{prefix}::1"
        addresses = [f"{prefix}:{i:x}:{i * 7:x}:{i * 13:x}:1" for i in range(1, 11)]
    assert_granted(signup_from(addresses[0]), db)
    assert_granted(signup_from(addresses[1]), db)  # one grant left today
    racers = [signup_from(address) for address in addresses[2:]]
    emu.warm_workers("getCreditStatus", 4)
    emu.warm_workers("validateAndDeductCredits", 4)

    def first_call(i: int) -> emu.CallResult:
        user = racers[i]
        if i % 2:  # half open the app (getCreditStatus), half generate at once
            data = {"type": "image", "prompt": "a lighthouse", "requestId": f"first-{user.uid}"}
            return emu.call_retrying_drops("validateAndDeductCredits", data, user)
        return emu.call_retrying_drops("getCreditStatus", {}, user)

    with ThreadPoolExecutor(max_workers=len(racers)) as pool:
        results = list(pool.map(first_call, range(len(racers))))
    assert not any(r.dropped for r in results), [r.body for r in results]
    answers = Counter("ok" if r.ok else r.reason for r in results)
    assert set(answers) <= {"ok", "insufficient_credits"}, answers  # the withheld ones cannot afford an image
    states = [status(u) for u in racers]
    grants = Counter((s["signupGrant"], s.get("signupGrantRule")) for s in states)
    assert grants == {("granted", None): 1, ("withheld", "ip_limit"): 7}, grants
    assert len(grants_recorded(db, ip)) == 3
    for user in racers:
        assert len(signup_entries(db, user.uid)) == 1
        assert_books_balance(db, user.uid)


# ------------------------------------------------------------------ wider networks and the whole product (issue 20, hole 1)


def test_six_64s_of_one_ipv6_48_do_not_get_six_grants(db: firestore.Client) -> None:
    """Was: six /64s of one /48 got six grants (the count stopped at the /64). With the defaults
    (3 an address, 4 a /56, 5 a /48) the sixth /64 of the allocation is withheld."""
    allocation = emu.fresh_ipv6_allocation()
    for i in range(1, 6):
        assert_granted(signup_from(f"{allocation}:{i:x}00::1"), db)  # five /64s in five /56s
    assert_withheld(signup_from(f"{allocation}:600::1"), "allocation_limit", db)
    assert_granted(signup_from(f"{emu.fresh_ipv6_allocation()}:100::1"), db)  # another allocation


def test_ipv6_grants_are_capped_at_the_64_the_56_and_the_48_together(db: firestore.Client, config: Config) -> None:
    config({"signup": {"grantsPerIpPerDay": 1, "grantsPerNetworkPerDay": 2, "grantsPerAllocationPerDay": 3}})
    allocation = emu.fresh_ipv6_allocation()
    assert_granted(signup_from(f"{allocation}:100::1"), db)
    assert_withheld(signup_from(f"{allocation}:100:1:2:3:4"), "ip_limit", db)  # the same /64
    assert_granted(signup_from(f"{allocation}:101::1"), db)  # another /64 of the same /56
    assert_withheld(signup_from(f"{allocation}:1ff::1"), "network_limit", db)  # a third /64 of that /56
    assert_granted(signup_from(f"{allocation}:200::1"), db)  # another /56: the third of the /48
    assert_withheld(signup_from(f"{allocation}:ff00::1"), "allocation_limit", db)


def test_ipv4_grants_are_capped_at_the_address_and_its_24(db: firestore.Client, config: Config) -> None:
    config({"signup": {"grantsPerIpPerDay": 1, "grantsPerNetworkPerDay": 2}})
    network = emu.fresh_ip().rsplit(".", 1)[0]
    assert_granted(signup_from(f"{network}.10"), db)
    assert_withheld(signup_from(f"{network}.10"), "ip_limit", db)
    assert_granted(signup_from(f"{network}.11"), db)
    assert_withheld(signup_from(f"{network}.12"), "network_limit", db)
    assert_granted(signup_from(emu.fresh_ip()), db)  # another /24


def test_a_block_of_a_48_or_56_range_holds_for_every_64_in_it(admin: emu.User) -> None:
    for prefix in (48, 56):
        allocation = emu.fresh_ipv6_allocation()
        network = f"{allocation}::/{prefix}" if prefix == 48 else f"{allocation}:ab00::/56"
        assert emu.call("setIpBlock", {"ip": network, "blocked": True, "reason": "farming"}, admin).ok
        inside = signup_from(f"{allocation}:abcd:1:2:3:4" if prefix == 48 else f"{allocation}:abff:1:2:3:4")
        r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a tin robot"}, inside)
        assert r.reason == "ip_blocked", (prefix, r.body)
        assert status(inside)["signupGrantRule"] == "ip_blocked"


def test_the_hourly_cap_on_all_sign_up_grants_withholds_and_notifies_the_admins_once(
    db: firestore.Client, config: Config
) -> None:
    """A botnet signing up from many networks meets the product-wide cap; the admins hear of it
    once for the hour, not once per account."""
    config({"signup": {"grantsPerHour": 1}})
    status(signup_from(emu.fresh_ip()))  # the hour's one grant is taken (now or by earlier tests)
    users = [signup_from(emu.fresh_ip()) for _ in range(4)]
    for user in users:
        assert_withheld(user, "global_limit", db)
    notes = [
        n.to_dict() or {}
        for n in db.collection("admin_notifications").where(filter=FieldFilter("kind", "==", "signup_cap")).stream()
    ]
    assert len(notes) == 1, notes
    assert notes[0]["limit"] == 1 and notes[0]["severity"] == "high"


def test_withheld_sign_ups_do_not_use_up_the_addresss_grants(db: firestore.Client, config: Config) -> None:
    """Hole 3: anonymous and unverified accounts from an address take none of its daily grants."""
    config({"signup": {"grantsPerIpPerDay": 1, "requireVerifiedEmail": True}})
    ip = emu.fresh_ip()
    for _ in range(3):
        anonymous = emu.sign_up_anonymously()
        assert_withheld(anonymous, "anonymous", db, ip)
        assert_withheld(signup_from(ip), "email_unverified", db)
    assert grants_recorded(db, ip) == []
    assert_granted(emu.verify_email(signup_from(ip)), db)


# ------------------------------------------------------------------ after the decision


def test_an_admin_can_grant_a_withheld_account(admin: emu.User, db: firestore.Client) -> None:
    anonymous = emu.sign_up_anonymously()
    assert_withheld(anonymous, "anonymous", db)
    r = emu.call("grantCreditsToUser", {"userId": anonymous.uid, "amount": 60, "reason": "support ticket 42"}, admin).result
    assert r["newBalance"] == 60
    got = status(anonymous)
    assert got["credits"] == 60 and got["signupGrant"] == "withheld"  # the record of the policy stays
    assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a tin robot"}, anonymous).ok
    assert balance(db, anonymous.uid) == 50
    assert_books_balance(db, anonymous.uid)


def test_the_decision_is_made_once_verifying_later_does_not_grant(db: firestore.Client, config: Config) -> None:
    config({"signup": {"requireVerifiedEmail": True}})
    user = emu.sign_up()
    assert_withheld(user, "email_unverified", db)
    emu.verify_email(user)
    assert_withheld(user, "email_unverified", db)
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a tin robot"}, user)
    assert r.reason == "insufficient_credits"
    assert len(signup_entries(db, user.uid)) == 1 and balance(db, user.uid) == 0


def test_an_account_an_admin_opened_first_is_decided_by_the_users_first_call(admin: emu.User, db: firestore.Client) -> None:
    user, anonymous = emu.sign_up(), emu.sign_up_anonymously()
    for someone in (user, anonymous):
        r = emu.call("grantCreditsToUser", {"userId": someone.uid, "amount": 30, "reason": "welcome gift"}, admin).result
        assert r["newBalance"] == 30
        doc = db.collection("users").document(someone.uid).get().to_dict() or {}
        assert doc["signupGrant"] == "pending" and signup_entries(db, someone.uid) == []
    got = status(user)
    assert (got["credits"], got["signupGrant"]) == (130, "granted")
    [entry] = signup_entries(db, user.uid)
    assert (entry["delta"], entry["balanceAfter"]) == (100, 130)
    assert len(grants_recorded(db, user.ip)) == 1
    got = status(anonymous)
    assert (got["credits"], got["signupGrant"], got["signupGrantRule"]) == (30, "withheld", "anonymous")
    assert [e["delta"] for e in signup_entries(db, anonymous.uid)] == [0]
    for someone in (user, anonymous):
        assert_books_balance(db, someone.uid)


def test_a_blocked_address_gets_no_grant(admin: emu.User, db: firestore.Client) -> None:
    ip = emu.fresh_ip()
    assert emu.call("setIpBlock", {"ip": ip, "blocked": True, "reason": "account farm"}, admin).ok
    try:
        user = signup_from(ip)
        r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a tin robot"}, user)
        assert r.reason == "ip_blocked"  # refused, but the account opened, with its decision
        assert_withheld(user, "ip_blocked", db)
    finally:
        assert emu.call("setIpBlock", {"ip": ip, "blocked": False, "reason": "resolved"}, admin).ok
    assert_withheld(user, "ip_blocked", db)  # decided once: unblocking the address grants nothing
