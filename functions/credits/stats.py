"""Usage statistics that stay cheap at any scale: sharded counters in hourly buckets.

Firestore sustains about one write a second on a single document, so no document is
written by every generation. Each commit that changes usage increments one randomly chosen
shard of two buckets, ``usage_stats/all_{shard}`` and ``usage_stats/h{YYYYMMDDHH}_{shard}``,
with ``Increment`` transforms (commutative, so they need no precondition and never make a
charge retry). ``SHARDS`` shards give about ``SHARDS`` sustained writes a second per bucket.

Reading is bounded whatever the number of users or generations: ``all`` is ``SHARDS``
documents, the last 24 hours are ``24 x SHARDS`` (the current clock hour and the 23 before
it), and the top users are one ordered query on ``users.usage.creditsUsed`` with limit 10.
Aggregation queries over ``usage_logs`` were the alternative; they are billed per 1,000
index entries scanned, so their cost grows with traffic, which is what this design avoids.

``creditsUsed`` is net: a charge adds, a refund or settlement refund subtracts, a settlement
shortfall adds, all in the same commit as the balance change.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from google.cloud import firestore

from . import db
from .atomic import Plan
from .pricing import GENERATION_TYPES

SHARDS = 8
HOURS = 24


def hour_bucket(when: dt.datetime) -> str:
    return "h" + when.astimezone(dt.UTC).strftime("%Y%m%d%H")


def record(
    plan: Plan[Any],
    client: firestore.Client,
    now: dt.datetime,
    generation_type: str,
    *,
    generations: int = 0,
    credits: int = 0,
    failed: int = 0,
    refunded_credits: int = 0,
) -> None:
    """Add one change of usage to the plan (two merge writes with increments)."""
    fields: dict[str, Any] = {}
    for name, value in (
        ("generations", generations),
        ("creditsUsed", credits),
        ("failedGenerations", failed),
        ("refundedCredits", refunded_credits),
    ):
        if value:
            fields[name] = {generation_type: firestore.Increment(value)}
    if not fields:
        return
    shard = random.randrange(SHARDS)
    collection = client.collection(db.USAGE_STATS)
    plan.merge(collection.document(f"all_{shard}"), {**fields, "bucket": "all"})
    bucket = hour_bucket(now)
    plan.merge(collection.document(f"{bucket}_{shard}"), {**fields, "bucket": bucket})


def _empty() -> dict[str, dict[str, int]]:
    return {
        name: {t: 0 for t in GENERATION_TYPES} for name in ("generations", "creditsUsed", "failedGenerations", "refundedCredits")
    }


def _add(total: dict[str, dict[str, int]], doc: dict[str, Any]) -> None:
    for name, per_type in total.items():
        stored = doc.get(name)
        if isinstance(stored, dict):
            for t in per_type:
                value = stored.get(t, 0)
                if isinstance(value, int) and not isinstance(value, bool):
                    per_type[t] += value


def _average(credits: int, generations: int) -> float:
    if generations == 0:
        return 0.0
    return float((Decimal(credits) / Decimal(generations)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _summary(total: dict[str, dict[str, int]]) -> dict[str, Any]:
    by_type = {
        t: {
            "generations": total["generations"][t],
            "creditsUsed": total["creditsUsed"][t],
            "failedGenerations": total["failedGenerations"][t],
            "refundedCredits": total["refundedCredits"][t],
            "averageCostPerGeneration": _average(total["creditsUsed"][t], total["generations"][t]),
        }
        for t in GENERATION_TYPES
    }
    totals = {name: sum(per_type.values()) for name, per_type in total.items()}
    return {
        "totals": totals,
        "byType": by_type,
        "averageCostPerGeneration": _average(totals["creditsUsed"], totals["generations"]),
    }


def usage_stats(client: firestore.Client, now: dt.datetime) -> tuple[dict[str, Any], int]:
    """The admin dashboard's figures and the number of documents read to produce them."""
    collection = client.collection(db.USAGE_STATS)
    all_refs = [collection.document(f"all_{s}") for s in range(SHARDS)]
    hours = [hour_bucket(now - dt.timedelta(hours=h)) for h in range(HOURS)]
    hour_refs = [collection.document(f"{b}_{s}") for b in hours for s in range(SHARDS)]
    all_total, day_total = _empty(), _empty()
    reads = 0
    for snap in client.get_all(all_refs + hour_refs):
        reads += 1
        if not snap.exists:
            continue
        data = snap.to_dict() or {}
        _add(all_total if data.get("bucket") == "all" else day_total, data)
    top = []
    query = client.collection(db.USERS).order_by("usage.creditsUsed", direction=firestore.Query.DESCENDING).limit(10)
    for snap in query.stream():
        reads += 1
        data = snap.to_dict() or {}
        usage = data.get("usage") or {}
        if not usage.get("creditsUsed"):
            continue
        top.append(
            {
                "userId": snap.id,
                "email": data.get("email"),
                "creditsUsed": usage.get("creditsUsed", 0),
                "generations": usage.get("generations", 0),
            }
        )
    since = (now - dt.timedelta(hours=HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    result = {
        **_summary(all_total),
        "topUsers": top,
        "last24Hours": {**_summary(day_total), "since": since.isoformat()},
        "generatedAt": now.isoformat(),
    }
    return result, reads
