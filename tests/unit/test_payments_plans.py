"""How Stripe's subscription events move a user's plan (``users/{uid}.plan``, as plans.py models it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from credits.features import accounts
from credits.features.payments import webhook
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_document import DocumentSnapshot

CLIENT = firestore.Client(project="demo-unit", credentials=AnonymousCredentials())
NOW = dt.datetime(2027, 3, 15, 12, 0, tzinfo=dt.UTC)
START = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2027, 4, 1, tzinfo=dt.UTC)


def account(plan: dict[str, Any] | None) -> accounts.Prepared:
    data: dict[str, Any] = {"credits": 0, "status": "active", "buckets": {}}
    if plan is not None:
        data["plan"] = plan
    snap = DocumentSnapshot(CLIENT.document("users/u"), data, True, NOW, NOW, NOW)
    parsed = accounts.parse(snap)
    assert parsed is not None
    return accounts.Prepared("u", snap, parsed, now=NOW)


def paid_plan(plan_id: str = "pro", renewal: str = "payment") -> dict[str, Any]:
    return {"id": plan_id, "periodStart": START, "periodEnd": END, "renewal": renewal}


def test_the_end_of_a_subscription_ends_a_paid_plan_and_leaves_a_free_one() -> None:
    assert webhook._plan_after(account(paid_plan()), "pro", True, None) is None
    assert webhook._plan_after(account(paid_plan("free", "auto")), "pro", True, None) is False
    assert webhook._plan_after(account(None), "pro", True, None) is False


def test_a_change_of_plan_names_the_new_plan_for_the_rest_of_the_period() -> None:
    changed = webhook._plan_after(account(paid_plan()), "team", False, int(END.timestamp()))
    assert changed == {"id": "team", "periodStart": START, "periodEnd": END, "renewal": "payment"}
    assert webhook._plan_after(account(paid_plan()), "pro", False, None) is False  # the same plan: nothing
    # A period end that does not follow the period's start keeps the stored one.
    odd = webhook._plan_after(account(paid_plan()), "team", False, int(START.timestamp()) - 1)
    assert odd is not False and odd is not None and odd["periodEnd"] == END


def test_a_late_older_invoice_does_not_move_a_paid_plan_back() -> None:
    current = account(paid_plan())
    assert webhook._newest_period(current, START) and webhook._newest_period(current, END)
    assert not webhook._newest_period(current, START - dt.timedelta(days=31))
    # A free plan (or none) is replaced by any paid period.
    assert webhook._newest_period(account(paid_plan("free", "auto")), START - dt.timedelta(days=31))
    assert webhook._newest_period(account(None), START)
