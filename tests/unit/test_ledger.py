"""The ledger's one door: balances move only with their entries, and the books tell a story.

No emulator: plans are built against document references (which need no connection) and
inspected, as the commit engine would receive them.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from credits.features import accounts
from credits.policy.buckets import MAX_LIVE_BUCKETS, returns_for
from credits.policy.settlement import settle
from credits.store import ledger
from credits.store.atomic import MapPatch, Plan, PlanError
from credits.store.buckets import Open, Return
from credits.store.ledger import EntryId, EntryKind, Leg, Reason, UsageChange
from credits.vocab.errors import BucketLimit, DataInvalid
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_document import DocumentSnapshot

CLIENT = firestore.Client(project="demo-unit", credentials=AnonymousCredentials())
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SIGNUP = Open("signup_u", "signup")


def snapshot(path: str, data: dict[str, Any] | None) -> DocumentSnapshot:
    return DocumentSnapshot(CLIENT.document(path), data, data is not None, T0, T0, T0)


def account(credits: int, usage: dict[str, int] | None = None) -> accounts.Account:
    parsed = accounts.parse(snapshot("users/u", {"credits": credits, "status": "active", "usage": usage or {}}))
    assert parsed is not None
    return parsed


def post(
    acct: accounts.Account | None,
    *legs: Leg,
    opening: dict[str, Any] | None = None,
    usage: UsageChange | None = None,
) -> tuple[Plan[Any], ledger.Posting]:
    plan: Plan[Any] = Plan()
    snap = acct.snapshot if acct is not None else snapshot("users/u", None)
    holder = ledger.Holder("u", snap, acct, opening=opening)
    posting = ledger.post(plan, CLIENT, holder, ledger.Change(legs, T0, 20, usage=usage))
    return plan, posting


def entries(plan: Plan[Any]) -> dict[str, dict[str, Any]]:
    return {w.ref.id: w.data for w in plan.writes if w.ref.parent.id == "credit_logs"}


def user_write(plan: Plan[Any]) -> dict[str, Any]:
    """The user document's written fields, a bucket patch applied to the map it was read with
    (what the document holds after the commit)."""
    (write,) = [w for w in plan.writes if w.ref.parent.id == "users"]
    data = dict(write.data)
    patch = data.get("buckets")
    if isinstance(patch, MapPatch):
        before = dict((write.expected.to_dict() or {}).get("buckets") or {}) if write.expected is not None else {}
        for key, value in patch.items():
            if value is firestore.DELETE_FIELD:
                before.pop(key, None)
            else:
                before[key] = value
        data["buckets"] = before
    return data


def test_a_charge_writes_only_the_buckets_it_changed() -> None:
    many = {f"grant_{k:02d}": stored("admin", 100, JAN10 + dt.timedelta(days=k)) for k in range(31)}
    acct = held(3100 + 50, {**many, "signup_u": stored("signup", 50, None)})
    plan, _ = post(acct, Leg(-130, EntryId(EntryKind.CHARGE, "a"), Reason.GENERATION_CHARGE))
    (write,) = [w for w in plan.writes if w.ref.parent.id == "users"]
    patch = write.data["buckets"]
    assert isinstance(patch, MapPatch)
    # grant_00 emptied (removed), grant_01 drawn by 30; the other 30 buckets are not written.
    assert patch == {
        "grant_00": firestore.DELETE_FIELD,
        "grant_01": {**stored("admin", 100, JAN10 + dt.timedelta(days=1)), "remaining": 70},
    }
    assert sum(b["remaining"] for b in user_write(plan)["buckets"].values()) == user_write(plan)["credits"] == 3020


def test_an_accountants_story() -> None:
    """Sign up with 100, an image at 10, 1,001 chat tokens at 0.01 settled at 600: 84 left."""
    books: list[dict[str, Any]] = []
    plan, posting = post(
        None, Leg(100, EntryId(EntryKind.SIGNUP, "u"), Reason.SIGNUP_GRANT, buckets=SIGNUP), opening={"status": "active"}
    )
    books += entries(plan).values()
    assert posting.balance_after == 100

    plan, posting = post(account(100), Leg(-10, EntryId(EntryKind.CHARGE, "a"), Reason.GENERATION_CHARGE, activity_id="a"))
    books += entries(plan).values()
    assert posting.balance_after == 90

    plan, posting = post(account(90), Leg(-11, EntryId(EntryKind.CHARGE, "b"), Reason.GENERATION_CHARGE, activity_id="b"))
    books += entries(plan).values()
    (drawn,) = posting.drawn
    s = settle(11, Decimal("0.01"), Decimal(600), balance=79)
    back = Return(tuple(returns_for(list(drawn), s.delta)))
    plan, posting = post(
        account(79), Leg(s.delta, EntryId(EntryKind.SETTLE, "b"), Reason.SETTLEMENT_REFUND, activity_id="b", buckets=back)
    )
    books += entries(plan).values()

    assert posting.balance_after == 84
    assert sum(e["delta"] for e in books) == 84
    assert [e["balanceAfter"] for e in books] == [100, 90, 79, 84]
    assert [e["reason"] for e in books] == ["signup_grant", "generation_charge", "generation_charge", "settlement_refund"]


def test_a_first_charge_opens_the_account_in_the_same_write() -> None:
    plan, posting = post(
        None,
        Leg(100, EntryId(EntryKind.SIGNUP, "u"), Reason.SIGNUP_GRANT, buckets=SIGNUP),
        Leg(-10, EntryId(EntryKind.CHARGE, "a"), Reason.GENERATION_CHARGE),
        opening={"status": "active", "signupGrant": "granted"},
        usage=UsageChange(generations=1, credits_used=10),
    )
    assert posting.balance_after == 90
    assert {k: v["balanceAfter"] for k, v in entries(plan).items()} == {"signup_u": 100, "charge_a": 90}
    user = user_write(plan)
    assert user["credits"] == 90 and user["usage"]["generations"] == 1 and user["lowBalance"] is False


def test_the_balance_never_goes_below_zero() -> None:
    with pytest.raises(AssertionError):
        post(account(5), Leg(-10, EntryId(EntryKind.CHARGE, "a"), Reason.GENERATION_CHARGE))


def test_a_balance_change_needs_an_entry() -> None:
    with pytest.raises(AssertionError):
        post(account(5), Leg(5, None, Reason.ADMIN_GRANT))


def test_zero_moves_write_no_entry_except_for_recorded_kinds() -> None:
    plan, _ = post(account(5), Leg(0, EntryId(EntryKind.SETTLE, "a"), Reason.SETTLEMENT_REFUND))
    assert entries(plan) == {}
    plan, _ = post(account(5), Leg(0, EntryId(EntryKind.CHARGE, "free"), Reason.GENERATION_CHARGE))
    assert entries(plan)["charge_free"]["delta"] == 0  # the permanent record of the key


def test_the_low_balance_flag_follows_the_balance() -> None:
    plan, _ = post(account(25), Leg(-10, EntryId(EntryKind.CHARGE, "a"), Reason.GENERATION_CHARGE))
    assert user_write(plan)["lowBalance"] is True


def test_only_the_ledger_writes_a_balance() -> None:
    plan: Plan[Any] = Plan()
    user = snapshot("users/u", {"credits": 1})
    with pytest.raises(PlanError):
        plan.put(user, {"credits": 1000})
    with pytest.raises(PlanError):
        plan.create(CLIENT.document("users/v"), {"credits": 5})
    with pytest.raises(PlanError):
        plan.merge(CLIENT.document("users/u"), {"credits": firestore.Increment(5)})
    plan.put(user, {"status": "suspended"})  # other fields are fine
    plan.put(snapshot("rate_limits/u_u", {}), {"credits": 3})  # "credits" elsewhere is just a name


def test_a_plan_writes_a_document_once() -> None:
    plan: Plan[Any] = Plan()
    user = snapshot("users/u", {"credits": 1})
    plan.put(user, {"status": "suspended"})
    with pytest.raises(PlanError):
        plan.put(user, {"statusReason": "x"})


def test_entry_ids_read_back() -> None:
    assert str(EntryId(EntryKind.REFUND, "r_abc")) == "refund_r_abc"
    assert EntryId.parse("refund_r_abc") == EntryId(EntryKind.REFUND, "r_abc")
    assert EntryId.parse("grant_0f0f") == EntryId(EntryKind.GRANT, "0f0f")
    assert EntryId.parse("Xy12random") is None
    assert EntryId.parse("bogus_kind") is None


def test_a_damaged_account_is_named() -> None:
    from credits.vocab.errors import DataInvalid

    with pytest.raises(DataInvalid) as info:
        accounts.parse(snapshot("users/u", {"credits": "100", "status": "vip", "usage": {"generations": "5"}}))
    assert info.value.document == "users/u"
    assert set(info.value.problems) == {"credits", "status", "usage.generations"}
    assert "errors" not in info.value.as_details()  # end users do not see field names
    assert info.value.as_details(for_admin=True)["errors"]["credits"]


# ------------------------------------------------------------------ buckets

JAN10 = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)


def held(credits: int, buckets: dict[str, dict[str, Any]]) -> accounts.Account:
    parsed = accounts.parse(snapshot("users/u", {"credits": credits, "status": "active", "buckets": buckets}))
    assert parsed is not None
    return parsed


def stored(source: str, remaining: int, expires: dt.datetime | None) -> dict[str, Any]:
    return {"source": source, "amount": remaining, "remaining": remaining, "expiresAt": expires, "ref": None, "createdAt": T0}


def test_a_charge_names_every_bucket_it_draws_and_the_legs_sum_to_its_delta() -> None:
    acct = held(70, {"promo_1": stored("promo", 20, JAN10), "signup_u": stored("signup", 50, None)})
    plan, _ = post(acct, Leg(-30, EntryId(EntryKind.CHARGE, "a"), Reason.GENERATION_CHARGE))
    entry = entries(plan)["charge_a"]
    assert entry["buckets"] == [{"bucketId": "promo_1", "delta": -20}, {"bucketId": "signup_u", "delta": -10}]
    assert sum(leg["delta"] for leg in entry["buckets"]) == entry["delta"] == -30
    # The emptied promo leaves the map; the user document's buckets sum to its credits.
    user = user_write(plan)
    assert set(user["buckets"]) == {"signup_u"} and user["buckets"]["signup_u"]["remaining"] == 40 == user["credits"]


def test_a_posting_first_expires_what_has_expired_exactly_once_by_id() -> None:
    acct = held(70, {"promo_1": stored("promo", 20, JAN10), "signup_u": stored("signup", 50, None)})
    plan: Plan[Any] = Plan()
    posting = ledger.post(
        plan,
        CLIENT,
        ledger.Holder("u", acct.snapshot, acct),
        ledger.Change([Leg(-30, EntryId(EntryKind.CHARGE, "a"), Reason.GENERATION_CHARGE)], JAN10, 0),
    )
    books = entries(plan)
    assert books["expire_promo_1"]["delta"] == -20 and books["expire_promo_1"]["reason"] == "expired"
    assert books["charge_a"]["buckets"] == [{"bucketId": "signup_u", "delta": -30}]
    assert posting.balance_after == 20 and user_write(plan)["buckets"] == {
        "signup_u": {**stored("signup", 50, None), "remaining": 20}
    }


def test_a_refund_to_an_expired_bucket_expires_at_once_with_its_own_entry() -> None:
    acct = held(10, {"signup_u": stored("signup", 10, None)})
    drawn = (returns_for([ledger.Drawn("promo_1", 20, "promo", JAN10, None, T0)], 20)[0],)
    plan: Plan[Any] = Plan()
    posting = ledger.post(
        plan,
        CLIENT,
        ledger.Holder("u", acct.snapshot, acct),
        ledger.Change(
            [Leg(20, EntryId(EntryKind.REFUND, "a"), Reason.FAILURE_REFUND, buckets=Return(drawn))],
            JAN10 + dt.timedelta(days=2),
            0,
        ),
    )
    books = entries(plan)
    assert books["refund_a"]["buckets"] == [{"bucketId": "promo_1", "delta": 20}]
    lapsed = books["expire_promo_1~refund_a"]
    assert lapsed["delta"] == -20 and lapsed["buckets"] == [{"bucketId": "promo_1", "delta": -20}]
    assert posting.balance_after == 10 and "buckets" not in user_write(plan)  # the map is as it was


def test_at_the_bound_a_grant_merges_into_its_twin_or_is_refused() -> None:
    many = {f"grant_{i}": stored("admin", 1, JAN10 + dt.timedelta(days=i)) for i in range(MAX_LIVE_BUCKETS)}
    acct = held(MAX_LIVE_BUCKETS, many)
    twin = Open("grant_new", "admin", JAN10 + dt.timedelta(days=3))
    plan, _ = post(acct, Leg(5, EntryId(EntryKind.GRANT, "new"), Reason.ADMIN_GRANT, buckets=twin))
    assert entries(plan)["grant_new"]["buckets"] == [{"bucketId": "grant_3", "delta": 5}]
    assert user_write(plan)["buckets"]["grant_3"]["remaining"] == 6
    with pytest.raises(BucketLimit):
        post(acct, Leg(5, EntryId(EntryKind.GRANT, "x"), Reason.ADMIN_GRANT, buckets=Open("grant_x", "promo", None)))


def test_damaged_buckets_are_data_invalid_for_their_user() -> None:
    for bad in (
        {"b": "not a map"},
        {"b": {**stored("promo", 5, None), "remaining": -1}},
        {"b": {**stored("promo", 5, None), "remaining": "5"}},
        {"b": {**stored("promo", 5, None), "expiresAt": "tomorrow"}},
        {"b": {**stored("gift", 5, None)}},
        {"b": stored("promo", 4, None)},  # does not sum to credits
    ):
        with pytest.raises(DataInvalid):
            accounts.parse(snapshot("users/u", {"credits": 5, "status": "active", "buckets": bad}))


def test_a_balance_from_before_buckets_is_one_legacy_bucket() -> None:
    acct = account(40)
    assert [(b.id, b.source, b.remaining, b.expires_at) for b in acct.buckets.values()] == [("legacy_u", "legacy", 40, None)]
    plan, _ = post(acct, Leg(-5, EntryId(EntryKind.CHARGE, "a"), Reason.GENERATION_CHARGE))
    assert user_write(plan)["buckets"]["legacy_u"]["remaining"] == 35
