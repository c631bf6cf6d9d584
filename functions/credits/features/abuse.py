"""Abuse records, scores and automatic suspension, written with the call that causes them.

Every event (a rejected prompt, repeated refusals by the user's own rate limit, refunds the
owner caused past the refund-rate threshold) becomes one immutable ``abuse_detection`` record
carrying who, from where (IP, country, user agent, device) and, for prompts, the SHA-256 of
the prompt, never its text. The user's sliding 24-hour score lives in ``abuse_scores/{uid}``
(the arithmetic is ``policy.abuse``). A critical event, or a score reaching
``abuse.suspendScore``, suspends the account in the same commit; high and critical events and
suspensions also notify the admins.

A record's id is derived from the call that caused it, so a commit whose answer was lost and
is retried (``Attempt.ambiguous``) recognises its own record instead of writing a second one.

Bounded (``policy.abuse``): at most ``MAX_RECORDS_PER_DAY`` records a user a day; one admin
notification per user and hour (``admin_notifications/abuse_{uid}_{hour}``, updated in place by
later events), and new ones within the hour's budget, counted in shards
(``rate_limits/notify_{hour}_{shard}``, the shard of the user's uid): past it, one overflow
notice for the hour. Each is a document of one user or one shard; nothing is written by all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from google.cloud import firestore

from credits.policy import abuse as scoring
from credits.policy.abuse import EventKind, Severity
from credits.store import db, notifications
from credits.store.atomic import Attempt, Plan
from credits.store.db import Snapshot
from credits.vocab.clock import to_millis
from credits.vocab.config import Abuse
from credits.vocab.context import ClientContext
from credits.vocab.errors import DataInvalid


@dataclass(frozen=True)
class Event:
    """One abuse event as a call reports it."""

    kind: EventKind
    severity: Severity
    category: str | None = None
    prompt_hash: str | None = None
    device_id: str | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class Outcome:
    """What recording an event decided."""

    record_id: str | None  # None when the user's daily record budget is spent
    severity: Severity
    score: int
    suspended: bool
    # The user fields that suspend the account: the caller writes them in its own write of
    # the user document (a plan writes a document once).
    suspension: dict[str, Any] | None = None


def score_ref(client: firestore.Client, uid: str) -> firestore.DocumentReference:
    """``abuse_scores/{uid}``."""
    return client.collection(db.ABUSE_SCORES).document(uid)


def record_ref(client: firestore.Client, call_token: str, kind: str) -> firestore.DocumentReference:
    """The record a call writes for an event of ``kind`` (deterministic per call)."""
    digest = hashlib.sha256(f"{call_token}\n{kind}".encode()).hexdigest()[:32]
    return client.collection(db.ABUSE_DETECTION).document(f"e_{digest}")


@dataclass(frozen=True)
class Offender:
    """Whose event it is: the user (and whether the account is already suspended), where the
    call came from, and the call's token, which names the record. ``score_snapshot``:
    ``abuse_scores/{uid}`` if the caller already read it.
    """

    uid: str
    already_suspended: bool
    ctx: ClientContext
    call_token: str
    score_snapshot: Snapshot | None = None


@dataclass(frozen=True)
class _Scored:
    """An event as scored: whose, what, the score it leaves against the threshold, and when."""

    who: Offender
    event: Event
    score: scoring.Score
    threshold: int
    now: dt.datetime


def record(attempt: Attempt, plan: Plan[Any], who: Offender, event: Event, *, now: dt.datetime, thresholds: Abuse) -> Outcome:
    """Add an abuse event to ``plan``: record, score, notification, suspension when due.

    Reads ``abuse_scores/{uid}`` unless the caller already did (``who.score_snapshot``).
    """
    client = attempt.client
    ref = score_ref(client, who.uid)
    score_snap = who.score_snapshot or attempt.get([ref])[ref.path]
    stored = (score_snap.to_dict() or {}) if score_snap.exists else {}
    if not isinstance(stored.get("events", []), list):
        raise DataInvalid(ref.path, {"events": "must be a list"})
    threshold = thresholds.suspendScore
    score = scoring.add_event(stored.get("events"), to_millis(now), event.kind, event.severity, threshold, who.already_suspended)
    scored = _Scored(who, event, score, threshold, now)
    target = record_ref(client, who.call_token, event.kind)
    now_ms = to_millis(now)
    budget = scoring.record_budget(stored, now_ms)
    if budget.record:
        _create_record(plan, target, scored)
    plan.put(
        score_snap,
        {
            "userId": who.uid,
            "events": score.events,
            "score": score.after,
            "updatedAt": now,
            "lastEventAt": now,
            "recordsDay": budget.day,
            "recordsToday": budget.recorded,
            "suppressedRecords": budget.suppressed,
        },
    )
    suspension = _suspension(scored)
    if scoring.RANK[score.severity] >= scoring.RANK["high"] or score.suspend:
        _notify(attempt, plan, scored, target.id if budget.record else None)
    return Outcome(target.id if budget.record else None, score.severity, score.after, score.suspend, suspension)


def _create_record(plan: Plan[Any], target: firestore.DocumentReference, scored: _Scored) -> None:
    """The immutable ``abuse_detection`` record of the event."""
    who, event, score = scored.who, scored.event, scored.score
    data: dict[str, Any] = {
        "userId": who.uid,
        "kind": event.kind,
        "severity": score.severity,
        "baseSeverity": event.severity,
        "category": event.category,
        "promptHash": event.prompt_hash,
        "deviceId": event.device_id,
        **who.ctx.as_fields(),
        "scoreBefore": score.before,
        "scoreAfter": score.after,
        "threshold": scored.threshold,
        "action": "suspended" if score.suspend else "recorded",
        "createdAt": scored.now,
    }
    if event.detail:
        data["detail"] = event.detail
    plan.create(target, data)


def _suspension(scored: _Scored) -> dict[str, Any] | None:
    """The user fields that suspend the account, and why (None when the event does not)."""
    score = scored.score
    if not score.suspend:
        return None
    reason = (
        f"automatic: critical {scored.event.kind} event"
        if score.severity == "critical"
        else f"automatic: abuse score {score.after} reached {scored.threshold} within 24 hours"
    )
    return {
        "status": "suspended",
        "statusReason": reason,
        "statusChangedAt": scored.now,
        "statusChangedBy": "system:abuse",
    }


def _notify(attempt: Attempt, plan: Plan[Any], scored: _Scored, record_id: str | None) -> None:
    """The user's notification for this hour: updated if it exists, else created within the
    hour's budget (one more read of two small documents, only for high events).
    """
    client, now, uid = attempt.client, scored.now, scored.who.uid
    hour = to_millis(now) // 3_600_000
    shard = int(hashlib.sha256(uid.encode()).hexdigest()[:8], 16) % scoring.NOTIFICATION_SHARDS
    note_ref = notifications.ref(client, f"abuse_{uid}_{hour}")
    budget_ref = client.collection(db.RATE_LIMITS).document(f"notify_{hour}_{shard}")
    got = attempt.get([note_ref, budget_ref])
    note, budget = got[note_ref.path], got[budget_ref.path]
    if note.exists:
        _update_note(plan, note, scored, record_id)
        return
    sent = (budget.to_dict() or {}).get("count") if budget.exists else 0
    sent = sent if isinstance(sent, int) and not isinstance(sent, bool) and sent > 0 else 0
    if not scoring.notification_allowed(sent):
        notifications.once(
            client,
            f"abuse_overflow_{hour}",
            notifications.document(
                "abuse",
                "high",
                "more users raised abuse alarms this hour than are notified one by one; see abuse_detection",
                now,
                overflow=True,
            ),
        )
        return
    plan.put(
        budget,
        {
            "count": sent + 1,
            "shard": db.index_shard(budget_ref.id),
            "expiresAt": now + dt.timedelta(hours=2),
            "updatedAt": now,
        },
    )
    severity, suspended = scored.score.severity, scored.score.suspend
    plan.put(
        note,
        notifications.document(
            "abuse",
            severity,
            _message(scored.event, severity, suspended, uid),
            now,
            userId=uid,
            abuseRecordId=record_id,
            eventKind=scored.event.kind,
            category=scored.event.category,
            suspended=suspended,
            events=1,
            lastEventAt=now,
        ),
    )


def _update_note(plan: Plan[Any], note: Snapshot, scored: _Scored, record_id: str | None) -> None:
    """This hour's notification of the user, updated in place: the worst severity, one more event."""
    severity, suspended = scored.score.severity, scored.score.suspend
    stored = note.to_dict() or {}
    before = stored.get("severity")
    worst = scoring.worse(severity, before) if before in scoring.RANK else severity
    events = stored.get("events")
    plan.put(
        note,
        {
            "severity": worst,
            "message": _message(scored.event, severity, suspended, scored.who.uid),
            "events": (events if isinstance(events, int) and not isinstance(events, bool) else 1) + 1,
            "suspended": bool(stored.get("suspended")) or suspended,
            "lastEventAt": scored.now,
            "lastAbuseRecordId": record_id,
            "read": False,
        },
    )


def _message(event: Event, severity: str, suspended: bool, uid: str) -> str:
    flagged = (event.detail or {}).get("action") == "flag"
    what = {
        "moderation": f"prompt {'flagged' if flagged else 'rejected'} ({event.category})",
        "rate_limit": "repeated rate-limit refusals",
        "refund_rate": "refunds past the refund-rate threshold",
    }.get(event.kind, event.kind)
    tail = "; account suspended" if suspended else ""
    return f"{severity} abuse event for user {uid}: {what}{tail}"
