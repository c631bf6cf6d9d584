"""The provider's second opinion through the Functions emulator: the official client in the
emulator's workers talks to the local moderateText server (``tests/support/fake_language.py``,
on ``emulator_port()``, which ``scripts/test.sh`` gives the workers as
``CREDITS_LANGUAGE_ENDPOINT``). A verdict merged, a timeout under the budget, both fail modes,
and the circuit breaker opening and closing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from credits.moderation.provider import COOL_DOWN_SECONDS, FAILURES_TO_OPEN
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import emulators as emu
from tests.support.fake_language import FakeLanguageServer, emulator_port
from tests.support.ledger import balance


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLanguageServer]:
    with FakeLanguageServer(port=emulator_port()) as running:
        yield running


@pytest.fixture
def language(server: FakeLanguageServer) -> FakeLanguageServer:
    server.reset()
    return server


def charge(user: emu.User, prompt: str) -> emu.CallResult:
    return emu.call_retrying_drops("validateAndDeductCredits", {"type": "image", "prompt": prompt}, user)


def provider_on(config: Any, fail_mode: str = "open", timeout_ms: int = 1500, **categories: str) -> None:
    patch: dict[str, Any] = {"provider": {"enabled": True, "failMode": fail_mode, "timeoutMs": timeout_ms}}
    if categories:
        patch["categories"] = {name: {"action": action} for name, action in categories.items()}
    config(patch)


def test_the_providers_category_is_merged_through_the_configured_actions(
    language: FakeLanguageServer, admin: emu.User, db: firestore.Client, config: Any
) -> None:
    provider_on(config)
    language.answers = {"fjord": {"Derogatory": 0.97}}
    user = emu.sign_up()
    tried = emu.call("testModeration", {"prompt": "a fjord at dawn"}, admin)
    assert tried.result == {"verdict": "refuse", "category": "hate", "source": "provider"}, tried.body
    r = charge(user, "a fjord at dawn")
    assert r.reason == "prompt_rejected" and r.details["category"] == "hate", r.body
    assert balance(db, user.uid) == 100
    assert charge(user, "a lighthouse at dawn").ok  # the service found nothing there
    asked = [req.body["document"]["content"] for req in language.requests if req.body]
    assert "a fjord at dawn" in asked and "a lighthouse at dawn" in asked

    provider_on(config, hate="flag")
    flagged = charge(user, "a fjord at dawn")
    assert flagged.ok, flagged.body
    activity = db.collection("ai_activity").document(flagged.result["activityId"]).get().to_dict() or {}
    assert activity["moderation"] == {"action": "flag", "category": "hate", "source": "provider"}


def test_a_prompt_the_local_rules_refuse_is_never_sent(language: FakeLanguageServer, config: Any) -> None:
    provider_on(config)
    user = emu.sign_up()
    r = charge(user, "how to make napalm at home")
    assert r.reason == "prompt_rejected" and r.details["category"] == "weapons"
    assert language.requests == []


def test_a_slow_service_times_out_under_the_budget_and_fail_open_keeps_the_local_verdict(
    language: FakeLanguageServer, db: firestore.Client, config: Any
) -> None:
    provider_on(config, "open", timeout_ms=400)
    language.mode, language.delay_seconds = "slow", 5.0
    language.scores = {"Derogatory": 0.99}  # too late to count
    user = emu.sign_up()
    started = time.monotonic()
    r = charge(user, "a quiet harbour")
    elapsed = time.monotonic() - started
    assert r.ok, r.body
    assert elapsed < 3.0, elapsed  # the 400 ms timeout, not the service's 5 s
    assert language.requests, "the service was asked"
    assert balance(db, user.uid) == 90


def test_fail_closed_answers_backend_unavailable_and_writes_nothing(
    language: FakeLanguageServer, admin: emu.User, db: firestore.Client, config: Any
) -> None:
    provider_on(config, "closed", timeout_ms=400)
    language.mode = "http_500"
    user = emu.sign_up()
    assert emu.call("getCreditStatus", {}, user).ok  # the account exists before the charge
    r = charge(user, "a quiet harbour")
    assert r.code == "UNAVAILABLE" and r.reason == "backend_unavailable", r.body
    assert balance(db, user.uid) == 100
    activities = db.collection("ai_activity").where(filter=FieldFilter("userId", "==", user.uid)).stream()
    assert list(activities) == []
    tried = emu.call("testModeration", {"prompt": "a quiet harbour"}, admin)
    assert tried.code == "UNAVAILABLE" and tried.reason == "backend_unavailable"
    # A prompt the local rules refuse is refused without the service: fail-closed changes nothing there.
    assert charge(user, "how to make napalm at home").reason == "prompt_rejected"


def test_the_breaker_opens_after_repeated_failures_and_closes_after_its_cool_down(
    language: FakeLanguageServer, db: firestore.Client, config: Any
) -> None:
    provider_on(config, "open", timeout_ms=1000)
    language.mode = "http_500"
    user = emu.sign_up()
    # Each of the emulator's workers keeps its own breaker: call until the service stops being
    # asked (every worker in use has seen FAILURES_TO_OPEN failures in a row).
    quiet = 0
    for i in range(FAILURES_TO_OPEN * 8):
        before = len(language.requests)
        assert charge(user, f"a harbour at noon {i}").ok  # fail-open: charged on the local verdict
        quiet = quiet + 1 if len(language.requests) == before else 0
        if quiet >= 5:
            break
    assert quiet >= 5, f"the service was still asked after {i + 1} calls"
    opened_at = time.monotonic()

    # After the cool-down a trial call goes through; the service is back and its answer counts.
    language.mode = "ok"
    language.answers = {"harbour": {"Derogatory": 0.97}}
    time.sleep(max(0.0, COOL_DOWN_SECONDS + 1 - (time.monotonic() - opened_at)))
    outcomes = []
    for i in range(10):
        r = charge(user, f"a harbour at dusk {i}")
        outcomes.append(r.reason if r.code else "ok")
        if r.reason == "prompt_rejected":
            break
    assert outcomes[-1] == "prompt_rejected", outcomes
    assert charge(user, "a harbour at night").reason == "prompt_rejected"  # closed: asked again
