"""The demo page as a person uses it: sign in, the balance, the cost before generating, a
generation followed live to its end, and the refusals shown the way a person wants them."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import configure
from tests.support import emulators as emu


def open_signed_in(page: Any, user: emu.User) -> None:
    page.goto("/demo/")
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    page.click("#sign-in")
    expect(page.get_by_test_id("balance")).not_to_have_text("–")


def choose(page: Any, kind: str, quantity: str) -> None:
    page.select_option("#type", kind)
    page.fill("#quantity", quantity)


def preview_cost(page: Any) -> int:
    cost = page.get_by_test_id("preview-cost")
    expect(cost).to_be_visible()
    return int(re.sub(r"\D", "", cost.inner_text()))


def balance(page: Any) -> int:
    return int(page.get_by_test_id("balance").inner_text().replace(",", ""))


def test_sign_in_shows_the_balance_and_the_cost_before_generating(page: Any, shots: Any) -> None:
    user = emu.sign_up()
    page.goto("/demo/")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    expect(page.locator("#signed-in")).to_be_hidden()
    expect(page.locator("#who")).to_be_hidden()
    page.screenshot(path=shots / "01-sign-in.png")
    open_signed_in(page, user)
    expect(page.get_by_test_id("balance")).to_have_text("100")
    expect(page.get_by_test_id("who")).to_have_text(user.email)
    expect(page.get_by_test_id("preview")).to_contain_text("This costs 10 credits (1 image × 10 credits). You will have 90 left.")
    choose(page, "video", "4.5")
    expect(page.get_by_test_id("preview")).to_contain_text("This costs 23 credits (4.5 seconds of video × 5 credits, rounded up)")
    page.screenshot(path=shots / "02-balance-and-preview.png")


def test_a_new_account_sees_its_granted_balance_before_any_generation(page: Any) -> None:
    page.goto("/demo/")
    page.fill("#email", f"new-{uuid.uuid4().hex[:10]}@example.com")
    page.fill("#password", "correct-horse-battery")
    page.click("#sign-up")
    expect(page.get_by_test_id("balance")).to_have_text("100")
    expect(page.get_by_test_id("grant")).to_be_hidden()
    expect(page.get_by_test_id("recent")).to_have_text("Nothing yet.")


def test_a_generation_is_charged_its_preview_and_followed_live_to_completion(page: Any, shots: Any, generator_loop: Any) -> None:
    user = emu.sign_up()
    open_signed_in(page, user)
    choose(page, "chat", "1000")
    page.fill("#prompt", "a short poem about lighthouses")
    assert preview_cost(page) == 10
    page.get_by_test_id("generate").click()
    status = page.get_by_test_id("activity-status")
    expect(page.get_by_test_id("activity-money")).to_contain_text("Charged 10 credits")
    expect(status).to_have_attribute("data-status", "processing")
    expect(page.locator("#progressbar")).to_have_attribute("aria-valuenow", re.compile(r"^[1-9]\d?$"))
    page.screenshot(path=shots / "03-generating.png")
    expect(status).to_have_attribute("data-status", "completed")
    # The generator reports 800 tokens produced: settled at 8 credits, 2 refunded, live.
    expect(page.get_by_test_id("activity-money")).to_contain_text("Charged 8 credits · 2 refunded")
    expect(page.get_by_test_id("balance")).to_have_text("92")
    expect(page.get_by_test_id("recent").locator("li").first).to_contain_text("completed")
    expect(page.locator("#progressbar")).to_have_attribute("aria-valuenow", "100")
    page.wait_for_timeout(500)  # the bar's width transition
    page.screenshot(path=shots / "04-completed.png")


def test_a_failed_generation_is_shown_refunded(page: Any, generator_loop: Any) -> None:
    user = emu.sign_up()
    open_signed_in(page, user)
    page.fill("#prompt", "a picture that will fail to render")
    assert preview_cost(page) == 10
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("activity-status")).to_have_attribute("data-status", "failed")
    expect(page.get_by_test_id("activity-money")).to_contain_text("10 refunded")
    expect(page.get_by_test_id("balance")).to_have_text("100")


def test_not_enough_credits_shows_the_upgrade_prompt_instead_of_generating(page: Any, shots: Any) -> None:
    user = emu.sign_up()
    open_signed_in(page, user)
    choose(page, "video", "30")
    assert preview_cost(page) == 150
    upgrade = page.get_by_test_id("upgrade")
    expect(upgrade).to_contain_text("Not enough credits. This needs 150, you have 100: 50 more to go.")
    expect(page.get_by_test_id("upgrade-button")).to_be_visible()
    expect(page.get_by_test_id("generate")).to_be_disabled()
    page.screenshot(path=shots / "05-upgrade-prompt.png")
    page.get_by_test_id("upgrade").get_by_test_id("upgrade-button").click()
    expect(page.get_by_test_id("shop")).to_be_visible()
    page.get_by_test_id("shop-close").click()
    choose(page, "video", "20")
    expect(upgrade).to_be_hidden()
    expect(page.get_by_test_id("generate")).to_be_enabled()


def test_a_rate_limit_shows_a_ticking_countdown_then_lets_the_user_go_on(page: Any, shots: Any, admin: emu.User) -> None:
    configure(admin, {"rateLimits": {"voice": 1, "windowSeconds": 6}})
    try:
        user = emu.sign_up()
        open_signed_in(page, user)
        choose(page, "voice", "2")
        assert preview_cost(page) == 6
        page.get_by_test_id("generate").click()
        countdown = page.get_by_test_id("countdown")
        expect(countdown).to_be_visible()
        expect(page.get_by_test_id("rate-limit")).to_contain_text("You have used your 1 voice generation allowed for now.")
        expect(page.get_by_test_id("rate-limit")).to_contain_text("You can generate again in")
        expect(page.get_by_test_id("generate")).to_be_disabled()
        first = countdown.inner_text()
        page.screenshot(path=shots / "06-rate-limit-countdown.png")
        time.sleep(1.5)
        later = countdown.inner_text() if countdown.is_visible() else "0:00"
        assert later < first, (first, later)  # "0:04" < "0:06": it ticks down
        expect(page.get_by_test_id("generate")).to_be_enabled(timeout=15_000)
        expect(countdown).to_be_hidden()
    finally:
        configure(admin, {"rateLimits": {"voice": 10_000, "windowSeconds": 3600}})


def test_a_rejected_prompt_says_why_and_that_nothing_was_charged(page: Any, shots: Any) -> None:
    user = emu.sign_up()
    open_signed_in(page, user)
    page.fill("#prompt", "instructions to build a bomb")
    assert preview_cost(page) == 10
    page.get_by_test_id("generate").click()
    problem = page.get_by_test_id("problem")
    expect(problem).to_contain_text("This prompt can't be used. It was flagged as weapons. Nothing was charged")
    expect(page.get_by_test_id("balance")).to_have_text("100")
    page.screenshot(path=shots / "07-prompt-rejected.png")


def test_a_suspension_shows_at_once_and_stops_generating(page: Any, shots: Any, admin: emu.User) -> None:
    user = emu.sign_up()
    open_signed_in(page, user)
    assert preview_cost(page) == 10
    result = emu.call("setUserStatus", {"userId": user.uid, "status": "suspended", "reason": "browser test"}, admin)
    assert result.ok, result.body
    expect(page.get_by_test_id("suspended")).to_be_visible()
    expect(page.get_by_test_id("suspended")).to_contain_text("Your account is suspended")
    expect(page.get_by_test_id("generate")).to_be_disabled()
    page.screenshot(path=shots / "08-suspended.png")


def test_a_withheld_sign_up_grant_is_explained(page: Any, shots: Any, admin: emu.User) -> None:
    configure(admin, {"signup": {"grantsPerIpPerDay": 0}})
    try:
        page.goto("/demo/")
        page.fill("#email", f"late-{uuid.uuid4().hex[:10]}@example.com")
        page.fill("#password", "correct-horse-battery")
        page.click("#sign-up")
        expect(page.get_by_test_id("balance")).to_have_text("0")
        grant = page.get_by_test_id("grant")
        expect(grant).to_contain_text("No starter credits on this account")
        expect(grant).to_contain_text("your network has already received the starter credits allowed for today")
        expect(page.get_by_test_id("upgrade")).to_be_visible()
        page.screenshot(path=shots / "09-withheld-grant.png")
    finally:
        configure(
            admin,
            {
                "signup": {
                    "grantsPerIpPerDay": 1_000_000,
                    "grantsPerNetworkPerDay": 1_000_000,
                    "grantsPerAllocationPerDay": 1_000_000,
                }
            },
        )


def test_the_low_balance_warning_appears_live_when_the_balance_falls_below_the_threshold(page: Any) -> None:
    user = emu.sign_up()
    open_signed_in(page, user)
    expect(page.get_by_test_id("low-balance")).to_be_hidden()
    choose(page, "image", "9")
    assert preview_cost(page) == 90
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("balance")).to_have_text("10")
    expect(page.get_by_test_id("low-balance")).to_be_visible()
