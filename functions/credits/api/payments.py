"""The payment endpoints: two callables and Stripe's webhook (an HTTPS function).

The Stripe secrets are Firebase secrets (``SecretParam``, Python's ``defineSecret``), bound to
the functions that use them only; in the emulators they come from ``functions/.secret.local``.
Their values are read per call and handed to the domain, never stored, never logged.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import flask
from firebase_functions import https_fn
from firebase_functions.params import SecretParam
from google.api_core import exceptions as gexc

from credits.api import logs
from credits.api.admin import auth_user_exists
from credits.api.transport import _clock, call_budget, callable_endpoint
from credits.features.command import Command
from credits.features.payments import checkout, webhook
from credits.features.payments.stripe_api import StripeKeys
from credits.store import db
from credits.vocab.contract.callables import CheckoutResponse, PortalResponse
from credits.vocab.errors import BackendUnavailable, Contention, CreditsError

log = logging.getLogger("credits")

STRIPE_SECRET_KEY = SecretParam("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = SecretParam("STRIPE_WEBHOOK_SECRET")
# Stripe waits about 20 seconds for an answer; one event is one small commit.
WEBHOOK_TIMEOUT_SECONDS = 30
MAX_EVENT_BYTES = 512 * 1024


def keys() -> StripeKeys:
    """The secrets as this instance has them (empty when not set: payments are disabled)."""
    return StripeKeys(secret_key=STRIPE_SECRET_KEY.value, webhook_secret=STRIPE_WEBHOOK_SECRET.value)


@callable_endpoint("createCheckoutSession", timeout_sec=60, secrets=[STRIPE_SECRET_KEY])
def create_checkout_session(cmd: Command, data: Any) -> CheckoutResponse:
    """A Stripe Checkout Session for a product: ``{sessionId, url}``."""
    return checkout.create_checkout_session(cmd, checkout.CheckoutRequest.parse(data), keys())


@callable_endpoint("createBillingPortalSession", timeout_sec=60, secrets=[STRIPE_SECRET_KEY])
def create_billing_portal_session(cmd: Command, data: Any) -> PortalResponse:
    """A Stripe billing portal session for the caller: ``{url}``."""
    return checkout.create_billing_portal_session(cmd, checkout.PortalRequest.parse(data), keys())


def _json(status: int, body: dict[str, Any]) -> flask.Response:
    return flask.make_response(flask.jsonify(body), status)


@https_fn.on_request(timeout_sec=WEBHOOK_TIMEOUT_SECONDS, secrets=[STRIPE_WEBHOOK_SECRET])
def stripeWebhook(request: flask.Request) -> flask.Response:  # noqa: N802 - the deployed name
    """Stripe's events: POST only, the signature verified on the raw body, each applied once."""
    started = time.monotonic()
    outcome = "error"
    try:
        if request.method != "POST":
            outcome = "method_not_allowed"
            return _json(405, {"error": "POST only"})
        secret = STRIPE_WEBHOOK_SECRET.value
        if not secret.strip():
            outcome = "payments_disabled"
            return _json(503, {"error": "payments are not configured"})
        if (request.content_length or 0) > MAX_EVENT_BYTES:
            outcome = "too_large"
            return _json(413, {"error": "too large"})
        payload = request.get_data(cache=False)
        from credits.store.atomic import Deadline

        answer = webhook.receive(
            db.client(),
            _clock,
            webhook.Delivery(payload, request.headers.get("Stripe-Signature")),
            secret,
            deadline=Deadline(call_budget(WEBHOOK_TIMEOUT_SECONDS)),
            user_exists=auth_user_exists,
        )
        outcome = str(answer.body.get("outcome") or answer.body.get("error"))
        return _json(answer.status, answer.body)
    except (Contention, BackendUnavailable, gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.RetryError):
        # Nothing was applied: Stripe delivers again later.
        outcome = "retry"
        return _json(503, {"error": "try again"})
    except CreditsError as err:
        outcome = err.reason
        log.warning("stripeWebhook: %s", err.reason)
        return _json(500, {"error": err.reason})
    except Exception:
        log.exception("stripeWebhook: unexpected error")
        return _json(500, {"error": "internal"})
    finally:
        logs.call_entry(
            logs.CallSummary(
                callable_name="stripeWebhook",
                outcome="ok" if outcome not in ("error", "retry") else outcome,
                reason=outcome,
                latency_ms=(time.monotonic() - started) * 1000,
                role="stripe",
                uid=None,
            )
        )
