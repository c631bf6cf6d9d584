"""The transport: client address, transport-level garbage, error mapping, wiring."""

import json

import flask
import pytest
from credits.api import transport
from credits.features.command import Command
from credits.vocab.contract.base import Wire
from credits.vocab.errors import InsufficientCredits, InvalidTransition, RateLimited
from firebase_functions import https_fn
from werkzeug.test import EnvironBuilder

app = flask.Flask(__name__)


def request_with(
    headers: dict[str, str], remote: str = "10.9.8.7", body: str = '{"data": {}}', method: str = "POST"
) -> flask.Request:
    """A Flask request built from a WSGI environ: no request context is pushed (or left behind)."""
    builder = EnvironBuilder("/", method=method, headers=headers, data=body, environ_base={"REMOTE_ADDR": remote})
    try:
        return flask.Request(builder.get_environ())
    finally:
        builder.close()


def test_client_ip_is_the_last_forwarded_entry() -> None:
    assert transport.client_ip(request_with({"X-Forwarded-For": "6.6.6.6, 203.0.113.5"})) == "203.0.113.5"


def test_client_ip_with_a_trusted_proxy_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITS_TRUSTED_PROXY_HOPS", "1")
    assert transport.client_ip(request_with({"X-Forwarded-For": "6.6.6.6, 203.0.113.5, 35.1.1.1"})) == "203.0.113.5"


def test_client_ip_falls_back_to_the_peer() -> None:
    assert transport.client_ip(request_with({})) == "10.9.8.7"
    assert transport.client_ip(request_with({"X-Forwarded-For": "not an ip"})) == "10.9.8.7"


def test_fewer_forwarded_hops_than_configured_is_an_error_not_a_silent_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: with CREDITS_TRUSTED_PROXY_HOPS too high the peer (a Google front end) became every
    user's address. Now the address is unknown (no grant, no address limit to share) and the
    request is reported."""
    monkeypatch.setenv("CREDITS_TRUSTED_PROXY_HOPS", "2")
    request = request_with({"X-Forwarded-For": "203.0.113.5, 35.1.1.1"})
    assert transport.forwarding(request) == (None, "too_few_hops")
    assert transport.client_ip(request) is None


def test_a_private_address_where_the_client_should_be_means_too_few_hops_are_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hops set too low behind a proxy of your own: its private address would be everyone's."""
    monkeypatch.setenv("CREDITS_TRUSTED_PROXY_HOPS", "0")
    assert transport.forwarding(request_with({"X-Forwarded-For": "203.0.113.5, 10.0.0.7"})) == ("10.0.0.7", "proxy_address")
    monkeypatch.setenv("CREDITS_TRUSTED_PROXY_HOPS", "1")
    assert transport.forwarding(request_with({"X-Forwarded-For": "203.0.113.5, 10.0.0.7"})) == ("203.0.113.5", None)


def test_a_request_without_the_header_and_no_hops_configured_is_a_direct_connection() -> None:
    assert transport.forwarding(request_with({})) == ("10.9.8.7", None)


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


def test_the_call_budget_stays_below_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDITS_CALL_BUDGET_SECONDS", raising=False)
    assert transport.call_budget(60) == 60 - transport.TIMEOUT_MARGIN_SECONDS
    monkeypatch.setenv("CREDITS_CALL_BUDGET_SECONDS", "5")
    assert transport.call_budget(60) == 5
    monkeypatch.setenv("CREDITS_CALL_BUDGET_SECONDS", "500")
    assert transport.call_budget(60) == 60 - transport.TIMEOUT_MARGIN_SECONDS
    monkeypatch.setenv("CREDITS_CALL_BUDGET_SECONDS", "junk")
    assert transport.call_budget(60) == 60 - transport.TIMEOUT_MARGIN_SECONDS


def test_claims_make_the_caller() -> None:
    auth = https_fn.AuthData(
        uid="u1",
        token={"email": "a@b.c", "email_verified": True, "generator": True, "firebase": {"sign_in_provider": "password"}},
    )
    caller = transport.caller_from(https_fn.CallableRequest(raw_request=request_with({}), data=None, auth=auth))
    assert caller.is_generator and not caller.is_admin and caller.email_verified and not caller.anonymous
    auth = https_fn.AuthData(uid="u2", token={"admin": "true", "firebase": {"sign_in_provider": "anonymous"}})
    caller = transport.caller_from(https_fn.CallableRequest(raw_request=request_with({}), data=None, auth=auth))
    assert not caller.is_admin and caller.anonymous  # "true" is not true


def test_damage_details_are_for_admins() -> None:
    from credits.vocab.errors import DataInvalid

    err = DataInvalid("users/u1", {"credits": "must be a non-negative integer"})
    assert transport.to_https_error(err).details == {"reason": "data_invalid", "document": "users/u1"}
    assert transport.to_https_error(err, for_admin=True).details["errors"] == {"credits": "must be a non-negative integer"}


def test_each_call_writes_one_structured_entry_and_never_its_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from credits.store import db
    from credits.vocab.errors import InsufficientCredits

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")  # never contacted: the handler refuses first
    monkeypatch.setenv("CREDITS_ENFORCE_APP_CHECK", "false")
    monkeypatch.setattr(db, "_client", None)

    def handler(cmd: Command, data: object) -> Wire:
        raise InsufficientCredits(required=10, available=3)

    secret = "a-prompt-that-must-not-be-logged"
    request = request_with({"X-Cloud-Trace-Context": "0123456789abcdef0123456789abcdef/1;o=1"})
    auth = https_fn.AuthData(uid="user-1", token={"email": "person@example.com"})
    with pytest.raises(https_fn.HttpsError):
        transport.dispatch(
            handler,
            https_fn.CallableRequest(raw_request=request, data={"prompt": secret}, auth=auth),
            admin=False,
            name="validateAndDeductCredits",
        )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    calls = [line for line in lines if line.get("event") == "call"]
    assert len(calls) == 1
    entry = calls[0]
    assert entry["callable"] == "validateAndDeductCredits" and entry["outcome"] == "refused"
    assert entry["reason"] == "insufficient_credits" and entry["severity"] == "INFO" and entry["role"] == "user"
    assert entry["correlationId"] == "0123456789abcdef0123456789abcdef"
    assert isinstance(entry["latencyMs"], float) and entry["attempts"] == 0
    text = json.dumps(lines)
    assert secret not in text and "person@example.com" not in text and "user-1" not in text


def test_app_check_is_required_of_everyone_but_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    from credits.store import db

    monkeypatch.delenv("FUNCTIONS_EMULATOR", raising=False)
    monkeypatch.delenv("CREDITS_ENFORCE_APP_CHECK", raising=False)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")  # never contacted
    monkeypatch.setattr(db, "_client", None)

    class Who(Wire):
        role: str

    def handler(cmd: Command, data: object) -> Who:
        return Who(role="generator" if cmd.caller.is_generator else "other")

    def request(token: dict[str, object], app: https_fn.AppCheckData | None) -> https_fn.CallableRequest[object]:
        return https_fn.CallableRequest(
            raw_request=request_with({}), data={}, auth=https_fn.AuthData(uid="u", token=token), app=app
        )

    for claims in ({}, {"admin": True}):
        with pytest.raises(https_fn.HttpsError) as info:
            transport.dispatch(handler, request(claims, None), admin=False, name="getCreditStatus")
        assert info.value.code == https_fn.FunctionsErrorCode.UNAUTHENTICATED
        assert info.value.details == {"reason": "unauthenticated"}
    assert transport.dispatch(handler, request({"generator": True}, None), admin=False, name="x") == {"role": "generator"}
    attested = https_fn.AppCheckData(app_id="web-app", token={})
    assert transport.dispatch(handler, request({}, attested), admin=False, name="x") == {"role": "other"}
    monkeypatch.setenv("FUNCTIONS_EMULATOR", "true")
    assert transport.dispatch(handler, request({}, None), admin=False, name="x") == {"role": "other"}
