"""A generation's live record, ``ai_activity/{activityId}``: its id, its shape, its parsing.

The activity is created by the charge (status ``pending``) and changed only by
``updateAIActivityStatus`` and the sweep. Reading one goes through ``parse``, which checks every
field the backend relies on and raises ``DataInvalid`` naming the document when a hand edit
damaged it, so a broken activity stops that activity's updates alone.

Ids: with a ``requestId`` the id is derived from ``(uid, requestId)`` (``activity_id_for``), so
the activity *is* the idempotency record of the charge; without one it is random.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, cast, get_args

from credits.vocab import idempotency, money, names
from credits.vocab.errors import DataInvalid
from credits.vocab.pricing import GenerationType, is_generation_type

Status = Literal["pending", "processing", "completed", "failed"]
STATUSES: tuple[Status, ...] = get_args(Status)
FINAL: frozenset[Status] = frozenset({"completed", "failed"})
ACTIVE: tuple[Status, ...] = tuple(s for s in STATUSES if s not in FINAL)
"""The statuses of a generation still running: ``pending``, ``processing``."""


def activity_id_for(uid: str, request_id: str) -> str:
    """The activity id an idempotency key maps to (per user: keys of two users never collide)."""
    return "r_" + idempotency.key(uid, request_id)


def path_of(activity_id: str) -> str:
    """The document path of an activity, as ``DataInvalid`` names it."""
    return f"{names.AI_ACTIVITY}/{activity_id}"


@dataclass(frozen=True)
class ActivityState:
    """The fields of a stored activity that decisions use, checked."""

    id: str
    user_id: str
    type: GenerationType
    status: Status
    credits_charged: int
    unit_cost: Decimal
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    device_id: str | None
    ip: str | None
    last_update: dict[str, Any] | None
    data: dict[str, Any]


def parse(activity_id: str, data: dict[str, Any]) -> ActivityState:
    """A stored activity, or ``DataInvalid`` naming every malformed field."""
    problems: dict[str, str] = {}

    def need(name: str, ok: bool, message: str) -> None:
        if not ok:
            problems[name] = message

    user_id = data.get("userId")
    need("userId", isinstance(user_id, str) and bool(user_id), "must be a non-empty string")
    kind = data.get("type")
    need("type", is_generation_type(kind), "must be a generation type")
    status = data.get("status")
    need("status", isinstance(status, str) and status in STATUSES, "must be pending, processing, completed or failed")
    charged = data.get("creditsCharged")
    need(
        "creditsCharged",
        isinstance(charged, int) and not isinstance(charged, bool) and charged >= 0,
        "must be a non-negative integer",
    )
    unit: Decimal | None = None
    raw_unit = data.get("unitCost", 0)
    if isinstance(raw_unit, (int, float)) and not isinstance(raw_unit, bool):
        try:
            unit = money.to_decimal(raw_unit)
        except ValueError:
            unit = None
    need("unitCost", unit is not None and unit >= 0, "must be a non-negative number")
    created = data.get("createdAt")
    need("createdAt", isinstance(created, dt.datetime), "must be a timestamp")
    updated = data.get("updatedAt", created)
    need("updatedAt", isinstance(updated, dt.datetime), "must be a timestamp")
    started = data.get("startedAt")
    need("startedAt", started is None or isinstance(started, dt.datetime), "must be a timestamp")
    last = data.get("lastUpdate")
    if problems:
        raise DataInvalid(path_of(activity_id), problems)
    device = data.get("deviceId")
    ip = data.get("ip")
    return ActivityState(
        id=activity_id,
        user_id=cast(str, user_id),
        type=cast(GenerationType, kind),
        status=cast(Status, status),
        credits_charged=cast(int, charged),
        unit_cost=cast(Decimal, unit),
        created_at=cast(dt.datetime, created),
        updated_at=cast(dt.datetime, updated),
        started_at=cast("dt.datetime | None", started),
        device_id=device if isinstance(device, str) else None,
        ip=ip if isinstance(ip, str) else None,
        last_update=last if isinstance(last, dict) else None,
        data=data,
    )
