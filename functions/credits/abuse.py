"""Abuse detection: records, a sliding 24-hour score per user, automatic suspension.

Every event (a moderation hit, repeated rate-limit refusals, a high client-reported refund
rate) becomes one immutable ``abuse_detection`` record carrying who, from where (IP,
country, user agent, device) and, for prompts, the SHA-256 of the prompt, never its text.
The user's score is the sum of the points of their events in the last 24 hours, kept in
``abuse_scores/{uid}`` as a bounded list of recent events. Severity escalates with the
score: once a user is past half the suspension threshold, a low event is recorded as
medium, past three quarters as high. A critical event, or a score reaching
``config.abuse.suspendScore``, suspends the account in the same commit (``users/{uid}``
gets ``status: suspended`` and the reason). High and critical events also create an
``admin_notifications`` document for dashboards to listen to.

Everything here adds writes to the caller's ``Plan``, so the record, the score and the
suspension commit atomically with whatever else the call records, under the same
preconditions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from google.cloud.firestore_v1.base_document import DocumentSnapshot

from . import db, ledger
from .atomic import Attempt, Plan
from .clock import to_millis
from .config import CreditConfig
from .context import Caller, ClientContext

POINTS = {"low": 1, "medium": 10, "high": 25, "critical": 100}
RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}
WINDOW_MS = 24 * 3600 * 1000
MAX_EVENTS = 200  # a score past any sane threshold; older events fall off the list

# Rate-limit refusals become an abuse event at these counts within one refusal window.
REFUSAL_MILESTONES = {10: "low", 25: "low", 50: "medium", 100: "medium", 200: "high"}
REFUSAL_WINDOW_SECONDS = 3600

# Kinds of events
MODERATION = "moderation"
RATE_LIMIT = "rate_limit"
REFUND_RATE = "refund_rate"


@dataclass(frozen=True)
class Event:
    kind: str
    severity: str
    category: str | None = None
    prompt_hash: str | None = None
    device_id: str | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class Outcome:
    record_id: str
    severity: str
    score: int
    suspended: bool
    # The fields that suspend the user, for a caller that writes the user itself.
    suspension: dict[str, Any] | None = None


def escalate(base: str, score_before: int, threshold: int) -> str:
    """The severity to record: the base one, raised when the user is already scoring high."""
    floor = "low"
    if score_before * 4 >= threshold * 3:
        floor = "high"
    elif score_before * 2 >= threshold:
        floor = "medium"
    return base if RANK[base] >= RANK[floor] else floor


def live_events(stored: Any, now_ms: int) -> list[dict[str, Any]]:
    if not isinstance(stored, list):
        return []
    return [e for e in stored if isinstance(e, dict) and isinstance(e.get("at"), int) and e["at"] > now_ms - WINDOW_MS]


def score_of(events: list[dict[str, Any]]) -> int:
    return sum(int(e.get("points", 0)) for e in events if isinstance(e.get("points", 0), int))


def score_ref(attempt: Attempt, uid: str) -> Any:
    return attempt.client.collection(db.ABUSE_SCORES).document(uid)


def record(
    attempt: Attempt,
    plan: Plan[Any],
    *,
    now: dt.datetime,
    config: CreditConfig,
    uid: str,
    caller: Caller | None,
    user: DocumentSnapshot,
    ctx: ClientContext,
    event: Event,
    write_user: bool = True,
    score_snapshot: DocumentSnapshot | None = None,
) -> Outcome:
    """Add an abuse event to ``plan``: record, score, and suspension when due.

    ``user`` is the caller's snapshot of ``users/{uid}``. When the plan writes the user
    itself (``write_user=False``), the suspension fields come back in the outcome for the
    caller to merge into its own write: one document, one write per commit.
    """
    client = attempt.client
    # ``score_snapshot``: the caller already read abuse_scores/{uid} in this attempt.
    score_snap = score_snapshot or attempt.get([score_ref(attempt, uid)])[f"{db.ABUSE_SCORES}/{uid}"]
    now_ms = to_millis(now)
    stored = score_snap.to_dict() if score_snap.exists else {}
    events = live_events((stored or {}).get("events"), now_ms)
    before = score_of(events)
    threshold = config.abuse.suspendScore
    severity = escalate(event.severity, before, threshold)
    points = POINTS[severity]
    events = [*events, {"at": now_ms, "points": points, "kind": event.kind}][-MAX_EVENTS:]
    after = score_of(events)
    already_suspended = user.exists and (user.to_dict() or {}).get("status") == "suspended"
    suspend = not already_suspended and (severity == "critical" or after >= threshold)

    record_ref = client.collection(db.ABUSE_DETECTION).document()
    data: dict[str, Any] = {
        "userId": uid,
        "kind": event.kind,
        "severity": severity,
        "baseSeverity": event.severity,
        "category": event.category,
        "promptHash": event.prompt_hash,
        "deviceId": event.device_id,
        **ctx.as_fields(),
        "scoreBefore": before,
        "scoreAfter": after,
        "threshold": threshold,
        "action": "suspended" if suspend else "recorded",
        "createdAt": now,
    }
    if event.detail:
        data["detail"] = event.detail
    plan.create(record_ref, data)
    plan.put(
        score_snap,
        {
            "userId": uid,
            "events": events,
            "score": after,
            "updatedAt": now,
            "lastEventAt": now,
            **({"lastRefundRateEventAt": now} if event.kind == REFUND_RATE else {}),
        },
    )
    suspension: dict[str, Any] | None = None
    if suspend:
        reason = (
            f"automatic: critical {event.kind} event"
            if severity == "critical"
            else f"automatic: abuse score {after} reached {threshold} within 24 hours"
        )
        suspension = {
            "status": "suspended",
            "statusReason": reason,
            "statusChangedAt": now,
            "statusChangedBy": "system:abuse",
            "updatedAt": now,
        }
        if not write_user:
            pass
        elif user.exists:
            plan.put(user, suspension)
        else:
            # A first call that is already abusive: the account exists from now on, with its
            # default grant in the ledger like any other, and suspended.
            ledger.create_user(plan, client, user, uid, caller, config, now, suspension)
    if RANK[severity] >= RANK["high"] or suspend:
        plan.create(
            client.collection(db.ADMIN_NOTIFICATIONS).document(),
            {
                "kind": "abuse",
                "severity": severity,
                "userId": uid,
                "abuseRecordId": record_ref.id,
                "eventKind": event.kind,
                "category": event.category,
                "suspended": suspend,
                "message": _message(event, severity, suspend, uid),
                "read": False,
                "createdAt": now,
            },
        )
    return Outcome(record_ref.id, severity, after, suspend, suspension)


def refusal_milestone(count: int) -> str | None:
    """The severity of the abuse event due when refusals reach ``count``, if any."""
    if count in REFUSAL_MILESTONES:
        return REFUSAL_MILESTONES[count]
    if count > 200 and count % 100 == 0:
        return "high"
    return None


def _message(event: Event, severity: str, suspended: bool, uid: str) -> str:
    what = {
        MODERATION: f"prompt rejected ({event.category})",
        RATE_LIMIT: "repeated rate-limit refusals",
        REFUND_RATE: "high client-reported failure rate",
    }.get(event.kind, event.kind)
    tail = "; account suspended" if suspended else ""
    return f"{severity} abuse event for user {uid}: {what}{tail}"
