"""Without the Stripe secrets, payments are off and nothing else changes: the callables answer
``failed-precondition`` / ``payments_disabled`` before any read or call, the webhook 503 (Stripe
delivers again later), and the secrets never show in a repr."""

from __future__ import annotations

from typing import Any

import flask
import pytest
from credits.api import payments as api
from credits.features.command import Command
from credits.features.payments import checkout
from credits.features.payments.stripe_api import StripeKeys
from credits.vocab.errors import PaymentsDisabled
from werkzeug.test import EnvironBuilder


class Untouchable:
    """A Firestore client that must not be used."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"payments disabled, yet the client was used ({name})")


def test_the_checkout_callables_refuse_before_reading_anything() -> None:
    request = checkout.CheckoutRequest("pack-small", "https://app.example.com/ok", "https://app.example.com/no")
    with pytest.raises(PaymentsDisabled) as err:
        checkout.create_checkout_session(Command(Untouchable(), None, None, None), request, StripeKeys("", "whsec_x"))  # type: ignore[arg-type]
    assert err.value.code == "failed-precondition" and err.value.as_details() == {"reason": "payments_disabled"}
    with pytest.raises(PaymentsDisabled):
        checkout.create_billing_portal_session(
            Command(Untouchable(), None, None, None), checkout.PortalRequest("https://app.example.com/"), StripeKeys("  ", "")
        )  # type: ignore[arg-type]


def test_the_webhook_answers_503_without_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    builder = EnvironBuilder("/", method="POST", data=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    with flask.Flask(__name__).test_request_context():
        response = api.stripeWebhook(flask.Request(builder.get_environ()))
    assert response.status_code == 503


def test_the_webhook_takes_only_post(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    builder = EnvironBuilder("/", method="GET")
    with flask.Flask(__name__).test_request_context():
        response = api.stripeWebhook(flask.Request(builder.get_environ()))
    assert response.status_code == 405


def test_the_secrets_never_show_in_a_repr() -> None:
    keys = StripeKeys("sk_test_secret_value", "whsec_secret_value")
    assert "secret_value" not in repr(keys) and "secret_value" not in str(keys)
