#!/usr/bin/env python3
"""A local stand-in for the few Stripe endpoints this backend calls, and a checkout page.

The machines that run the tests and the demo reach no Stripe server. This server answers,
in Stripe's documented shapes, what the backend sends through the official ``stripe``
library (whose API base ``CREDITS_STRIPE_API_BASE`` points here):

* ``POST /v1/customers``, ``GET /v1/customers/{id}``
* ``POST /v1/checkout/sessions`` (``payment`` and ``subscription`` modes)
* ``POST /v1/billing_portal/sessions``
* ``POST /v1/prices``, ``GET /v1/prices/{id}`` (the catalogue: a few prices are built in)

It checks what a request carries as Stripe would: the secret key (Bearer), form-encoded
parameters with no unknown or missing ones, a price that exists and suits the mode, a
customer that exists. ``Idempotency-Key`` is honoured: the same key with the same
parameters answers the first object again; with other parameters, an ``idempotency_error``.

For the demo, a session's ``url`` is a local checkout page whose Pay button sends the signed
events Stripe would send (``checkout.session.completed``, and for a plan ``invoice.paid``)
to the webhook (``--webhook-url``), then redirects to the session's ``success_url``. The
portal page can cancel a subscription (``customer.subscription.deleted``). ``POST
/_standin/refund`` and ``/_standin/renew`` send a refund or a renewal, for tests and demos.

Standard library only; state in memory; stopped with the emulators.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import html
import json
import re
import secrets
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BUILT_IN_PRICES: dict[str, dict[str, Any]] = {
    "price_pack_small": {"unit_amount": 500, "currency": "usd", "recurring": None, "nickname": "100 credits"},
    "price_pack_large": {"unit_amount": 2000, "currency": "usd", "recurring": None, "nickname": "500 credits"},
    "price_plan_pro": {
        "unit_amount": 1500,
        "currency": "usd",
        "recurring": {"interval": "month", "interval_count": 1},
        "nickname": "Pro",
    },
    "price_plan_team": {
        "unit_amount": 4500,
        "currency": "usd",
        "recurring": {"interval": "month", "interval_count": 1},
        "nickname": "Team",
    },
}
PERIOD_SECONDS = 30 * 86_400

ALLOWED = {
    "customers": {"email", "metadata", "name", "description"},
    "checkout.sessions": {
        "mode",
        "customer",
        "client_reference_id",
        "line_items",
        "success_url",
        "cancel_url",
        "metadata",
        "payment_intent_data",
        "subscription_data",
    },
    "billing_portal.sessions": {"customer", "return_url", "configuration"},
    "prices": {"unit_amount", "currency", "recurring", "product", "product_data", "nickname"},
}


def read_secret_local(name: str) -> str | None:
    path = Path(__file__).resolve().parent.parent / "functions" / ".secret.local"
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == name:
                return value.strip()
    return None


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else {}
        if parts:
            node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: ``t=...,v1=HMAC-SHA256(t.body)``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


class StripeError(Exception):
    def __init__(self, status: int, kind: str, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.param, self.code = status, kind, param, code

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.kind, "message": str(self)}
        if self.param:
            error["param"] = self.param
        if self.code:
            error["code"] = self.code
        return {"error": error}


class State:
    """Everything the stand-in knows, behind one lock."""

    def __init__(self, api_key: str, webhook_secret: str, webhook_url: str | None, public_url: str) -> None:
        self.api_key, self.webhook_secret, self.webhook_url, self.public_url = api_key, webhook_secret, webhook_url, public_url
        self.lock = threading.Lock()
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.portals: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.prices: dict[str, dict[str, Any]] = {
            pid: {
                "id": pid,
                "object": "price",
                "active": True,
                "livemode": False,
                "type": "recurring" if p["recurring"] else "one_time",
                **p,
            }
            for pid, p in BUILT_IN_PRICES.items()
        }
        self.idempotency: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []  # what the backend sent (for tests)
        self.deliveries: list[dict[str, Any]] = []  # events sent to the webhook and its answers

    # -- API --------------------------------------------------------------------------

    def create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        cid = "cus_" + secrets.token_hex(7)
        customer = {
            "id": cid,
            "object": "customer",
            "email": params.get("email"),
            "metadata": params.get("metadata") or {},
            "created": int(time.time()),
            "livemode": False,
        }
        self.customers[cid] = customer
        return customer

    def create_price(self, params: dict[str, Any]) -> dict[str, Any]:
        amount = params.get("unit_amount")
        if amount is None or not str(amount).isdigit():
            raise StripeError(
                400, "invalid_request_error", "Missing required param: unit_amount.", "unit_amount", "parameter_missing"
            )
        if not params.get("currency"):
            raise StripeError(400, "invalid_request_error", "Missing required param: currency.", "currency", "parameter_missing")
        pid = "price_" + secrets.token_hex(8)
        recurring = params.get("recurring")
        price = {
            "id": pid,
            "object": "price",
            "active": True,
            "livemode": False,
            "unit_amount": int(amount),
            "currency": params["currency"],
            "recurring": recurring if isinstance(recurring, dict) else None,
            "type": "recurring" if recurring else "one_time",
            "nickname": params.get("nickname"),
        }
        self.prices[pid] = price
        return price

    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        for name in ("mode", "success_url", "line_items"):
            if not params.get(name):
                raise StripeError(400, "invalid_request_error", f"Missing required param: {name}.", name, "parameter_missing")
        mode = params["mode"]
        if mode not in ("payment", "subscription"):
            raise StripeError(400, "invalid_request_error", "Invalid mode.", "mode", "parameter_invalid_string")
        items = params["line_items"]
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise StripeError(400, "invalid_request_error", "This stand-in takes exactly one line item.", "line_items")
        price = self.prices.get(str(items[0].get("price")))
        if price is None:
            raise StripeError(
                400,
                "invalid_request_error",
                f"No such price: '{items[0].get('price')}'",
                "line_items[0][price]",
                "resource_missing",
            )
        quantity = int(items[0].get("quantity") or 0)
        if quantity < 1:
            raise StripeError(400, "invalid_request_error", "Quantity must be at least 1.", "line_items[0][quantity]")
        if (mode == "subscription") != (price["type"] == "recurring"):
            raise StripeError(
                400,
                "invalid_request_error",
                "You must provide at least one recurring price in `subscription` mode when using prices."
                if mode == "subscription"
                else "You specified `payment` mode but passed a recurring price.",
                "line_items[0][price]",
            )
        customer = params.get("customer")
        if customer is not None and customer not in self.customers:
            raise StripeError(400, "invalid_request_error", f"No such customer: '{customer}'", "customer", "resource_missing")
        if mode == "payment" and "subscription_data" in params:
            raise StripeError(
                400, "invalid_request_error", "subscription_data can only be used in subscription mode.", "subscription_data"
            )
        if mode == "subscription" and "payment_intent_data" in params:
            raise StripeError(
                400, "invalid_request_error", "payment_intent_data can only be used in payment mode.", "payment_intent_data"
            )
        for url_param in ("success_url", "cancel_url"):
            url = params.get(url_param)
            if url is not None and urlsplit(url).scheme not in ("http", "https"):
                raise StripeError(400, "invalid_request_error", "Not a valid URL", url_param, "url_invalid")
        sid = "cs_test_" + secrets.token_hex(16)
        now = int(time.time())
        session = {
            "id": sid,
            "object": "checkout.session",
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer,
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "amount_subtotal": price["unit_amount"] * quantity,
            "amount_total": price["unit_amount"] * quantity,
            "currency": price["currency"],
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.public_url}/checkout/{sid}",
            "payment_intent": None,
            "subscription": None,
            "invoice": None,
            "created": now,
            "expires_at": now + 86_400,
            "livemode": False,
            # Kept for the page and the events; not part of the API answer.
            "_price": price["id"],
            "_payment_intent_data": params.get("payment_intent_data") or {},
            "_subscription_data": params.get("subscription_data") or {},
        }
        self.sessions[sid] = session
        return session

    def create_portal(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = params.get("customer")
        if not customer:
            raise StripeError(400, "invalid_request_error", "Missing required param: customer.", "customer", "parameter_missing")
        if customer not in self.customers:
            raise StripeError(400, "invalid_request_error", f"No such customer: '{customer}'", "customer", "resource_missing")
        pid = "bps_" + secrets.token_hex(12)
        portal = {
            "id": pid,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": params.get("return_url"),
            "url": f"{self.public_url}/portal/{pid}",
            "created": int(time.time()),
            "livemode": False,
        }
        self.portals[pid] = portal
        return portal

    # -- events -----------------------------------------------------------------------

    def event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "type": kind,
            "data": {"object": obj},
        }

    def deliver(self, event: dict[str, Any]) -> int:
        """Send a signed event to the webhook, as Stripe does; returns the HTTP status."""
        payload = json.dumps(event).encode()
        status = 0
        if self.webhook_url:
            request = urllib.request.Request(
                self.webhook_url,
                data=payload,
                method="POST",
                headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload, self.webhook_secret)},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as err:
                status = err.code
            except OSError:
                status = -1
        self.deliveries.append({"id": event["id"], "type": event["type"], "status": status})
        return status

    def deliver_later(self, events: list[dict[str, Any]], delay: float) -> None:
        time.sleep(delay)
        for event in events:
            self.deliver(event)

    def public(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def invoice(self, sub: dict[str, Any], start: int) -> dict[str, Any]:
        price = self.prices[sub["_price"]]
        pi = "pi_" + secrets.token_hex(12)
        return {
            "id": "in_" + secrets.token_hex(12),
            "object": "invoice",
            "customer": sub["customer"],
            "status": "paid",
            "paid": True,
            "amount_paid": price["unit_amount"],
            "amount_due": price["unit_amount"],
            "currency": price["currency"],
            "billing_reason": "subscription_create" if start == sub["_created"] else "subscription_cycle",
            "payment_intent": pi,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": sub["id"], "metadata": sub["metadata"]},
            },
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": "il_" + secrets.token_hex(8),
                        "object": "line_item",
                        "amount": price["unit_amount"],
                        "period": {"start": start, "end": start + PERIOD_SECONDS},
                        "pricing": {"price_details": {"price": price["id"]}},
                    }
                ],
            },
            "period_start": start,
            "period_end": start + PERIOD_SECONDS,
            "created": int(time.time()),
            "livemode": False,
        }

    def pay(self, sid: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The customer paid on the checkout page: the session completes; the events to send."""
        session = self.sessions[sid]
        if session["status"] != "open":
            return session, []
        session["status"] = "complete"
        session["payment_status"] = "paid"
        out: list[dict[str, Any]] = []
        if session["mode"] == "payment":
            session["payment_intent"] = "pi_" + secrets.token_hex(12)
            out.append(self.event("checkout.session.completed", self.public(session)))
        else:
            now = int(time.time())
            sub = {
                "id": "sub_" + secrets.token_hex(12),
                "object": "subscription",
                "customer": session["customer"],
                "status": "active",
                "cancel_at_period_end": False,
                "metadata": (session["_subscription_data"].get("metadata") or {}),
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "price": self.public(self.prices[session["_price"]]),
                            "current_period_start": now,
                            "current_period_end": now + PERIOD_SECONDS,
                        }
                    ],
                },
                "_price": session["_price"],
                "_created": now,
                "_period_start": now,
            }
            self.subscriptions[sub["id"]] = sub
            session["subscription"] = sub["id"]
            invoice = self.invoice(sub, now)
            session["invoice"] = invoice["id"]
            out.append(self.event("checkout.session.completed", self.public(session)))
            out.append(self.event("invoice.paid", invoice))
        return session, out

    def refund(self, payment_intent: str, amount: int | None) -> dict[str, Any]:
        for session in self.sessions.values():
            if session.get("payment_intent") == payment_intent:
                total = session["amount_total"]
                refunded = min(total, amount if amount is not None else total)
                charge = {
                    "id": "ch_" + payment_intent[3:],
                    "object": "charge",
                    "amount": total,
                    "amount_refunded": refunded,
                    "refunded": refunded >= total,
                    "currency": session["currency"],
                    "customer": session["customer"],
                    "payment_intent": payment_intent,
                    "paid": True,
                    "status": "succeeded",
                }
                return self.event("charge.refunded", charge)
        raise StripeError(
            404, "invalid_request_error", f"No such payment_intent: '{payment_intent}'", "payment_intent", "resource_missing"
        )

    def renew(self, sub_id: str) -> dict[str, Any]:
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            raise StripeError(
                404, "invalid_request_error", f"No such subscription: '{sub_id}'", "subscription", "resource_missing"
            )
        sub["_period_start"] += PERIOD_SECONDS
        return self.event("invoice.paid", self.invoice(sub, sub["_period_start"]))

    def cancel(self, sub_id: str) -> dict[str, Any]:
        sub = self.subscriptions[sub_id]
        sub["status"] = "canceled"
        return self.event("customer.subscription.deleted", self.public(sub))


def page(title: str, body: str) -> bytes:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}
.card{{border:1px solid #ccc;border-radius:8px;padding:1.5rem}}button{{font-size:1rem;padding:.6rem 1.4rem;margin-right:.5rem}}
.note{{color:#666;font-size:.85rem}}</style></head><body><div class="card">{body}</div>
<p class="note">Local Stripe stand-in: no card is charged.</p></body></html>""".encode()


class Handler(BaseHTTPRequestHandler):
    state: State
    server_version = "stripe-standin/1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing ---------------------------------------------------------------------

    def _send(
        self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", "req_" + secrets.token_hex(8))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: dict[str, Any]) -> None:
        self._send(status, json.dumps(obj).encode())

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if header != f"Bearer {self.state.api_key}":
            self._json(401, StripeError(401, "invalid_request_error", "Invalid API Key provided.").body())
            return False
        return True

    def _api(self, resource: str, create: Any, raw: str) -> None:
        params = decode_form(raw)
        unknown = sorted(set(params) - ALLOWED[resource])
        if unknown:
            self._json(
                400,
                StripeError(
                    400, "invalid_request_error", f"Received unknown parameter: {unknown[0]}", unknown[0], "parameter_unknown"
                ).body(),
            )
            return
        key = self.headers.get("Idempotency-Key")
        fingerprint = hashlib.sha256(f"{self.path}\n{raw}".encode()).hexdigest()
        with self.state.lock:
            self.state.requests.append({"path": self.path, "params": params, "idempotencyKey": key})
            if key:
                seen = self.state.idempotency.get(key)
                if seen is not None:
                    if seen[0] != fingerprint:
                        err = StripeError(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                        )
                        self._json(400, err.body())
                        return
                    self._send(seen[1], json.dumps(seen[2]).encode(), headers={"Idempotent-Replayed": "true"})
                    return
            try:
                status, obj = 200, self.state.public(create(params))
            except StripeError as err:
                status, obj = err.status, err.body()
            if key and status < 500:
                self.state.idempotency[key] = (fingerprint, status, obj)
        self._json(status, obj)

    # -- routes -----------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        st = self.state
        if path == "/_standin/health":
            self._json(200, {"ok": True})
            return
        if path == "/_standin/requests":
            with st.lock:
                self._json(200, {"requests": st.requests, "deliveries": st.deliveries})
            return
        if path == "/_standin/sessions":
            with st.lock:
                self._json(200, {"sessions": [st.public(s) for s in st.sessions.values()]})
            return
        match = re.fullmatch(r"/v1/(customers|prices)/([A-Za-z0-9_]+)", path)
        if match:
            if not self._authorised():
                return
            store = st.customers if match.group(1) == "customers" else st.prices
            obj = store.get(match.group(2))
            if obj is None:
                self._json(
                    404,
                    StripeError(
                        404,
                        "invalid_request_error",
                        f"No such {match.group(1)[:-1]}: '{match.group(2)}'",
                        "id",
                        "resource_missing",
                    ).body(),
                )
            else:
                self._json(200, st.public(obj))
            return
        match = re.fullmatch(r"/checkout/(cs_test_[0-9a-f]+)", path)
        if match and match.group(1) in st.sessions:
            s = st.sessions[match.group(1)]
            price = st.prices[s["_price"]]
            amount = f"{s['amount_total'] / 100:.2f} {s['currency'].upper()}"
            what = html.escape(price.get("nickname") or price["id"]) + (" / month" if s["mode"] == "subscription" else "")
            if s["status"] != "open":
                body = f"<h1>Checkout</h1><p>This session is {html.escape(s['status'])}.</p>"
            else:
                body = (
                    f"<h1>Checkout</h1><p id='product'>{what}</p><p id='amount'><strong>{amount}</strong></p>"
                    f"<form method='post' action='/checkout/{s['id']}/pay'><button id='pay' type='submit'>Pay {amount}</button>"
                    f"<a id='cancel' href='{html.escape(s['cancel_url'] or '/')}'>Cancel</a></form>"
                )
            self._send(200, page("Checkout", body), "text/html; charset=utf-8")
            return
        match = re.fullmatch(r"/portal/(bps_[0-9a-f]+)", path)
        if match and match.group(1) in st.portals:
            p = st.portals[match.group(1)]
            subs = [s for s in st.subscriptions.values() if s["customer"] == p["customer"] and s["status"] == "active"]
            rows = "".join(
                f"<form method='post' action='/portal/{p['id']}/cancel/{s['id']}'><p>{html.escape(st.prices[s['_price']].get('nickname') or '')}"
                f" <button class='cancel-sub' type='submit'>Cancel plan</button></p></form>"
                for s in subs
            )
            body = f"<h1>Billing</h1>{rows or '<p>No active plan.</p>'}<p><a id='return' href='{html.escape(p['return_url'] or '/')}'>Return</a></p>"
            self._send(200, page("Billing", body), "text/html; charset=utf-8")
            return
        self._json(404, StripeError(404, "invalid_request_error", f"Unrecognized request URL (GET: {path}).").body())

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        st = self.state
        raw = self._body()
        routes = {
            "/v1/customers": ("customers", st.create_customer),
            "/v1/checkout/sessions": ("checkout.sessions", st.create_session),
            "/v1/billing_portal/sessions": ("billing_portal.sessions", st.create_portal),
            "/v1/prices": ("prices", st.create_price),
        }
        if path in routes:
            if self._authorised():
                self._api(routes[path][0], routes[path][1], raw)
            return
        match = re.fullmatch(r"/checkout/(cs_test_[0-9a-f]+)/pay", path)
        if match and match.group(1) in st.sessions:
            with st.lock:
                session, out = st.pay(match.group(1))
            # Stripe sends its events on its own schedule, usually after the browser is back on
            # success_url: deliver them a moment after the redirect, in order.
            threading.Thread(target=st.deliver_later, args=(out, 1.0), daemon=True).start()
            target = (session.get("success_url") or "/").replace("{CHECKOUT_SESSION_ID}", session["id"])
            self._send(303, b"", "text/plain", {"Location": target})
            return
        match = re.fullmatch(r"/portal/(bps_[0-9a-f]+)/cancel/(sub_[0-9a-f]+)", path)
        if match and match.group(1) in st.portals and match.group(2) in st.subscriptions:
            with st.lock:
                event = st.cancel(match.group(2))
            st.deliver(event)
            self._send(303, b"", "text/plain", {"Location": f"/portal/{match.group(1)}"})
            return
        if path in ("/_standin/refund", "/_standin/renew"):
            try:
                params = json.loads(raw or "{}")
                with st.lock:
                    if path.endswith("refund"):
                        event = st.refund(str(params.get("payment_intent")), params.get("amount"))
                    else:
                        event = st.renew(str(params.get("subscription")))
            except StripeError as err:
                self._json(err.status, err.body())
                return
            status = st.deliver(event)
            self._json(200, {"event": event, "webhookStatus": status})
            return
        self._json(404, StripeError(404, "invalid_request_error", f"Unrecognized request URL (POST: {path}).").body())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", help="where to send the signed events (the emulator's stripeWebhook)")
    args = parser.parse_args()
    api_key = read_secret_local("STRIPE_SECRET_KEY")
    webhook_secret = read_secret_local("STRIPE_WEBHOOK_SECRET")
    if not api_key or not webhook_secret:
        sys.exit("functions/.secret.local must hold STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET")
    Handler.state = State(api_key, webhook_secret, args.webhook_url, f"http://{args.host}:{args.port}")
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"stripe stand-in on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
