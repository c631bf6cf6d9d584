"""Every error's ``details`` on the wire, by ``details.reason`` (the contract's error table)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from credits.vocab.contract.base import Wire


class ErrorDetails(Wire):
    """``details`` of a callable error: the stable ``reason`` a client switches on."""

    reason: str


class InvalidRequestDetails(ErrorDetails):
    """``invalid-argument``: the fields that were wrong, each with a message."""

    reason: Literal["invalid_request"]
    errors: dict[str, str]


class PromptRejectedDetails(ErrorDetails):
    """``invalid-argument``: moderation refused the prompt; ``category`` says why."""

    reason: Literal["prompt_rejected"]
    category: str


PlainReason = Literal[
    "unauthenticated",
    "admin_required",
    "account_suspended",
    "ip_blocked",
    "not_owner",
    "not_found",
    "backend_unavailable",
    "payments_disabled",
]


class PlainDetails(ErrorDetails):
    """The reasons whose details hold nothing but the reason."""

    reason: PlainReason


class NotAllowedDetails(ErrorDetails):
    """``permission-denied``: what this caller may not do (``action``)."""

    reason: Literal["not_allowed"]
    action: str


class DataInvalidDetails(ErrorDetails):
    """``failed-precondition``: a stored document is damaged (admins also see its fields)."""

    reason: Literal["data_invalid"]
    document: str
    errors: dict[str, str] | None = None


class ConfigInvalidDetails(ErrorDetails):
    """``failed-precondition``: the configuration in force is unusable (admins see why)."""

    reason: Literal["config_invalid"]
    errors: dict[str, str] | None = None


class RateLimitedDetails(ErrorDetails):
    """``resource-exhausted``: which window refused the call and when to retry."""

    reason: Literal["rate_limited"]
    scope: Literal["user", "ip"]
    limit: int
    windowSeconds: int
    retryAfterSeconds: int


class InsufficientCreditsDetails(ErrorDetails):
    """``failed-precondition``: the charge needs ``required``; the balance is ``available``."""

    reason: Literal["insufficient_credits"]
    required: int
    available: int


class InvalidTransitionDetails(ErrorDetails):
    """``failed-precondition``: the activity cannot move ``from`` -> ``to``."""

    reason: Literal["invalid_transition"]
    from_: str = Field(alias="from")
    to: str


class ContentionDetails(ErrorDetails):
    """``aborted``: nothing was written; retrying with the same ``requestId`` is safe."""

    reason: Literal["contention"]
    attempts: int


class BucketLimitDetails(ErrorDetails):
    """``failed-precondition``: a grant would open a bucket past the bound; nothing was written."""

    reason: Literal["bucket_limit"]
    limit: int


ERROR_DETAILS: dict[str, type[ErrorDetails]] = {
    "invalid_request": InvalidRequestDetails,
    "prompt_rejected": PromptRejectedDetails,
    "not_allowed": NotAllowedDetails,
    "data_invalid": DataInvalidDetails,
    "config_invalid": ConfigInvalidDetails,
    "rate_limited": RateLimitedDetails,
    "insufficient_credits": InsufficientCreditsDetails,
    "invalid_transition": InvalidTransitionDetails,
    "contention": ContentionDetails,
    "bucket_limit": BucketLimitDetails,
    **dict.fromkeys(get_args(PlainReason), PlainDetails),
}
