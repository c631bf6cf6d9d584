"""Domain errors: one class per contract outcome, each carrying its ``details.reason``.

Domain code raises these and nothing else for expected refusals. Exactly one place
(``credits.api.transport``) turns them into ``HttpsError``; the mapping is the
contract's error table, kept here beside the errors so the two cannot drift.
"""

from __future__ import annotations

from typing import Any


class CreditsError(Exception):
    """Base of every refusal a client can see. ``code`` is the callable error code."""

    code: str = "internal"
    reason: str = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def as_details(self) -> dict[str, Any]:
        """The ``details`` object of the wire error: the reason first, then the extras."""
        return {"reason": self.reason, **self.details}


class InvalidRequest(CreditsError):
    """Malformed input. ``errors`` maps each offending field to a message."""

    code = "invalid-argument"
    reason = "invalid_request"

    def __init__(self, errors: dict[str, str], message: str = "The request is invalid.") -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class PromptRejected(CreditsError):
    code = "invalid-argument"
    reason = "prompt_rejected"

    def __init__(self, category: str) -> None:
        super().__init__("The prompt was rejected by moderation.", category=category)


class Unauthenticated(CreditsError):
    code = "unauthenticated"
    reason = "unauthenticated"

    def __init__(self) -> None:
        super().__init__("Sign in first: this call needs a Firebase Auth ID token.")


class AdminRequired(CreditsError):
    code = "permission-denied"
    reason = "admin_required"

    def __init__(self) -> None:
        super().__init__("This call is for admins (ID token claim admin == true).")


class AccountSuspended(CreditsError):
    code = "permission-denied"
    reason = "account_suspended"

    def __init__(self) -> None:
        super().__init__("This account is suspended.")


class IpBlocked(CreditsError):
    code = "permission-denied"
    reason = "ip_blocked"

    def __init__(self) -> None:
        super().__init__("Requests from this address are blocked.")


class NotOwner(CreditsError):
    code = "permission-denied"
    reason = "not_owner"

    def __init__(self) -> None:
        super().__init__("Only the activity's owner or an admin may change it.")


class RateLimited(CreditsError):
    code = "resource-exhausted"
    reason = "rate_limited"

    def __init__(self, scope: str, limit: int, window_seconds: int, retry_after_seconds: int) -> None:
        super().__init__(
            f"Too many requests ({scope} limit {limit} per {window_seconds}s).",
            scope=scope,
            limit=limit,
            windowSeconds=window_seconds,
            retryAfterSeconds=retry_after_seconds,
        )
        self.scope = scope
        self.retry_after_seconds = retry_after_seconds


class InsufficientCredits(CreditsError):
    code = "failed-precondition"
    reason = "insufficient_credits"

    def __init__(self, required: int, available: int) -> None:
        super().__init__(
            f"This needs {required} credits; {available} available.",
            required=required,
            available=available,
        )


class InvalidTransition(CreditsError):
    code = "failed-precondition"
    reason = "invalid_transition"

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(
            f"An activity cannot go from {from_status} to {to_status}.",
            **{"from": from_status, "to": to_status},
        )


class NotFound(CreditsError):
    code = "not-found"
    reason = "not_found"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was not found.")


class Contention(CreditsError):
    """Too many concurrent writers on the same documents for too long; safe to retry."""

    code = "aborted"
    reason = "contention"

    def __init__(self, attempts: int) -> None:
        super().__init__(
            "Too many concurrent changes to this account; nothing was changed. Retry shortly.",
            attempts=attempts,
        )


class BackendUnavailable(CreditsError):
    """Firestore could not be reached in time; nothing was changed that a retry would repeat."""

    code = "unavailable"
    reason = "backend_unavailable"

    def __init__(self) -> None:
        super().__init__("The database is unavailable; retry shortly.")


class ConfigurationInvalid(CreditsError):
    """``system_config/credits`` does not validate (edited by hand?): charging fails closed."""

    code = "failed-precondition"
    reason = "config_invalid"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("The stored credit configuration is invalid; an admin must fix it.", errors=errors)
