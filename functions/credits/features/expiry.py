"""The expiry job's step: record what has expired for a user who made no call since.

Expiry is exact without it (every posting expires first, readers count live buckets only);
the job writes the ``expired`` entries of idle users so that ``credits`` follows the live
sum and the ledger says when credits lapsed. Users are found by ``users.nextExpiryAt``
(the soonest expiry of a bucket holding credits, kept by ``ledger.post``; its automatic
single-field index serves the query). Each user is one atomic step through ``ledger.post``
(``expire_{bucketId}`` entries: exactly once, whoever writes them first, the job or a call).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from credits.features import accounts
from credits.policy import buckets as bucket_policy
from credits.store import buckets, config_store, db
from credits.store.atomic import Attempt, Deadline, Plan, run
from credits.vocab.clock import Clock


def due_query(client: firestore.Client, now: dt.datetime) -> firestore.Query:
    """Users with a bucket that has expired with credits left, soonest first."""
    return (
        client.collection(db.USERS)
        .where(filter=FieldFilter(buckets.NEXT_EXPIRY_FIELD, "<=", now))
        .order_by(buckets.NEXT_EXPIRY_FIELD)
    )


def store_buckets(client: firestore.Client, clock: Clock, uid: str) -> int:
    """Store the buckets of an account that predates them (its ``legacy`` bucket), expiring
    what has expired; the same step as the expiry job's. Returns the credits expired.
    """
    return expire_user(client, clock, uid, always=True)


def expire_user(
    client: firestore.Client, clock: Clock, uid: str, *, deadline: Deadline | None = None, always: bool = False
) -> int:
    """Expire what has expired in ``uid``'s buckets; returns the credits expired (0 if a call
    did it first). ``DataInvalid`` for a damaged account (the job reports it and goes on).
    """
    user_ref = accounts.user_ref(client, uid)

    def step(attempt: Attempt) -> Plan[int]:
        now = clock.now()
        got = attempt.get([user_ref, config_store.applied_ref(client)])
        snap = got[user_ref.path]
        account = accounts.parse(snap)
        if account is None:
            return Plan(result=0)
        gone = sum(b.remaining for b in bucket_policy.expired(account.buckets.values(), now))
        stale = account.data.get(buckets.NEXT_EXPIRY_FIELD) != bucket_policy.next_expiry_at(account.buckets.values())
        missing = account.stored_buckets is None and account.credits > 0
        if not gone and not stale and not (always and missing):
            return Plan(result=0)
        config = config_store.load(attempt, got[config_store.applied_ref(client).path]).credits
        prepared = accounts.Prepared(uid, snap, account, now=now)
        plan: Plan[int] = Plan()
        fields: dict[str, Any] = {}
        prepared.post(plan, client, now=now, low_balance_below=config.lowBalanceThreshold, fields=fields)
        plan.result = gone
        return plan

    return run(client, step, lock_key=f"user:{uid}", deadline=deadline)
