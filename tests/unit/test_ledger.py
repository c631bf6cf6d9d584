"""The ledger's one door: balances move only with their entries, and the books tell a story.

No emulator: plans are built against document references (which need no connection) and
inspected, as the commit engine would receive them.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from credits.features import accounts
from credits.policy.settlement import settle
from credits.store import ledger
from credits.store.atomic import Plan, PlanError
from credits.store.ledger import EntryId, EntryKind, Leg, Reason, UsageChange
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_document import DocumentSnapshot

CLIENT = firestore.Client(project="demo-unit", credentials=AnonymousCredentials())
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def snapshot(path: str, data: dict[str, Any] | None) -> DocumentSnapshot:
    return DocumentSnapshot(CLIENT.document(path), data, data is not None, T0, T0, T0)


def account(credits: int, usage: dict[str, int] | None = None) -> accounts.Account:
    parsed = accounts.parse(snapshot("users/u", {"credits": credits, "status": "active", "usage": usage or {}}))
    assert parsed is not None
    return parsed


def post(
    acct: accounts.Account | None, *legs: Leg, opening: dict[str, Any] | None = None, **kw: Any
) -> tuple[Plan[Any], ledger.Posting]:
    plan: Plan[Any] = Plan()
    snap = acct.snapshot if acct is not None else snapshot("users/u", None)
    posting = ledger.post(
        plan, CLIENT, uid="u", account=acct, snapshot=snap, legs=legs, now=T0, low_balance_below=20, opening=opening, **kw
    )
    return plan, posting


def entries(plan: Plan[Any]) -> dict[str, dict[str, Any]]:
    return {w.ref.id: w.data for w in plan.writes if w.ref.parent.id == "credit_logs"}


def user_write(plan: Plan[Any]) -> dict[str, Any]:
    (write,) = [w for w in plan.writes if w.ref.parent.id == "users"]
    return write.data


def test_an_accountants_story() -> None:
    """Sign up with 100, an image at 10, 1,001 chat tokens at 0.01 settled at 600: 84 left."""
    books: list[dict[str, Any]] = []
    plan, posting = post(None, Leg(100, EntryId(EntryKind.SIGNUP, "u"), Reason.SIGNUP_GRANT), opening={"status": "active"})
    books += entries(plan).values()
    assert posting.balance_after == 100

    plan, posting = post(account(100), Leg(-10, EntryId(EntryKind.CHARGE, "a"), Reason.GENERATION_CHARGE, activity_id="a"))
    books += entries(plan).values()
    assert posting.balance_after == 90

    plan, posting = post(account(90), Leg(-11, EntryId(EntryKind.CHARGE, "b"), Reason.GENERATION_CHARGE, activity_id="b"))
    books += entries(plan).values()
    s = settle(11, Decimal("0.01"), Decimal(600), balance=79)
    plan, posting = post(account(79), Leg(s.delta, EntryId(EntryKind.SETTLE, "b"), Reason.SETTLEMENT_REFUND, activity_id="b"))
    books += entries(plan).values()

    assert posting.balance_after == 84
    assert sum(e["delta"] for e in books) == 84
    assert [e["balanceAfter"] for e in books] == [100, 90, 79, 84]
    assert [e["reason"] for e in books] == ["signup_grant", "generation_charge", "generation_charge", "settlement_refund"]


def test_a_first_charge_opens_the_account_in_the_same_write() -> None:
    plan, posting = post(
        None,
        Leg(100, EntryId(EntryKind.SIGNUP, "u"), Reason.SIGNUP_GRANT),
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
