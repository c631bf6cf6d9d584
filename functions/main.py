"""Wiring only: initialise Firebase, export the callables and the schedules.

The names exported here are the deployed function names, which clients pass to
``httpsCallable``; see ../README.md and the contract.
"""

from credits.api.admin import get_usage_stats as getUsageStats
from credits.api.admin import grant_credits_to_user as grantCreditsToUser
from credits.api.admin import set_ip_block as setIpBlock
from credits.api.admin import set_user_status as setUserStatus
from credits.api.admin import test_moderation as testModeration
from credits.api.admin import update_credit_configuration as updateCreditConfiguration
from credits.api.scheduled import cleanupOldData, onAppliedConfigWritten, onConfigWritten, resetRateLimits, rollupUsageStats
from credits.api.user import get_credit_status as getCreditStatus
from credits.api.user import update_ai_activity_status as updateAIActivityStatus
from credits.api.user import validate_and_deduct_credits as validateAndDeductCredits
from firebase_admin import get_app, initialize_app
from firebase_functions import options

options.set_global_options(region="us-central1", max_instances=100)
try:  # the emulator may load this module again in a process that already has the app
    get_app()
except ValueError:
    initialize_app()

__all__ = [
    "cleanupOldData",
    "getCreditStatus",
    "getUsageStats",
    "grantCreditsToUser",
    "onAppliedConfigWritten",
    "onConfigWritten",
    "resetRateLimits",
    "rollupUsageStats",
    "setIpBlock",
    "setUserStatus",
    "testModeration",
    "updateAIActivityStatus",
    "updateCreditConfiguration",
    "validateAndDeductCredits",
]
