"""Moving data of older shapes into the current ones, idempotently.

* the configuration: ``moderation`` and ``abuse`` out of ``system_config/credits`` into the
  admin-only ``system_config/moderation``, and the applied copy bootstrapped
  (``config_store.migrate``);
* IP blocks: the single ``ip_blocks/current`` document (every block in one map, read whole by
  every charge) into one document per blocked address and a bounded range index
  (``ip_blocks``);
* buckets: a balance held before grant buckets existed becomes one ``legacy`` bucket without
  expiry (``migrate_legacy_buckets``; the account already reads so, this stores it);
* index shards: activities and rate-limit records written before ``shard`` existed get it
  (``db.index_shard``), so the jobs' sharded queries find them; done once, then marked done
  in ``applied_config/migrations``.

``run_all`` is called by ``scripts/migrate.py`` after a deployment and at the start of every
scheduled job run, so a deployment that forgets the command is migrated within the hour. Each
step does nothing (and costs a couple of reads) once done.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.cloud import firestore

from credits.store import audit, config_store, db, ip_blocks
from credits.vocab.clock import Clock
from credits.vocab.context import Caller, ClientContext
from credits.vocab.errors import CreditsError

MIGRATION = Caller(uid="migration", name="migration")
_BATCH = 400


def run_all(client: firestore.Client, clock: Clock) -> dict[str, str]:
    """Apply every pending migration; returns what each step did."""
    return {
        "configuration": config_store.migrate(client, clock),
        "ipBlocks": migrate_ip_blocks(client, clock),
        "indexShards": migrate_index_shards(client, clock),
        "legacyBuckets": migrate_legacy_buckets(client, clock),
    }


MIGRATIONS_DOC = "migrations"


def migrate_index_shards(client: firestore.Client, clock: Clock) -> str:
    """Give ``shard`` to every activity and rate-limit record that lacks it (once).

    Pages through both collections by document name (an index every collection has), so it
    needs no index of its own; marks itself done so later runs cost one read.
    """
    marker = client.collection(db.APPLIED_CONFIG).document(MIGRATIONS_DOC)
    snap = marker.get()
    if (snap.to_dict() or {}).get("indexShards") == "done":
        return "current"
    updated = 0
    for collection in (db.AI_ACTIVITY, db.RATE_LIMITS):
        cursor: db.Snapshot | None = None
        while True:
            query = client.collection(collection).order_by("__name__").limit(_BATCH)
            if cursor is not None:
                query = query.start_after(cursor)
            page = list(query.stream())
            if not page:
                break
            batch = client.batch()
            pending = 0
            for doc in page:
                if "shard" not in (doc.to_dict() or {}):
                    batch.update(doc.reference, {"shard": db.index_shard(doc.id)})
                    pending += 1
            if pending:
                batch.commit()
                updated += pending
            cursor = page[-1]
    marker.set({"indexShards": "done", "updatedAt": clock.now()}, merge=True)
    return f"migrated {updated} documents" if updated else "current"


def migrate_legacy_buckets(client: firestore.Client, clock: Clock, *, max_users: int = 5000) -> str:
    """Store each pre-bucket balance as its ``legacy_{uid}`` bucket (no expiry), user by user.

    Each user is one guarded commit through ``ledger.post`` with no legs (the posting writes the
    bucket map ``accounts.parse`` reads from an older document), so it is idempotent and races
    no call. Pages by document name from a cursor kept in ``applied_config/migrations``
    (resumable, at most ``max_users`` a run); a damaged account is skipped and left to
    ``scripts/reconcile.py``. Marked done after a whole pass; accounts written since then
    always carry their buckets.
    """
    from . import expiry  # the one step that posts nothing but what the account needs

    marker = client.collection(db.APPLIED_CONFIG).document(MIGRATIONS_DOC)
    state = marker.get().to_dict() or {}
    if state.get("legacyBuckets") == "done":
        return "current"
    cursor_id = state.get("legacyBucketsCursor")
    migrated = skipped = seen = 0
    while seen < max_users:
        query = client.collection(db.USERS).order_by("__name__").limit(_BATCH)
        if isinstance(cursor_id, str):
            query = query.start_after({"__name__": client.collection(db.USERS).document(cursor_id)})
        page = list(query.stream())
        if not page:
            marker.set({"legacyBuckets": "done", "legacyBucketsCursor": None, "updatedAt": clock.now()}, merge=True)
            return (
                f"migrated {migrated} balances" + (f", skipped {skipped} damaged" if skipped else "")
                if migrated or skipped
                else "current"
            )
        for snap in page:
            seen += 1
            if "buckets" in (snap.to_dict() or {}):
                continue
            try:
                expiry.store_buckets(client, clock, snap.id)
                migrated += 1
            except CreditsError:
                skipped += 1
        cursor_id = page[-1].id
        marker.set({"legacyBucketsCursor": cursor_id, "updatedAt": clock.now()}, merge=True)
    return f"migrated {migrated} balances so far; continues next run"


def migrate_ip_blocks(client: firestore.Client, clock: Clock) -> str:
    """Split ``ip_blocks/current`` into address documents and the range index.

    Returns ``current`` (nothing to do) or ``migrated N addresses, M ranges`` (ranges beyond
    ``MAX_RANGES`` are reported and dropped: they were never meant to be that many). Safe to
    re-run after an interruption: it only creates what is missing, and deletes the old
    document last.
    """
    legacy_ref = client.collection(db.IP_BLOCKS).document(ip_blocks.LEGACY_DOC)
    legacy = legacy_ref.get()
    if not legacy.exists:
        return "current"
    now = clock.now()
    addresses, ranges = ip_blocks.legacy_entries(legacy.to_dict())
    writes: list[tuple[firestore.DocumentReference, dict[str, Any]]] = []
    for key, info in addresses.items():
        writes.append((ip_blocks.address_ref(client, key), _detail(key, "address", info, now)))
    kept = list(ranges)[: ip_blocks.MAX_RANGES]
    dropped = list(ranges)[ip_blocks.MAX_RANGES :]
    for key in kept:
        writes.append((ip_blocks.range_ref(client, key), _detail(key, "range", ranges[key], now)))
    for start in range(0, len(writes), _BATCH):
        batch = client.batch()
        for ref, data in writes[start : start + _BATCH]:
            batch.set(ref, data, merge=True)
        batch.commit()
    index_ref = ip_blocks.ranges_ref(client)
    index = index_ref.get()
    cidrs = ip_blocks.stored_cidrs(index)
    merged = cidrs + [c for c in kept if c not in cidrs]
    batch = client.batch()
    batch.set(index_ref, {"cidrs": merged[: ip_blocks.MAX_RANGES], "updatedAt": now, "updatedBy": MIGRATION.uid}, merge=True)
    note = f"{len(addresses)} addresses, {len(kept)} ranges" + (f"; dropped ranges: {', '.join(dropped)}" if dropped else "")
    batch.create(
        audit.new_ref(client),
        audit.entry(MIGRATION, ClientContext(), audit.Change("migrate_ip_blocks", legacy_ref.path, None, None, note=note), now),
    )
    batch.delete(legacy_ref, option=client.write_option(last_update_time=legacy.update_time))
    batch.commit()
    return f"migrated {note}"


def _detail(key: str, kind: str, info: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    return {
        "target": key,
        "kind": kind,
        "reason": str(info.get("reason") or "migrated"),
        "blockedAt": info.get("blockedAt") if isinstance(info.get("blockedAt"), dt.datetime) else now,
        "blockedBy": str(info.get("blockedBy") or MIGRATION.uid),
    }
