"""Browser tier: the demo page (web/demo, built into web/dist) served by the Hosting emulator,
driven in Debian's headless Chromium through Playwright, against the Auth, Firestore and
Functions emulators, with scripts/demo_generator.py playing the model pipeline.

Run through ``scripts/test.sh`` (which starts the emulators, Hosting included):

    scripts/test.sh tests/browser -x
    CREDITS_SCREENSHOTS=docs/screenshots scripts/test.sh tests/browser   # refresh the README's pictures

Screenshots of the main states go to ``CREDITS_SCREENSHOTS`` (default ``.tools/screenshots``).
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support import emulators as emu

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CREDITS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The generator's pace in the tests: four progress reports this far apart, then the outcome.
STEP_SECONDS = "0.4"


def hosting_origin() -> str:
    """Where the Hosting emulator serves web/dist: asked of the emulator hub, which knows every
    emulator of this run (ports move with CREDITS_EMULATOR_PORT_OFFSET)."""
    hub = os.environ.get("FIREBASE_EMULATOR_HUB")
    if hub:
        info = requests.get(f"http://{hub}/emulators", timeout=10).json().get("hosting")
        if info:
            return f"http://{info['host']}:{info['port']}"
    return f"http://127.0.0.1:{5000 + int(os.environ.get('CREDITS_EMULATOR_PORT_OFFSET', '0'))}"


@pytest.fixture(scope="session", autouse=True)
def _emulators() -> None:
    if not (emu.emulators_running() and emu.functions_running()):
        pytest.fail("the Emulator Suite is not running: run these tests through scripts/test.sh", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _no_future_activity(_emulators: None) -> None:
    """The admin's Live tab shows the 50 newest generations by ``createdAt``. Earlier tiers move
    the functions' clock forward (hours to months) to test windows, expiry and renewals, and the
    activities charged meanwhile stay dated in the future: enough of them would keep a card
    created now out of the 50 the tab shows. They are removed before the pages are tested."""
    from credits.store import db as dbmod
    from google.cloud.firestore_v1.base_query import FieldFilter

    client = dbmod.make_client(emu.PROJECT)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    query = client.collection("ai_activity").where(filter=FieldFilter("createdAt", ">", soon))
    batch, pending = client.batch(), 0
    for snap in query.stream():
        batch.delete(snap.reference)
        pending += 1
        if pending == 400:
            batch.commit()
            batch, pending = client.batch(), 0
    if pending:
        batch.commit()


@pytest.fixture(scope="session")
def origin() -> str:
    url = hosting_origin()
    try:
        page = requests.get(f"{url}/demo/", timeout=10)
    except requests.RequestException:
        pytest.fail(f"the Hosting emulator does not answer at {url}", pytrace=False)
    if page.status_code != 200 or "Credits demo" not in page.text:
        pytest.fail(f"{url}/demo/ is not the demo page (is web/dist built? scripts/setup.sh builds it)", pytrace=False)
    return url


@pytest.fixture(scope="session")
def admin() -> emu.User:
    return emu.make_admin()


def configure(admin: emu.User, changes: dict[str, Any]) -> None:
    result = emu.call("updateCreditConfiguration", changes, admin)
    assert result.ok, result.body


@pytest.fixture(scope="session", autouse=True)
def _open_limits(admin: emu.User) -> None:
    """Every page in these tests calls from 127.0.0.1: lift the per-address limits (requests and
    sign-up grants) that would otherwise make one test depend on how many ran before it."""
    configure(
        admin,
        {
            "rateLimits": {"ipRequests": 10_000, "image": 10_000, "video": 10_000, "voice": 10_000, "chat": 10_000},
            "signup": {
                "grantsPerIpPerDay": 1_000_000,
                "grantsPerNetworkPerDay": 1_000_000,
                "grantsPerAllocationPerDay": 1_000_000,
            },
        },
    )


@pytest.fixture(scope="session")
def generator_loop() -> Iterator[subprocess.Popen[bytes]]:
    """scripts/demo_generator.py, as scripts/start.sh runs it, for the length of the tier."""
    env = {**os.environ, "CREDITS_DEMO_STEP_SECONDS": STEP_SECONDS}
    (ROOT / ".tools" / "logs").mkdir(parents=True, exist_ok=True)
    log = open(ROOT / ".tools" / "logs" / "demo-generator-browser.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "demo_generator.py")], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium", pytrace=False)
    expect.set_options(timeout=20_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def fresh_page(browser: Any, origin: str, viewport: dict[str, int]) -> Iterator[Any]:
    """A page in a fresh browser profile; fails the test on any uncaught error in the page."""
    context = browser.new_context(viewport=viewport, base_url=origin)
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def page(browser: Any, origin: str) -> Iterator[Any]:
    """A fresh browser profile per test (its own signed-in user), page errors collected."""
    yield from fresh_page(browser, origin, {"width": 1000, "height": 820})


@pytest.fixture(scope="session")
def shots() -> pathlib.Path:
    path = ROOT / os.environ.get("CREDITS_SCREENSHOTS", ".tools/screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------------ the admin dashboard (web/admin)

DASHBOARD_VIEWPORT = {"width": 1360, "height": 900}


@pytest.fixture
def dashboard(browser: Any, origin: str) -> Iterator[Any]:
    """A fresh browser profile at a dashboard's width, page errors collected."""
    yield from fresh_page(browser, origin, DASHBOARD_VIEWPORT)


def sign_in_to_dashboard(page: Any, user: emu.User, tab: str = "") -> None:
    """Open /admin/ (``tab``: "" or "#live") and sign in as ``user`` with the form."""
    from playwright.sync_api import expect

    page.goto(f"/admin/{tab}")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    page.click("#sign-in")
    expect(page.get_by_test_id("who")).to_have_text(user.email)


@pytest.fixture(scope="session")
def demo_history() -> bool:
    """A week of demo history (scripts/demo_traffic.py's, written through the domain code and
    rolled up), so that the README's pictures of the dashboard show a product in use. Written
    only when the statistics have never been rolled up in this run (rows behind the rollups'
    cursor would never be counted); returns whether it was."""
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    import demo_traffic
    from credits.features import rollup
    from credits.store import db

    if rollup.state_ref(db.make_client(emu.PROJECT)).get().exists:
        return False
    return demo_traffic.history(7, 20261127) == 0


def call(name: str, data: Any, user: emu.User | None = None) -> emu.CallResult:
    """``emu.call``, sent once more when the request was lost before any answer: the connection
    reset (the emulator closing an idle keep-alive connection just as it is reused), or the
    Functions emulator dropping it between itself and its worker (an HTTP 500 without a
    callable's body, "socket hang up" in its log; ``CallResult.dropped``). Only for requests
    that are safe to repeat: reads, and charges or grants with a ``requestId``."""
    try:
        result = emu.call(name, data, user)
    except requests.ConnectionError:
        return emu.call(name, data, user)
    return emu.call(name, data, user) if result.dropped else result


def charge(user: emu.User, **data: Any) -> emu.CallResult:
    """A charge as a web client sends it: with an idempotency key, so that a resend is safe."""
    import uuid

    return call("validateAndDeductCredits", {"requestId": f"browser-{uuid.uuid4().hex}", **data}, user)
