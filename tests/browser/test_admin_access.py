"""Who gets into the admin dashboard: an admin signs in and sees both tabs; anyone else gets a
clear refusal, and the rules keep every admin-only collection closed to them whatever a page
does (the reads are tried from the very page, with the user's own token)."""

from __future__ import annotations

import pathlib
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import call, sign_in_to_dashboard
from tests.support import emulators as emu

PROBE = "() => window.creditsAdmin.admin.probeAccess()"
LIVE_FEED = """() => new Promise((resolve) => {
  const stop = window.creditsAdmin.admin.watchActivityFeed(
    (items, meta) => { if (!meta.fromCache) { stop(); resolve(`data: ${items.length}`); } },
    { onError: (e) => resolve(e.code) },
  );
})"""


def test_an_admin_signs_in_and_sees_both_tabs(dashboard: Any, shots: pathlib.Path) -> None:
    page = dashboard
    admin = emu.make_admin()
    page.goto("/admin/")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    # On the emulators the demo admin is filled in, and said so.
    expect(page.locator("#email")).to_have_value("admin@demo.test")
    expect(page.locator("#demo-hint")).to_contain_text("admin@demo.test")
    expect(page.get_by_test_id("credits-tab")).to_be_hidden()
    page.screenshot(path=shots / "admin-sign-in.png")

    sign_in_to_dashboard(page, admin)
    expect(page.get_by_test_id("credits-tab")).to_be_visible()
    expect(page.get_by_test_id("refused")).to_be_hidden()
    expect(page.get_by_test_id("stat-generations")).not_to_have_text("–")
    expect(page.locator("#cost-image")).not_to_have_value("")

    page.get_by_test_id("tab-live").click()
    expect(page.get_by_test_id("live-tab")).to_be_visible()
    expect(page.get_by_test_id("credits-tab")).to_be_hidden()
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live")
    # The same page can read everything an admin may.
    access = page.evaluate(PROBE)
    assert set(access.values()) == {"allowed"}, access

    page.get_by_test_id("tab-credits").click()
    expect(page.get_by_test_id("credits-tab")).to_be_visible()
    page.locator("#sign-out").click()
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    expect(page.get_by_test_id("credits-tab")).to_be_hidden()


def test_a_wrong_password_is_said_so(dashboard: Any) -> None:
    page = dashboard
    admin = emu.make_admin()
    page.goto("/admin/")
    page.fill("#email", admin.email)
    page.fill("#password", "not-the-password")
    page.click("#sign-in")
    expect(page.get_by_test_id("auth-error")).to_have_text("That email and password do not match an account.")
    expect(page.get_by_test_id("credits-tab")).to_be_hidden()


def test_a_non_admin_is_refused_and_cannot_read_admin_data_from_the_page(dashboard: Any, shots: pathlib.Path) -> None:
    page = dashboard
    user = emu.sign_up()
    assert call("getCreditStatus", {}, user).ok  # an account with data of its own
    sign_in_to_dashboard(page, user)
    refused = page.get_by_test_id("refused")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("This dashboard is for admins only")
    expect(refused).to_contain_text(user.email)
    expect(page.get_by_test_id("credits-tab")).to_be_hidden()
    expect(page.get_by_test_id("live-tab")).to_be_hidden()
    expect(page.locator("#tabs")).to_be_hidden()
    page.screenshot(path=shots / "admin-refused.png")

    # Whatever the page did, the rules refuse: every admin-only read, and the live stream.
    access = page.evaluate(PROBE)
    assert access and set(access.values()) == {"denied"}, access
    assert page.evaluate(LIVE_FEED) == "permission-denied"

    page.get_by_test_id("refused").get_by_role("button", name="Sign in with another account").click()
    expect(page.get_by_test_id("sign-in")).to_be_visible()


def test_a_generator_is_not_an_admin_either(dashboard: Any) -> None:
    page = dashboard
    pipeline = emu.make_generator()
    sign_in_to_dashboard(page, pipeline)
    expect(page.get_by_test_id("refused")).to_be_visible()
    access = page.evaluate(PROBE)
    assert set(access.values()) == {"denied"}, access
