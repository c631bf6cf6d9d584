"""Realistic fixture documents, shaped as docs/data-model.md describes them.

The shapes keep the books balanced (a seeded user's credits equal their seeded ledger
entries) so that a ledger reconciliation running in the same emulator sees no drift, and
seeded users have no usage, so they never show in usage statistics.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

NOW = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)

# users/{uid}: what the owner may change, and what only the server may.
PROFILE_FIELDS = ("displayName", "photoURL", "locale", "preferences")
SERVER_FIELDS = (
    "uid",
    "email",
    "credits",
    "status",
    "statusReason",
    "statusChangedAt",
    "statusChangedBy",
    "role",
    "usage",
    "createdAt",
    "updatedAt",
    "lastGenerationAt",
)


def user_doc(uid: str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "uid": uid,
        "email": f"{uid.lower()}@example.com",
        "displayName": "Original Name",
        "photoURL": "https://example.com/a.png",
        "locale": "en-US",
        "preferences": {"theme": "light"},
        "credits": 100,
        "status": "active",
        "statusReason": None,
        "statusChangedAt": None,
        "statusChangedBy": None,
        "role": "user",
        "usage": {"generations": 0, "creditsUsed": 0, "refunds": 0, "failures": 0, "clientFailures": 0},
        "createdAt": NOW,
        "updatedAt": NOW,
        "lastGenerationAt": None,
    }
    doc.update(overrides)
    return doc


def ledger_entry(uid: str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"userId": uid, "delta": 100, "balanceAfter": 100, "reason": "signup_grant", "createdAt": NOW}
    doc.update(overrides)
    return doc


def usage_entry(uid: str, activity_id: str = "act") -> dict[str, Any]:
    return {
        "userId": uid,
        "activityId": activity_id,
        "type": "image",
        "model": "m",
        "status": "completed",
        "quantity": 1,
        "actualQuantity": 1,
        "creditsCharged": 10,
        "refundedCredits": 0,
        "uncollectedCredits": 0,
        "processingTimeMs": 1200,
        "createdAt": NOW,
    }


def activity(uid: str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "userId": uid,
        "type": "image",
        "model": "m",
        "quantity": 1,
        "unitCost": 10,
        "creditsCharged": 10,
        "initialCharge": 10,
        "refundedCredits": 0,
        "status": "pending",
        "progress": 0,
        "promptPreview": "a cat",
        "createdAt": NOW,
        "updatedAt": NOW,
    }
    doc.update(overrides)
    return doc


def user_rate_limit(uid: str) -> dict[str, Any]:
    return {
        "userId": uid,
        "windows": {"image": {"hits": [1735732800000], "limit": 50, "windowSeconds": 3600}},
        "refusals": {"count": 0},
        "expiresAt": NOW,
        "updatedAt": NOW,
    }


def ip_rate_limit(ip: str) -> dict[str, Any]:
    return {"ip": ip, "hits": [1735732800000], "limit": 100, "windowSeconds": 600, "expiresAt": NOW, "updatedAt": NOW}


def abuse_record(uid: str) -> dict[str, Any]:
    return {
        "userId": uid,
        "kind": "moderation",
        "severity": "high",
        "category": "violence",
        "scoreBefore": 0,
        "scoreAfter": 5,
        "threshold": 10,
        "action": "recorded",
        "createdAt": NOW,
    }


def audit_entry(actor_uid: str, target: str) -> dict[str, Any]:
    return {
        "actorId": actor_uid,
        "actorEmail": "admin@example.com",
        "action": "grant_credits",
        "target": target,
        "before": {"credits": 100},
        "after": {"credits": 150},
        "createdAt": NOW,
    }


def abuse_score(uid: str) -> dict[str, Any]:
    return {"userId": uid, "events": [{"at": NOW, "points": 5, "kind": "moderation"}], "score": 5, "updatedAt": NOW}


def admin_notification(uid: str) -> dict[str, Any]:
    return {"kind": "abuse", "severity": "high", "userId": uid, "message": "flagged", "read": False, "createdAt": NOW}


def ip_block_list() -> dict[str, Any]:
    return {"entries": {"203.0.113.7": {"reason": "abuse", "blockedAt": NOW, "blockedBy": "admin"}}, "updatedAt": NOW}


def usage_rollup() -> dict[str, Any]:
    # Stored under an id getUsageStats never reads (it reads state, h{YYYYMMDDHH}, d{YYYYMMDD}).
    return {"kind": "hour", "start": NOW, "until": NOW, "byType": {"image": {"creditsUsed": 0}}}


def usage_rollup_user(uid: str) -> dict[str, Any]:
    return {"userId": uid, "creditsUsed7d": 0, "generations7d": 0, "asOf": NOW}


def config_doc() -> dict[str, Any]:
    return {"costs": {"image": 10, "video": 5, "voice": 3, "chat": 0.01}, "defaultCredits": 100, "version": 1}


def payment(uid: str) -> dict[str, Any]:
    """A pack's payment as the webhook records it."""
    return {
        "userId": uid,
        "kind": "pack",
        "productId": "pack-small",
        "amount": 500,
        "currency": "usd",
        "credits": 100,
        "status": "paid",
        "clawedBack": 0,
        "stripe": {"checkoutSession": "cs_test_x", "customer": "cus_x"},
        "createdAt": NOW,
    }
