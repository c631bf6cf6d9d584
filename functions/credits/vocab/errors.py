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

    def as_details(self, *, for_admin: bool = False) -> dict[str, Any]:
        """The ``details`` object of the wire error: the reason first, then the extras.

        ``for_admin``: whether the caller is an admin; some errors tell admins more (the
        fields of a damaged document) than they tell end users.
        """
        return {"reason": self.reason, **self.details}


class InvalidRequest(CreditsError):
    """Malformed input. ``errors`` maps each offending field to a message."""

    code = "invalid-argument"
    reason = "invalid_request"

    def __init__(self, errors: dict[str, str], message: str = "The request is invalid.") -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class PromptRejected(CreditsError):
    """Moderation refused the prompt; ``category`` names the matched term's category."""

    code = "invalid-argument"
    reason = "prompt_rejected"

    def __init__(self, category: str) -> None:
        super().__init__("The prompt was rejected by moderation.", category=category)


class Unauthenticated(CreditsError):
    """The call carries no Firebase Auth ID token (or one without a usable uid)."""

    code = "unauthenticated"
    reason = "unauthenticated"

    def __init__(self) -> None:
        super().__init__("Sign in first: this call needs a Firebase Auth ID token.")


class AppCheckRequired(Unauthenticated):
    """A call without a valid App Check token where App Check is enforced (every caller but
    the generator, a server-side pipeline).
    """

    def __init__(self) -> None:
        CreditsError.__init__(self, "This app could not be verified (App Check); reload the page or update the app.")


class AdminRequired(CreditsError):
    """An admin-only call from a caller whose token lacks ``admin == true``."""

    code = "permission-denied"
    reason = "admin_required"

    def __init__(self) -> None:
        super().__init__("This call is for admins (ID token claim admin == true).")


class AccountSuspended(CreditsError):
    """The caller's account is suspended; it may not spend credits."""

    code = "permission-denied"
    reason = "account_suspended"

    def __init__(self) -> None:
        super().__init__("This account is suspended.")


class IpBlocked(CreditsError):
    """The call comes from an address or range on the block list."""

    code = "permission-denied"
    reason = "ip_blocked"

    def __init__(self) -> None:
        super().__init__("Requests from this address are blocked.")


class PaymentsDisabled(CreditsError):
    """Payments are not configured here: the Stripe secrets are not set."""

    code = "failed-precondition"
    reason = "payments_disabled"

    def __init__(self) -> None:
        super().__init__("Payments are not available.")


class NotOwner(CreditsError):
    """The caller is neither the activity's owner, nor a generator, nor an admin."""

    code = "permission-denied"
    reason = "not_owner"

    def __init__(self) -> None:
        super().__init__("Only the activity's owner, the generator or an admin may change it.")


class NotAllowed(CreditsError):
    """The caller may act on this activity, but not in this way (``action`` says what)."""

    code = "permission-denied"
    reason = "not_allowed"

    def __init__(self, action: str, message: str) -> None:
        super().__init__(message, action=action)
        self.action = action


class DataInvalid(CreditsError):
    """A stored document the call needs is malformed (edited by hand?): this call cannot
    go on, nothing was written, and the admins are notified. ``document`` names it; the
    offending fields are told to admins only.
    """

    code = "failed-precondition"
    reason = "data_invalid"

    def __init__(self, document: str, problems: dict[str, str]) -> None:
        super().__init__("A stored record this call needs is damaged; an administrator has been notified.", document=document)
        self.document = document
        self.problems = problems

    def as_details(self, *, for_admin: bool = False) -> dict[str, Any]:
        """The base details, plus the damaged fields (``errors``) for an admin."""
        details = super().as_details()
        if for_admin:
            details["errors"] = dict(self.problems)
        return details


class RateLimited(CreditsError):
    """A per-user or per-IP window is full; ``retry_after_seconds`` says when it frees up."""

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
    """The balance does not cover the charge; ``required`` and ``available`` say by how much."""

    code = "failed-precondition"
    reason = "insufficient_credits"

    def __init__(self, required: int, available: int) -> None:
        super().__init__(
            f"This needs {required} credits; {available} available.",
            required=required,
            available=available,
        )


class BucketLimit(CreditsError):
    """A grant would open one bucket more than a user may hold, and no live bucket of the same
    source and expiry can take it (``limit``: the bound).
    """

    code = "failed-precondition"
    reason = "bucket_limit"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The user already holds {limit} live grants; grant with the source and expiry of an existing one.",
            limit=limit,
        )


class InvalidTransition(CreditsError):
    """The activity's status cannot move from ``from`` to ``to`` (the transition table refuses it)."""

    code = "failed-precondition"
    reason = "invalid_transition"

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(
            f"An activity cannot go from {from_status} to {to_status}.",
            **{"from": from_status, "to": to_status},
        )


class NotFound(CreditsError):
    """The document a call names (an activity, a user) does not exist."""

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


class ModerationProviderUnavailable(BackendUnavailable):
    """The moderation provider could not answer and its ``failMode`` is ``closed``: nothing
    was charged or recorded; a retry (with the same ``requestId``) is safe.
    """

    def __init__(self) -> None:
        CreditsError.__init__(self, "Moderation is unavailable; retry shortly.")


class ConfigurationInvalid(CreditsError):
    """No valid configuration can be found at all (the applied copy and the editable
    documents are all damaged): the call fails closed rather than price with a guess.
    Admins see the offending fields; end users do not.
    """

    code = "failed-precondition"
    reason = "config_invalid"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("The service is misconfigured; an administrator has been notified.")
        self.errors = errors

    def as_details(self, *, for_admin: bool = False) -> dict[str, Any]:
        """The base details, plus the invalid settings (``errors``) for an admin."""
        details = super().as_details()
        if for_admin:
            details["errors"] = dict(self.errors)
        return details
