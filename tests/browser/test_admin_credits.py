"""The Credits tab as an admin uses it: the usage figures are getUsageStats's own, a price edited
in the page prices the next charge and is audited, the backend's field errors show next to the
fields, and a grant made in the page is in the user's balance."""

from __future__ import annotations

import json
import math
import pathlib
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import call, charge, sign_in_to_dashboard
from tests.support import emulators as emu

FIGURES = ("generations", "completedGenerations", "failedGenerations", "successRate", "creditsUsed", "refundedCredits")
SHOWN = ("creditsUsed", "generations", "successRate", "averageCostPerGeneration", "averageProcessingTimeMs")


def value_of(text: str | None) -> float | None:
    return None if text in (None, "null") else float(text)


def page_figures(page: Any) -> dict[str, Any]:
    """What the Credits tab shows, read from the numbers behind the text (data-value)."""
    figures: dict[str, Any] = {}
    for name in (*SHOWN, "activeNow"):
        figures[name] = value_of(page.get_by_test_id(f"stat-{name}").get_attribute("data-value"))
    for kind in ("image", "video", "voice", "chat"):
        row = page.get_by_test_id(f"bytype-{kind}")
        for cell in row.locator("td[data-field]").all():
            figures[f"{kind}.{cell.get_attribute('data-field')}"] = value_of(cell.get_attribute("data-value"))
    figures["topUsers"] = [
        (row.get_attribute("data-uid"), value_of(row.locator("td[data-field=creditsUsed]").get_attribute("data-value")))
        for row in page.get_by_test_id("top-user").all()
    ]
    figures["documentsRead"] = value_of(page.get_by_test_id("stats-cost").get_attribute("data-value"))
    return figures


def stats_figures(stats: dict[str, Any]) -> dict[str, Any]:
    """The same figures from a getUsageStats result."""
    figures: dict[str, Any] = {name: stats["totals"][name] for name in SHOWN}
    figures["activeNow"] = stats["activeNow"]
    for kind, f in stats["byType"].items():
        for name in ("generations", "creditsUsed", "successRate", "averageCostPerGeneration", "averageProcessingTimeMs"):
            figures[f"{kind}.{name}"] = f[name]
    figures["topUsers"] = [(u["userId"], u["creditsUsed"]) for u in stats["topUsers"]]
    return {k: (float(v) if isinstance(v, (int, float)) else v) for k, v in figures.items()}


def same_as_get_usage_stats(page: Any, admin: emu.User, range_name: str) -> dict[str, Any]:
    """Refresh the page's figures between two getUsageStats calls that agree (nothing changed
    meanwhile), and return the call's result once the page shows exactly its figures."""
    card = page.locator("#stats-card")
    for _ in range(6):
        before = call("getUsageStats", {"range": range_name}, admin).result
        until = card.get_attribute("data-until")
        page.get_by_test_id("stats-refresh").click()
        expect(card).not_to_have_attribute("data-until", until or "")
        expect(card).to_have_attribute("data-range", range_name)
        after = call("getUsageStats", {"range": range_name}, admin).result
        if stats_figures(before) != stats_figures(after):
            continue  # traffic moved the figures while the page read them: again
        shown = page_figures(page)
        expected = stats_figures(after)
        assert {k: shown[k] for k in expected} == expected
        assert shown["documentsRead"] is not None and shown["documentsRead"] > 0
        return after
    pytest.fail("the figures kept moving: no quiet moment to compare the page with getUsageStats")


def finish(activity_id: str, pipeline: emu.User, **report: Any) -> None:
    assert emu.call("updateAIActivityStatus", {"activityId": activity_id, **report}, pipeline).ok


def test_the_credits_tab_shows_the_figures_of_get_usage_stats(dashboard: Any, shots: pathlib.Path, demo_history: bool) -> None:
    page = dashboard
    admin = emu.make_admin()
    pipeline = emu.make_generator()
    user = emu.sign_up()
    # Traffic of our own: a completed image, a settled chat, a failed video, one still running.
    done = charge(user, type="image", prompt="a red kite", quantity=2).result
    chat = charge(user, type="chat", prompt="a limerick", quantity=1000).result
    video = charge(user, type="video", prompt="rain", quantity=4).result
    charge(user, type="voice", prompt="hello", quantity=1)
    finish(done["activityId"], pipeline, status="completed")
    finish(chat["activityId"], pipeline, status="completed", actualQuantity=600)
    finish(video["activityId"], pipeline, status="failed", error="model error")

    sign_in_to_dashboard(page, admin)
    expect(page.get_by_test_id("stat-generations")).not_to_have_text("–")
    stats = same_as_get_usage_stats(page, admin, "24h")
    assert stats["totals"]["generations"] >= 3
    # The visible text is the same numbers, formatted.
    expect(page.get_by_test_id("stat-creditsUsed")).to_have_text(f"{stats['totals']['creditsUsed']:,}")
    expect(page.get_by_test_id("stat-generations")).to_have_text(f"{stats['totals']['generations']:,}")
    expect(page.get_by_test_id("stats-as-of")).to_contain_text("As of")
    expect(page.get_by_test_id("stats-cost")).to_contain_text(f"{stats['documentsRead']:,} read")
    page.wait_for_timeout(300)  # the charts' first paint
    page.screenshot(path=shots / "admin-credits.png", full_page=True)

    for range_name in ("7d", "90d"):
        page.locator(f"#range button[data-range='{range_name}']").click()
        expect(page.locator("#stats-card")).to_have_attribute("data-range", range_name)
        ranged = same_as_get_usage_stats(page, admin, range_name)
        assert len(ranged["series"]) == int(range_name[:-1])
    expect(page.locator("#trend-caption")).to_have_text("Credits used, credits expired and generations per day (UTC)")
    # 90 days per week and per month: fewer columns, the same credits as the daily series.
    trend = page.get_by_test_id("trend-chart")
    series_credits = str(sum(point["creditsUsed"] for point in ranged["series"]))
    expect(trend).to_have_attribute("data-columns", "90")
    expect(trend).to_have_attribute("data-credits", series_credits)
    for grouping, caption, columns in (("week", "week", (13, 14, 15)), ("month", "month", (3, 4))):
        page.locator(f"#grouping button[data-group='{grouping}']").click()
        expect(page.locator("#trend-caption")).to_have_text(f"Credits used, credits expired and generations per {caption} (UTC)")
        expect(trend).to_have_attribute("data-grouping", grouping)
        expect(trend).to_have_attribute("data-credits", series_credits)
        expect(trend).to_have_attribute("data-expired", str(ranged["expiredCredits"]))
        assert int(trend.get_attribute("data-columns") or 0) in columns
    page.locator("#range button[data-range='24h']").click()
    expect(page.get_by_test_id("trend-grouping")).to_be_hidden()
    expect(trend).to_have_attribute("data-grouping", "hour")


SETTINGS = ("costs", "defaultCredits", "lowBalanceThreshold")


def public_settings() -> dict[str, Any]:
    """The settings the Credits tab edits, as stored in system_config/credits (read only)."""
    from credits.store import db

    stored = db.make_client(emu.PROJECT).collection("system_config").document("credits").get().to_dict() or {}
    return {k: stored[k] for k in SETTINGS}


@pytest.fixture
def restore_configuration() -> Any:
    """The settings as they were, put back through updateCreditConfiguration after the test,
    whatever the page changed."""
    before = public_settings()
    yield before
    changed = {k: v for k, v in before.items() if public_settings()[k] != v}
    if changed:
        restored = emu.call("updateCreditConfiguration", changed, emu.make_admin())
        assert restored.ok, restored.body
    assert public_settings() == before


def test_a_price_edited_in_the_page_prices_the_next_charge_and_is_audited(
    dashboard: Any, restore_configuration: dict[str, Any]
) -> None:
    page = dashboard
    admin = emu.make_admin()
    old = Decimal(str(restore_configuration["costs"]["video"]))
    new = Decimal("2.5") if old != Decimal("2.5") else Decimal("3.5")
    sign_in_to_dashboard(page, admin)
    video = page.locator("#cost-video")
    expect(video).to_have_value(str(restore_configuration["costs"]["video"]))
    version_before = int(page.get_by_test_id("config-version").get_attribute("data-version") or 0)
    video.fill(str(new))
    save = page.get_by_test_id("save-pricing")
    expect(save).to_be_enabled()
    expect(save).to_have_text("Save change")
    save.click()
    expect(page.get_by_test_id("pricing-outcome")).to_have_text(f"Saved: version {version_before + 1}.")
    expect(page.get_by_test_id("config-version")).to_have_attribute("data-version", str(version_before + 1))
    expect(page.get_by_test_id("config-updated-by")).to_have_text(admin.email)
    expect(save).to_be_disabled()

    # The next charge, by a user through the callable, is priced at the new cost: ceil(3 x new).
    user = emu.sign_up()
    charged = charge(user, type="video", prompt="a slow pan over hills", quantity=3)
    assert charged.result["creditsCharged"] == math.ceil(3 * new)

    # The edit is in the audit log, before and after.
    page.get_by_test_id("tab-live").click()
    entry = page.locator("[data-testid=audit-entry][data-action=update_configuration]").first
    expect(entry).to_contain_text(admin.email)
    entry.locator("summary").first.click()
    change = entry.locator("[data-testid=audit-change][data-path='costs.video']")
    expect(change).to_be_visible()
    cells = change.locator("td")
    expect(cells.nth(1)).to_have_text(json.dumps(float(old)).removesuffix(".0"))
    expect(cells.nth(2)).to_have_text(json.dumps(float(new)).removesuffix(".0"))


def test_the_backends_field_errors_show_next_to_the_fields_and_nothing_is_saved(
    dashboard: Any, restore_configuration: dict[str, Any]
) -> None:
    page = dashboard
    admin = emu.make_admin()
    sign_in_to_dashboard(page, admin)
    expect(page.locator("#cost-chat")).not_to_have_value("")
    version = page.get_by_test_id("config-version").get_attribute("data-version")
    # Not a number: the page says so itself and keeps Save off.
    page.fill("#cost-image", "ten")
    expect(page.locator("[data-error-for='costs.image']")).to_contain_text("Enter a price")
    expect(page.get_by_test_id("save-pricing")).to_be_disabled()
    page.fill("#cost-image", str(restore_configuration["costs"]["image"]))
    # A number the backend refuses (7 decimals): its details.errors, next to the field.
    page.fill("#cost-chat", "0.0000001")
    page.get_by_test_id("save-pricing").click()
    expect(page.get_by_test_id("pricing-outcome")).to_have_text("Not saved: check the marked fields.")
    error = page.locator("[data-error-for='costs.chat']")
    expect(error).not_to_be_empty()
    expect(page.locator("label.invalid #cost-chat")).to_be_visible()
    expect(page.get_by_test_id("config-version")).to_have_attribute("data-version", version or "")
    status = call("getCreditStatus", {}, emu.sign_up()).result
    assert Decimal(str(status["costs"]["chat"])) == Decimal(str(restore_configuration["costs"]["chat"]))


def test_a_grant_made_in_the_page_is_in_the_users_balance(dashboard: Any) -> None:
    page = dashboard
    admin = emu.make_admin()
    user = emu.sign_up()
    assert call("getCreditStatus", {}, user).result["credits"] == 100
    sign_in_to_dashboard(page, admin)

    page.get_by_test_id("grant-search").fill(user.email)
    page.get_by_test_id("grant-find").click()
    found = page.locator(f"[data-testid=grant-result][data-uid='{user.uid}']")
    expect(found).to_contain_text("100 credits")
    expect(page.get_by_test_id("grant-chosen")).to_contain_text(user.email)
    page.get_by_test_id("grant-amount").fill("250")
    page.get_by_test_id("grant-reason").fill("browser test: goodwill")
    page.get_by_test_id("grant-submit").click()
    expect(page.get_by_test_id("grant-outcome")).to_contain_text(f"Granted 250 credits to {user.email}. New balance: 350.")
    assert call("getCreditStatus", {}, user).result["credits"] == 350

    # By uid, and a claw-back that would go below zero is refused with the balance.
    page.get_by_test_id("grant-search").fill(user.uid)
    page.get_by_test_id("grant-find").click()
    expect(found).to_contain_text("350 credits")
    page.get_by_test_id("grant-amount").fill("-400")
    page.get_by_test_id("grant-reason").fill("browser test: too much")
    page.get_by_test_id("grant-submit").click()
    expect(page.get_by_test_id("grant-outcome")).to_contain_text("Not clawed back: the balance is 350")
    assert call("getCreditStatus", {}, user).result["credits"] == 350


def test_an_email_nobody_used_is_not_found(dashboard: Any) -> None:
    page = dashboard
    sign_in_to_dashboard(page, emu.make_admin())
    page.get_by_test_id("grant-search").fill("nobody-here@example.com")
    page.get_by_test_id("grant-find").click()
    expect(page.get_by_test_id("grant-search-error")).to_contain_text("No account with this email")
    expect(page.locator("#grant-form")).to_be_hidden()
