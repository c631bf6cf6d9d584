"""Every call this backend makes to Stripe, through the official ``stripe`` library.

``CREDITS_STRIPE_API_BASE`` (set by scripts/emulators.sh and scripts/start.sh) points the
library's API base at the local Stripe stand-in; unset, the library talks to Stripe itself.
Each call carries an idempotency key, so a retried or doubled request makes one object.
Nothing here runs inside an atomic step: a step may run several times.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import stripe

from credits.vocab.errors import BackendUnavailable, DataInvalid, PaymentsDisabled

log = logging.getLogger(__name__)

API_BASE_ENV = "CREDITS_STRIPE_API_BASE"
TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class StripeKeys:
    """The two Stripe secrets (Firebase secrets ``STRIPE_SECRET_KEY``, ``STRIPE_WEBHOOK_SECRET``).

    Their values never appear in a repr, a log line or a stored document.
    """

    secret_key: str = field(repr=False, default="")
    webhook_secret: str = field(repr=False, default="")

    def require_api(self) -> str:
        """The API key, or ``PaymentsDisabled`` when it is not set."""
        if not self.secret_key.strip():
            raise PaymentsDisabled()
        return self.secret_key.strip()


def client(keys: StripeKeys) -> stripe.StripeClient:
    """A Stripe client for one call (cheap: no connection until a request)."""
    base = os.environ.get(API_BASE_ENV, "").strip()
    options: dict[str, Any] = {"http_client": stripe.RequestsClient(timeout=TIMEOUT_SECONDS), "max_network_retries": 2}
    if base:
        options["base_addresses"] = {"api": base.rstrip("/")}
    return stripe.StripeClient(keys.require_api(), **options)


def create_customer(keys: StripeKeys, *, uid: str, email: str | None) -> str:
    """A new Stripe customer for ``uid``; the key makes racing first calls share one."""
    params: dict[str, Any] = {"metadata": {"uid": uid}}
    if email:
        params["email"] = email
    customer = _call(lambda c: c.v1.customers.create(params, {"idempotency_key": f"customer-{uid}"}), keys)
    return str(customer.id)


def create_checkout_session(keys: StripeKeys, params: dict[str, Any], idempotency_key: str) -> tuple[str, str]:
    """A Checkout Session; returns its id and url."""
    session = _call(lambda c: c.v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key}), keys)
    return str(session.id), str(session.url)


def create_portal_session(keys: StripeKeys, *, customer: str, return_url: str, idempotency_key: str) -> str:
    """A billing portal session; returns its url."""
    params = {"customer": customer, "return_url": return_url}
    portal = _call(lambda c: c.v1.billing_portal.sessions.create(params, {"idempotency_key": idempotency_key}), keys)
    return str(portal.url)


def _call(request: Any, keys: StripeKeys) -> Any:
    """Run one request; Stripe's refusals become domain errors (never ``internal``)."""
    try:
        return request(client(keys))
    except stripe.InvalidRequestError as err:
        # A parameter Stripe refuses comes from the configuration (a price id that does not
        # exist in this Stripe account): the admins must fix the product.
        log.warning("Stripe refused a request: %s (param %s)", err.code, err.param)
        raise DataInvalid(
            "system_config/credits", {"products": f"Stripe refused the request ({err.code or 'invalid'})"}
        ) from None
    except stripe.AuthenticationError:
        log.warning("Stripe refused the API key")
        raise PaymentsDisabled() from None
    except stripe.StripeError as err:
        log.warning("Stripe call failed: %s", type(err).__name__)
        raise BackendUnavailable() from None
