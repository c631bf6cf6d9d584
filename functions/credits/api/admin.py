"""The admin callables: every one requires the ID token claim ``admin == true``."""

from __future__ import annotations

from typing import Any

from firebase_admin import auth as firebase_auth

from credits.api.transport import callable_endpoint
from credits.features import admin, promos
from credits.features.command import Command
from credits.vocab.contract.callables import (
    ConfigurationResponse,
    GrantResponse,
    PromoResponse,
    SetIpBlockResponse,
    SetUserPlanResponse,
    SetUserStatusResponse,
    TestModerationResponse,
    UsageStatsResponse,
)


def auth_user_exists(uid: str) -> bool:
    """Whether Firebase Auth knows ``uid`` (the Auth emulator, on the emulators)."""
    try:
        firebase_auth.get_user(uid)
    except firebase_auth.UserNotFoundError:
        return False
    return True


@callable_endpoint("grantCreditsToUser", admin=True)
def grant_credits_to_user(cmd: Command, data: Any) -> GrantResponse:
    """Grant (positive) or claw back (negative) credits; one ledger entry and one audit entry."""
    return admin.grant(cmd, admin.GrantRequest.parse(data), auth_user_exists)


@callable_endpoint("updateCreditConfiguration", admin=True)
def update_credit_configuration(cmd: Command, data: Any) -> ConfigurationResponse:
    """Merge a partial configuration; returns the new version and the whole configuration."""
    return admin.update_configuration(cmd, data)


@callable_endpoint("setUserStatus", admin=True)
def set_user_status(cmd: Command, data: Any) -> SetUserStatusResponse:
    """Suspend or reactivate an account."""
    return admin.set_user_status(cmd, admin.StatusChange.parse(data), auth_user_exists)


@callable_endpoint("setUserPlan", admin=True)
def set_user_plan(cmd: Command, data: Any) -> SetUserPlanResponse:
    """Put a user on a configured plan (or none): the new allowance starts now."""
    return admin.set_user_plan(cmd, admin.PlanChange.parse(data), auth_user_exists)


@callable_endpoint("grantPromoCredits", admin=True)
def grant_promo_credits(cmd: Command, data: Any) -> PromoResponse:
    """A promotional grant to up to 500 users or every user of a plan, as a resumable job."""
    return promos.start(cmd, promos.PromoRequest.parse(data))


@callable_endpoint("setIpBlock", admin=True)
def set_ip_block(cmd: Command, data: Any) -> SetIpBlockResponse:
    """Block or unblock an address or a CIDR range."""
    return admin.set_ip_block(cmd, admin.IpBlockChange.parse(data))


@callable_endpoint("getUsageStats", admin=True)
def get_usage_stats(cmd: Command, data: Any) -> UsageStatsResponse:
    """For a range (24h, 7d, 30d, 90d): totals, by type, series, top users, active now."""
    return admin.usage_stats(cmd, data)


@callable_endpoint("testModeration", admin=True)
def test_moderation(cmd: Command, data: Any) -> TestModerationResponse:
    """The moderation verdict a charge with this prompt would get; charges and records nothing."""
    return admin.test_moderation(cmd, data)
