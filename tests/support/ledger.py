"""Ledger checks shared by the tiers."""

from __future__ import annotations

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter


def ledger_sum(db: firestore.Client, uid: str) -> int:
    return sum(
        int(s.to_dict()["delta"]) for s in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", uid)).stream()
    )


def balance(db: firestore.Client, uid: str) -> int:
    snap = db.collection("users").document(uid).get()
    return int(snap.to_dict()["credits"]) if snap.exists else 0


def assert_books_balance(db: firestore.Client, uid: str) -> None:
    assert ledger_sum(db, uid) == balance(db, uid)
    assert balance(db, uid) >= 0


def entries(db: firestore.Client, uid: str) -> list[dict]:
    """The user's ledger entries, with their ids (``id``), oldest first."""
    snaps = db.collection("credit_logs").where(filter=FieldFilter("userId", "==", uid)).stream()
    out = [{**(s.to_dict() or {}), "id": s.id} for s in snaps]
    return sorted(out, key=lambda e: (e["createdAt"], e["id"]))


def assert_buckets_balance(db: firestore.Client, uid: str) -> None:
    """The books by bucket: the stored buckets sum to ``credits``; every entry's bucket legs sum
    to its delta; each bucket's legs sum to what it holds (an emptied bucket: 0; a ``legacy``
    bucket also holds what entries from before buckets left).
    """
    assert_books_balance(db, uid)
    user = db.collection("users").document(uid).get().to_dict() or {}
    stored = user.get("buckets") or {}
    assert sum(b["remaining"] for b in stored.values()) == user.get("credits", 0)
    sums: dict[str, int] = {}
    for entry in entries(db, uid):
        legs = entry.get("buckets")
        if legs:
            assert sum(leg["delta"] for leg in legs) == entry["delta"], entry["id"]
            for leg in legs:
                sums[leg["bucketId"]] = sums.get(leg["bucketId"], 0) + leg["delta"]
        elif entry["delta"]:
            sums[f"legacy_{uid}"] = sums.get(f"legacy_{uid}", 0) + entry["delta"]
    for bucket_id, total in sums.items():
        assert total == (stored[bucket_id]["remaining"] if bucket_id in stored else 0), bucket_id
    for bucket_id, bucket in stored.items():
        assert sums.get(bucket_id, 0) == bucket["remaining"], bucket_id
