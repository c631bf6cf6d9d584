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
