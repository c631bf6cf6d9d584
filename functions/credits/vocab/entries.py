"""The ledger's vocabulary: what an entry records (``EntryKind``), its stable ``reason``, its id,
and the usage counters a posting moves. ``credits.store.ledger`` posts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntryKind(StrEnum):
    """What an entry records; the first part of its id."""

    SIGNUP = "signup"
    CHARGE = "charge"
    SETTLE = "settle"
    REFUND = "refund"
    GRANT = "grant"
    RESTORE = "restore"
    REPAIR = "repair"
    EXPIRE = "expire"
    PLAN = "plan"  # plan_{key}: a plan period, once per period
    LEGACY = "legacy"
    CLAWBACK = "clawback"  # clawback_{paymentId}_{clawedTotal}: a refund's or dispute's share
    PURCHASE = "purchase"  # purchase_{paymentId}: a paid pack
    DEBTPAY = "debtpay"  # debtpay_{paymentId}: what a payment paid of the user's debt


class Reason(StrEnum):
    """An entry's ``reason`` field, stable for clients that display the ledger."""

    SIGNUP_GRANT = "signup_grant"
    SIGNUP_GRANT_WITHHELD = "signup_grant_withheld"
    GENERATION_CHARGE = "generation_charge"
    SETTLEMENT_CHARGE = "settlement_charge"
    SETTLEMENT_REFUND = "settlement_refund"
    FAILURE_REFUND = "failure_refund"
    ADMIN_GRANT = "admin_grant"
    ADMIN_CLAWBACK = "admin_clawback"
    ACCOUNT_RESTORED = "account_restored"
    BALANCE_REPAIR = "balance_repair"
    DEBT_PAYMENT = "debt_payment"
    EXPIRED = "expired"
    PLAN_ALLOWANCE = "plan_allowance"
    PROMO_GRANT = "promo_grant"
    PURCHASE = "purchase"
    PAYMENT_CLAWBACK = "payment_clawback"


@dataclass(frozen=True)
class EntryId:
    """The id of a ledger entry: ``{kind}_{key}``."""

    kind: EntryKind
    key: str

    def __str__(self) -> str:
        return f"{self.kind.value}_{self.key}"

    @classmethod
    def parse(cls, entry_id: str) -> EntryId | None:
        """The kind and key of an id this module wrote; None for anything else."""
        kind, sep, key = entry_id.partition("_")
        if not sep or not key:
            return None
        try:
            return cls(EntryKind(kind), key)
        except ValueError:
            return None


USAGE_FIELDS: tuple[str, ...] = (
    "generations",
    "creditsUsed",
    "refunds",
    "failures",
    "ownerRefunds",
    "ownerRefundedCredits",
)
"""The counters of ``users/{uid}.usage``; ``creditsUsed`` is net of refunds."""


@dataclass(frozen=True)
class UsageChange:
    """Increments to the user's usage counters that a posting carries."""

    generations: int = 0
    credits_used: int = 0
    refunds: int = 0
    failures: int = 0
    owner_refunds: int = 0
    owner_refunded_credits: int = 0

    def counts(self) -> tuple[int, ...]:
        """The increments in the order of ``USAGE_FIELDS``."""
        return (
            self.generations,
            self.credits_used,
            self.refunds,
            self.failures,
            self.owner_refunds,
            self.owner_refunded_credits,
        )

    def apply(self, usage: dict[str, int]) -> dict[str, int]:
        """``usage`` with this change added (a new dict)."""
        out = {name: int(usage.get(name, 0)) for name in USAGE_FIELDS}
        for name, value in zip(USAGE_FIELDS, self.counts(), strict=True):
            out[name] += value
        for name, value in usage.items():  # counters of older versions are kept as they are
            out.setdefault(name, value)
        return out

    def __bool__(self) -> bool:
        return any(self.counts())
