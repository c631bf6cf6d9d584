"""Every callable's request and response (contract revisions 1 to 3), and who may call it.

Requests describe what a client may send; the backend's own parsers (``Fields``) give the
field-by-field messages of ``invalid_request``. Responses describe exactly what the backend
answers: ``extra="forbid"``, so a field the code sends and the contract does not name fails
the end-to-end suite, which checks every answer against these models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from credits.vocab.contract.base import AccountStatus, ActivityStatus, GenerationType, Open, SignupGrant, SignupGrantRule, Wire

Who = Literal["user", "admin", "generator"]

# ------------------------------------------------------------------ a generation


class ChargeRequest(Wire):
    """``validateAndDeductCredits``: one generation to check and charge."""

    type: GenerationType
    prompt: str = Field(min_length=1, max_length=20_000)
    quantity: float | None = Field(default=None, gt=0)
    model: str | None = Field(default=None, max_length=64)
    requestId: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    deviceId: str | None = Field(default=None, max_length=128)


class ChargeResponse(Wire):
    """The generation's activity, opened ``pending``, and what it cost."""

    activityId: str
    creditsCharged: int
    remainingCredits: int
    status: Literal["pending"]


class StatusRequest(Wire):
    """``updateAIActivityStatus``: a step of a generation's lifecycle."""

    activityId: str
    status: Literal["processing", "completed", "failed"]
    progress: float | None = Field(default=None, ge=0, le=100)
    actualQuantity: float | None = Field(default=None, ge=0)
    error: str | None = Field(default=None, max_length=1_000)


class StatusResponse(Wire):
    """The activity after the report: its charge, what was refunded, the balance."""

    activityId: str
    status: ActivityStatus
    creditsCharged: int
    refundedCredits: int
    remainingCredits: int
    processingTimeMs: int | None = None
    ownerConfirmedAt: str | None = None


# ------------------------------------------------------------------ the balance


class PreviewRequest(Wire):
    """A generation to price as a charge would, without a prompt."""

    type: GenerationType
    quantity: float | None = Field(default=None, gt=0)


class CreditStatusRequest(Wire):
    """``getCreditStatus``: ``{}``, or a cost preview."""

    preview: PreviewRequest | None = None


class RateLimitStatus(Wire):
    """One generation type's window: its limit, what is left, when it resets."""

    limit: int
    remaining: int
    resetInSeconds: int


class Preview(Wire):
    """A charge's decision without a prompt: its cost, and whether it would pass."""

    cost: int
    affordable: bool
    allowed: bool
    reason: str | None = None
    retryAfterSeconds: int | None = None


class BucketView(Wire):
    """A live grant of credits, as its owner sees it (revision 3)."""

    source: str
    remaining: int
    expiresAt: str | None


class NextExpiry(Wire):
    """The credits that expire soonest, and when."""

    credits: int
    at: str


class PlanView(Wire):
    """The user's plan and the end of its current period."""

    id: str
    name: str
    monthlyCredits: int
    periodEnd: str | None


class CreditStatusResponse(Wire):
    """What a client needs for the balance, a cost preview, an upgrade prompt, a countdown."""

    credits: int
    status: AccountStatus
    lowBalance: bool
    lowBalanceThreshold: int
    costs: dict[GenerationType, float]
    rateLimits: dict[GenerationType, RateLimitStatus]
    signupGrant: SignupGrant
    signupGrantRule: SignupGrantRule | None = None
    preview: Preview | None = None
    buckets: list[BucketView] | None = None
    nextExpiry: NextExpiry | None = None
    plan: PlanView | None = None
    debt: int | None = None


# ------------------------------------------------------------------ admin


class GrantRequest(Wire):
    """``grantCreditsToUser``: a grant (positive) or a claw-back (negative)."""

    userId: str
    amount: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=1, max_length=500)
    requestId: str | None = None
    expiresAt: str | None = None
    source: Literal["admin", "promo"] | None = None
    userNote: str | None = None


class GrantResponse(Wire):
    """The user's balance after the grant and the ledger entry that records it."""

    userId: str
    newBalance: int
    ledgerEntryId: str


class ConfigurationResponse(Wire):
    """``updateCreditConfiguration``: the new version and both documents merged."""

    version: int
    config: dict[str, Any]


class SetUserStatusRequest(Wire):
    """``setUserStatus``: suspend or reactivate an account."""

    userId: str
    status: AccountStatus
    reason: str


class SetUserStatusResponse(Wire):
    """The account's status before and after (before: null when the change opened the account)."""

    userId: str
    status: AccountStatus
    previousStatus: AccountStatus | None


class SetIpBlockRequest(Wire):
    """``setIpBlock``: block or unblock an address or a CIDR range."""

    ip: str
    blocked: bool
    reason: str


class SetIpBlockResponse(Wire):
    """The address bucket or range as stored, and whether it is now blocked."""

    ip: str
    blocked: bool
    kind: Literal["address", "range"]


class TestModerationRequest(Wire):
    """``testModeration`` (revision 3): a prompt to judge as a charge would."""

    prompt: str


class TestModerationResponse(Wire):
    """The verdict a charge with this prompt would get; nothing is charged or recorded."""

    verdict: Literal["allow", "flag", "refuse"]
    category: str | None = None
    source: Literal["local", "provider"]


class SetUserPlanRequest(Wire):
    """``setUserPlan`` (revision 3): a configured plan for a user, or null to end its plan."""

    userId: str
    planId: str | None


class SetUserPlanResponse(Wire):
    """The plan before and after; ``changed`` false when the user already had it."""

    userId: str
    planId: str | None
    previousPlanId: str | None
    changed: bool
    periodEnd: str | None = None


class PromoRequest(Wire):
    """``grantPromoCredits`` (project): a promotional grant to a list of users or a plan's users."""

    userIds: list[str] | None = Field(default=None, min_length=1, max_length=500)
    planId: str | None = None
    amount: int = Field(ge=1, le=1_000_000)
    reason: str = Field(min_length=1, max_length=500)
    expiresAt: str | None = None
    userNote: str | None = None
    requestId: str | None = None


class PromoResponse(Wire):
    """The job that grants it, and how far it got within the call."""

    jobId: str
    status: Literal["running", "done"]
    granted: int
    failed: int


class CheckoutRequest(Wire):
    """``createCheckoutSession`` (revision 3): a product to buy, and where Stripe sends the user back."""

    productId: str
    successUrl: str
    cancelUrl: str


class CheckoutResponse(Wire):
    """The Stripe Checkout Session: its id and the page to send the user to."""

    sessionId: str
    url: str


class PortalRequest(Wire):
    """``createBillingPortalSession`` (revision 3): where the portal sends the user back."""

    returnUrl: str


class PortalResponse(Wire):
    """The Stripe customer portal's page for this user."""

    url: str


class UsageStatsRequest(Wire):
    """``getUsageStats``: the range to report."""

    range: Literal["24h", "7d", "30d", "90d"] | None = None


class UsageSummary(Open):
    """The published figures of one set of counters."""

    generations: int
    completedGenerations: int
    failedGenerations: int
    successRate: float | None
    creditsUsed: int
    refundedCredits: int
    refunds: int
    averageCostPerGeneration: float | None
    averageProcessingTimeMs: float | None


class SeriesPoint(UsageSummary):
    """One hour or day of the series, from ``start``."""

    start: str


class TopUser(Wire):
    """One of the users with the most credits used in the range."""

    userId: str
    email: str | None
    displayName: str | None
    creditsUsed: int
    generations: int


class UsageStatsResponse(Open):
    """Totals, by type, a series for charts, top users and what is running now."""

    range: str
    interval: str
    since: str
    until: str
    totals: UsageSummary
    byType: dict[GenerationType, UsageSummary]
    series: list[SeriesPoint]
    topUsers: list[TopUser]
    topUsersWindow: dict[str, str] | None
    activeNow: int
    activeByStatus: dict[str, int]
    rolledUpUntil: str | None
    documentsRead: int
    readCost: dict[str, int]


class ConfigurationPatch(Open):
    """``updateCreditConfiguration``: any part of the public and private configuration (its
    schema is the configuration's own, ``credits.vocab.config``; unknown keys are refused there).
    """


@dataclass(frozen=True)
class Callable:
    """One callable of the contract: its models and who may call it."""

    request: type[Wire] | type[Open]
    response: type[Wire] | type[Open]
    who: tuple[Who, ...]
    summary: str


CALLABLES: dict[str, Callable] = {
    "validateAndDeductCredits": Callable(ChargeRequest, ChargeResponse, ("user",), "Check and charge one generation."),
    "updateAIActivityStatus": Callable(
        StatusRequest, StatusResponse, ("generator", "admin", "user"), "Report a generation's progress or end."
    ),
    "getCreditStatus": Callable(CreditStatusRequest, CreditStatusResponse, ("user",), "The balance, prices, limits, a preview."),
    "grantCreditsToUser": Callable(GrantRequest, GrantResponse, ("admin",), "Grant or claw back credits."),
    "updateCreditConfiguration": Callable(
        ConfigurationPatch, ConfigurationResponse, ("admin",), "Change part of the configuration."
    ),
    "setUserStatus": Callable(SetUserStatusRequest, SetUserStatusResponse, ("admin",), "Suspend or reactivate an account."),
    "setIpBlock": Callable(SetIpBlockRequest, SetIpBlockResponse, ("admin",), "Block or unblock an address or range."),
    "getUsageStats": Callable(UsageStatsRequest, UsageStatsResponse, ("admin",), "Usage statistics for a range."),
    "setUserPlan": Callable(SetUserPlanRequest, SetUserPlanResponse, ("admin",), "Put a user on a plan, or end it."),
    "grantPromoCredits": Callable(PromoRequest, PromoResponse, ("admin",), "A promotional grant to many users, as a job."),
    "createCheckoutSession": Callable(CheckoutRequest, CheckoutResponse, ("user",), "A Stripe Checkout Session for a product."),
    "createBillingPortalSession": Callable(PortalRequest, PortalResponse, ("user",), "The Stripe customer portal."),
    "testModeration": Callable(
        TestModerationRequest, TestModerationResponse, ("admin",), "The moderation verdict a charge would get."
    ),
}
