"""The moderation second opinion (``credits.moderation.provider``): the official
``google-cloud-language`` client, on its REST transport, against a local server that answers
``moderateText`` as the service documents it (tests/support/fake_language.py), and fails as a
service does (slow, trickling, 429, 500, 503, garbage). No emulator is needed."""

from __future__ import annotations

import concurrent.futures
import logging
import pathlib
import socket
import threading
import time
from collections.abc import Iterator

import google.auth
import google.auth.exceptions
import pytest
import requests
from credits.moderation import provider as mp
from credits.moderation.provider import (
    COOL_DOWN_SECONDS,
    DEFAULT_THRESHOLDS,
    FAILURES_TO_OPEN,
    OUR_CATEGORIES,
    SERVICE_CATEGORIES,
    CircuitBreaker,
    ProviderOpinion,
    ProviderSettings,
    ProviderUnavailable,
    SecondOpinion,
    judge,
    make_client,
    second_opinion,
)
from google.auth.credentials import AnonymousCredentials
from google.cloud import language_v2

from tests.support import fake_language
from tests.support.fake_language import FakeLanguageServer

# A prompt the logs must never contain; the marker is what the log checks look for.
MARKER = "zq7-marker-unlogged"
PROMPT = f"an explicit scene, {MARKER}, nobody should read this in a log"
ON = ProviderSettings(enabled=True)
# How late a call may return past its budget: thread hand-off and a busy shared machine.
MARGIN_SECONDS = 0.25


class FakeClock:
    """Monotonic seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def running_server() -> Iterator[FakeLanguageServer]:
    with FakeLanguageServer() as server:
        yield server


@pytest.fixture
def server(running_server: FakeLanguageServer) -> FakeLanguageServer:
    running_server.reset()
    return running_server


@pytest.fixture
def process(server: FakeLanguageServer, monkeypatch: pytest.MonkeyPatch) -> SecondOpinion:
    """A fresh per-process provider behind ``second_opinion``, pointed at the local server by
    the environment variable, as a deployment points it at the real service."""
    fresh = SecondOpinion()
    monkeypatch.setattr(mp, "_PROCESS", fresh)
    monkeypatch.setenv("CREDITS_LANGUAGE_ENDPOINT", server.url)
    return fresh


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def provider(server: FakeLanguageServer, clock: FakeClock) -> SecondOpinion:
    return SecondOpinion(endpoint=server.url, breaker=CircuitBreaker(clock=clock))


def fail(provider: SecondOpinion, settings: ProviderSettings = ON, budget: float = 5.0) -> str:
    with pytest.raises(ProviderUnavailable) as caught:
        provider.ask(PROMPT, settings, budget)
    return caught.value.reason


# ---------------------------------------------------------------- verdicts through the client


def test_a_confident_sexual_verdict_maps_to_our_sexual_category(server: FakeLanguageServer, process: SecondOpinion) -> None:
    server.scores = {"Sexual": 0.93, "Violent": 0.41, "Health": 0.2}

    assert second_opinion(PROMPT, ON, budget_seconds=5) == ProviderOpinion("sexual", 0.93)

    [request] = server.requests
    assert request.path.split("?")[0] == "/v2/documents:moderateText"
    assert request.body is not None
    assert request.body["document"]["content"] == PROMPT
    assert request.body["document"]["type"] in (1, "PLAIN_TEXT")
    assert request.body["modelVersion"] in (2, "MODEL_VERSION_2")
    # a local (http://) endpoint gets anonymous credentials: no token is sent
    assert "authorization" not in {name.lower() for name in request.headers}


def test_a_confidence_below_its_configured_threshold_is_no_verdict(server: FakeLanguageServer, process: SecondOpinion) -> None:
    server.scores = {"Sexual": 0.93}
    stricter = ProviderSettings(enabled=True, thresholds={"sexual": 0.95})

    assert second_opinion(PROMPT, stricter, budget_seconds=5) == ProviderOpinion(None, 0.93)


def test_a_lowered_threshold_turns_a_moderate_confidence_into_a_verdict(
    server: FakeLanguageServer, process: SecondOpinion
) -> None:
    server.scores = {"Violent": 0.6}

    assert second_opinion(PROMPT, ON, 5) == ProviderOpinion(None, 0.6)
    assert second_opinion(PROMPT, ProviderSettings(enabled=True, thresholds={"violence": 0.5}), 5) == ProviderOpinion(
        "violence", 0.6
    )


def test_a_confidence_exactly_at_its_threshold_crosses_it_despite_the_services_32_bit_floats(
    server: FakeLanguageServer, process: SecondOpinion
) -> None:
    # 0.9 travels as a float32 (0.89999998); the threshold is 0.9
    server.scores = {"Firearms & Weapons": 0.9}

    assert second_opinion(PROMPT, ON, 5) == ProviderOpinion("weapons", 0.9)


def test_the_highest_crossing_category_is_the_opinion(server: FakeLanguageServer, process: SecondOpinion) -> None:
    server.scores = {"Sexual": 0.85, "Violent": 0.97, "Derogatory": 0.88}

    assert second_opinion(PROMPT, ON, 5) == ProviderOpinion("violence", 0.97)


def test_each_prompt_gets_the_answer_the_server_was_given_for_it(server: FakeLanguageServer, process: SecondOpinion) -> None:
    server.answers = {"harbour": {"Violent": 0.99}, "meadow": {"Illicit Drugs": 0.95}}
    server.scores = {"Sexual": 0.2}

    assert second_opinion("a storm over the harbour", ON, 5) == ProviderOpinion("violence", 0.99)
    assert second_opinion("a meadow at noon", ON, 5) == ProviderOpinion("drugs", 0.95)
    assert second_opinion("a quiet street", ON, 5) == ProviderOpinion(None, 0.2)


def test_toxic_and_insult_both_speak_for_harassment_with_the_higher_confidence(
    server: FakeLanguageServer, process: SecondOpinion
) -> None:
    server.scores = {"Toxic": 0.95, "Insult": 0.3}

    assert second_opinion(PROMPT, ON, 5) == ProviderOpinion("harassment", 0.95)


def test_sensitive_topics_and_profanity_never_give_a_verdict(server: FakeLanguageServer, process: SecondOpinion) -> None:
    topics = ["Profanity", "Public Safety", "Health", "Religion & Belief", "War & Conflict", "Politics", "Finance", "Legal"]
    server.scores = dict.fromkeys(topics, 0.99) | {"Violent": 0.12}

    assert second_opinion(PROMPT, ON, 5) == ProviderOpinion(None, 0.12)


def test_the_table_covers_every_documented_category_and_only_our_categories() -> None:
    assert len(SERVICE_CATEGORIES) == 16
    assert {c.name for c in SERVICE_CATEGORIES} == set(fake_language.CATEGORIES)
    mapped = {c.ours for c in SERVICE_CATEGORIES if c.ours is not None}
    assert mapped <= set(OUR_CATEGORIES)
    assert set(DEFAULT_THRESHOLDS) == mapped
    assert all(0.5 <= t <= 1.0 for t in DEFAULT_THRESHOLDS.values())
    # what the service cannot speak for stays with the local layer
    assert {"sexual_minors", "threats", "malware_fraud", "real_people"}.isdisjoint(mapped)


def test_the_design_records_table_is_the_codes_table() -> None:
    design = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text()
    section = design.split(". The moderation second opinion", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines() if line.startswith("| ")]
    documented = {row[0]: (row[1].strip("`"), row[2]) for row in rows[1:]}  # after the header

    assert documented == {
        c.name: (c.ours, f"{DEFAULT_THRESHOLDS[c.ours]:.2f}") if c.ours else ("—", "—") for c in SERVICE_CATEGORIES
    }


# ---------------------------------------------------------------- off


def test_disabled_answers_none_and_sends_nothing(server: FakeLanguageServer, process: SecondOpinion) -> None:
    made: list[str] = []
    quiet = SecondOpinion(endpoint=server.url, client_factory=lambda endpoint: made.append(endpoint) or make_client(endpoint))
    server.scores = {"Sexual": 0.99}

    assert second_opinion(PROMPT, ProviderSettings(), budget_seconds=5) is None
    assert quiet.ask(PROMPT, ProviderSettings(enabled=False, fail_mode="closed"), 5) is None
    assert server.requests == []
    assert made == []  # not even a client


# ---------------------------------------------------------------- time


def test_a_slow_service_is_abandoned_within_the_calls_budget(server: FakeLanguageServer, provider: SecondOpinion) -> None:
    server.mode, server.delay_seconds = "slow", 5.0
    settings = ProviderSettings(enabled=True, timeout_ms=1500)

    started = time.monotonic()
    reason = fail(provider, settings, budget=0.4)
    elapsed = time.monotonic() - started

    assert reason == "timeout"
    assert 0.35 <= elapsed < 0.4 + MARGIN_SECONDS, elapsed
    assert len(server.requests) == 1  # the request went out; no retry followed it


def test_the_configured_timeout_applies_when_it_is_shorter_than_the_budget(
    server: FakeLanguageServer, provider: SecondOpinion
) -> None:
    server.mode, server.delay_seconds = "slow", 5.0

    started = time.monotonic()
    assert fail(provider, ProviderSettings(enabled=True, timeout_ms=300), budget=20.0) == "timeout"
    elapsed = time.monotonic() - started

    assert 0.25 <= elapsed < 0.3 + MARGIN_SECONDS, elapsed


def test_an_answer_trickled_a_byte_at_a_time_is_still_cut_off_at_the_budget(
    server: FakeLanguageServer, provider: SecondOpinion
) -> None:
    # each byte comes well inside a socket read timeout, so only a deadline on the whole call stops it
    server.mode, server.delay_seconds = "trickle", 0.05

    started = time.monotonic()
    assert fail(provider, ON, budget=0.5) == "timeout"
    assert time.monotonic() - started < 0.5 + MARGIN_SECONDS


def test_with_too_little_budget_left_the_service_is_not_asked_and_not_blamed(
    server: FakeLanguageServer, provider: SecondOpinion
) -> None:
    assert fail(provider, ON, budget=0.01) == "no_budget"
    assert fail(provider, ON, budget=-1.0) == "no_budget"

    assert server.requests == []
    assert provider.breaker.state == "closed"
    server.scores = {"Sexual": 0.9}
    for _ in range(FAILURES_TO_OPEN):
        fail(provider, ON, budget=0.0)
    assert provider.ask(PROMPT, ON, 5) == ProviderOpinion("sexual", 0.9)


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("http_429", "http_429"),
        ("http_500", "http_500"),
        ("http_503", "http_503"),
        ("garbage_html", "garbage"),
        ("garbage_truncated", "garbage"),
        ("garbage_shape", "garbage"),
        ("garbage_range", "garbage"),
        ("garbage_empty", "garbage"),
    ],
)
def test_a_failed_or_garbled_answer_is_provider_unavailable(
    server: FakeLanguageServer, provider: SecondOpinion, mode: str, reason: str
) -> None:
    server.mode = mode
    server.scores = {"Sexual": 0.99}

    assert fail(provider) == reason
    # once: the client library's default retry (on 503 among others, for up to 600 s) is off
    assert len(server.requests) == 1


def test_a_refused_connection_is_provider_unavailable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = SecondOpinion(endpoint=f"http://127.0.0.1:{port}")

    assert fail(nowhere) == "connection"


def test_a_client_that_cannot_be_made_is_provider_unavailable_and_counts(server: FakeLanguageServer, clock: FakeClock) -> None:
    def no_credentials(endpoint: str) -> language_v2.LanguageServiceClient:
        raise google.auth.exceptions.DefaultCredentialsError("Your default credentials were not found.")

    broken = SecondOpinion(endpoint=server.url, breaker=CircuitBreaker(clock=clock), client_factory=no_credentials)
    for _ in range(FAILURES_TO_OPEN):
        assert fail(broken) == "error"

    assert broken.breaker.state == "open"
    assert server.requests == []


def test_the_http_librarys_own_timeouts_are_reported_as_timeouts() -> None:
    # the deadline usually fires first; when the HTTP library's timeout wins the race, the same reason
    assert mp._reason_of(requests.exceptions.ReadTimeout()) == "timeout"
    assert mp._reason_of(requests.exceptions.ConnectTimeout()) == "timeout"
    assert mp._reason_of(requests.exceptions.ConnectionError()) == "connection"


# ---------------------------------------------------------------- the breaker


def test_the_breaker_opens_after_consecutive_failures_and_closes_after_the_cool_down(
    server: FakeLanguageServer, provider: SecondOpinion, clock: FakeClock
) -> None:
    server.mode = "http_500"
    for _ in range(FAILURES_TO_OPEN):
        assert fail(provider) == "http_500"
    assert provider.breaker.state == "open"
    sent = len(server.requests)

    started = time.monotonic()
    assert fail(provider) == "circuit_open"
    assert time.monotonic() - started < 0.05  # fails fast
    clock.advance(COOL_DOWN_SECONDS - 1)
    assert fail(provider) == "circuit_open"
    assert len(server.requests) == sent  # nothing was sent while open

    server.mode, server.scores = "ok", {"Sexual": 0.9}
    clock.advance(1)
    assert provider.breaker.state == "half_open"
    assert provider.ask(PROMPT, ON, 5) == ProviderOpinion("sexual", 0.9)  # the trial
    assert provider.breaker.state == "closed"
    assert provider.ask(PROMPT, ON, 5) == ProviderOpinion("sexual", 0.9)
    assert len(server.requests) == sent + 2


def test_a_failed_trial_opens_the_breaker_for_another_cool_down(
    server: FakeLanguageServer, provider: SecondOpinion, clock: FakeClock
) -> None:
    server.mode = "http_429"
    for _ in range(FAILURES_TO_OPEN):
        fail(provider)
    clock.advance(COOL_DOWN_SECONDS)

    assert fail(provider) == "http_429"  # the trial went out and failed
    assert provider.breaker.state == "open"
    assert fail(provider) == "circuit_open"
    clock.advance(COOL_DOWN_SECONDS)
    server.mode = "ok"
    assert provider.ask(PROMPT, ON, 5) == ProviderOpinion(None, 0.0)
    assert provider.breaker.state == "closed"


def test_timeouts_and_garbage_count_toward_the_breaker(server: FakeLanguageServer, provider: SecondOpinion) -> None:
    server.mode, server.delay_seconds = "slow", 5.0
    quick = ProviderSettings(enabled=True, timeout_ms=100)
    for _ in range(FAILURES_TO_OPEN - 1):
        assert fail(provider, quick) == "timeout"
    server.mode = "garbage_html"
    assert fail(provider, quick) == "garbage"

    assert provider.breaker.state == "open"


def test_a_success_starts_the_failure_count_again(server: FakeLanguageServer, provider: SecondOpinion) -> None:
    server.mode = "http_500"
    for _ in range(FAILURES_TO_OPEN - 1):
        fail(provider)
    server.mode = "ok"
    provider.ask(PROMPT, ON, 5)
    server.mode = "http_500"
    for _ in range(FAILURES_TO_OPEN - 1):
        fail(provider)

    assert provider.breaker.state == "closed"


def test_half_open_lets_one_trial_through_at_a_time(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failures_to_open=2, cool_down_seconds=10, clock=clock)
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow()

    clock.advance(10)
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # others fail fast while it is out
    breaker.record_success()
    assert breaker.allow() and breaker.allow()


def test_a_trial_that_never_reports_is_given_up_after_a_cool_down(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failures_to_open=1, cool_down_seconds=10, clock=clock)
    breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()
    clock.advance(9)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()


# ---------------------------------------------------------------- one client per process


def test_racing_first_calls_create_one_client(server: FakeLanguageServer) -> None:
    made: list[str] = []

    def slow_factory(endpoint: str) -> object:
        made.append(endpoint)
        time.sleep(0.05)  # widen the window a second creation would slip into
        return make_client(endpoint)

    shared = SecondOpinion(endpoint=server.url, client_factory=slow_factory)  # type: ignore[arg-type]
    server.scores = {"Sexual": 0.9}
    start = threading.Barrier(8)

    def ask(_: int) -> ProviderOpinion | None:
        start.wait()
        return shared.ask(PROMPT, ON, 5)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        opinions = list(pool.map(ask, range(8)))

    assert made == [server.url]
    assert opinions == [ProviderOpinion("sexual", 0.9)] * 8
    assert len(server.requests) == 8


def test_a_local_endpoint_gets_anonymous_credentials_and_the_real_one_the_default_credentials(
    server: FakeLanguageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = make_client(server.url)
    assert isinstance(local._transport._credentials, AnonymousCredentials)
    assert local._transport._host == server.url

    asked: list[object] = []

    def default(*args: object, **kwargs: object) -> tuple[AnonymousCredentials, str]:
        asked.append(kwargs)
        return AnonymousCredentials(), "my-project"

    monkeypatch.setattr(google.auth, "default", default)
    real = make_client(mp.DEFAULT_ENDPOINT)
    assert asked  # the functions' default credentials: the runtime service account
    assert real._transport._host == "https://language.googleapis.com"


def test_a_server_on_the_fixed_port_for_the_emulators_answers_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITS_EMULATOR_PORT_OFFSET", "40")
    assert fake_language.emulator_port() == 7440
    with FakeLanguageServer(port=fake_language.emulator_port()) as fixed:
        fixed.scores = {"Derogatory": 0.91}
        assert fixed.url == "http://127.0.0.1:7440"
        assert SecondOpinion(endpoint=fixed.url).ask(PROMPT, ON, 5) == ProviderOpinion("hate", 0.91)


def test_the_endpoint_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDITS_LANGUAGE_ENDPOINT", raising=False)
    assert mp.endpoint_from_environment() == "language.googleapis.com"
    monkeypatch.setenv("CREDITS_LANGUAGE_ENDPOINT", "http://127.0.0.1:9")
    assert mp.endpoint_from_environment() == "http://127.0.0.1:9"


# ---------------------------------------------------------------- logs


@pytest.fixture
def all_logs_reach_root() -> Iterator[None]:
    """Everything the provider and the libraries under it log, where caplog sees it.

    The google-* libraries stop their "google" logger from propagating to the root unless an
    application configured it first (or set GOOGLE_SDK_PYTHON_LOGGING_SCOPE, which prints it to
    stdout: Cloud Logging's input on Cloud Functions); here it is configured, at DEBUG, so they
    leave it alone. The "credits" logger stops propagating once the functions install their
    structured handler (credits.api.logs, which other tests load)."""
    saved = [(logger, logger.level, logger.propagate) for logger in map(logging.getLogger, ("google", "credits"))]
    logging.getLogger("google").setLevel(logging.DEBUG)
    for logger, _, _ in saved:
        logger.propagate = True
    yield
    for logger, level, propagate in saved:
        logger.setLevel(level)
        logger.propagate = propagate


def _records_mentioning(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    # message, arguments and the extra fields the client library attaches (httpRequest, ...)
    return [r for r in caplog.records if text in r.getMessage() or text in repr(r.__dict__)]


def test_the_prompt_never_reaches_the_logs(
    server: FakeLanguageServer,
    provider: SecondOpinion,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    all_logs_reach_root: None,
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, the client library's and urllib3's included
    server.scores = {"Sexual": 0.99}
    provider.ask(PROMPT, ON, 5)
    for mode in ("http_429", "http_500", "garbage_html", "garbage_range", "slow"):
        server.mode, server.delay_seconds = mode, 2.0
        fail(provider, ProviderSettings(enabled=True, timeout_ms=100))
    assert fail(provider) == "circuit_open"
    fail(provider, ON, budget=0.0)
    clock.advance(COOL_DOWN_SECONDS)
    server.mode = "ok"
    provider.ask(PROMPT, ON, 5)

    logging.getLogger("google.cloud.language_v2.probe").info("probe")
    assert _records_mentioning(caplog, "breaker open")  # the logs were captured...
    assert _records_mentioning(caplog, "moderateText")  # ...the HTTP library's debug lines...
    assert _records_mentioning(caplog, "probe")  # ...and the client library's would be too...
    assert _records_mentioning(caplog, MARKER) == []  # ...and the prompt is in none of them


def test_the_client_library_would_log_the_prompt_at_debug_without_the_guard(
    server: FakeLanguageServer, provider: SecondOpinion, caplog: pytest.LogCaptureFixture, all_logs_reach_root: None
) -> None:
    # Shows that the check above can fail: the REST transport puts the request payload in its
    # "Sending request" debug record. make_client holds the library's logger at INFO.
    provider.ask(PROMPT, ON, 5)  # creates the client, which sets the guard
    library = logging.getLogger("google.cloud.language_v2")
    assert library.level == logging.INFO
    caplog.set_level(logging.DEBUG)
    library.setLevel(logging.NOTSET)
    try:
        provider.ask(PROMPT, ON, 5)
    finally:
        library.setLevel(logging.INFO)

    assert _records_mentioning(caplog, MARKER)


# ---------------------------------------------------------------- settings and the pure parts


@pytest.mark.parametrize(
    "bad",
    [
        {"fail_mode": "sideways"},
        {"timeout_ms": 0},
        {"timeout_ms": 1.5},
        {"timeout_ms": True},
        {"timeout_ms": 600_000},
        {"thresholds": {"spam": 0.5}},
        {"thresholds": {"sexual": 0}},
        {"thresholds": {"sexual": 1.5}},
        {"thresholds": {"sexual": float("nan")}},
        {"thresholds": {"sexual": "high"}},
    ],
)
def test_settings_refuse_what_the_provider_cannot_use(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ProviderSettings(enabled=True, **bad)  # type: ignore[arg-type]


def test_settings_keep_their_own_copy_of_the_thresholds() -> None:
    thresholds = {"sexual": 0.5}
    settings = ProviderSettings(enabled=True, thresholds=thresholds)
    thresholds["sexual"] = 0.99

    assert settings.thresholds == {"sexual": 0.5}
    assert settings.effective_thresholds() == {**DEFAULT_THRESHOLDS, "sexual": 0.5}
    assert ProviderSettings() == ProviderSettings(enabled=False, fail_mode="open", timeout_ms=1500, thresholds={})
    # usable as a cache key
    assert hash(ProviderSettings(enabled=True, thresholds={"sexual": 0.5})) == hash(settings)
    assert len({settings, ProviderSettings(enabled=True, thresholds={"sexual": 0.5}), ProviderSettings()}) == 2


def test_judge_ignores_names_it_does_not_know_and_refuses_impossible_confidences() -> None:
    thresholds = dict(DEFAULT_THRESHOLDS)
    assert judge([("Sexual", 0.5), ("Brand New Category", 0.99)], thresholds) == ProviderOpinion(None, 0.5)
    with pytest.raises(ValueError):
        judge([("Sexual", float("nan"))], thresholds)
    with pytest.raises(ValueError):
        judge([("Sexual", -0.1)], thresholds)
    with pytest.raises(ValueError):
        judge([("Health", 0.4)], thresholds)  # none of the categories we map: not the documented answer
