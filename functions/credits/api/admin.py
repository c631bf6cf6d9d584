"""The admin callables: every one requires the ID token claim ``admin == true``."""

from __future__ import annotations

from typing import Any

from firebase_admin import auth as firebase_auth

from credits.api.transport import Call, callable_endpoint
from credits.features import admin, promos


def auth_user_exists(uid: str) -> bool:
    """Whether Firebase Auth knows ``uid`` (the Auth emulator, on the emulators)."""
    try:
        firebase_auth.get_user(uid)
    except firebase_auth.UserNotFoundError:
        return False
    return True


@callable_endpoint("grantCreditsToUser", admin=True)
def grant_credits_to_user(call: Call, data: Any) -> dict[str, Any]:
    """Grant (positive) or claw back (negative) credits; one ledger entry and one audit entry."""
    request = admin.GrantRequest.parse(data)
    return admin.grant(call.client, call.clock, call.caller, call.ctx, request, auth_user_exists, deadline=call.deadline)


@callable_endpoint("updateCreditConfiguration", admin=True)
def update_credit_configuration(call: Call, data: Any) -> dict[str, Any]:
    """Merge a partial configuration; returns the new version and the whole configuration."""
    return admin.update_configuration(call.client, call.clock, call.caller, call.ctx, data, deadline=call.deadline)


@callable_endpoint("setUserStatus", admin=True)
def set_user_status(call: Call, data: Any) -> dict[str, Any]:
    """Suspend or reactivate an account."""
    request = admin.StatusChange.parse(data)
    return admin.set_user_status(
        call.client, call.clock, call.caller, call.ctx, request, auth_user_exists, deadline=call.deadline
    )


@callable_endpoint("setUserPlan", admin=True)
def set_user_plan(call: Call, data: Any) -> dict[str, Any]:
    """Put a user on a configured plan (or none): the new allowance starts now."""
    request = admin.PlanChange.parse(data)
    return admin.set_user_plan(call.client, call.clock, call.caller, call.ctx, request, auth_user_exists, deadline=call.deadline)


@callable_endpoint("grantPromoCredits", admin=True)
def grant_promo_credits(call: Call, data: Any) -> dict[str, Any]:
    """A promotional grant to up to 500 users or every user of a plan, as a resumable job."""
    request = promos.PromoRequest.parse(data)
    return promos.start(call.client, call.clock, call.caller, call.ctx, request, deadline=call.deadline)


@callable_endpoint("setIpBlock", admin=True)
def set_ip_block(call: Call, data: Any) -> dict[str, Any]:
    """Block or unblock an address or a CIDR range."""
    request = admin.IpBlockChange.parse(data)
    return admin.set_ip_block(call.client, call.clock, call.caller, call.ctx, request, deadline=call.deadline)


@callable_endpoint("getUsageStats", admin=True)
def get_usage_stats(call: Call, data: Any) -> dict[str, Any]:
    """For a range (24h, 7d, 30d, 90d): totals, by type, series, top users, active now."""
    return admin.usage_stats(call.client, call.clock, call.caller, call.ctx, data)


@callable_endpoint("testModeration", admin=True)
def test_moderation(call: Call, data: Any) -> dict[str, Any]:
    """The moderation verdict a charge with this prompt would get; charges and records nothing."""
    return admin.test_moderation(call.client, call.caller, data, deadline=call.deadline)
