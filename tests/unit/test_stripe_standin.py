"""The Stripe stand-in, driven by the official library as the backend drives it: Stripe's
shapes, its refusals, and idempotency keys honoured."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import stripe

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("stripe_standin", ROOT / "scripts" / "stripe_standin.py")
assert spec and spec.loader
standin: Any = importlib.util.module_from_spec(spec)
spec.loader.exec_module(standin)

KEY = "sk_test_unit"
BASE: dict[str, str] = {}


@pytest.fixture(scope="module")
def api() -> Iterator[stripe.StripeClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), standin.Handler)
    port = server.server_address[1]
    standin.Handler.state = standin.State(KEY, "whsec_unit", None, f"http://127.0.0.1:{port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    BASE["api"] = f"http://127.0.0.1:{port}"
    yield stripe.StripeClient(KEY, base_addresses={"api": BASE["api"]}, max_network_retries=0)
    server.shutdown()


def session_params(customer: str, price: str = "price_pack_small", mode: str = "payment") -> dict[str, Any]:
    return {
        "mode": mode,
        "customer": customer,
        "line_items": [{"price": price, "quantity": 1}],
        "success_url": "http://localhost/ok",
        "cancel_url": "http://localhost/no",
        "metadata": {"uid": "u1"},
    }


def test_a_session_has_stripes_shape_and_a_local_checkout_url(api: stripe.StripeClient) -> None:
    customer = api.v1.customers.create({"email": "a@example.com", "metadata": {"uid": "u1"}})
    assert customer.id.startswith("cus_") and customer.object == "customer"
    session = api.v1.checkout.sessions.create(session_params(customer.id))
    assert session.id.startswith("cs_test_") and session.object == "checkout.session"
    assert session.payment_status == "unpaid" and session.amount_total == 500 and session.currency == "usd"
    assert session.url.endswith(f"/checkout/{session.id}")
    assert session.metadata["uid"] == "u1"


def test_the_same_idempotency_key_returns_the_same_object_and_other_parameters_are_refused(api: stripe.StripeClient) -> None:
    customer = api.v1.customers.create({}, {"idempotency_key": "k-customer"})
    again = api.v1.customers.create({}, {"idempotency_key": "k-customer"})
    assert again.id == customer.id
    first = api.v1.checkout.sessions.create(session_params(customer.id), {"idempotency_key": "k-session"})
    second = api.v1.checkout.sessions.create(session_params(customer.id), {"idempotency_key": "k-session"})
    assert first.id == second.id
    with pytest.raises(stripe.IdempotencyError):
        api.v1.checkout.sessions.create(session_params(customer.id, "price_pack_large"), {"idempotency_key": "k-session"})


def test_what_stripe_refuses_is_refused(api: stripe.StripeClient) -> None:
    customer = api.v1.customers.create({})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        api.v1.checkout.sessions.create(session_params(customer.id, "price_nope"))
    assert missing.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError):
        api.v1.checkout.sessions.create(session_params(customer.id, "price_plan_pro", mode="payment"))  # a recurring price
    with pytest.raises(stripe.InvalidRequestError):
        api.v1.checkout.sessions.create(session_params("cus_nobody"))
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        api.v1.checkout.sessions.create({**session_params(customer.id), "colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert unknown.value.code == "parameter_unknown"
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("sk_test_wrong", base_addresses={"api": BASE["api"]}).v1.customers.create({})


def test_signatures_are_what_stripes_library_verifies() -> None:
    payload = b'{"id": "evt_1", "type": "ping", "data": {"object": {}}}'
    header = standin.sign(payload, "whsec_unit")
    event = stripe.Webhook.construct_event(payload, header, "whsec_unit")
    assert event.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")
