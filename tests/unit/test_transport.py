"""The transport: client address, transport-level garbage, error mapping, wiring."""

import json

import flask
import pytest
from credits.api import transport
from credits.errors import InsufficientCredits, InvalidTransition, RateLimited
from firebase_functions import https_fn

app = flask.Flask(__name__)


def request_with(
    headers: dict[str, str], remote: str = "10.9.8.7", body: str = '{"data": {}}', method: str = "POST"
) -> flask.Request:
    env = {"REMOTE_ADDR": remote}
    ctx = app.test_request_context("/", method=method, headers=headers, data=body, environ_base=env)
    ctx.push()
    return flask.request._get_current_object()  # type: ignore[attr-defined]


def test_client_ip_is_the_last_forwarded_entry() -> None:
    assert transport.client_ip(request_with({"X-Forwarded-For": "6.6.6.6, 203.0.113.5"})) == "203.0.113.5"


def test_client_ip_with_a_trusted_proxy_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITS_TRUSTED_PROXY_HOPS", "1")
    assert transport.client_ip(request_with({"X-Forwarded-For": "6.6.6.6, 203.0.113.5, 35.1.1.1"})) == "203.0.113.5"


def test_client_ip_falls_back_to_the_peer() -> None:
    assert transport.client_ip(request_with({})) == "10.9.8.7"
    assert transport.client_ip(request_with({"X-Forwarded-For": "not an ip"})) == "10.9.8.7"


def test_country_header_is_validated() -> None:
    assert transport.client_country(request_with({"X-Appengine-Country": "de"})) == "DE"
    assert transport.client_country(request_with({"X-Appengine-Country": "ZZ"})) is None
    assert transport.client_country(request_with({"CF-IPCountry": "<script>"})) is None


@pytest.mark.parametrize(
    "body,ctype,method,problem",
    [
        ('{"data": 1}', "application/json", "POST", False),
        ('{"data": 1}', "application/json; charset=utf-8", "POST", False),
        ('{"data": 1}', "text/plain", "POST", True),
        ("nope", "application/json", "POST", True),
        ("[]", "application/json", "POST", True),
        ('{"data": 1, "x": 2}', "application/json", "POST", True),
        ("[" * 50_000, "application/json", "POST", True),
        ("", "application/json", "GET", True),
        ("", "application/json", "OPTIONS", False),
    ],
)
def test_transport_problems(body: str, ctype: str, method: str, problem: bool) -> None:
    req = request_with({"Content-Type": ctype}, body=body, method=method)
    assert (transport.transport_problem(req) is not None) is problem


def test_errors_map_to_the_contract_table() -> None:
    err = transport.to_https_error(InsufficientCredits(required=15, available=3))
    assert err.code == https_fn.FunctionsErrorCode.FAILED_PRECONDITION
    assert err.details == {"reason": "insufficient_credits", "required": 15, "available": 3}
    err = transport.to_https_error(RateLimited("ip", 100, 600, 42))
    assert err.code == https_fn.FunctionsErrorCode.RESOURCE_EXHAUSTED
    assert err.details == {"reason": "rate_limited", "scope": "ip", "limit": 100, "windowSeconds": 600, "retryAfterSeconds": 42}
    err = transport.to_https_error(InvalidTransition("completed", "failed"))
    assert err.details == {"reason": "invalid_transition", "from": "completed", "to": "failed"}
    assert json.dumps(err._as_dict())


def test_app_check_is_on_by_default_and_off_on_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUNCTIONS_EMULATOR", raising=False)
    monkeypatch.delenv("CREDITS_ENFORCE_APP_CHECK", raising=False)
    assert transport.app_check_enforced()
    monkeypatch.setenv("CREDITS_ENFORCE_APP_CHECK", "false")
    assert not transport.app_check_enforced()
    monkeypatch.delenv("CREDITS_ENFORCE_APP_CHECK")
    monkeypatch.setenv("FUNCTIONS_EMULATOR", "true")
    assert not transport.app_check_enforced()


def test_malformed_tokens_never_reach_the_sdk_logs() -> None:
    """A malformed Authorization answers 401 here; a malformed App Check header is dropped."""
    from credits.api.user import validate_and_deduct_credits as endpoint

    with app.test_request_context("/", method="POST", json={"data": {}}, headers={"Authorization": "Bearer secret-not-a-jwt"}):
        response = endpoint(flask.request)
        assert response.status_code == 401
        assert b"secret-not-a-jwt" not in response.get_data()
    with app.test_request_context("/", method="POST", json={"data": None}, headers={"X-Firebase-AppCheck": "secret-junk"}):
        response = endpoint(flask.request)
        assert "X-Firebase-AppCheck" not in flask.request.headers
        assert response.status_code in (400, 401)
