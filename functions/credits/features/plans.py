"""Plans: a monthly allowance per user, one ``plan`` bucket per period.

``system_config/credits.features.plans`` holds the plans (``config.PlanSpec``: ``name``,
``monthlyCredits``, ``rolloverPeriods``); none by default, and a user without a plan has
``plan: null``. A user's plan is ``users/{uid}.plan: {id, periodStart, periodEnd, renewal}``.

A period grants one ``plan`` bucket of ``monthlyCredits`` expiring ``rolloverPeriods`` periods
after the period's end (0: at the period's end). Its entry and bucket id is
``plan_{key}``: for a period renewed here the key is ``{uid}_{planId}_{periodStart}``, so a
period is granted exactly once however many calls race for it.

Renewal (``renewal`` on the user's plan):

- ``auto`` (a plan set by an admin, or any plan without a payment behind it): renewed lazily,
  in the commit of the user's first posting call of a new period (``catch_up``, called by
  ``accounts.prepare``), so no job and no document shared by all users is written per
  renewal. Periods that passed while the user made no call are not granted (their
  allowance would have lapsed unused, rollover aside); the new period starts at the end of
  the last one, whole months on, so periods keep their day of the month.
- ``payment``: renewed only when a payment says so (``grants.start_plan_period``).

Changing plan (``setUserPlan``, or a payment for another plan) starts a new period now with
the new plan's allowance; the old period's bucket keeps its expiry.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from credits.store import buckets as bucket_store
from credits.store.ledger import EntryId, EntryKind, Leg, Reason
from credits.vocab.config import CreditConfig, PlanSpec
from credits.vocab.errors import DataInvalid

if TYPE_CHECKING:
    from credits.features.accounts import Prepared

Renewal = Literal["auto", "payment"]
FIELD = "plan"


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    """``when`` moved by whole calendar months (the day clamped to the month's length)."""
    month0 = when.month - 1 + months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class UserPlan:
    """``users/{uid}.plan`` as read and checked."""

    id: str
    period_start: dt.datetime
    period_end: dt.datetime
    renewal: Renewal

    def to_firestore(self) -> dict[str, Any]:
        """As stored."""
        return {"id": self.id, "periodStart": self.period_start, "periodEnd": self.period_end, "renewal": self.renewal}


def parse_user_plan(path: str, raw: Any) -> UserPlan | None:
    """The user's plan, None without one; ``DataInvalid`` naming the document when damaged."""
    if raw is None:
        return None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("id"), str)
        or not isinstance(raw.get("periodStart"), dt.datetime)
        or not isinstance(raw.get("periodEnd"), dt.datetime)
        or raw.get("renewal", "auto") not in ("auto", "payment")
        or raw["periodEnd"] <= raw["periodStart"]
    ):
        raise DataInvalid(path, {FIELD: "must be {id, periodStart, periodEnd, renewal} with periodEnd after periodStart"})
    start, end = bucket_store.plain(raw["periodStart"]), bucket_store.plain(raw["periodEnd"])
    return UserPlan(raw["id"], start, end, cast(Renewal, raw.get("renewal", "auto")))


def bucket_expiry(spec: PlanSpec, period_end: dt.datetime) -> dt.datetime:
    """When a period's allowance lapses: ``rolloverPeriods`` periods after the period's end."""
    return add_months(period_end, spec.rolloverPeriods)


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def period_leg(
    uid: str, plan_id: str, spec: PlanSpec, start: dt.datetime, end: dt.datetime, key: str | None = None
) -> Leg | None:
    """The grant of one period's allowance (None for a plan of 0 credits a month).

    ``key`` makes it idempotent (default: the user, plan and period start).
    """
    if spec.monthlyCredits <= 0:
        return None
    entry = EntryId(EntryKind.PLAN, key or f"{uid}_{plan_id}_{_stamp(start)}")
    return Leg(
        spec.monthlyCredits,
        entry,
        Reason.PLAN_ALLOWANCE,
        actor_id="system",
        note=f"{spec.name}: allowance for the period from {start.date().isoformat()}",
        fields={"planId": plan_id, "periodStart": start, "periodEnd": end},
        buckets=bucket_store.Open(str(entry), "plan", bucket_expiry(spec, end), f"plan:{plan_id}:{_stamp(start)}"),
    )


def current_period(plan: UserPlan, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The period of an ``auto`` plan that contains ``now`` (whole months on from the last one)."""
    start, end = plan.period_start, plan.period_end
    months = 0
    while end <= now:
        months += 1
        start, end = add_months(plan.period_start, months), add_months(plan.period_start, months + 1)
    return start, end


def catch_up(prepared: Prepared, config: CreditConfig, now: dt.datetime) -> None:
    """Renew an ``auto`` plan whose period has ended: the new period's grant joins the
    account's own legs and the new period its fields (posted with the call's commit).
    """
    if prepared.account is None:
        return
    plan = parse_user_plan(f"users/{prepared.uid}", prepared.account.data.get(FIELD))
    if plan is None or plan.renewal != "auto" or now < plan.period_end:
        return
    start, end = current_period(plan, now)
    prepared.fields[FIELD] = UserPlan(plan.id, start, end, "auto").to_firestore()
    spec = config.plans.get(plan.id)
    if spec is not None:
        leg = period_leg(prepared.uid, plan.id, spec, start, end)
        if leg is not None:
            prepared.legs.append(leg)


def public(raw: Any, config: CreditConfig, path: str) -> dict[str, Any] | None:
    """``plan`` as ``getCreditStatus`` shows it: ``{id, name, monthlyCredits, periodEnd}`` or None."""
    plan = parse_user_plan(path, raw)
    if plan is None:
        return None
    spec = config.plans.get(plan.id)
    if spec is None:
        return None
    return {
        "id": plan.id,
        "name": spec.name,
        "monthlyCredits": spec.monthlyCredits,
        "periodEnd": plan.period_end.isoformat().replace("+00:00", "Z"),
    }
