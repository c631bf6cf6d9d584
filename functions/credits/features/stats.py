"""``getUsageStats``: the dashboard's figures for a range, at a bounded, reported cost.

A range (``24h``, ``7d``, ``30d``, ``90d``) is ``n`` buckets (hours for ``24h``, UTC days
otherwise), the last one the current bucket up to now: ``since`` is the start of the first
bucket, ``until`` is now, and a record counts when ``since <= its time <= now`` (the
attribution rule is in ``rollup``). Each bucket is read from its rollup document where the
scheduled job has rolled it up, and the rest (the still-open period since the job's cursor:
the current hour, and the last closed one until the job reaches it) from aggregation
queries over the ledger and the usage logs. Rollup documents say what they cover
(``until``), so a bucket read while the job commits is never counted twice or missed.

Cost, whatever the traffic: 1 read for the state, at most ``n`` rollup documents, 4
aggregation queries per generation type and one for the credits expired (``expiredCredits``
in ``totals``' place beside it and in each point of the series) for each open piece of a
bucket (normally 1 or 2 pieces), 2 counts for ``activeNow``, and at most 10 + 10 documents for the top users.
Firestore bills an aggregation query one read per batch of up to 1,000 index entries it
matches (at least one), so the open period adds about one read per 1,000 records written
since the cursor; every aggregation here also counts what it matched, so the reported
``documentsRead`` follows that rule exactly.

Top users come from the users' sliding totals (``usage_rollup_users``), which cover the
range's closed, rolled-up part: ``topUsersWindow`` says which (ranking the open period
exactly would mean reading every user active in it).
"""

from __future__ import annotations

import datetime as dt
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.aggregation import AggregationQuery
from google.cloud.firestore_v1.base_aggregation import CountAggregation, SumAggregation
from google.cloud.firestore_v1.base_query import FieldFilter

from credits.features import rollup
from credits.features.rollup import RANGES, ByType, Counts, Range
from credits.store import db, ledger
from credits.vocab.activity import ACTIVE
from credits.vocab.pricing import GENERATION_TYPES

TOP_USERS = 10
AGGREGATION_BATCH = 1000  # index entries per billed read
_PARALLEL = 8
_EPSILON = dt.timedelta(microseconds=1)  # Firestore timestamps have microsecond precision


@dataclass
class Cost:
    """What one call read, in Firestore's billing units."""

    documents: int = 0
    aggregation_queries: int = 0
    aggregation_reads: int = 0
    index_entries: int = 0

    def aggregation(self, matched: int) -> None:
        """Count one aggregation query that matched ``matched`` index entries."""
        self.aggregation_queries += 1
        self.index_entries += matched
        self.aggregation_reads += max(1, math.ceil(matched / AGGREGATION_BATCH))

    @property
    def total(self) -> int:
        """The billed reads: documents plus aggregation reads."""
        return self.documents + self.aggregation_reads

    def as_dict(self) -> dict[str, int]:
        """The cost as the response reports it."""
        return {
            "documents": self.documents,
            "aggregationQueries": self.aggregation_queries,
            "aggregationReads": self.aggregation_reads,
            "indexEntriesMatched": self.index_entries,
        }


def _ratio(numerator: int, denominator: int, places: str) -> float | None:
    if denominator == 0:
        return None
    return float((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places), rounding=ROUND_HALF_UP))


def summary(counts: Counts) -> dict[str, Any]:
    """The published figures of one set of counters (see ``rollup`` for what each counts)."""
    completed = counts["completedGenerations"]
    return {
        "generations": counts["generations"],
        "completedGenerations": completed,
        "failedGenerations": counts["failedGenerations"],
        "successRate": _ratio(completed, counts["generations"], "0.0001"),
        "creditsUsed": counts["creditsUsed"],
        "refundedCredits": counts["refundedCredits"],
        "refunds": counts["refunds"],
        "averageCostPerGeneration": _ratio(counts["completedCredits"], completed, "0.0001"),
        "averageProcessingTimeMs": _ratio(counts["processingTimeMs"], completed, "1"),
    }


def _iso(when: dt.datetime) -> str:
    return rollup.utc(when).isoformat()


# ------------------------------------------------------------------ aggregation queries


def _aggregate(query: Any, *sums: tuple[str, str]) -> AggregationQuery:
    """A count (alias ``n``: every query counts what it matched, for the billing rule) and
    sums of ``(field, alias)`` over ``query``.
    """
    aggregation = AggregationQuery(query)
    aggregation.add_aggregations([CountAggregation(alias="n"), *(SumAggregation(f, alias=a) for f, a in sums)])
    return aggregation


def _values(aggregation: Any) -> dict[str, int]:
    """Run one aggregation query; its results by alias (sums of no document are 0)."""
    (results,) = aggregation.get()
    out = {}
    for result in results:
        value = result.value
        out[result.alias] = int(value) if isinstance(value, (int, float)) else 0
    return out


def _piece_tasks(client: firestore.Client, lo: dt.datetime, hi: dt.datetime) -> list[tuple[str, str, Any]]:
    """The aggregation queries behind one open piece ``[lo, hi)``: 4 per generation type."""
    logs = client.collection(db.CREDIT_LOGS)
    usage = client.collection(db.USAGE_LOGS)
    tasks: list[tuple[str, str, Any]] = []
    for kind in GENERATION_TYPES:
        ledger = (
            logs.where(filter=FieldFilter("type", "==", kind))
            .where(filter=FieldFilter("createdAt", ">=", lo))
            .where(filter=FieldFilter("createdAt", "<", hi))
        )
        used = ledger.where(filter=FieldFilter("reason", "in", list(rollup.GENERATION_REASONS)))
        refunds = ledger.where(filter=FieldFilter("reason", "in", list(rollup.REFUND_REASONS)))
        finished = (
            usage.where(filter=FieldFilter("type", "==", kind))
            .where(filter=FieldFilter("completedAt", ">=", lo))
            .where(filter=FieldFilter("completedAt", "<", hi))
        )
        completed = finished.where(filter=FieldFilter("status", "==", rollup.COMPLETED))
        failed = finished.where(filter=FieldFilter("status", "==", rollup.FAILED))
        tasks += [
            (kind, "used", _aggregate(used, ("delta", "delta"))),
            (kind, "refunds", _aggregate(refunds, ("delta", "delta"))),
            (kind, "completed", _aggregate(completed, ("creditsCharged", "credits"), ("processingTimeMs", "ms"))),
            (kind, "failed", _aggregate(failed)),
        ]
    return tasks


def _add_piece_result(by_type: ByType, kind: str, what: str, values: dict[str, int]) -> None:
    counts = by_type.setdefault(kind, rollup.empty_counts())
    if what == "used":
        counts["creditsUsed"] -= values.get("delta", 0)
    elif what == "refunds":
        counts["refunds"] += values.get("n", 0)
        counts["refundedCredits"] += values.get("delta", 0)
    elif what == "completed":
        counts["completedGenerations"] += values.get("n", 0)
        counts["generations"] += values.get("n", 0)
        counts["completedCredits"] += values.get("credits", 0)
        counts["processingTimeMs"] += values.get("ms", 0)
    else:
        counts["failedGenerations"] += values.get("n", 0)
        counts["generations"] += values.get("n", 0)


def _records_query(client: firestore.Client, collection: str, time_field: str, lo: dt.datetime, hi: dt.datetime) -> Any:
    """The records of ``[lo, hi)`` (counted on a single-field index, to skip empty pieces)."""
    return (
        rollup.generation_records(client, collection)
        .where(filter=FieldFilter(time_field, ">=", lo))
        .where(filter=FieldFilter(time_field, "<", hi))
    )


def _non_empty(
    client: firestore.Client, pieces: list[tuple[int, dt.datetime, dt.datetime]], run: Any
) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """The pieces in which the ledger or the usage logs hold any record."""

    def probes(lo: dt.datetime, hi: dt.datetime) -> list[Any]:
        return [
            _aggregate(_records_query(client, db.CREDIT_LOGS, "createdAt", lo, hi)),
            _aggregate(_records_query(client, db.USAGE_LOGS, "completedAt", lo, hi)),
            _aggregate(_expiry_query(client, lo, hi)),
        ]

    lo, hi = min(p[1] for p in pieces), max(p[2] for p in pieces)
    if not any(v.get("n", 0) for v in run(probes(lo, hi))):
        return []
    counts = run([q for _, lo, hi in pieces for q in probes(lo, hi)])
    return [p for k, p in enumerate(pieces) if any(counts[3 * k + j].get("n", 0) for j in range(3))]


def _expiry_query(client: firestore.Client, lo: dt.datetime, hi: dt.datetime) -> Any:
    """The ``expired`` ledger entries written in ``[lo, hi)`` (see ``rollup.expiry_records``)."""
    recorded_at = ledger.EXPIRY_RECORDED_AT
    return (
        rollup.expiry_records(client)
        .where(filter=FieldFilter(recorded_at, ">=", lo))
        .where(filter=FieldFilter(recorded_at, "<", hi))
    )


# ------------------------------------------------------------------ the figures


def usage_stats(client: firestore.Client, now: dt.datetime, range_name: str = "24h") -> tuple[dict[str, Any], Cost]:
    """The figures of ``range_name`` at ``now`` and what reading them cost."""
    r: Range = RANGES[range_name]
    now = rollup.utc(now)
    cost = Cost()
    since = r.since(now)
    starts = [since + i * r.step for i in range(r.buckets)]
    upper = now + _EPSILON  # the range includes records stamped exactly ``now``

    cursor, first = _rollup_state(client, cost)
    docs = _rollup_docs(client, r, starts, cursor, first, cost)
    points, expired, pieces = _from_rollups(r, starts, docs, first, upper)
    active = _count_open(client, pieces, points, expired, cost)

    by_type_total = rollup.empty_by_type()
    for by_type in points:
        rollup.add_by_type(by_type_total, by_type)

    top, window = _top_users(client, r, cursor, cost)
    return {
        "range": r.name,
        "interval": r.interval,
        "since": _iso(since),
        "until": _iso(now),
        "totals": summary(rollup.total_of(by_type_total)),
        "expiredCredits": sum(expired),
        "byType": {kind: summary(by_type_total[kind]) for kind in GENERATION_TYPES},
        "series": [
            {"start": _iso(start), **summary(rollup.total_of(p)), "expiredCredits": e}
            for start, p, e in zip(starts, points, expired, strict=True)
        ],
        "topUsers": top,
        "topUsersWindow": window,
        "activeNow": sum(active.values()),
        "activeByStatus": active,
        "rolledUpUntil": _iso(cursor) if cursor else None,
        "documentsRead": cost.total,
        "readCost": cost.as_dict(),
    }, cost


def _rollup_state(client: firestore.Client, cost: Cost) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The rollups' cursor and start (None before the job's first run)."""
    state_snap = rollup.state_ref(client).get()
    cost.documents += 1
    state = (state_snap.to_dict() or {}) if state_snap.exists else {}
    cursor = rollup.utc(state["cursor"]) if isinstance(state.get("cursor"), dt.datetime) else None
    first = rollup.utc(state["start"]) if isinstance(state.get("start"), dt.datetime) else None
    return cursor, first


def _rollup_docs(
    client: firestore.Client,
    r: Range,
    starts: list[dt.datetime],
    cursor: dt.datetime | None,
    first: dt.datetime | None,
    cost: Cost,
) -> dict[str, dict[str, Any]]:
    """The rollup documents of the buckets the job has (partly) rolled up, by id."""
    doc_id = rollup.hour_doc_id if r.interval == "hour" else rollup.day_doc_id
    wanted = [b for b in starts if cursor is not None and first is not None and b < cursor and b + r.step > first]
    rollups = client.collection(rollup.ROLLUPS)
    refs = [rollups.document(doc_id(b)) for b in wanted]
    docs: dict[str, dict[str, Any]] = {}
    if refs:
        for snap in client.get_all(refs):
            if snap.exists:
                docs[snap.id] = snap.to_dict() or {}
        cost.documents += len(refs)
    return docs


_Piece = tuple[int, dt.datetime, dt.datetime]
"""A part of a bucket the rollups do not cover: the bucket's index and ``[lo, hi)``."""


def _from_rollups(
    r: Range, starts: list[dt.datetime], docs: dict[str, dict[str, Any]], first: dt.datetime | None, upper: dt.datetime
) -> tuple[list[ByType], list[int], list[_Piece]]:
    """Each bucket's figures as rolled up, the credits expired in it, and the pieces (up to
    ``upper``) left to count from the records.
    """
    doc_id = rollup.hour_doc_id if r.interval == "hour" else rollup.day_doc_id
    points: list[ByType] = []
    expired: list[int] = []
    pieces: list[_Piece] = []
    for i, start in enumerate(starts):
        end = start + r.step
        covered = start
        by_type = rollup.empty_by_type()
        lapsed = 0
        doc = docs.get(doc_id(start))
        if first is not None and end <= first:
            covered = end  # before the oldest record the job found: nothing to count
        elif doc is not None and isinstance(doc.get("until"), dt.datetime):
            by_type = rollup.by_type_from_doc(doc.get("byType"))
            lapsed = rollup.as_int(doc.get("expiredCredits"))
            covered = min(max(rollup.utc(doc["until"]), start), end)
        points.append(by_type)
        expired.append(lapsed)
        if covered < min(end, upper):
            pieces.append((i, covered, min(end, upper)))
    return points, expired, pieces


def _count_open(
    client: firestore.Client, pieces: list[_Piece], points: list[ByType], expired: list[int], cost: Cost
) -> dict[str, int]:
    """Count the pieces from the records into ``points`` and ``expired`` (in parallel), and the
    activities open now, by status.
    """
    activity = client.collection(db.AI_ACTIVITY)
    active_queries = [_aggregate(activity.where(filter=FieldFilter("status", "==", status))) for status in ACTIVE]
    with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:

        def run(queries: list[Any]) -> list[dict[str, int]]:
            results = list(pool.map(_values, queries))
            for values in results:
                cost.aggregation(values.get("n", 0))
            return results

        if len(pieces) > 2:
            # More open buckets than the job ever leaves (it has not run yet, or stopped):
            # skip the empty ones with two counts each instead of sixteen queries.
            pieces = _non_empty(client, pieces, run)
        tasks = [(i, kind, what, query) for i, lo, hi in pieces for kind, what, query in _piece_tasks(client, lo, hi)]
        tasks += [(i, "", "expired", _aggregate(_expiry_query(client, lo, hi), ("delta", "delta"))) for i, lo, hi in pieces]
        for (i, kind, what, _query), values in zip(tasks, run([t[3] for t in tasks])):
            if what == "expired":
                expired[i] += max(0, -values.get("delta", 0))
            else:
                _add_piece_result(points[i], kind, what, values)
        return {status: values.get("n", 0) for status, values in zip(ACTIVE, run(active_queries))}


def _top_users(
    client: firestore.Client, r: Range, cursor: dt.datetime | None, cost: Cost
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """The ``TOP_USERS`` users with the most credits used in the range's rolled-up part."""
    if cursor is None:
        return [], None
    query = client.collection(rollup.ROLLUP_USERS).order_by(r.field, direction=firestore.Query.DESCENDING).limit(TOP_USERS)
    snaps = list(query.stream())
    cost.documents += max(1, len(snaps))  # a query that matches nothing is billed one read
    rows = []
    for snap in snaps:
        data = snap.to_dict() or {}
        credits = rollup.as_int(data.get(r.field))
        if credits > 0:
            rows.append((snap.id, credits, rollup.as_int(data.get(f"generations{r.name}"))))
    profiles: dict[str, dict[str, Any]] = {}
    if rows:
        refs = [client.collection(db.USERS).document(uid) for uid, _, _ in rows]
        for snap in client.get_all(refs):
            profiles[snap.id] = (snap.to_dict() or {}) if snap.exists else {}
        cost.documents += len(refs)
    top = [
        {
            "userId": uid,
            "email": profiles.get(uid, {}).get("email"),
            "displayName": profiles.get(uid, {}).get("displayName"),
            "creditsUsed": credits,
            "generations": generations,
        }
        for uid, credits, generations in rows
    ]
    since, until = rollup.window_at(r, cursor)
    return top, {"since": _iso(since), "until": _iso(until)}
