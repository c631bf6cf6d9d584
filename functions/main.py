"""Wiring only: initialise Firebase, export the callables and the schedules.

The names exported here are the deployed function names, which clients pass to
``httpsCallable``; see ../README.md and the contract.
"""

from credits.api.admin import (
    get_usage_stats as getUsageStats,
    grant_credits_to_user as grantCreditsToUser,
    grant_promo_credits as grantPromoCredits,
    set_ip_block as setIpBlock,
    set_user_plan as setUserPlan,
    set_user_status as setUserStatus,
    test_moderation as testModeration,
    update_credit_configuration as updateCreditConfiguration,
)
from credits.api.payments import (
    create_billing_portal_session as createBillingPortalSession,
    create_checkout_session as createCheckoutSession,
    stripeWebhook,
)
from credits.api.scheduled import cleanupOldData, onAppliedConfigWritten, onConfigWritten, resetRateLimits, rollupUsageStats
from credits.api.user import (
    get_credit_status as getCreditStatus,
    update_ai_activity_status as updateAIActivityStatus,
    validate_and_deduct_credits as validateAndDeductCredits,
)
from firebase_admin import get_app, initialize_app
from firebase_functions import options

options.set_global_options(region="us-central1", max_instances=100)
try:  # the emulator may load this module again in a process that already has the app
    get_app()
except ValueError:
    initialize_app()

__all__ = [
    "cleanupOldData",
    "createBillingPortalSession",
    "createCheckoutSession",
    "getCreditStatus",
    "getUsageStats",
    "grantCreditsToUser",
    "grantPromoCredits",
    "onAppliedConfigWritten",
    "onConfigWritten",
    "resetRateLimits",
    "rollupUsageStats",
    "setIpBlock",
    "setUserPlan",
    "setUserStatus",
    "stripeWebhook",
    "testModeration",
    "updateAIActivityStatus",
    "updateCreditConfiguration",
    "validateAndDeductCredits",
]
