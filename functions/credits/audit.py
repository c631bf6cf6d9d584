"""The admin audit trail: ``admin_audit_logs``, one immutable entry per admin action.

An entry is created in the same atomic commit as the change it describes, so there is no
change without its entry and no entry for a change that did not happen. Entries are never
updated or deleted (the rules deny clients; no server path does), and the retention job
never touches the collection.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.cloud import firestore

from . import db
from .atomic import Plan
from .context import Caller, ClientContext


def entry(
    actor: Caller,
    ctx: ClientContext,
    action: str,
    target: str | None,
    before: Any,
    after: Any,
    now: dt.datetime,
    *,
    request_id: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    return {
        "actorId": actor.uid,
        "actorEmail": actor.email,
        "action": action,
        "target": target,
        "before": before,
        "after": after,
        "ip": ctx.ip,
        "userAgent": ctx.user_agent,
        "country": ctx.country,
        "requestId": request_id,
        "note": note,
        "createdAt": now,
    }


def add(plan: Plan[Any], client: firestore.Client, data: dict[str, Any]) -> str:
    ref = client.collection(db.ADMIN_AUDIT_LOGS).document()
    plan.create(ref, data)
    return str(ref.id)
