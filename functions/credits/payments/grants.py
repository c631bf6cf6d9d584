"""The seam between payments and the account's grants: what a paid grant and a claw-back
post, as ledger legs.

Until credit buckets exist, a grant is a ledger leg on the balance (its expiry is recorded
on the payment, not enforced) and a claw-back takes from the balance as a whole. With buckets,
these functions become the buckets' own operations (a ``purchase`` or ``plan`` bucket granted
once by its key; a claw-back from the payment's bucket first, then in reverse spend order),
and nothing else in the payments package changes: the webhook hands over the amounts and the
payment id, and gets legs and a shortfall back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from ..config import CreditConfig, Product
from ..ledger import EntryId, EntryKind, Leg, Reason
from . import policy

GrantSource = Literal["purchase", "plan"]


@dataclass(frozen=True)
class Granted:
    """The legs of a paid grant and the debt left after it."""

    legs: tuple[Leg, ...]
    credited: int  # what became spendable
    debt_after: int


def grant(
    *,
    source: GrantSource,
    entry: EntryId,
    payment_id: str,
    credits: int,
    expires_at: dt.datetime | None,
    debt: int,
) -> Granted:
    """Grant ``credits`` for a payment; the debt is paid off first (``policy.credit``).

    ``entry`` is the grant's ledger id, unique per payment (a pack) or per period (a plan):
    its uniqueness makes the grant happen once.
    """
    split = policy.credit(debt, credits)
    reason = Reason.PURCHASE_GRANT if source == "purchase" else Reason.PLAN_GRANT
    fields = {"paymentId": payment_id, "source": source, "expiresAt": expires_at}
    legs = [Leg(credits, entry, reason, actor_id="stripe", fields=fields)]
    if split.to_debt:
        legs.append(
            Leg(
                -split.to_debt,
                EntryId(EntryKind.DEBTPAY, payment_id),
                Reason.DEBT_PAYMENT,
                actor_id="stripe",
                note=f"{split.to_debt} of a debt of {debt} paid off",
                fields={"paymentId": payment_id},
            )
        )
    return Granted(legs=tuple(legs), credited=split.to_balance, debt_after=debt - split.to_debt)


@dataclass(frozen=True)
class Clawed:
    """The leg of a claw-back (None when nothing could be taken) and its shortfall."""

    leg: Leg | None
    taken: int
    shortfall: int


def claw_back(*, payment_id: str, balance: int, wanted: int, clawed_total: int, why: str) -> Clawed:
    """Take ``wanted`` credits back for a payment (a refund's share, a dispute).

    ``clawed_total`` is the payment's claw-back total after this one: it names the entry, so
    the same claw-back is never posted twice. What the balance cannot cover is the shortfall,
    which becomes debt (never a negative balance).
    """
    split = policy.claw_back(balance, wanted)
    if not split.taken:
        return Clawed(leg=None, taken=0, shortfall=split.shortfall)
    leg = Leg(
        -split.taken,
        EntryId(EntryKind.CLAWBACK, f"{payment_id}_{clawed_total}"),
        Reason.PAYMENT_CLAWBACK,
        actor_id="stripe",
        note=why,
        fields={"paymentId": payment_id, "shortfall": split.shortfall},
    )
    return Clawed(leg=leg, taken=split.taken, shortfall=split.shortfall)


def plan_credits(config: CreditConfig, product: Product) -> int | None:
    """The credits one paid period of a plan product grants; None if it cannot be told.

    Until plans are configured (``plans``), a plan product carries them itself (``credits``).
    """
    return product.credits
