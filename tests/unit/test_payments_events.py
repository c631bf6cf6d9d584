"""Reading Stripe events: the fields the webhook uses, in both places API versions put them."""

from __future__ import annotations

from credits.features.payments import events
from credits.features.payments.events import Event


def test_an_envelope_needs_an_event_id_a_type_and_an_object() -> None:
    assert Event.parse({"id": "evt_1", "type": "x", "created": 5, "data": {"object": {}}}) is not None
    assert Event.parse({"id": "ev_1", "type": "x", "data": {"object": {}}}) is None
    assert Event.parse({"id": "evt_1/../x", "type": "x", "data": {"object": {}}}) is None
    assert Event.parse({"id": "evt_1", "type": "x", "data": {}}) is None
    assert Event.parse([1, 2]) is None


def test_only_a_paid_payment_mode_session_is_a_paid_pack() -> None:
    session = {
        "id": "cs_1",
        "mode": "payment",
        "payment_status": "paid",
        "client_reference_id": "u1",
        "customer": "cus_1",
        "metadata": {"uid": "u1", "productId": "p"},
        "amount_total": 500,
        "currency": "usd",
        "payment_intent": "pi_1",
    }
    paid = events.paid_checkout(session)
    assert paid is not None and (paid.uid, paid.product_id, paid.amount, paid.payment_intent) == ("u1", "p", 500, "pi_1")
    assert events.paid_checkout({**session, "payment_status": "unpaid"}) is None
    assert events.paid_checkout({**session, "mode": "subscription"}) is None
    expanded = events.paid_checkout({**session, "payment_intent": {"id": "pi_2", "object": "payment_intent"}})
    assert expanded is not None and expanded.payment_intent == "pi_2"


def test_an_invoice_names_its_subscription_in_the_newer_and_the_older_shape() -> None:
    line = {"lines": {"data": [{"period": {"start": 100, "end": 200}}]}}
    newer = {
        "id": "in_1",
        "customer": "cus_1",
        "amount_paid": 1500,
        "currency": "usd",
        "parent": {"subscription_details": {"subscription": "sub_1", "metadata": {"uid": "u1", "productId": "plan"}}},
        "payments": {"data": [{"payment": {"payment_intent": "pi_9"}}]},
        **line,
    }
    older = {
        "id": "in_2",
        "subscription": "sub_1",
        "subscription_details": {"metadata": {"uid": "u1", "productId": "plan"}},
        "payment_intent": "pi_8",
        **line,
    }
    for obj, pi in ((newer, "pi_9"), (older, "pi_8")):
        paid = events.paid_invoice(obj)
        assert paid is not None
        assert (paid.subscription, paid.uid, paid.product_id, paid.period_start, paid.period_end, paid.payment_intent) == (
            "sub_1",
            "u1",
            "plan",
            100,
            200,
            pi,
        )
    assert events.paid_invoice({"id": "in_3", **line}) is None  # a one-off invoice: no plan


def test_a_dispute_takes_back_the_whole_amount() -> None:
    rev = events.dispute({"id": "dp_1", "amount": 500, "charge": "ch_1", "payment_intent": "pi_1", "status": "needs_response"})
    assert (rev.amount_refunded, rev.dispute, rev.payment_intent) == (500, "dp_1", "pi_1")
