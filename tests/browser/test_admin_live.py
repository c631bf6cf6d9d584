"""The Live AI tab as an admin watches it: a user's charge shows as a card within two seconds and
is followed to its end, a high-severity prompt lands in the abuse panel, and the suspend,
reactivate and IP block actions work from there."""

from __future__ import annotations

import pathlib
import re
import time
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import call, charge, sign_in_to_dashboard
from tests.support import emulators as emu


def open_live_tab(page: Any, admin: emu.User) -> None:
    sign_in_to_dashboard(page, admin, "#live")
    expect(page.get_by_test_id("live-tab")).to_be_visible()
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live")


def test_a_charge_shows_in_the_live_tab_within_two_seconds_and_is_followed_to_its_end(
    dashboard: Any, generator_loop: Any
) -> None:
    page = dashboard
    admin = emu.make_admin()
    user = emu.sign_up()
    assert call("getCreditStatus", {}, user).ok
    open_live_tab(page, admin)

    charged = charge(user, type="chat", prompt="a sonnet about tides", quantity=1000)
    written = time.monotonic()
    activity_id = charged.result["activityId"]
    card = page.locator(f"[data-testid=activity-card][data-activity-id='{activity_id}']")
    expect(card).to_be_visible(timeout=2000)
    seen = time.monotonic() - written
    assert seen <= 2.0, seen
    expect(card).to_contain_text(user.email)
    expect(card).to_contain_text("1,000 tokens")
    expect(card).to_contain_text("10 credits")
    expect(card.locator(".icon.chat")).to_be_visible()
    # Newest first: the new card leads the stream.
    expect(page.get_by_test_id("activity-card").first).to_have_attribute("data-activity-id", activity_id)

    # The generator moves it along; the card follows: progress, then settled at 8 credits.
    expect(card).to_have_attribute("data-status", "processing")
    expect(card.locator(".progress")).to_have_attribute("aria-valuenow", re.compile(r"^[1-9]\d?$"))
    expect(card).to_have_attribute("data-status", "completed")
    expect(card).to_contain_text("8 credits · 2 back")
    expect(card.locator(".time")).to_have_text(re.compile(r"^(\d+(\.\d)? s|\d+ ms)$"))
    expect(page.get_by_test_id("live-active")).not_to_have_text("–")
    expect(page.get_by_test_id("live-success")).to_contain_text("%")


def test_a_high_severity_prompt_lands_in_the_abuse_panel_and_can_be_acted_on(
    dashboard: Any, shots: pathlib.Path, demo_history: bool
) -> None:
    page = dashboard
    admin = emu.make_admin()
    user = emu.sign_up()
    open_live_tab(page, admin)

    refused = charge(user, type="image", prompt="how to build a bomb")
    assert refused.reason == "prompt_rejected", refused.body
    record = page.locator(f"[data-testid=abuse-record][data-user-id='{user.uid}']").first
    expect(record).to_be_visible()
    expect(record).to_have_attribute("data-severity", "high")
    expect(record).to_have_attribute("data-kind", "moderation")
    expect(record).to_contain_text("weapons")
    expect(record).to_contain_text(user.email)
    expect(record).to_contain_text(user.ip)
    expect(page.get_by_test_id("notification").filter(has_text=user.uid).first).to_contain_text("weapons")
    page.wait_for_timeout(300)  # the hourly chart's first paint
    page.screenshot(path=shots / "admin-live.png", full_page=True)

    # Suspend from the record, with a reason; the account moves to the suspended list.
    record.locator("[data-action=suspend]").click()
    dialog = page.get_by_test_id("action-dialog")
    expect(dialog).to_be_visible()
    page.get_by_test_id("action-confirm").click()
    expect(page.locator("#action-error")).to_contain_text("Give a reason")
    page.get_by_test_id("action-reason").fill("browser test: weapons prompt")
    page.get_by_test_id("action-confirm").click()
    expect(dialog).to_be_hidden()
    suspended = page.locator(f"[data-testid=suspended-user][data-uid='{user.uid}']")
    expect(suspended).to_contain_text("browser test: weapons prompt")
    expect(record.locator("[data-action=suspend]")).to_have_count(0)
    assert charge(user, type="image", prompt="a kite").reason == "account_suspended"
    page.screenshot(path=shots / "admin-abuse.png")

    # Reactivate from the suspended list.
    suspended.locator("[data-action=reactivate]").click()
    page.get_by_test_id("action-reason").fill("browser test: reviewed")
    page.get_by_test_id("action-confirm").click()
    expect(suspended).to_have_count(0)
    assert charge(user, type="image", prompt="a kite").ok

    # Block the address from the record, then unblock it with the form.
    record.locator("[data-action=block-ip]").click()
    page.get_by_test_id("action-reason").fill("browser test: block")
    page.get_by_test_id("action-confirm").click()
    expect(page.get_by_test_id("toast")).to_contain_text(f"{user.ip} (address) is blocked.")
    assert charge(user, type="image", prompt="a kite").reason == "ip_blocked"
    page.get_by_test_id("ip-target").fill(user.ip)
    page.get_by_test_id("ip-unblock").click()
    page.get_by_test_id("action-reason").fill("browser test: unblock")
    page.get_by_test_id("action-confirm").click()
    expect(page.get_by_test_id("toast")).to_contain_text(f"{user.ip} (address) is unblocked.")
    assert charge(user, type="image", prompt="a kite").ok

    # Each action is in the audit log.
    page.get_by_test_id("audit-filter").select_option("set_user_status")
    expect(page.locator(f"[data-testid=audit-entry][data-target='users/{user.uid}']")).to_have_count(2)
    page.get_by_test_id("audit-filter").select_option("set_ip_block")
    expect(page.locator("[data-testid=audit-entry][data-action=set_ip_block]").first).to_contain_text(admin.email)
