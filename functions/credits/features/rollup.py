"""Usage rollups: the statistics' summaries, written by one scheduled job, never by a charge.

Firestore sustains about one write a second on a document. A charge therefore writes only
documents that belong to its caller; nothing shared across users is written per generation,
in the charge's commit or after it. The figures behind ``getUsageStats`` are instead rolled
up from the permanent records by ``rollupUsageStats`` (every 10 minutes), which writes
shared documents at a rate set by the clock, not by the traffic:

* ``usage_rollups/h{YYYYMMDDHH}``: one closed UTC hour (written once, even when empty);
* ``usage_rollups/d{YYYYMMDD}``: one UTC day, the hours rolled up so far (``until``);
* ``usage_rollups/state``: the cursor (every hour before it is rolled up), where the
  rollups start, and the lease that keeps two runs from working at once;
* ``usage_rollup_users/{uid}``: one user's sliding totals per range, so that "top 10
  users in the last 7 days" is one ordered query with limit 10.

Attribution (what lands in which hour):

* money figures come from the ledger (``credit_logs``: the entries of a generation, which
  carry its ``type``), in the hour of the entry's ``createdAt``: ``creditsUsed`` is minus
  the sum of ``delta`` over the generation reasons (charge, settlement charge, settlement
  refund, failure refund), ``refundedCredits`` and ``refunds`` the sum and count of the
  refund entries. A refund or a settlement therefore counts when it happens, not when its
  generation started;
* credits expired come from the ``expired`` entries of the ledger, in the hour the entry was
  written (its ``expiryRecordedAt``, a field only those entries have): ``expiredCredits``,
  kept beside ``byType`` in the hour and day documents (an expiry has no generation type);
* generation figures come from ``usage_logs`` (one per finished generation, never deleted),
  in the hour of ``completedAt``: ``generations`` (completed + failed),
  ``completedGenerations``, ``failedGenerations``, and, over the completed ones, the final
  charge and the processing time behind the averages.

Both sources are immutable and permanent, so any figure can be recounted, and the rollups
rebuilt from scratch (delete both collections; the next runs start again from the oldest
record within 90 days). ``ai_activity`` is not a source: it is deleted after
``retentionDays``.

Exactly once: an hour is rolled up only when it closed ``GRACE`` ago (a commit's
``createdAt`` is taken just before it commits, so a record of hour H may land a moment after
H ends). A run rolls up spans of closed hours (never across a UTC day); each span ends with
one atomic commit that writes the span's hour documents, adds the span to its day document
and moves the cursor, guarded by the state document's update time. The users' documents are
updated before that commit, each guarded by its own update time and marked with the cursor
it was computed for (``asOf``), so a run that dies half-way is simply run again: users
already brought to the new cursor are skipped, the others are updated, and the span's hour
and day figures, recomputed from the same immutable records, are committed once. (So for
the seconds a run spends on the users' documents, a ranking read meanwhile may mix users
at the old and the new cursor.)
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from credits.store import db, ledger
from credits.store.db import Snapshot
from credits.vocab.clock import Clock
from credits.vocab.pricing import GENERATION_TYPES

ROLLUPS = "usage_rollups"
ROLLUP_USERS = "usage_rollup_users"
STATE_DOC = "state"

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
# How long after an hour ends its records are taken as complete. A commit's timestamps are
# read from the clock just before it commits (milliseconds); five minutes covers a commit
# that hangs until its RPC deadline.
GRACE = dt.timedelta(minutes=5)
# A run holds the lease this long at most (the schedule's timeout is 9 minutes).
LEASE = dt.timedelta(minutes=9)
PAGE = 500

GENERATION_REASONS = (
    ledger.Reason.GENERATION_CHARGE.value,
    ledger.Reason.SETTLEMENT_CHARGE.value,
    ledger.Reason.SETTLEMENT_REFUND.value,
    ledger.Reason.FAILURE_REFUND.value,
)
REFUND_REASONS = (ledger.Reason.SETTLEMENT_REFUND.value, ledger.Reason.FAILURE_REFUND.value)
COMPLETED = "completed"
FAILED = "failed"
# The counters kept per generation type, in every hour and day document.
COUNTERS = (
    "generations",
    "completedGenerations",
    "failedGenerations",
    "creditsUsed",
    "refundedCredits",
    "refunds",
    "completedCredits",  # the final charge of the completed generations (average cost)
    "processingTimeMs",  # the processing time of the completed generations (average time)
)

Counts = dict[str, int]
ByType = dict[str, Counts]


# ------------------------------------------------------------------ time buckets


@dataclass(frozen=True)
class Range:
    """One of ``getUsageStats``' ranges: ``buckets`` buckets of ``step``, the last one the
    current (partial) bucket. The same window, taken at a cursor, is what a user's sliding
    total for the range covers.
    """

    name: str
    interval: Literal["hour", "day"]
    buckets: int

    @property
    def step(self) -> dt.timedelta:
        """The length of one bucket: an hour or a day."""
        return HOUR if self.interval == "hour" else DAY

    def since(self, when: dt.datetime) -> dt.datetime:
        """Start of the first bucket of the range that ends at ``when``."""
        floor = floor_hour(when) if self.interval == "hour" else floor_day(when)
        return floor - (self.buckets - 1) * self.step

    @property
    def field(self) -> str:
        """The ``usage_rollup_users`` field ranked for this range."""
        return f"creditsUsed{self.name}"


RANGES: dict[str, Range] = {
    "24h": Range("24h", "hour", 24),
    "7d": Range("7d", "day", 7),
    "30d": Range("30d", "day", 30),
    "90d": Range("90d", "day", 90),
}
DAY_RANGES = tuple(r for r in RANGES.values() if r.interval == "day")
LONGEST_DAYS = max(r.buckets for r in DAY_RANGES)


def utc(when: dt.datetime) -> dt.datetime:
    """A plain ``datetime`` in UTC. Firestore returns ``DatetimeWithNanoseconds``, whose
    copies made by ``replace`` or ``astimezone`` cannot be written back.
    """
    w = when.astimezone(dt.UTC)
    return dt.datetime(w.year, w.month, w.day, w.hour, w.minute, w.second, w.microsecond, tzinfo=dt.UTC)


def floor_hour(when: dt.datetime) -> dt.datetime:
    """The start of the UTC hour ``when`` falls in."""
    return utc(when).replace(minute=0, second=0, microsecond=0)


def floor_day(when: dt.datetime) -> dt.datetime:
    """The start of the UTC day ``when`` falls in."""
    return utc(when).replace(hour=0, minute=0, second=0, microsecond=0)


def hour_key(when: dt.datetime) -> str:
    """``YYYYMMDDHH`` of the UTC hour."""
    return utc(when).strftime("%Y%m%d%H")


def day_key(when: dt.datetime) -> str:
    """``YYYYMMDD`` of the UTC day."""
    return utc(when).strftime("%Y%m%d")


def hour_doc_id(when: dt.datetime) -> str:
    """The id of an hour's rollup document."""
    return "h" + hour_key(when)


def day_doc_id(when: dt.datetime) -> str:
    """The id of a day's rollup document."""
    return "d" + day_key(when)


def hours_between(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The starts of the hours in ``[start, end)``."""
    out = []
    at = start
    while at < end:
        out.append(at)
        at += HOUR
    return out


# ------------------------------------------------------------------ figures


def empty_counts() -> Counts:
    """Every counter at zero."""
    return dict.fromkeys(COUNTERS, 0)


def empty_by_type() -> ByType:
    """Every counter at zero for every generation type."""
    return {t: empty_counts() for t in GENERATION_TYPES}


def add_by_type(into: ByType, other: ByType) -> ByType:
    """Add ``other``'s counters into ``into`` (returned)."""
    for kind, counts in other.items():
        target = into.setdefault(kind, empty_counts())
        for name in COUNTERS:
            target[name] += counts.get(name, 0)
    return into


def total_of(by_type: ByType) -> Counts:
    """The counters summed over the generation types."""
    total = empty_counts()
    for counts in by_type.values():
        for name in COUNTERS:
            total[name] += counts.get(name, 0)
    return total


def as_int(value: Any) -> int:
    """An integer field, or 0 for anything else (booleans included)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def by_type_from_doc(value: Any) -> ByType:
    """A stored ``byType`` map, defensively (a hand-edited document cannot break a read)."""
    out = empty_by_type()
    if not isinstance(value, dict):
        return out
    for kind, target in out.items():
        counts = value.get(kind)
        if isinstance(counts, dict):
            for name in COUNTERS:
                target[name] += as_int(counts.get(name))
    return out


def entry_type(record: dict[str, Any]) -> str | None:
    """The generation type of a ledger entry or usage log; None for anything else (the
    queries select these types; a hand-edited record with another one is not counted).
    """
    kind = record.get("type")
    return kind if kind in GENERATION_TYPES else None


def add_ledger_entry(by_type: ByType, entry: dict[str, Any]) -> int:
    """Count one ledger entry; returns the credits it used (0 for other reasons)."""
    reason, kind = entry.get("reason"), entry_type(entry)
    if reason not in GENERATION_REASONS or kind is None:
        return 0
    delta = as_int(entry.get("delta"))
    counts = by_type.setdefault(kind, empty_counts())
    counts["creditsUsed"] -= delta
    if reason in REFUND_REASONS:
        counts["refundedCredits"] += delta
        counts["refunds"] += 1
    return -delta


def add_usage_log(by_type: ByType, usage: dict[str, Any]) -> bool:
    """Count one finished generation; returns whether it counts as one."""
    status, kind = usage.get("status"), entry_type(usage)
    if status not in (COMPLETED, FAILED) or kind is None:
        return False
    counts = by_type.setdefault(kind, empty_counts())
    counts["generations"] += 1
    if status == COMPLETED:
        counts["completedGenerations"] += 1
        counts["completedCredits"] += as_int(usage.get("creditsCharged"))
        counts["processingTimeMs"] += as_int(usage.get("processingTimeMs"))
    else:
        counts["failedGenerations"] += 1
    return True


# ------------------------------------------------------------------ per-user sliding totals


def user_totals(doc: dict[str, Any] | None, span: dict[str, tuple[int, int]], cursor: dt.datetime) -> dict[str, Any]:
    """A user's rollup document brought to ``cursor``: ``span`` (hour key -> (credits used,
    generations)) added, keys that left every window dropped, every range's totals
    recomputed. Pure, so that a test can check it against a recount.
    """
    doc = doc or {}
    hours = {k: dict(v) for k, v in (doc.get("hours") or {}).items() if isinstance(v, dict)}
    days = {k: dict(v) for k, v in (doc.get("days") or {}).items() if isinstance(v, dict)}
    for key, (credits, generations) in span.items():
        hours[key] = {"c": credits, "g": generations}
        day = days.setdefault(key[:8], {"c": 0, "g": 0})
        day["c"] = as_int(day.get("c")) + credits
        day["g"] = as_int(day.get("g")) + generations
    first_hour = hour_key(RANGES["24h"].since(cursor))
    hours = {k: v for k, v in hours.items() if k >= first_hour}
    oldest_day = day_key(RANGES["90d"].since(cursor))
    days = {k: v for k, v in days.items() if k >= oldest_day}
    out: dict[str, Any] = {
        "hours": hours,
        "days": days,
        "activeHours": sorted(hours),
        "activeDays": sorted(days),
        "asOf": cursor,
    }
    for r in RANGES.values():
        since = r.since(cursor)
        if r.interval == "hour":
            window = [v for k, v in hours.items() if k >= hour_key(since)]
        else:
            window = [v for k, v in days.items() if k >= day_key(since)]
        out[r.field] = sum(as_int(v.get("c")) for v in window)
        out[f"generations{r.name}"] = sum(as_int(v.get("g")) for v in window)
    return out


def window_at(r: Range, cursor: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """What a user's total for ``r`` covers once the rollups reach ``cursor``: the closed part
    of the range read while the current hour is the one starting at ``cursor``.
    """
    return r.since(cursor), cursor


# ------------------------------------------------------------------ the job


class RollupInconsistent(Exception):
    """The state and a day document disagree (a hand edit, or a partial restore). Delete
    ``usage_rollups`` and ``usage_rollup_users`` to rebuild them from the records.
    """


class RollupLeaseLost(Exception):
    """Another run moved the state on while this one worked; this run stops."""


@dataclass
class RollupReport:
    """What one run did: for the schedule's log, the tests and the benchmark."""

    hours: int = 0
    spans: int = 0
    users_updated: int = 0
    reads: int = 0
    writes: int = 0
    cursor: dt.datetime | None = None
    skipped: Literal["up to date", "leased"] | None = None  # the run wrote nothing
    more: bool = False  # stopped at its budget with closed hours left
    per_span: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as logged."""
        return {
            "hours": self.hours,
            "spans": self.spans,
            "usersUpdated": self.users_updated,
            "reads": self.reads,
            "writes": self.writes,
            "cursor": self.cursor.isoformat() if self.cursor else None,
            "skipped": self.skipped,
            "more": self.more,
        }


def state_ref(client: firestore.Client) -> Any:
    """The rollups' state document (cursor, start, lease)."""
    return client.collection(ROLLUPS).document(STATE_DOC)


def rollup_usage(
    client: firestore.Client,
    clock: Clock,
    *,
    max_hours: int = 24 * 95,
    budget_seconds: float = 420.0,
    user_batch: int = 200,
) -> RollupReport:
    """Roll up every hour that closed ``GRACE`` ago and is not rolled up yet.

    Writes nothing when there is nothing to do (so a second run at the same time is a
    no-op) or when another run holds the lease. ``max_hours`` and ``budget_seconds`` bound
    one run; a backlog (a first run over old records, a stopped schedule) is finished by
    the next runs.
    """
    report = RollupReport()
    now = clock.now()
    limit = floor_hour(now - GRACE)
    ref = state_ref(client)
    snap = ref.get()
    report.reads += 1
    cursor = _cursor(client, snap, now, limit, report)
    if cursor is None:
        return report
    version = _take_lease(client, snap, cursor, now, report)
    if version is None:
        return report
    run = _Run(client, now, report, user_batch)
    started = time.monotonic()
    try:
        while cursor < limit:
            if report.hours >= max_hours or time.monotonic() - started > budget_seconds:
                report.more = True
                break
            end = min(limit, floor_day(cursor) + DAY, cursor + (max_hours - report.hours) * HOUR)
            version = _roll_span(run, _Span(cursor, end), version)
            report.hours += len(hours_between(cursor, end))
            report.spans += 1
            cursor = end
            report.cursor = cursor
    finally:
        # Give the lease back (best effort: a run that died keeps it until it expires).
        try:
            ref.update({"leaseUntil": None, "leaseOwner": None}, option=client.write_option(last_update_time=version))
            report.writes += 1
        except (gexc.FailedPrecondition, gexc.NotFound, gexc.Aborted):
            pass
    return report


def _cursor(
    client: firestore.Client, snap: Any, now: dt.datetime, limit: dt.datetime, report: RollupReport
) -> dt.datetime | None:
    """Where this run starts (the state's cursor, or a first run's start); None, with the
    reason in ``report.skipped``, when it is up to date or another run holds the lease.
    """
    state = snap.to_dict() if snap.exists else None
    if state is None:
        report.cursor = _initial_start(client, limit, report)
        return report.cursor
    cursor = state.get("cursor")
    if not isinstance(cursor, dt.datetime):
        raise RollupInconsistent("usage_rollups/state has no cursor")
    cursor = utc(cursor)
    report.cursor = cursor
    if cursor >= limit:
        report.skipped = "up to date"
        return None
    lease = state.get("leaseUntil")
    if isinstance(lease, dt.datetime) and lease > now:
        report.skipped = "leased"
        return None
    return cursor


def _take_lease(client: firestore.Client, snap: Any, cursor: dt.datetime, now: dt.datetime, report: RollupReport) -> Any:
    """Take the lease on the state document (creating it on a first run); returns its update
    time, or None (``report.skipped`` says so) when another run took it first.
    """
    ref = state_ref(client)
    owner = uuid.uuid4().hex
    lease_fields = {"leaseUntil": now + LEASE, "leaseOwner": owner, "updatedAt": now}
    try:
        if snap.exists:
            written = ref.update(lease_fields, option=client.write_option(last_update_time=snap.update_time))
        else:
            written = ref.create({"start": cursor, "cursor": cursor, "createdAt": now, **lease_fields})
    except (gexc.FailedPrecondition, gexc.Conflict, gexc.AlreadyExists, gexc.NotFound):
        report.skipped = "leased"
        return None
    report.writes += 1
    return written.update_time


@dataclass(frozen=True)
class _Run:
    """One run of the job: the client, its clock reading, its report (counted as it goes) and
    how many users one batch brings up to date.
    """

    client: firestore.Client
    now: dt.datetime
    report: RollupReport
    user_batch: int


@dataclass(frozen=True)
class _Span:
    """The closed hours ``[start, end)`` one step rolls up (one UTC day at most)."""

    start: dt.datetime
    end: dt.datetime

    @property
    def hours(self) -> list[dt.datetime]:
        """The span's hours, in order."""
        return hours_between(self.start, self.end)


@dataclass
class _Totals:
    """What one span's records add up to: per hour and type, credits expired per hour, and per
    user and hour ``[credits used, generations]``.
    """

    by_hour: dict[str, ByType]
    expired_by_hour: dict[str, int]
    per_user: dict[str, dict[str, list[int]]]


def generation_records(client: firestore.Client, collection: str) -> Any:
    """The ledger entries or usage logs of generations: the ones with a generation ``type``.

    Every query of the statistics on these collections starts with this equality, so that it
    runs on a composite index prefixed by ``type`` (see ``firestore.indexes.json``). Firestore
    sustains about 500 writes a second into one range of an index on a timestamp that only
    grows; the prefix splits that range in four, and the single-field indexes on
    ``createdAt``/``completedAt`` can be exempted (docs/capacity.md).
    """
    return client.collection(collection).where(filter=FieldFilter("type", "in", list(GENERATION_TYPES)))


def _initial_start(client: firestore.Client, limit: dt.datetime, report: RollupReport) -> dt.datetime:
    """Where a first run starts: the UTC day of the oldest record, but no earlier than the
    longest range can reach (so a day document always covers its day from midnight).
    """
    earliest: dt.datetime | None = None
    for base, time_field in (
        (generation_records(client, db.CREDIT_LOGS), "createdAt"),
        (generation_records(client, db.USAGE_LOGS), "completedAt"),
        (expiry_records(client), ledger.EXPIRY_RECORDED_AT),
    ):
        docs = list(base.order_by(time_field).limit(1).stream())
        report.reads += max(1, len(docs))
        value = docs[0].get(time_field) if docs else None
        if isinstance(value, dt.datetime) and (earliest is None or value < earliest):
            earliest = utc(value)
    oldest = RANGES["90d"].since(limit)
    if earliest is None:
        return floor_day(limit)
    return max(floor_day(earliest), oldest)


def expiry_records(client: firestore.Client) -> Any:
    """The ledger's ``expired`` entries: the ones with ``expiryRecordedAt`` (whose single-field
    index holds these entries alone).
    """
    return client.collection(db.CREDIT_LOGS)


def expired_credits(entry: dict[str, Any]) -> int:
    """The credits one ``expired`` entry took (a positive number; 0 for anything else)."""
    if entry.get("reason") != ledger.Reason.EXPIRED.value:
        return 0
    return max(0, -as_int(entry.get("delta")))


def _stream(
    run: _Run, collection: str, time_field: str, span: _Span, fields: list[str], base: Any = None
) -> Iterator[dict[str, Any]]:
    """Every document of ``collection`` with ``start <= time_field < end``, in pages."""
    query = (
        (base if base is not None else generation_records(run.client, collection))
        .where(filter=FieldFilter(time_field, ">=", span.start))
        .where(filter=FieldFilter(time_field, "<", span.end))
        .order_by(time_field)
        .select(fields)
    )
    last = None
    while True:
        page = query.start_after(last) if last is not None else query
        snaps = list(page.limit(PAGE).stream())
        run.report.reads += max(1, len(snaps))
        for snap in snaps:
            data = snap.to_dict() or {}
            data["_id"] = snap.id
            yield data
        if len(snaps) < PAGE:
            return
        last = snaps[-1]


def _roll_span(run: _Run, span: _Span, version: Any) -> Any:
    """Roll up the closed hours of ``span``; returns the state document's new update time."""
    report = run.report
    reads_before, writes_before = report.reads, report.writes
    totals = _add_up(run, span)
    known = _leaving_users(run, span)
    affected = sorted(set(totals.per_user) | set(known))
    for i in range(0, len(affected), run.user_batch):
        chunk = affected[i : i + run.user_batch]
        spans = {uid: {k: (v[0], v[1]) for k, v in totals.per_user.get(uid, {}).items()} for uid in chunk}
        _update_users(run, chunk, spans, known, span.end)

    version = _commit_span(run, span, totals, version)
    report.per_span.append(
        {
            "start": span.start,
            "end": span.end,
            "reads": report.reads - reads_before,
            "writes": report.writes - writes_before,
            "users": len(affected),
        }
    )
    return version


def _add_up(run: _Run, span: _Span) -> _Totals:
    """Read the span's ledger entries, expired entries and usage logs, and add them up."""
    hours = span.hours
    totals = _Totals(
        by_hour={hour_key(h): empty_by_type() for h in hours},
        expired_by_hour={hour_key(h): 0 for h in hours},
        per_user=defaultdict(lambda: defaultdict(lambda: [0, 0])),
    )
    for entry in _stream(run, db.CREDIT_LOGS, "createdAt", span, ["userId", "delta", "reason", "type", "createdAt"]):
        if entry.get("reason") not in GENERATION_REASONS or not isinstance(entry.get("createdAt"), dt.datetime):
            continue
        key = hour_key(entry["createdAt"])
        used = add_ledger_entry(totals.by_hour[key], entry)
        uid = entry.get("userId")
        if isinstance(uid, str) and uid:
            totals.per_user[uid][key][0] += used
    recorded_at = ledger.EXPIRY_RECORDED_AT
    expired_fields = ["delta", "reason", recorded_at]
    for entry in _stream(run, db.CREDIT_LOGS, recorded_at, span, expired_fields, expiry_records(run.client)):
        if isinstance(entry.get(recorded_at), dt.datetime):
            totals.expired_by_hour[hour_key(entry[recorded_at])] += expired_credits(entry)
    usage_fields = ["userId", "type", "status", "creditsCharged", "processingTimeMs", "completedAt"]
    for usage in _stream(run, db.USAGE_LOGS, "completedAt", span, usage_fields):
        if not isinstance(usage.get("completedAt"), dt.datetime):
            continue
        key = hour_key(usage["completedAt"])
        counted = add_usage_log(totals.by_hour[key], usage)
        uid = usage.get("userId")
        if counted and isinstance(uid, str) and uid:
            totals.per_user[uid][key][1] += 1
    return totals


def _leaving_users(run: _Run, span: _Span) -> dict[str, Snapshot]:
    """The users' documents whose windows lose an hour (24h) or a day (the day ranges, at
    midnight) at the end of ``span``, as read.
    """
    end = span.end
    known: dict[str, Snapshot] = {}
    leaving_hours = [hour_key(h - 23 * HOUR) for h in span.hours]
    leaving_days = [day_key(end - r.buckets * DAY) for r in DAY_RANGES] if end == floor_day(end) else []
    users = run.client.collection(ROLLUP_USERS)
    for name, keys in (("activeHours", leaving_hours), ("activeDays", leaving_days)):
        if not keys:
            continue
        snaps = list(users.where(filter=FieldFilter(name, "array_contains_any", keys)).stream())
        run.report.reads += max(1, len(snaps))
        for snap in snaps:
            known[snap.id] = snap
    return known


def _update_users(
    run: _Run,
    chunk: list[str],
    spans: dict[str, dict[str, tuple[int, int]]],
    known: dict[str, Snapshot],
    cursor: dt.datetime,
) -> None:
    """Bring each user's document of ``chunk`` to ``cursor``, in one guarded batch."""
    client, report = run.client, run.report
    users = client.collection(ROLLUP_USERS)
    snaps = {uid: known[uid] for uid in chunk if uid in known}
    for _attempt in range(8):
        missing = [users.document(uid) for uid in chunk if uid not in snaps]
        if missing:
            for snap in client.get_all(missing):
                snaps[snap.id] = snap
            report.reads += len(missing)
        batch = client.batch()
        count = 0
        for uid in chunk:
            snap = snaps[uid]
            doc = snap.to_dict() if snap.exists else None
            as_of = (doc or {}).get("asOf")
            if isinstance(as_of, dt.datetime) and utc(as_of) >= cursor:
                continue  # brought to this cursor by an earlier, interrupted run
            data = user_totals(doc, spans.get(uid, {}), cursor)
            data.update({"userId": uid, "updatedAt": run.now})
            if snap.exists:
                batch.update(snap.reference, data, option=client.write_option(last_update_time=snap.update_time))
            else:
                batch.create(snap.reference, data)
            count += 1
        if not count:
            return
        try:
            commit_batch(batch)
        except (gexc.FailedPrecondition, gexc.Conflict, gexc.AlreadyExists, gexc.NotFound, gexc.Aborted):
            snaps = {}  # someone else wrote one of them: read again, skip what is done
            continue
        report.users_updated += count
        report.writes += count
        return
    raise RollupLeaseLost("user rollup documents keep changing under this run")


def commit_batch(batch: Any) -> list[Any]:
    """Commit one batch of the job (a seam the interruption tests break on purpose)."""
    return list(batch.commit())


def _commit_span(run: _Run, span: _Span, totals: _Totals, version: Any) -> Any:
    """The span's hour documents, its day document and the cursor, in one atomic commit."""
    client, now = run.client, run.now
    start, end, hours = span.start, span.end, span.hours
    rollups = client.collection(ROLLUPS)
    batch = client.batch()
    _add_to_day(run, batch, span, totals)
    by_hour, expired_by_hour = totals.by_hour, totals.expired_by_hour
    for h in hours:
        batch.set(
            rollups.document(hour_doc_id(h)),
            {
                "kind": "hour",
                "start": h,
                "until": h + HOUR,
                "byType": by_hour[hour_key(h)],
                "expiredCredits": expired_by_hour[hour_key(h)],
                "rolledAt": now,
            },
        )
    batch.update(
        state_ref(client),
        {"cursor": end, "updatedAt": now},
        option=client.write_option(last_update_time=version),
    )
    try:
        results = commit_batch(batch)
    except (gexc.FailedPrecondition, gexc.Conflict, gexc.NotFound, gexc.Aborted) as exc:
        raise RollupLeaseLost(f"the state moved while rolling up {start.isoformat()}..{end.isoformat()}") from exc
    run.report.writes += len(hours) + 2
    return results[-1].update_time  # the state's: the last write of the batch


def _add_to_day(run: _Run, batch: Any, span: _Span, totals: _Totals) -> None:
    """Add the span to its day document in ``batch``: a day's first span sets it, a later one
    adds to it, guarded by the time it was read at and by its ``until`` (the cursor).
    """
    client, now, start, end = run.client, run.now, span.start, span.end
    day = floor_day(start)
    day_ref = client.collection(ROLLUPS).document(day_doc_id(day))
    span_total: ByType = empty_by_type()
    for by_type in totals.by_hour.values():
        add_by_type(span_total, by_type)
    span_expired = sum(totals.expired_by_hour.values())
    if start == day:
        batch.set(
            day_ref,
            {"kind": "day", "start": day, "until": end, "byType": span_total, "expiredCredits": span_expired, "updatedAt": now},
        )
        return
    day_snap = day_ref.get()
    run.report.reads += 1
    until = (day_snap.to_dict() or {}).get("until") if day_snap.exists else None
    if not isinstance(until, dt.datetime) or utc(until) != start:
        raise RollupInconsistent(f"{day_ref.path} covers until {until}, the cursor is {start.isoformat()}")
    stored = day_snap.to_dict() or {}
    merged = add_by_type(by_type_from_doc(stored.get("byType")), span_total)
    expired = as_int(stored.get("expiredCredits")) + span_expired
    batch.update(
        day_ref,
        {"until": end, "byType": merged, "expiredCredits": expired, "updatedAt": now},
        option=client.write_option(last_update_time=day_snap.update_time),
    )
