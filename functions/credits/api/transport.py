"""How a callable meets the domain: identity, client context, and the one error mapping.

``callable_endpoint`` wraps a handler ``(command, data) -> response model`` into a Firebase
callable (``credits.features.command`` describes the steps every handler follows):

* it refuses transport-level garbage (wrong method or content type, a body that is not a
  JSON object with exactly ``data``, JSON the parser chokes on) as ``invalid-argument``
  with ``details.reason == "invalid_request"``, where the SDK would answer ``internal``;
* it requires a verified Firebase Auth ID token (``unauthenticated`` otherwise, with the same
  body whether the token is missing, malformed or expired) and, for admin callables, the
  custom claim ``admin == true`` (``permission-denied`` / ``admin_required``);
* it gives the call one time budget (``atomic.Deadline``) below the function's timeout, so a
  client always gets an answer before the platform would cut the call off;
* it maps every ``CreditsError`` to ``HttpsError`` with the contract's ``details.reason``.
  This is the only place that builds an ``HttpsError``. An unexpected exception is logged
  (never with the request data: prompts and tokens stay out of logs) and answered as
  ``internal``; a Firestore outage as ``unavailable``;
* it writes one structured log entry per call (``api.logs``).

App Check is enforced when ``CREDITS_ENFORCE_APP_CHECK`` is true, which is the default for
deployments; the Functions emulator (``FUNCTIONS_EMULATOR=true``) turns it off. It is
enforced here rather than by the SDK so that one identity can go without it: the generator,
a server-side pipeline, is no app App Check could attest; its own credentials (a service
account's ID token with the ``generator`` claim) are what it has. Every other caller, users
and admins alike, needs a valid App Check token (the SDK still verifies any token sent).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any, Literal

import flask
from firebase_functions import https_fn
from google.api_core import exceptions as gexc
from google.cloud import firestore

from credits.api import logs
from credits.features.command import Command
from credits.store import db, notifications
from credits.store.atomic import Deadline, Stats
from credits.store.ip_blocks import normalize_ip
from credits.vocab.clock import Clock, SystemClock
from credits.vocab.context import Caller, ClientContext
from credits.vocab.contract.base import Open, Wire
from credits.vocab.errors import (
    AdminRequired,
    AppCheckRequired,
    BackendUnavailable,
    CreditsError,
    InvalidRequest,
    Unauthenticated,
)
from credits.vocab.validation import is_document_id

log = logging.getLogger("credits")
logs.install()

COUNTRY_HEADERS = ("X-Appengine-Country", "X-Client-Geo-Country", "CF-IPCountry", "X-Country-Code")
MAX_USER_AGENT = 512


def app_check_enforced() -> bool:
    """On by default; off on the emulators; ``CREDITS_ENFORCE_APP_CHECK=false`` to opt out."""
    if os.environ.get("FUNCTIONS_EMULATOR") == "true":
        return False
    return os.environ.get("CREDITS_ENFORCE_APP_CHECK", "true").strip().lower() not in ("0", "false", "no", "off")


DEFAULT_TIMEOUT_SECONDS = 60
# What the platform may need around the handler (cold start, the response): the budget ends
# this much before the function's timeout.
TIMEOUT_MARGIN_SECONDS = 12


def call_budget(timeout_seconds: int) -> float:
    """The time budget of one call for a function with ``timeout_seconds``.

    ``CREDITS_CALL_BUDGET_SECONDS`` may lower it (tests of slow databases use a few seconds);
    it can never exceed the timeout minus the margin.
    """
    ceiling = max(1.0, timeout_seconds - TIMEOUT_MARGIN_SECONDS)
    try:
        wanted = float(os.environ.get("CREDITS_CALL_BUDGET_SECONDS", ceiling))
    except ValueError:
        wanted = ceiling
    return max(0.5, min(wanted, ceiling))


_clock: Clock = SystemClock()


def caller_from(req: https_fn.CallableRequest[Any]) -> Caller:
    """Who is calling, from the verified ID token: its uid and the claims the domain reads."""
    if req.auth is None or not req.auth.uid:
        raise Unauthenticated()
    if not is_document_id(req.auth.uid):
        # A custom-token uid Firestore cannot use as a document id ("__x__", ".."): refuse it
        # cleanly instead of failing at the first write.
        raise InvalidRequest({"auth.uid": "this account's id cannot be used by this service"})
    token = req.auth.token or {}
    firebase = token.get("firebase")
    provider = firebase.get("sign_in_provider") if isinstance(firebase, dict) else None
    return Caller(
        uid=req.auth.uid,
        email=token.get("email") if isinstance(token.get("email"), str) else None,
        name=token.get("name") if isinstance(token.get("name"), str) else None,
        is_admin=token.get("admin") is True,
        is_generator=token.get("generator") is True,
        email_verified=token.get("email_verified") is True,
        anonymous=provider == "anonymous",
    )


def context_from(request: flask.Request, client: firestore.Client | None = None) -> ClientContext:
    """Where the call comes from: the client's address, country and user agent. With a
    ``client``, a request that shows ``CREDITS_TRUSTED_PROXY_HOPS`` is wrong is reported.
    """
    ip, problem = forwarding(request)
    if problem is not None and client is not None:
        hops = _int_env("CREDITS_TRUSTED_PROXY_HOPS", 0)
        report_forwarding_problem(client, _clock, problem, hops=hops, seen=len(forwarded_entries(request)))
    return ClientContext(ip=ip, country=client_country(request), user_agent=user_agent(request))


def client_ip(request: flask.Request) -> str | None:
    """The client's address as the nearest trusted proxy saw it (see ``forwarding``)."""
    return forwarding(request)[0]


ForwardingProblem = Literal["too_few_hops", "proxy_address"]
# Where a proxy of your own stands, never a client as Google's front end sees one: private
# and link-local networks, loopback, and Google Cloud load balancers' own source ranges.
_PROXY_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "35.191.0.0/16",
        "130.211.0.0/22",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


def forwarding(request: flask.Request) -> tuple[str | None, ForwardingProblem | None]:
    """The client's address, and what is wrong with ``CREDITS_TRUSTED_PROXY_HOPS`` if the
    request shows it.

    Google's front end appends the connecting address to ``X-Forwarded-For``; entries to its
    left are whatever the client sent and cannot be trusted (taking the first one would let
    anyone pick their IP and walk around IP limits and blocks). ``CREDITS_TRUSTED_PROXY_HOPS``
    counts the proxies of your own between the front end and the function (Firebase Hosting,
    a load balancer; docs/design.md says how to set it), each of which appends the address it
    saw. A wrong count is not silently worked around:

    * too high: the header has fewer entries than the hops say (``too_few_hops``). The client
      is unknown (no sign-up grant, no address limit to share; the peer, a Google front end,
      would be every user's address);
    * too low: the entry taken is one of your proxies' (a private address, a load balancer's
      source range: ``proxy_address``). It is used as it is (nothing better is known), and
      reported, since every user behind that proxy now shares one address.

    No header at all with no hops configured is a direct connection (the emulator, a test):
    the peer's address, no problem.
    """
    hops = _int_env("CREDITS_TRUSTED_PROXY_HOPS", 0)
    parts = forwarded_entries(request)
    if not parts:
        if hops == 0:
            return normalize_ip(request.remote_addr), None
        return None, "too_few_hops"
    if len(parts) <= hops:
        return None, "too_few_hops"
    ip = normalize_ip(parts[len(parts) - 1 - hops])
    if ip is None:
        return normalize_ip(request.remote_addr), None
    address = ipaddress.ip_address(ip)
    if any(address in network for network in _PROXY_NETWORKS if network.version == address.version):
        return ip, "proxy_address"
    return ip, None


def forwarded_entries(request: flask.Request) -> list[str]:
    """The ``X-Forwarded-For`` entries, left to right."""
    return [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]


_reported: set[tuple[str, int]] = set()


def report_forwarding_problem(
    client: firestore.Client, clock: Clock, problem: ForwardingProblem, *, hops: int, seen: int
) -> None:
    """Log an error (once per instance and kind; never an address) and notify the admins once."""
    explanation = {
        "too_few_hops": "the X-Forwarded-For header has fewer entries than the trusted hops: the setting is too high",
        "proxy_address": "the entry taken as the client's is a proxy's (private or load-balancer address): "
        "the setting is too low",
    }[problem]
    if (problem, hops) not in _reported:
        _reported.add((problem, hops))
        log.error("CREDITS_TRUSTED_PROXY_HOPS=%d looks wrong: %s (%d entries seen)", hops, explanation, seen)
    notifications.once(
        client,
        f"proxy_hops_{problem}_{hops}",
        notifications.document(
            "proxy_hops",
            "high",
            f"CREDITS_TRUSTED_PROXY_HOPS={hops} looks wrong: {explanation}; see docs/design.md (7. Addresses are buckets)",
            clock.now(),
            problem=problem,
            configuredHops=hops,
            seenEntries=seen,
        ),
    )


def client_country(request: flask.Request) -> str | None:
    """The client's two-letter country from the first of ``COUNTRY_HEADERS`` that names a real one."""
    for header in COUNTRY_HEADERS:
        value = (request.headers.get(header) or "").strip().upper()
        if len(value) == 2 and value.isalpha() and value not in ("XX", "ZZ"):
            return value
    return None


def user_agent(request: flask.Request) -> str | None:
    """The ``User-Agent`` header, cut to ``MAX_USER_AGENT`` characters; None when absent."""
    value = request.headers.get("User-Agent")
    return value[:MAX_USER_AGENT] if value else None


def _int_env(name: str, default: int) -> int:
    try:
        return max(0, int(os.environ.get(name, default)))
    except ValueError:
        return default


def to_https_error(err: CreditsError, *, for_admin: bool = False) -> https_fn.HttpsError:
    """The wire error of a domain refusal (admins may see more details)."""
    return https_fn.HttpsError(https_fn.FunctionsErrorCode(err.code), err.message, err.as_details(for_admin=for_admin))


# A callable's handler: the call's command and the request's data in, the contract's response out.
Handler = Callable[[Command, Any], Wire | Open]


def _role(caller: Caller | None) -> str:
    if caller is None:
        return "anonymous"
    if caller.is_admin:
        return "admin"
    if caller.is_generator:
        return "generator"
    return "user"


def _command(req: https_fn.CallableRequest[Any], caller: Caller, *, admin: bool, deadline: Deadline, stats: Stats) -> Command:
    """The call's command, once the caller may make it (App Check, the admin claim)."""
    if app_check_enforced() and req.app is None and not caller.is_generator:
        raise AppCheckRequired()
    if admin and not caller.is_admin:
        raise AdminRequired()
    client = db.client()
    return Command(
        client=client, clock=_clock, caller=caller, ctx=context_from(req.raw_request, client), deadline=deadline, stats=stats
    )


def dispatch(
    handler: Handler,
    req: https_fn.CallableRequest[Any],
    *,
    admin: bool,
    name: str,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Run one call: identity, budget, the handler, the error mapping and the call's log entry."""
    started = time.monotonic()
    stats = Stats()
    caller: Caller | None = None
    outcome, reason = "ok", None
    token = logs.correlation_id.set(logs.new_correlation_id(req.raw_request.headers.get("X-Cloud-Trace-Context")))
    try:
        caller = caller_from(req)
        cmd = _command(req, caller, admin=admin, deadline=Deadline(call_budget(timeout_seconds)), stats=stats)
        # Only the fields the answer set: an optional field the backend left out stays out.
        return handler(cmd, req.data).model_dump(mode="json", exclude_unset=True)
    except CreditsError as err:
        outcome, reason = "refused", err.reason
        raise to_https_error(err, for_admin=caller is not None and caller.is_admin) from None
    except (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.RetryError):
        outcome, reason = "refused", BackendUnavailable.reason
        log.warning("%s: Firestore unavailable", name)
        raise to_https_error(BackendUnavailable()) from None
    except https_fn.HttpsError as err:
        outcome, reason = "refused", str(err.code.value)
        raise
    except Exception:
        outcome, reason = "error", "internal"
        # The traceback, not the request: data may hold a prompt.
        log.exception("%s: unexpected error", name)
        raise https_fn.HttpsError(https_fn.FunctionsErrorCode.INTERNAL, "Internal error.") from None
    finally:
        logs.call_entry(
            logs.CallSummary(
                callable_name=name,
                outcome=outcome,
                reason=reason,
                latency_ms=(time.monotonic() - started) * 1000,
                role=_role(caller),
                uid=caller.uid if caller else None,
                attempts=stats.attempts,
                reads=stats.reads,
                writes=stats.writes,
            )
        )
        logs.correlation_id.reset(token)


def callable_endpoint(name: str, *, admin: bool = False, **options: Any) -> Callable[[Handler], Callable[..., Any]]:
    """Declare ``handler`` as the callable ``name`` (the name clients pass to httpsCallable)."""
    timeout_seconds = int(options.get("timeout_sec", DEFAULT_TIMEOUT_SECONDS))

    def decorate(handler: Handler) -> Callable[..., Any]:
        def endpoint(req: https_fn.CallableRequest[Any]) -> dict[str, Any]:
            return dispatch(handler, req, admin=admin, name=name, timeout_seconds=timeout_seconds)

        endpoint.__name__ = endpoint.__qualname__ = name
        endpoint.__doc__ = handler.__doc__
        # App Check is checked in dispatch (see the module docstring); the SDK verifies tokens.
        sdk_function = https_fn.on_call(enforce_app_check=False, **options)(endpoint)

        @functools.wraps(sdk_function)
        def guarded(request: flask.Request) -> Any:
            problem = transport_problem(request)
            if problem is not None:
                return _bad_request(problem)
            if not _plausible_authorization(request):
                # Answered here so that the SDK never logs the malformed token it would echo.
                return _error_response(401, "UNAUTHENTICATED", Unauthenticated())
            app_check = request.headers.get("X-Firebase-AppCheck")
            if app_check is not None and not _JWT.match(app_check):
                # A malformed App Check token is as good as none (refused where App Check is
                # enforced, ignored where not); dropped so the SDK never logs its text.
                request.environ.pop("HTTP_X_FIREBASE_APPCHECK", None)
            response = sdk_function(request)  # type: ignore[arg-type]  # on_call's wrapper takes the Flask request
            if getattr(response, "status_code", None) == 401:
                # The SDK refused a well-formed but invalid or expired token with a bare body:
                # every refusal carries details.reason, so a client needs one code path.
                return _error_response(401, "UNAUTHENTICATED", Unauthenticated())
            return response

        guarded.__firebase_endpoint__ = sdk_function.__firebase_endpoint__  # type: ignore[attr-defined]  # the SDK finds its functions by this attribute
        guarded.__name__ = guarded.__qualname__ = name
        return guarded

    return decorate


def transport_problem(request: flask.Request) -> str | None:
    """Why a request is not a well-formed callable request, or None if it is."""
    if request.method == "OPTIONS":
        return None  # CORS preflight: the SDK answers it
    if request.method != "POST":
        return "callables are called with POST"
    content_type = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return "the body must be application/json"
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, RecursionError, UnicodeDecodeError):
        return "the body is not valid JSON"
    if not isinstance(body, dict) or "data" not in body:
        return 'the body must be a JSON object {"data": ...}'
    if len(body) != 1:
        return 'the body must hold only "data"'
    if _depth_exceeds(body["data"], MAX_NESTING):
        # The SDK parses the body again deeper in the stack, where a nesting our parse
        # survived can still overflow; no callable takes anything nested this deep.
        return f"the data is nested more than {MAX_NESTING} levels deep"
    return None


MAX_NESTING = 32


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


_JWT = re.compile(r"^[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*$")
_JWT_SHAPE = re.compile(r"^Bearer [A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*$")


def _plausible_authorization(request: flask.Request) -> bool:
    """No Authorization header, or one shaped like ``Bearer <JWT>``."""
    header = request.headers.get("Authorization")
    return header is None or bool(_JWT_SHAPE.match(header))


def _bad_request(message: str) -> flask.Response:
    return _error_response(400, "INVALID_ARGUMENT", InvalidRequest({"body": message}))


def _error_response(status: int, code: str, err: CreditsError) -> flask.Response:
    payload = {"error": {"status": code, "message": err.message, "details": err.as_details()}}
    response = flask.make_response(flask.jsonify(payload), status)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
