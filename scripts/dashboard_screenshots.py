#!/usr/bin/env python3
"""Pictures of the admin dashboard as ``scripts/start.sh`` serves it, with its demo traffic.

    scripts/start.sh                                    # in another terminal; wait a minute for the history
    .venv/bin/python scripts/dashboard_screenshots.py   # docs/screenshots/dashboard-credits.png, dashboard-live.png

Signs in as the demo admin in Debian's headless Chromium, opens the Credits tab on 30 days
and the Live AI tab, and saves both. ``--origin`` for another Hosting port
(``CREDITS_EMULATOR_PORT_OFFSET``), ``--out`` for another folder.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

import cmdline

CHROMIUM = os.environ.get("CREDITS_CHROMIUM", "/usr/bin/chromium")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--origin", default=f"http://127.0.0.1:{5000 + cmdline.offset()}")
    parser.add_argument("--out", default=str(cmdline.ROOT / "docs" / "screenshots"))
    args = parser.parse_args()

    from playwright.sync_api import Error, expect, sync_playwright

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
        try:
            page.goto(f"{args.origin}/admin/")
        except Error:
            print(f"no dashboard at {args.origin}/admin/: start it with scripts/start.sh", file=sys.stderr)
            return 1
        page.click("#sign-in")  # the demo admin's credentials are filled in on the emulators
        expect(page.get_by_test_id("stat-creditsUsed")).not_to_have_text("–", timeout=60_000)
        page.get_by_role("button", name="30 days").click()
        expect(page.locator("#stats-card")).to_have_attribute("data-range", "30d", timeout=60_000)
        page.wait_for_timeout(1500)  # the charts' animation
        page.screenshot(path=out / "dashboard-credits.png", full_page=True)
        page.get_by_test_id("tab-live").click()
        expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live", timeout=30_000)
        page.wait_for_timeout(5000)  # a few generations move
        page.screenshot(path=out / "dashboard-live.png")
        browser.close()
    print(f"wrote {out / 'dashboard-credits.png'} and {out / 'dashboard-live.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
