"""Grant buckets on the pages: the demo page says which credits expire when and shows the plan;
the dashboard's user view shows the user's buckets in spend order and the ledger per bucket;
the Credits tab shows credits expired beside credits used, as getUsageStats counts them."""

from __future__ import annotations

import datetime as dt
import pathlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import call, charge, configure, sign_in_to_dashboard
from tests.browser.test_demo_page import open_signed_in
from tests.support import emulators as emu

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_date(when: dt.datetime) -> str:
    """The pages' UTC day: "31 Dec", with the year when it is not this year."""
    day = f"{when.day} {MONTHS[when.month - 1]}"
    return day if when.year == dt.datetime.now(dt.UTC).year else f"{day} {when.year}"


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def grant(admin: emu.User, user: emu.User, amount: int, **extra: Any) -> dict[str, Any]:
    result = call(
        "grantCreditsToUser",
        {"userId": user.uid, "amount": amount, "reason": "browser test", "requestId": uuid.uuid4().hex, **extra},
        admin,
    )
    assert result.ok, result.body
    return result.result


@pytest.fixture
def plan_id(admin: emu.User) -> Iterator[str]:
    plan = f"browser{uuid.uuid4().hex[:8]}"
    configure(admin, {"plans": {plan: {"name": "Studio", "monthlyCredits": 500, "rolloverPeriods": 0}}})
    yield plan
    configure(admin, {"plans": {plan: None}})


def test_the_demo_page_says_which_credits_expire_when_and_shows_the_plan(
    page: Any, admin: emu.User, plan_id: str, shots: pathlib.Path
) -> None:
    user = emu.sign_up()
    assert call("getCreditStatus", {}, user).result["credits"] == 100
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=9)).replace(microsecond=0)
    grant(admin, user, 120, source="promo", expiresAt=iso(soon))
    open_signed_in(page, user)
    expect(page.get_by_test_id("balance")).to_have_text("220")
    expect(page.get_by_test_id("expiry")).to_have_text(f"120 credits expire on {short_date(soon)}")
    expect(page.get_by_test_id("plan")).to_have_text("No plan")
    buckets = page.get_by_test_id("bucket")
    expect(buckets).to_have_count(2)
    expect(buckets.nth(0)).to_have_attribute("data-source", "promo")
    expect(buckets.nth(1)).to_have_attribute("data-source", "signup")

    # The admin puts the user on a plan: the page follows the balance live, names the plan with
    # its allowance and renewal day, and still says what expires first (the promo, in nine
    # days, before the month's allowance).
    result = call("setUserPlan", {"userId": user.uid, "planId": plan_id}, admin)
    assert result.ok and result.result["changed"], result.body
    period_end = dt.datetime.fromisoformat(result.result["periodEnd"])
    expect(page.get_by_test_id("balance")).to_have_text("720")
    expect(page.get_by_test_id("plan")).to_have_text(f"Studio: 500 credits a month, renews {short_date(period_end)}")
    first = min(period_end, soon)
    credits = 500 if period_end < soon else 120
    expect(page.get_by_test_id("expiry")).to_have_text(f"{credits} credits expire on {short_date(first)}")
    expect(buckets).to_have_count(3)
    page.screenshot(path=shots / "buckets-demo.png")


def test_the_user_view_shows_the_buckets_in_spend_order_and_the_ledger_per_bucket(
    dashboard: Any, admin: emu.User, shots: pathlib.Path
) -> None:
    page = dashboard
    user = emu.sign_up()
    assert call("getCreditStatus", {}, user).result["credits"] == 100
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
    sooner = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).replace(microsecond=0)
    grant(admin, user, 40, source="promo", expiresAt=iso(sooner))
    grant(admin, user, 60, expiresAt=iso(later))
    # 5 images: 50 credits, drawn from the promo (40, soonest) and then the admin grant (10).
    assert charge(user, type="image", prompt="five lighthouses", quantity=5).ok

    sign_in_to_dashboard(page, admin)
    page.get_by_test_id("grant-search").fill(user.uid)
    page.get_by_test_id("grant-find").click()
    rows = page.get_by_test_id("bucket-row")
    expect(rows).to_have_count(2)  # the spent promo is no longer held
    expect(rows.nth(0)).to_have_attribute("data-source", "admin")
    expect(rows.nth(0)).to_have_attribute("data-remaining", "50")
    expect(rows.nth(1)).to_have_attribute("data-source", "signup")
    expect(rows.nth(1)).to_have_attribute("data-remaining", "100")

    ledgers = page.get_by_test_id("bucket-ledger")
    expect(ledgers).to_have_count(3)  # admin, signup, and the promo no longer held
    for i in range(3):
        block = ledgers.nth(i)
        bucket = block.get_attribute("data-bucket")
        held = page.locator(f"[data-testid=bucket-row][data-bucket='{bucket}']")
        want = held.get_attribute("data-remaining") if held.count() else "0"
        assert block.get_attribute("data-sum") == want, (bucket, want)
    promo = ledgers.nth(2)
    expect(promo).to_contain_text("no longer held")
    expect(promo.get_by_test_id("bucket-ledger-line")).to_have_count(2)  # the grant, the charge's part
    expect(promo.locator("[data-testid=bucket-ledger-line][data-reason=generation_charge]")).to_have_attribute(
        "data-delta", "-40"
    )

    # A grant made in the page shows up in the buckets and in the ledger, live.
    page.get_by_test_id("grant-amount").fill("15")
    page.get_by_test_id("grant-reason").fill("browser test: promo")
    page.get_by_test_id("grant-source").select_option("promo")
    page.get_by_test_id("grant-expires").fill(sooner.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_test_id("grant-submit").click()
    expect(page.get_by_test_id("grant-outcome")).to_contain_text("New balance: 165.")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-source", "promo")
    expect(rows.nth(0)).to_have_attribute("data-remaining", "15")
    expect(ledgers).to_have_count(4)
    status = call("getCreditStatus", {}, user).result
    assert [(b["source"], b["remaining"]) for b in status["buckets"]] == [("promo", 15), ("admin", 50), ("signup", 100)]
    assert status["buckets"][0]["expiresAt"] == iso(sooner.replace(second=0))
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of a full-page picture
    page.screenshot(path=shots / "buckets-user-view.png", full_page=True)


def test_the_credits_tab_shows_credits_expired_beside_credits_used(dashboard: Any, admin: emu.User) -> None:
    page = dashboard
    user = emu.sign_up()
    assert call("getCreditStatus", {}, user).result["credits"] == 100
    grant(admin, user, 70, source="promo", expiresAt=iso(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)))
    time.sleep(4)
    # The user's next charge expires the promo first (its own ledger entry), then charges.
    assert charge(user, type="image", prompt="after the promo lapsed").ok
    assert call("getCreditStatus", {}, user).result["credits"] == 90

    sign_in_to_dashboard(page, admin)
    card = page.locator("#stats-card")
    expect(card).to_have_attribute("data-range", "24h")
    for _ in range(6):
        before = call("getUsageStats", {"range": "24h"}, admin).result
        until = card.get_attribute("data-until")
        page.get_by_test_id("stats-refresh").click()
        expect(card).not_to_have_attribute("data-until", until or "")
        after = call("getUsageStats", {"range": "24h"}, admin).result
        if (
            before["expiredCredits"] == after["expiredCredits"]
            and before["totals"]["creditsUsed"] == after["totals"]["creditsUsed"]
        ):
            break
    else:
        pytest.fail("the figures kept moving")
    assert after["expiredCredits"] >= 70
    assert sum(p["expiredCredits"] for p in after["series"]) == after["expiredCredits"]
    expect(page.get_by_test_id("stat-expiredCredits")).to_have_attribute("data-value", str(after["expiredCredits"]))
    expect(page.get_by_test_id("stat-creditsUsed")).to_have_attribute("data-value", str(after["totals"]["creditsUsed"]))
    chart = page.locator("#trend-chart")
    expect(chart).to_have_attribute("data-expired", str(after["expiredCredits"]))
    expect(chart).to_have_attribute("data-expired-series", ",".join(str(p["expiredCredits"]) for p in after["series"]))
    expect(chart).to_have_attribute("data-credits", str(sum(p["creditsUsed"] for p in after["series"])))
