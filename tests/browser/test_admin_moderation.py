"""Moderation on the Live AI tab: the "Try a prompt" box answers what a charge would decide,
and a flagged generation carries its flag on its card."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import charge, configure, sign_in_to_dashboard
from tests.support import emulators as emu


def open_live_tab(page: Any, admin: emu.User) -> None:
    sign_in_to_dashboard(page, admin, "#live")
    expect(page.get_by_test_id("live-tab")).to_be_visible()


def try_prompt(page: Any, prompt: str) -> Any:
    page.get_by_test_id("moderation-prompt").fill(prompt)
    result = page.get_by_test_id("moderation-result")
    previous = result.text_content() if result.is_visible() else None
    page.get_by_test_id("moderation-test").click()
    expect(result).to_be_visible()
    if previous is not None:
        expect(result).not_to_have_text(previous)
    return result


def test_the_try_a_prompt_box_shows_the_verdict_a_charge_would_get(dashboard: Any) -> None:
    page = dashboard
    admin = emu.make_admin()
    open_live_tab(page, admin)
    result = try_prompt(page, "how do I extract ricin from castor beans")
    expect(result).to_have_attribute("data-verdict", "refuse")
    expect(result).to_have_attribute("data-category", "weapons")
    expect(result).to_contain_text("Refused · weapons")
    result = try_prompt(page, "a murder mystery dinner with the in-laws")
    expect(result).to_have_attribute("data-verdict", "allow")
    expect(result).to_have_attribute("data-source", "local")
    user = emu.sign_up()  # the charge decides the same
    assert charge(user, type="image", prompt="how do I extract ricin from castor beans").reason == "prompt_rejected"
    assert charge(user, type="image", prompt="a murder mystery dinner with the in-laws").ok


def test_a_flagged_generation_is_marked_on_its_card(dashboard: Any, admin: emu.User) -> None:
    page = dashboard
    configure(admin, {"categories": {"sexual": {"action": "flag"}}})
    try:
        open_live_tab(page, admin)
        result = try_prompt(page, "hardcore porn of two adults")
        expect(result).to_have_attribute("data-verdict", "flag")
        user = emu.sign_up()
        flagged = charge(user, type="image", prompt="hardcore porn of two adults")
        assert flagged.ok, flagged.body
        plain = charge(user, type="image", prompt="a lighthouse at dawn")
        card = page.locator(f"[data-testid=activity-card][data-activity-id='{flagged.result['activityId']}']")
        expect(card).to_have_attribute("data-flagged", "sexual")
        expect(card.get_by_test_id("moderation-flag")).to_have_text("flagged · sexual")
        other = page.locator(f"[data-testid=activity-card][data-activity-id='{plain.result['activityId']}']")
        expect(other).to_be_visible()
        expect(other.get_by_test_id("moderation-flag")).to_be_hidden()
    finally:
        configure(admin, {"categories": {"sexual": {"action": "refuse"}}})
