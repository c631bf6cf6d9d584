"""Selling credits through Stripe: Checkout for packs and plans, and the webhook that grants.

* ``checkout``: ``createCheckoutSession`` / ``createBillingPortalSession`` (the only calls to
  Stripe, through ``stripe_api``);
* ``webhook``: ``stripeWebhook``, verified events applied exactly once each (``events`` reads
  them; ``policy`` holds the arithmetic of refunds and debt; ``grants`` is where a payment
  meets the account's grants).

Invariants: credits are granted only by a verified event, once per payment (and once per plan
period); every grant and claw-back is a ledger entry naming its payment; a balance never goes
below zero (what a claw-back cannot take becomes ``debt``, which the next payment pays first).
"""
