"""A second opinion on a prompt from Google Cloud Natural Language ``moderateText``.

The local moderation judges every prompt; this module asks a real moderation service about
the ones it let through, when the operator switches it on. One function is the interface:
``second_opinion(prompt, settings, budget_seconds)``. It answers ``None`` when the provider is
off, a ``ProviderOpinion`` when the service answered, and raises ``ProviderUnavailable`` when
it did not (timeout, HTTP error, an answer that is not the documented shape, or the breaker
open). What to do then (``failMode``) is the caller's decision, not this module's.

What this module guarantees
---------------------------
* The call returns within ``min(settings.timeout_ms, budget_seconds)`` plus scheduling noise,
  whatever the service does (slow, silent, or trickling its answer a byte at a time): the
  request runs on a worker thread and the caller waits for it no longer than that. The client
  library's own retries are off (its default retries for up to 600 s).
* A circuit breaker per process (``CircuitBreaker``): after ``FAILURES_TO_OPEN`` consecutive
  failures the provider is not asked for ``COOL_DOWN_SECONDS`` (calls fail fast with
  ``ProviderUnavailable("circuit_open")``); then one trial call goes through (half-open); its
  success closes the breaker, its failure opens it for another cool-down.
* The service's categories are mapped to ours by one table, ``SERVICE_CATEGORIES``; each of
  our categories takes the highest confidence among the service categories mapped to it, and
  counts when that confidence reaches its threshold (``DEFAULT_THRESHOLDS``, overridden per
  category by ``settings.thresholds``). The opinion names the crossing category with the
  highest confidence, or none.
* The prompt is never logged, by this module or by the client library (which logs request
  payloads at DEBUG: its logger is held at INFO). Failures are logged by kind and HTTP status,
  never with the exception's text, which could quote a response.
* One client per endpoint per process, created on first use under a lock, on a worker thread
  (creating it may look up the default credentials, which can take seconds on a cold instance).

The endpoint is ``CREDITS_LANGUAGE_ENDPOINT`` (default: the real service). An ``http://``
endpoint is a local test server and gets anonymous credentials (no token ever goes over plain
HTTP); any other uses the functions' default credentials (the runtime service account).

The shapes it shares with the verdict (``ProviderSettings``, ``ProviderOpinion``,
``ProviderUnavailable``, our categories and the default thresholds) live in the pure
``second_opinion`` module, so that the verdict can name them without importing Google's client.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from google.api_core import exceptions as api_exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import language_v2

from credits.moderation.second_opinion import (
    DEFAULT_THRESHOLDS as DEFAULT_THRESHOLDS,
    OUR_CATEGORIES as OUR_CATEGORIES,
    ProviderOpinion as ProviderOpinion,
    ProviderSettings as ProviderSettings,
    ProviderUnavailable as ProviderUnavailable,
)

log = logging.getLogger(__name__)

ENDPOINT_VARIABLE = "CREDITS_LANGUAGE_ENDPOINT"
DEFAULT_ENDPOINT = "language.googleapis.com"


@dataclass(frozen=True)
class ServiceCategory:
    """One of the service's documented moderation categories and what it means to us."""

    name: str  # exactly as the service spells it in ``moderationCategories[].name``
    ours: str | None  # the category of ours it speaks for, or None: never a verdict
    why: str


# The service's 16 categories (https://cloud.google.com/natural-language/docs/moderating-text).
# Half of them are sensitive *topics* (health, religion, politics, finance, law, war, public
# safety), not harm: a prompt about a vaccine or an election scores high there and is ordinary.
# Those map to nothing. The service has no category for sexual content involving minors,
# threats, malware and fraud, or real people: those stay with the local layer alone.
SERVICE_CATEGORIES: tuple[ServiceCategory, ...] = (
    ServiceCategory("Sexual", "sexual", "references to sexual acts or other lewd content"),
    ServiceCategory("Violent", "violence", "violence against a person or group, gore"),
    ServiceCategory("Derogatory", "hate", "harmful comments targeting identity or protected attributes"),
    ServiceCategory("Insult", "harassment", "insulting or inflammatory comments towards a person or group"),
    ServiceCategory("Toxic", "harassment", "rude, disrespectful or unreasonable content"),
    ServiceCategory("Firearms & Weapons", "weapons", "mentions of knives, guns, ammunition: a topic, hence a high bar"),
    ServiceCategory("Illicit Drugs", "drugs", "illicit drugs: a topic, hence a high bar"),
    ServiceCategory(
        "Death, Harm & Tragedy", "self_harm", "deaths, accidents, disasters and self-harm: broad, hence the highest bar"
    ),
    ServiceCategory("Profanity", None, "cursing is not a harm category of ours; products decide on tone themselves"),
    ServiceCategory("Public Safety", None, "a topic: relief services and organisations"),
    ServiceCategory("Health", None, "a topic: conditions, therapies, medication"),
    ServiceCategory("Religion & Belief", None, "a topic"),
    ServiceCategory("War & Conflict", None, "a topic: history and news score here"),
    ServiceCategory("Politics", None, "a topic"),
    ServiceCategory("Finance", None, "a topic; fraud is not what it measures"),
    ServiceCategory("Legal", None, "a topic"),
)
_OURS_BY_NAME: Mapping[str, str | None] = MappingProxyType({c.name: c.ours for c in SERVICE_CATEGORIES})

# Breaker: five failures in a row is an outage, not bad luck (one slow answer in a hundred is
# normal). Thirty seconds is short next to an outage and long next to a call: at most one call
# in 30 s per instance waits on a service that is down.
FAILURES_TO_OPEN = 5
COOL_DOWN_SECONDS = 30.0
# Below this, a round trip cannot come back in time: the call is not made (and not counted as
# the service's failure: the caller ran out of time, the service did not).
MIN_CALL_SECONDS = 0.05
# Workers that wait on the service. A call abandoned at its timeout keeps its worker until the
# HTTP timeout (the same length) ends it, so this bounds the threads a dead service can hold.
MAX_WORKERS = 8


def judge(scores: Iterable[tuple[str, float]], thresholds: Mapping[str, float]) -> ProviderOpinion:
    """The opinion the service's ``(name, confidence)`` pairs give under ``thresholds``.

    Pure. Names the service has but the table does not know are ignored; a confidence that is
    not a number in [0, 1] is ``ValueError``, and so is an answer with none of the categories
    we map (the documented answer lists them all, so such an answer is not the service's).
    """
    ours: dict[str, float] = {}
    for name, confidence in scores:
        if not isinstance(confidence, float | int) or math.isnan(confidence) or not 0.0 <= confidence <= 1.0:
            raise ValueError("confidence out of range")
        category = _OURS_BY_NAME.get(name)
        if category is not None:
            ours[category] = max(ours.get(category, 0.0), float(confidence))
    if not ours:
        raise ValueError("no known category in the answer")
    crossed = [
        (confidence, category) for category, confidence in ours.items() if confidence >= thresholds.get(category, math.inf)
    ]
    if crossed:
        # max keeps the first of equals: dict order, i.e. the table's order
        confidence, category = max(crossed, key=lambda pair: pair[0])
        return ProviderOpinion(category, confidence)
    return ProviderOpinion(None, max(ours.values()))


BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Consecutive-failure breaker: closed -> open (cool-down) -> half-open (one trial) -> closed.

    ``clock`` is monotonic seconds (``time.monotonic`` unless a test injects one). Thread-safe.
    Every ``allow()`` that answers True must be followed by ``record_success()`` or
    ``record_failure()``; a half-open trial that never reports is given up after a cool-down,
    so a lost report cannot hold the breaker half-open for ever.
    """

    def __init__(
        self,
        failures_to_open: int = FAILURES_TO_OPEN,
        cool_down_seconds: float = COOL_DOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_to_open = failures_to_open
        self.cool_down_seconds = cool_down_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at = 0.0
        self._state: BreakerState = "closed"
        self._trial_started_at: float | None = None

    @property
    def state(self) -> BreakerState:
        """The state as of now (an open breaker past its cool-down reads as half-open)."""
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.cool_down_seconds:
                return "half_open"
            return self._state

    def allow(self) -> bool:
        """Whether a call may go out now (in half-open, only one at a time: the trial)."""
        with self._lock:
            now = self._clock()
            if self._state == "closed":
                return True
            if self._state == "open":
                if now - self._opened_at < self.cool_down_seconds:
                    return False
                self._state = "half_open"
                self._trial_started_at = None
            if self._trial_started_at is not None and now - self._trial_started_at < self.cool_down_seconds:
                return False  # a trial is out
            self._trial_started_at = now
            return True

    def record_success(self) -> None:
        """A call answered: the breaker closes and the failure count starts again."""
        with self._lock:
            if self._state != "closed":
                log.warning("moderation provider: breaker closed (the trial call succeeded)")
            self._state = "closed"
            self._failures = 0
            self._trial_started_at = None

    def record_failure(self) -> None:
        """A call failed: counts toward opening; a failed trial opens again at once."""
        with self._lock:
            self._failures += 1
            if self._state == "half_open" or self._failures >= self.failures_to_open:
                if self._state != "open":
                    log.warning(
                        "moderation provider: breaker open for %.0f s after %d consecutive failures",
                        self.cool_down_seconds,
                        self._failures,
                    )
                self._state = "open"
                self._opened_at = self._clock()
                self._trial_started_at = None


def endpoint_from_environment() -> str:
    """``CREDITS_LANGUAGE_ENDPOINT``, or the real service."""
    return os.environ.get(ENDPOINT_VARIABLE, "").strip() or DEFAULT_ENDPOINT


def make_client(endpoint: str) -> language_v2.LanguageServiceClient:
    """The official client on the REST transport, for ``endpoint``.

    ``http://`` endpoints are local test servers: anonymous credentials, never a token over
    plain HTTP. Others: the default credentials (on Cloud Functions, the runtime service account).
    """
    local = endpoint.startswith("http://")
    client = language_v2.LanguageServiceClient(
        transport="rest",
        credentials=AnonymousCredentials() if local else None,  # type: ignore[no-untyped-call]  # google-auth leaves __init__ unannotated
        client_options=ClientOptions(api_endpoint=endpoint),
    )
    # The REST transport logs each request's payload, the prompt, at DEBUG ("Sending request
    # ..."), to loggers under this one: hold it at INFO whatever the root logger's level is.
    logging.getLogger("google.cloud.language_v2").setLevel(logging.INFO)
    return client


def _reason_of(error: BaseException) -> str:
    """A failure's kind, from its type alone (its text could quote the response)."""
    if isinstance(error, TimeoutError):  # concurrent.futures.TimeoutError is TimeoutError
        return "timeout"
    if isinstance(error, api_exceptions.GoogleAPICallError) and error.code is not None:
        return f"http_{int(error.code)}"
    names = {cls.__name__ for cls in type(error).__mro__}
    if "ParseError" in names:  # google.protobuf.json_format: the body is not the documented JSON
        return "garbage"
    if "Timeout" in names:  # requests.exceptions.Timeout (connect or read)
        return "timeout"
    if isinstance(error, OSError):  # requests' other exceptions are OSErrors too: refused, reset
        return "connection"
    return "error"


class SecondOpinion:
    """The provider as a process holds it: one client per endpoint, one breaker, one worker pool.

    ``second_opinion`` uses one instance per process. Tests make their own with an injected
    clock, endpoint or client factory.
    """

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        breaker: CircuitBreaker | None = None,
        client_factory: Callable[[str], language_v2.LanguageServiceClient] = make_client,
    ) -> None:
        self._endpoint = endpoint  # None: read CREDITS_LANGUAGE_ENDPOINT on every call
        self.breaker = breaker or CircuitBreaker()
        self._client_factory = client_factory
        self._clients: dict[str, language_v2.LanguageServiceClient] = {}
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def ask(self, prompt: str, settings: ProviderSettings, budget_seconds: float) -> ProviderOpinion | None:
        """See ``second_opinion``."""
        if not settings.enabled:
            return None
        timeout = min(settings.timeout_ms / 1000.0, budget_seconds)
        if timeout < MIN_CALL_SECONDS:
            log.info("moderation provider: not asked, %.3f s left in the call's budget", max(timeout, 0.0))
            raise ProviderUnavailable("no_budget")
        if not self.breaker.allow():
            raise ProviderUnavailable("circuit_open")
        started = time.monotonic()
        try:
            scores = self._moderate(prompt, timeout)
            opinion = judge(scores, settings.effective_thresholds())
        except ProviderUnavailable as unavailable:
            self._failed(unavailable.reason, started)
            raise
        except ValueError:
            self._failed("garbage", started)
            raise ProviderUnavailable("garbage") from None
        self.breaker.record_success()
        return opinion

    def _failed(self, reason: str, started: float) -> None:
        self.breaker.record_failure()
        log.warning(
            "moderation provider unavailable: %s after %.0f ms (breaker %s)",
            reason,
            (time.monotonic() - started) * 1000,
            self.breaker.state,
        )

    def _moderate(self, prompt: str, timeout: float) -> list[tuple[str, float]]:
        """The service's (category, confidence) pairs for ``prompt``, within ``timeout`` seconds."""
        endpoint = self._endpoint or endpoint_from_environment()
        future = self._pool().submit(self._call, endpoint, prompt, timeout)
        try:
            return future.result(timeout=timeout)
        except Exception as error:  # whatever the client raised: the service gave no usable answer
            future.cancel()  # still queued: never sent
            raise ProviderUnavailable(_reason_of(error)) from None

    def _call(self, endpoint: str, prompt: str, timeout: float) -> list[tuple[str, float]]:
        # On a worker thread: both the client's creation and the request count against the timeout.
        client = self._client(endpoint)
        response = client.moderate_text(
            request=language_v2.ModerateTextRequest(
                document=language_v2.Document(content=prompt, type_=language_v2.Document.Type.PLAIN_TEXT),
                # Pinned: the thresholds are calibrated against one model's confidences, and the
                # service's default model may change under them. Version 2 is the current one.
                model_version=language_v2.ModerateTextRequest.ModelVersion.MODEL_VERSION_2,
            ),
            retry=None,  # the library's default retries for up to 600 s; the caller's budget decides
            timeout=timeout,
        )
        # The service sends 32-bit floats: 0.9 arrives as 0.89999998. Six decimals is what they
        # hold, and a confidence the service means as 0.9 then meets a threshold of 0.9.
        return [(category.name, round(category.confidence, 6)) for category in response.moderation_categories]

    def _client(self, endpoint: str) -> language_v2.LanguageServiceClient:
        client = self._clients.get(endpoint)
        if client is None:
            with self._lock:
                client = self._clients.get(endpoint)
                if client is None:
                    client = self._clients[endpoint] = self._client_factory(endpoint)
        return client

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = concurrent.futures.ThreadPoolExecutor(
                        max_workers=MAX_WORKERS, thread_name_prefix="moderation-provider"
                    )
        return self._executor


_PROCESS = SecondOpinion()


def second_opinion(prompt: str, settings: ProviderSettings, budget_seconds: float) -> ProviderOpinion | None:
    """Ask the provider about ``prompt``, within ``min(settings.timeout_ms, budget_seconds)``.

    None when ``settings.enabled`` is False (nothing is sent). Raises ``ProviderUnavailable``
    when no opinion came back in time or in shape, or the breaker is open; the caller applies
    ``settings.fail_mode``. Never logs the prompt.
    """
    return _PROCESS.ask(prompt, settings, budget_seconds)
