"""``stripeWebhook``: Stripe's events, verified, applied exactly once each, in any order.

Exactly once, by document identity (see docs/design.md, "Payments"):

* ``stripe_events/{eventId}`` is created in the commit that applies an event; a delivery of
  an event already recorded changes nothing. Ten parallel deliveries race to create it: one
  commit wins, the others fail their precondition, read again and find it.
* ``payments/{paymentId}`` (the Checkout Session's or the Invoice's id) is created with the
  grant, so the two events that can report one payment (``checkout.session.completed`` and
  ``...async_payment_succeeded``) grant once.
* a pack's grant is the ``purchase`` bucket ``purchase_{paymentId}``; a plan's grant is the
  period's ``plan`` bucket, ledger id ``plan_{subscription}_{periodStart}``: once per period,
  whichever invoices report it (``grants.start_plan_period``).
* ``stripe_payment_refs/{paymentIntent}`` joins a charge's refunds and disputes (which name
  the payment intent) to the payment. A reversal that arrives before its payment is kept
  there as ``pending`` and applied by the payment's own commit.

Each event is one atomic commit (``atomic.run``): the grant or claw-back with its ledger
entries, the payment record, the event record, and any suspension or notification. Nothing
calls Stripe. An event for no known user or product is recorded for the admins and answered
200, since Stripe would retry anything else for days; an event of a type not handled, or
not relevant (an unpaid session), is answered 200 and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import stripe
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from credits.features import accounts, grants as bucket_grants, plans
from credits.features.payments import events, grants, policy
from credits.features.payments.checkout import customer_ref
from credits.features.payments.events import Event, Paid, Reversal
from credits.store import audit, config_store, db, ledger, notifications
from credits.store.atomic import Attempt, Deadline, Plan, run
from credits.store.db import Snapshot
from credits.store.ledger import Leg
from credits.vocab.clock import Clock
from credits.vocab.config import CreditConfig, Product
from credits.vocab.context import Caller, ClientContext
from credits.vocab.errors import DataInvalid

log = logging.getLogger(__name__)

STRIPE = Caller(uid="stripe", name="stripe")
UserExists = Callable[[str], bool]
"""Whether Firebase Auth knows a uid (injected by the transport; the domain imports no SDK)."""


def _nobody(uid: str) -> bool:
    return False


FAILURE_SHARDS = 8


@dataclass(frozen=True)
class Answer:
    """What the webhook answers Stripe."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    """One delivery of the webhook as Stripe sent it: the raw body and its ``Stripe-Signature``."""

    payload: bytes
    signature: str | None


def receive(
    client: firestore.Client,
    clock: Clock,
    delivery: Delivery,
    secret: str,
    *,
    deadline: Deadline | None = None,
    user_exists: UserExists = _nobody,
) -> Answer:
    """Verify a delivery on its raw body, then apply it once.

    ``stripe.Webhook.construct_event`` checks the ``Stripe-Signature`` header (HMAC-SHA256 of
    ``t.body`` with the endpoint's secret) and that its timestamp is within the library's
    tolerance (5 minutes), which stops replays of old deliveries.
    """
    try:
        stripe.Webhook.construct_event(delivery.payload, delivery.signature or "", secret)
    except (stripe.SignatureVerificationError, ValueError):
        count_failure(client, clock.now())
        return Answer(400, {"error": "invalid signature"})
    event = Event.parse(json.loads(delivery.payload))
    if event is None:
        return Answer(200, {"received": True, "outcome": "ignored"})
    outcome = apply(client, clock, event, deadline=deadline, user_exists=user_exists)
    return Answer(200, {"received": True, "outcome": outcome})


def count_failure(client: firestore.Client, now: dt.datetime) -> None:
    """Count a delivery refused for its signature, for the admins' dashboard.

    One document per hour and shard (``stripe_webhook_failures/{yyyymmddhh}_{shard}``): a storm of
    forged requests spreads over ``FAILURE_SHARDS`` documents and never writes one shared by
    every request. Best effort: the refusal stands even if the count is lost.
    """
    hour = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    shard = random.randrange(FAILURE_SHARDS)
    ref = client.collection(db.STRIPE_WEBHOOK_FAILURES).document(f"{hour:%Y%m%d%H}_{shard}")
    try:
        ref.set({"hour": hour, "shard": shard, "count": firestore.Increment(1)}, merge=True, retry=None, timeout=5.0)
    except Exception as err:
        log.warning("could not count a refused webhook: %s", type(err).__name__)


def apply(
    client: firestore.Client, clock: Clock, event: Event, *, deadline: Deadline | None = None, user_exists: UserExists = _nobody
) -> str:
    """Apply one verified event (exactly once); returns what was done."""
    with notifications.reporting(client, clock, "stripeWebhook"):
        if event.type in events.PAID_CHECKOUT:
            paid = events.paid_checkout(event.obj)
            return "ignored" if paid is None else _grant(client, clock, event, paid, deadline, user_exists)
        if event.type == events.INVOICE_PAID:
            paid = events.paid_invoice(event.obj)
            return "ignored" if paid is None else _grant(client, clock, event, paid, deadline, user_exists)
        if event.type == events.CHARGE_REFUNDED:
            return _reverse(client, clock, event, events.refund(event.obj), deadline)
        if event.type == events.DISPUTE_CREATED:
            return _reverse(client, clock, event, events.dispute(event.obj), deadline)
        if event.type == events.DISPUTE_CLOSED:
            return _dispute_closed(client, clock, event, events.dispute(event.obj), deadline)
        if event.type in events.SUBSCRIPTION_CHANGED:
            sub = events.subscription(event.obj)
            return "ignored" if sub is None else _subscription(client, clock, event, sub, deadline, user_exists)
    return "ignored"


# ------------------------------------------------------------------ documents


def event_ref(client: firestore.Client, event_id: str) -> firestore.DocumentReference:
    """``stripe_events/{eventId}``."""
    return client.collection(db.STRIPE_EVENTS).document(event_id)


def payment_ref(client: firestore.Client, payment_id: str) -> firestore.DocumentReference:
    """``payments/{paymentId}``."""
    return client.collection(db.PAYMENTS).document(payment_id)


def intent_ref(client: firestore.Client, payment_intent: str) -> firestore.DocumentReference:
    """``stripe_payment_refs/{paymentIntent}``: the payment a charge belongs to, or what waits for it."""
    return client.collection(db.STRIPE_PAYMENT_REFS).document(payment_intent)


def _safe_id(value: str | None) -> str | None:
    return value if value and "/" not in value and len(value) <= 255 and not value.startswith("__") else None


def _record(plan: Plan[str], client: firestore.Client, event: Event, outcome: str, now: dt.datetime, **fields: Any) -> str:
    plan.create(
        event_ref(client, event.id),
        {
            "type": event.type,
            "created": event.created,
            "livemode": event.livemode,
            "outcome": outcome,
            "receivedAt": now,
            **fields,
        },
    )
    plan.result = outcome
    return outcome


def _unmatched(
    plan: Plan[str], client: firestore.Client, event: Event, now: dt.datetime, outcome: str, **fields: Any
) -> Plan[str]:
    """An event for no known user or product: recorded, the admins told, nothing granted."""
    _record(plan, client, event, outcome, now, **fields)
    message = f"Stripe event {event.id} ({event.type}): {outcome.replace('_', ' ')}; nothing was granted"
    notifications.add(
        plan,
        client,
        notifications.document("payment_unmatched", "high", message, now, eventId=event.id, **fields),
        key=f"payment_unmatched_{event.id}",
    )
    return plan


def _debt(account: accounts.Prepared) -> int:
    value = (account.account.data if account.account else {}).get("debt", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataInvalid(accounts.path_of(account.uid), {"debt": "must be a non-negative integer"})
    return value


def _from_ts(seconds: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(seconds, dt.UTC) if seconds else None


# ------------------------------------------------------------------ reversals (shared)


@dataclass
class _Posting:
    """What one event posts to one account: legs, the debt after them, fields of the user."""

    account: accounts.Prepared
    debt: int
    legs: list[Leg]
    fields: dict[str, Any]

    def post(self, plan: Plan[str], client: firestore.Client, config: CreditConfig, now: dt.datetime) -> None:
        if self.debt != _debt(self.account):
            self.fields["debt"] = self.debt
        self.account.post(
            plan, client, now=now, low_balance_below=config.lowBalanceThreshold, legs=tuple(self.legs), fields=self.fields
        )


def _claw(
    posting: _Posting, payment_id: str, payment: dict[str, Any], amount_refunded: int, charge_amount: int, disputed: bool
) -> dict[str, Any]:
    """Claw back a payment's refunded (or, disputed, whole) share; returns the payment's new fields."""
    credits = int(payment.get("credits") or 0)
    clawed = int(payment.get("clawedBack") or 0)
    amount = charge_amount or int(payment.get("amount") or 0)
    target = credits if disputed else policy.refunded_share(credits, amount, amount_refunded)
    updates: dict[str, Any] = {}
    if target > clawed:
        why = "chargeback" if disputed else f"refund of {amount_refunded} of {amount} {payment.get('currency', '')}".strip()
        bucket_id = payment.get("bucketId")
        claw = grants.Claw(payment_id, bucket_id if isinstance(bucket_id, str) else None, target - clawed, target, why)
        result = grants.claw_back(posting.account, claw, after=posting.legs)
        if result.leg is not None:
            posting.legs.append(result.leg)
        posting.debt += result.shortfall
        updates["clawedBack"] = target
        updates["debtCreated"] = int(payment.get("debtCreated") or 0) + result.shortfall
    refunded = max(int(payment.get("refundedAmount") or 0), amount_refunded if not disputed else 0)
    if refunded:
        updates["refundedAmount"] = refunded
    status = payment.get("status", "paid")
    if disputed:
        status = "disputed"
    elif status != "disputed" and amount and refunded >= amount:
        status = "refunded"
    updates["status"] = status
    return updates


def _suspend(
    plan: Plan[str], client: firestore.Client, posting: _Posting, now: dt.datetime, payment_id: str, dispute_id: str | None
) -> None:
    """A chargeback suspends the account (reason ``chargeback``) and tells the admins."""
    uid = posting.account.uid
    before = posting.account.status
    posting.fields.update(
        {"status": "suspended", "statusReason": "chargeback", "statusChangedAt": now, "statusChangedBy": STRIPE.uid}
    )
    audit.add(
        plan,
        client,
        audit.entry(
            STRIPE,
            ClientContext(),
            audit.Change(
                "set_user_status",
                f"users/{uid}",
                {"status": before},
                {"status": "suspended"},
                note=f"chargeback on payment {payment_id}",
            ),
            now,
        ),
    )
    notifications.add(
        plan,
        client,
        notifications.document(
            "chargeback",
            "high",
            f"Chargeback on payment {payment_id}: users/{uid} suspended and the credits clawed back",
            now,
            userId=uid,
            paymentId=payment_id,
            disputeId=dispute_id,
        ),
        key=f"chargeback_{payment_id}",
    )


# ------------------------------------------------------------------ grants


def _product_for(config: CreditConfig, paid: Paid) -> tuple[str | None, Product | None, int | None]:
    """The product paid for: named by the checkout's metadata, else (an invoice) by its price."""
    product_id = paid.product_id
    if product_id is None and paid.price_id:
        product_id = next((pid for pid, p in config.products.items() if p.kind == paid.kind and p.priceId == paid.price_id), None)
    product = config.products.get(product_id) if product_id else None
    if product is None or product.kind != paid.kind:
        return product_id, None, None
    if paid.kind == "pack":
        return product_id, product, product.credits
    spec = config.plans.get(product.planId or "")
    return (product_id, product, spec.monthlyCredits) if spec is not None else (product_id, None, None)


def customer_owner(client: firestore.Client, customer: str | None) -> str | None:
    """The user whose Stripe customer this is (``stripe_customers``), for events that carry no uid.

    A query outside the event's commit: the mapping never changes once written.
    """
    if not customer:
        return None
    query = client.collection(db.STRIPE_CUSTOMERS).where(filter=FieldFilter("customerId", "==", customer)).limit(1)
    for snap in query.stream(retry=None, timeout=10.0):
        return snap.id
    return None


def _resolve_user(attempt: Attempt, user: Snapshot | None, uid: str | None, user_exists: UserExists) -> bool:
    """Whether the event's user is known: an account, or a Firebase Auth user whose account the
    commit opens (sign-up grant pending, as for an admin's grant to a new user).
    """
    if uid is None or user is None:
        return False
    return user.exists or user_exists(uid)


@dataclass(frozen=True)
class _GrantRefs:
    """The documents a payment's grant reads: the event, the payment, the configuration, the
    ledger entry of the grant, and (for a known user) the user, their Stripe customer and the
    payment intent's link.
    """

    uid: str | None
    event: firestore.DocumentReference
    payment: firestore.DocumentReference
    config: firestore.DocumentReference
    period: firestore.DocumentReference
    user: firestore.DocumentReference | None
    customer: firestore.DocumentReference | None
    intent: firestore.DocumentReference | None

    @classmethod
    def of(cls, client: firestore.Client, event: Event, paid: Paid) -> _GrantRefs:
        """The references for ``paid``; the user is the checkout's ``client_reference_id`` (or
        the metadata's uid), else the owner of the event's customer.
        """
        uid = _safe_id(paid.uid) or _safe_id(customer_owner(client, paid.customer))
        pi_id = _safe_id(paid.payment_intent)
        period_entry = (
            bucket_grants.plan_entry(grants.plan_key(paid.subscription, paid.period_start))
            if paid.kind == "plan"
            else grants.purchase_entry(paid.payment_id)
        )
        return cls(
            uid=uid,
            event=event_ref(client, event.id),
            payment=payment_ref(client, paid.payment_id),
            config=config_store.applied_ref(client),
            period=ledger.entry_ref(client, period_entry),
            user=accounts.user_ref(client, uid) if uid else None,
            customer=customer_ref(client, uid) if uid else None,
            intent=intent_ref(client, pi_id) if pi_id else None,
        )

    def all(self) -> list[firestore.DocumentReference]:
        """Every reference, in the order of the one batched read."""
        return [self.event, self.payment, self.config, self.period] + [
            r for r in (self.user, self.customer, self.intent) if r is not None
        ]


@dataclass(frozen=True)
class _Sale:
    """A payment matched to its user and product: what the grant is for."""

    paid: Paid
    uid: str
    product_id: str
    product: Product
    credits: int


@dataclass(frozen=True)
class _Commit:
    """The commit an event's step fills: its plan, the client, and the step's clock reading."""

    plan: Plan[str]
    client: firestore.Client
    now: dt.datetime


@dataclass(frozen=True)
class _Granted:
    """What a grant added to the posting: the credits, their bucket and its expiry, and the debt
    the account had before the grant paid part of it.
    """

    credits: int
    bucket_id: str | None
    expires: dt.datetime | None
    debt_before: int


def _grant(
    client: firestore.Client, clock: Clock, event: Event, paid: Paid, deadline: Deadline | None, user_exists: UserExists
) -> str:
    """A paid pack or plan period: the grant (debt first), the payment, pending reversals.

    The user is the checkout's ``client_reference_id`` (or the metadata's uid), else the owner
    of the event's customer. A customer not yet stored for the user is stored with the grant.
    """
    refs = _GrantRefs.of(client, event, paid)
    uid = refs.uid

    def step(attempt: Attempt) -> Plan[str]:
        now = clock.now()
        got = attempt.get(refs.all())
        plan: Plan[str] = Plan()
        if got[refs.event.path].exists:
            return Plan(result="duplicate")
        if got[refs.payment.path].exists:
            _record(plan, client, event, "already_applied", now, paymentId=paid.payment_id)
            return plan
        config = config_store.load(attempt, got[refs.config.path]).credits
        user = got[refs.user.path] if refs.user else None
        cust = got[refs.customer.path] if refs.customer else None
        stored_customer = (cust.to_dict() or {}).get("customerId") if cust is not None and cust.exists else None
        ids = {"paymentId": paid.payment_id, "customer": paid.customer, "userId": uid, "productId": paid.product_id}
        if not _resolve_user(attempt, user, uid, user_exists):
            return _unmatched(plan, client, event, now, "unknown_customer", **{k: v for k, v in ids.items() if v})
        product_id, product, credits = _product_for(config, paid)
        if product is None or credits is None:
            return _unmatched(plan, client, event, now, "unknown_product", **{k: v for k, v in ids.items() if v})
        assert uid is not None and user is not None and product_id is not None
        if cust is not None and stored_customer is None and paid.customer:
            plan.put(cust, {"customerId": paid.customer, "userId": uid, "createdAt": now})
        account = accounts.prepare(attempt, user, None, config, now, None)
        posting = _Posting(account, _debt(account), [], {})
        sale = _Sale(paid, uid, product_id, product, credits)
        already_granted = got[refs.period.path].exists  # this plan period was granted by another invoice
        granted = _grant_credits(posting, config, sale, already_granted, now)
        payment = _payment_record(sale, event, posting, granted, now)
        if stored_customer is not None and stored_customer != paid.customer:
            payment["customerMismatch"] = stored_customer  # paid under another customer of this user
        if paid.kind == "plan":
            _plan_payment(payment, posting, sale, already_granted)
        outcome = "granted" if granted.credits else "period_already_granted" if already_granted else "nothing_to_grant"
        commit = _Commit(plan, client, now)
        if refs.intent is not None and _link_intent(commit, posting, sale, payment, got[refs.intent.path]):
            outcome = "granted_and_reversed"
        posting.post(plan, client, config, now)
        plan.create(refs.payment, payment)
        done = {"paymentId": paid.payment_id, "userId": uid, "credits": granted.credits, "clawedBack": payment["clawedBack"]}
        _record(plan, client, event, outcome, now, **done)
        return plan

    return run(client, step, lock_key=f"user:{uid}" if uid else None, deadline=deadline)


def _grant_credits(posting: _Posting, config: CreditConfig, sale: _Sale, already_granted: bool, now: dt.datetime) -> _Granted:
    """Add the grant of a pack or of a plan period to ``posting`` (debt first); nothing when
    another invoice already granted the period. A plan's newest period becomes the user's plan.
    """
    paid, product = sale.paid, sale.product
    debt_before = posting.debt
    expires: dt.datetime | None = None
    if paid.kind == "pack":
        expires = now + dt.timedelta(days=product.expiresInDays) if product.expiresInDays else None
        result = grants.grant_pack(payment_id=paid.payment_id, credits=sale.credits, expires_at=expires, debt=posting.debt)
    else:
        assert product.planId is not None
        start = _from_ts(paid.period_start) or now
        end = _from_ts(paid.period_end)
        if end is None or end <= start:
            end = plans.add_months(start, 1)
        result, period = grants.grant_plan_period(
            posting.account,
            config,
            product.planId,
            grants.PaidPeriod(paid.payment_id, grants.plan_key(paid.subscription, paid.period_start), start, end),
            debt=posting.debt,
        )
        expires = plans.bucket_expiry(config.plans[product.planId], end)
        if _newest_period(posting.account, start):
            posting.fields.update(period.fields)
    if already_granted or not result.legs:
        return _Granted(0, None, expires, debt_before)
    posting.legs.extend(result.legs)
    posting.debt = result.debt_after
    return _Granted(result.credits, result.bucket_id, expires, debt_before)


def _payment_record(sale: _Sale, event: Event, posting: _Posting, granted: _Granted, now: dt.datetime) -> dict[str, Any]:
    """``payments/{paymentId}`` as the grant creates it."""
    paid = sale.paid
    return {
        "userId": sale.uid,
        "kind": paid.kind,
        "productId": sale.product_id,
        "amount": paid.amount,
        "currency": paid.currency,
        "credits": granted.credits,
        "bucketId": granted.bucket_id,
        "debtPaid": granted.debt_before - posting.debt,
        "status": "paid",
        "clawedBack": 0,
        "refundedAmount": 0,
        "expiresAt": granted.expires,
        "stripe": paid.stripe_ids(),
        "eventId": event.id,
        "createdAt": now,
        "updatedAt": now,
    }


def _plan_payment(payment: dict[str, Any], posting: _Posting, sale: _Sale, already_granted: bool) -> None:
    """A plan's payment names its plan and period; the user's subscription follows the newest period."""
    paid = sale.paid
    payment["planId"] = sale.product.planId
    payment["periodStart"] = _from_ts(paid.period_start)
    payment["periodEnd"] = _from_ts(paid.period_end)
    if already_granted:
        payment["note"] = "this period was already granted"
    _track_period(posting, paid, sale.product_id, sale.product)


def _link_intent(commit: _Commit, posting: _Posting, sale: _Sale, payment: dict[str, Any], link: Snapshot) -> bool:
    """Join the payment intent to the payment; a reversal kept pending for it applies now.
    Returns whether one did.
    """
    plan, client, now = commit.plan, commit.client, commit.now
    payment_id = sale.paid.payment_id
    pending = (link.to_dict() or {}).get("pending") if link.exists else None
    reversed_now = False
    if isinstance(pending, dict):
        disputed = pending.get("disputed") is True
        payment.update(
            _claw(
                posting,
                payment_id,
                payment,
                int(pending.get("amountRefunded") or 0),
                int(pending.get("amount") or 0),
                disputed,
            )
        )
        if disputed:
            payment["disputeId"] = pending.get("disputeId")
            _suspend(plan, client, posting, now, payment_id, pending.get("disputeId"))
        reversed_now = True
    data = {"paymentId": payment_id, "userId": sale.uid, "updatedAt": now}
    if link.exists:
        data["pending"] = firestore.DELETE_FIELD if pending is not None else None
        data = {k: v for k, v in data.items() if v is not None}
    plan.put(link, data)
    return reversed_now


def _newest_period(account: accounts.Prepared, start: dt.datetime) -> bool:
    """Whether a paid period starting at ``start`` is the user's plan from now on: not when the
    user's paid plan already has a later period (an older invoice delivered late).
    """
    raw = (account.account.data if account.account else {}).get(plans.FIELD)
    current = plans.parse_user_plan(accounts.path_of(account.uid), raw)
    return current is None or current.renewal != "payment" or current.period_start <= start


def _track_period(posting: _Posting, paid: Paid, product_id: str, product: Product) -> None:
    """The user's subscription as invoices report it: the newest paid period wins."""
    current = (posting.account.account.data if posting.account.account else {}).get("subscription")
    current = current if isinstance(current, dict) else {}
    same = current.get("id") == paid.subscription
    if same and int(current.get("periodStart") or 0) >= int(paid.period_start or 0):
        return  # an older period's invoice, delivered late: the newer period stands
    posting.fields["subscription"] = {
        **(current if same else {"status": "active", "renews": True}),
        "id": paid.subscription,
        "productId": product_id,
        "planId": product.planId,
        "periodStart": int(paid.period_start or 0),
        "periodEnd": int(paid.period_end or 0),
    }


# ------------------------------------------------------------------ refunds and disputes


def _reverse(client: firestore.Client, clock: Clock, event: Event, rev: Reversal, deadline: Deadline | None) -> str:
    """``charge.refunded`` / ``charge.dispute.created``: claw back now, or keep it pending for its payment."""
    pi_id = _safe_id(rev.payment_intent)
    if pi_id is None:
        return "ignored"  # not a payment of a Checkout Session or an invoice
    disputed = rev.dispute is not None
    pi_ref = intent_ref(client, pi_id)
    ev_ref = event_ref(client, event.id)
    cfg_ref = config_store.applied_ref(client)

    def step(attempt: Attempt) -> Plan[str]:
        now = clock.now()
        got = attempt.get([ev_ref, pi_ref, cfg_ref])
        plan: Plan[str] = Plan()
        if got[ev_ref.path].exists:
            return Plan(result="duplicate")
        link = got[pi_ref.path]
        data: dict[str, Any] = (link.to_dict() or {}) if link.exists else {}
        payment_id = data.get("paymentId")
        if not isinstance(payment_id, str):
            # The payment has not arrived yet: keep the reversal for it.
            _defer(plan, link, rev, now)
            _record(plan, client, event, "deferred", now, paymentIntent=pi_id)
            return plan
        pay_ref = payment_ref(client, payment_id)
        uid = str(data.get("userId"))
        user_ref = accounts.user_ref(client, uid)
        more = attempt.get([pay_ref, user_ref])
        pay, user = more[pay_ref.path], more[user_ref.path]
        config = config_store.load(attempt, got[cfg_ref.path]).credits
        payment = pay.to_dict() or {}
        account = accounts.prepare(attempt, user, None, config, now, None)
        posting = _Posting(account, _debt(account), [], {})
        was_disputed = payment.get("status") == "disputed"
        updates = _claw(posting, payment_id, payment, rev.amount_refunded, rev.amount, disputed)
        updates["updatedAt"] = now
        if rev.charge:
            updates["stripe"] = {**(payment.get("stripe") or {}), "charge": rev.charge}
        if disputed:
            updates["disputeId"] = rev.dispute
            if not was_disputed:
                _suspend(plan, client, posting, now, payment_id, rev.dispute)
        posting.post(plan, client, config, now)
        plan.put(pay, updates)
        clawed = int(updates.get("clawedBack", payment.get("clawedBack") or 0)) - int(payment.get("clawedBack") or 0)
        _record(
            plan, client, event, "disputed" if disputed else "refunded", now, paymentId=payment_id, userId=uid, clawedBack=clawed
        )
        return plan

    return run(client, step, deadline=deadline)


def _defer(plan: Plan[str], link: Snapshot, rev: Reversal, now: dt.datetime) -> None:
    """Keep a reversal on the payment intent's link for its payment, merged with one kept
    before: the largest refund total seen; a dispute sticks.
    """
    data = (link.to_dict() or {}) if link.exists else {}
    stored = data.get("pending")
    pending: dict[str, Any] = stored if isinstance(stored, dict) else {}
    merged = {
        "amountRefunded": max(int(pending.get("amountRefunded") or 0), rev.amount_refunded),
        "amount": rev.amount or int(pending.get("amount") or 0),
        "disputed": pending.get("disputed") is True or rev.dispute is not None,
        "disputeId": rev.dispute or pending.get("disputeId"),
        "charge": rev.charge,
    }
    plan.put(link, {"pending": merged, "updatedAt": now})


def _dispute_closed(client: firestore.Client, clock: Clock, event: Event, rev: Reversal, deadline: Deadline | None) -> str:
    """``charge.dispute.closed``: recorded on the payment; nothing is lifted (an admin decides)."""
    pi_id = _safe_id(rev.payment_intent)
    if pi_id is None:
        return "ignored"
    pi_ref = intent_ref(client, pi_id)
    ev_ref = event_ref(client, event.id)

    def step(attempt: Attempt) -> Plan[str]:
        now = clock.now()
        got = attempt.get([ev_ref, pi_ref])
        plan: Plan[str] = Plan()
        if got[ev_ref.path].exists:
            return Plan(result="duplicate")
        payment_id = (got[pi_ref.path].to_dict() or {}).get("paymentId") if got[pi_ref.path].exists else None
        if isinstance(payment_id, str):
            pay = attempt.get([payment_ref(client, payment_id)])[payment_ref(client, payment_id).path]
            if pay.exists:
                plan.put(pay, {"disputeStatus": rev.dispute_status, "updatedAt": now})
        _record(
            plan,
            client,
            event,
            "dispute_closed",
            now,
            paymentIntent=pi_id,
            disputeStatus=rev.dispute_status,
            paymentId=payment_id,
        )
        return plan

    return run(client, step, deadline=deadline)


# ------------------------------------------------------------------ subscriptions


def _plan_product(config: CreditConfig, sub: events.Subscription) -> tuple[str | None, Product | None]:
    """The plan product of a subscription: by its price (a plan change in the portal changes
    the price, not the metadata set at checkout), else by the checkout's metadata.
    """
    for product_id, product in config.products.items():
        if product.kind == "plan" and product.priceId == sub.price_id:
            return product_id, product
    named = config.products.get(sub.product_id) if sub.product_id else None
    if named is not None and named.kind == "plan":
        return sub.product_id, named
    return None, None


def _subscription(
    client: firestore.Client,
    clock: Clock,
    event: Event,
    sub: events.Subscription,
    deadline: Deadline | None,
    user_exists: UserExists,
) -> str:
    """``customer.subscription.updated`` / ``.deleted``: a plan change, or the end of renewals.

    Credits come only from paid invoices; this records which plan renews next and whether
    it renews at all. Events of one subscription apply in Stripe's order (``created``): an
    older one delivered late changes nothing, and a deleted subscription stays ended.
    """
    uid = _safe_id(sub.uid) or _safe_id(customer_owner(client, sub.customer))
    deleted = event.type == "customer.subscription.deleted"
    ev_ref = event_ref(client, event.id)
    cfg_ref = config_store.applied_ref(client)
    user_ref = accounts.user_ref(client, uid) if uid else None

    def step(attempt: Attempt) -> Plan[str]:
        now = clock.now()
        got = attempt.get([ev_ref, cfg_ref] + ([user_ref] if user_ref else []))
        plan: Plan[str] = Plan()
        if got[ev_ref.path].exists:
            return Plan(result="duplicate")
        user = got[user_ref.path] if user_ref else None
        if user is None or not user.exists:
            who = {"subscription": sub.id, **({"customer": sub.customer} if sub.customer else {})}
            return _unmatched(plan, client, event, now, "unknown_customer", **who)
        config = config_store.load(attempt, got[cfg_ref.path]).credits
        product_id, found = _plan_product(config, sub)
        if found is None:
            return _unmatched(plan, client, event, now, "unknown_product", subscription=sub.id, userId=uid)
        product = found
        account = accounts.prepare(attempt, user, None, config, now, None)
        current = (account.account.data if account.account else {}).get("subscription")
        current = current if isinstance(current, dict) else {}
        if _stale(current, sub, event, deleted):
            _record(plan, client, event, "stale", now, userId=uid, subscription=sub.id)
            return plan
        posting = _Posting(account, _debt(account), [], {})
        _set_subscription(posting, current, sub, event, product_id, product)
        user_plan = _plan_after(account, product.planId, deleted, sub.period_end)
        if user_plan is not False:
            posting.fields[plans.FIELD] = user_plan
        posting.post(plan, client, config, now)
        outcome = "subscription_ended" if deleted else "subscription_updated"
        _record(plan, client, event, outcome, now, userId=uid, subscription=sub.id, planId=product.planId)
        return plan

    return run(client, step, lock_key=f"user:{uid}" if uid else None, deadline=deadline)


def _stale(current: dict[str, Any], sub: events.Subscription, event: Event, deleted: bool) -> bool:
    """Whether a subscription event changes nothing: older than the last one applied to the
    same subscription, an update after its end, or the end of an older subscription.
    """
    same = current.get("id") == sub.id
    if same and (int(current.get("eventCreated") or 0) > event.created or (current.get("status") == "canceled" and not deleted)):
        return True
    return not same and current.get("status") not in (None, "canceled") and deleted


def _set_subscription(
    posting: _Posting,
    current: dict[str, Any],
    sub: events.Subscription,
    event: Event,
    product_id: str | None,
    product: Product,
) -> None:
    """The user's ``subscription`` after the event, into ``posting``: which plan renews next,
    and whether.
    """
    deleted = event.type == "customer.subscription.deleted"
    state = {
        **(current if current.get("id") == sub.id else {}),
        "id": sub.id,
        "productId": product_id,
        "planId": product.planId,
        "status": "canceled" if deleted else sub.status,
        "renews": not deleted and not sub.cancel_at_period_end and sub.status in ("active", "trialing"),
        "eventCreated": event.created,
    }
    if sub.period_end:
        state["periodEnd"] = sub.period_end
    posting.fields["subscription"] = state


def _plan_after(
    account: accounts.Prepared, plan_id: str | None, deleted: bool, period_end: int | None
) -> dict[str, Any] | Literal[False] | None:
    """The user's ``plan`` after a subscription change (``plans.UserPlan``), False to leave it.

    Only a plan paid through Stripe (``renewal: payment``) is changed. The end of the
    subscription ends the plan (``null``: nothing renews it; the period's bucket keeps its
    expiry). A change of plan names the new plan for the rest of the period (its allowance
    comes with the next paid invoice, which starts a period of the new plan).
    """
    raw = (account.account.data if account.account else {}).get(plans.FIELD)
    current = plans.parse_user_plan(accounts.path_of(account.uid), raw)
    if current is None or current.renewal != "payment":
        return False
    if deleted:
        return None
    if plan_id is None or plan_id == current.id:
        return False
    end = _from_ts(period_end) or current.period_end
    if end <= current.period_start:
        end = current.period_end
    return plans.UserPlan(plan_id, current.period_start, end, "payment").to_firestore()
