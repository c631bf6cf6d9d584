"""Promotional grants to many users: a resumable job with one ledger entry per user.

``grantPromoCredits`` (admin; a project addition, see docs/contract.md) takes either
``userIds`` (1..500 uids) or ``planId`` (every user on that plan), an ``amount``, an optional
``expiresAt`` and ``userNote``, and the admin's ``reason``. It creates ``promo_jobs/{jobId}``
(the targets, a cursor, counters) together with the one audit entry for the action, then
works through the targets in bounded batches while its time budget lasts; whatever is left is
continued by the hourly job (``maintenance``) or by the same call sent again (same
``requestId``: same job). Each user's grant is its own guarded commit through ``ledger.post``
with the entry id ``grant_promo_{jobId}_{uid}``, so a user is granted exactly once however
often the job is resumed, and a user whose account is damaged (or at the bucket bound) is
recorded as failed without stopping the others.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from credits.features import accounts, grants
from credits.features.command import Command
from credits.store import audit, buckets as bucket_store, config_store, db, ledger
from credits.store.atomic import Attempt, Deadline, Plan, run
from credits.store.ledger import Reason
from credits.vocab import idempotency
from credits.vocab.clock import Clock
from credits.vocab.contract.callables import PromoResponse
from credits.vocab.errors import CreditsError, InvalidRequest
from credits.vocab.validation import Fields, request_key

PROMO_JOBS = "promo_jobs"
MAX_USERS = 500
MAX_AMOUNT = 1_000_000
BATCH = 50
_UID = re.compile(r"^[^/\s]{1,128}$")
_PLAN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class PromoRequest:
    """What ``grantPromoCredits`` accepts."""

    amount: int
    reason: str
    user_ids: tuple[str, ...] = ()
    plan_id: str | None = None
    expires_at: dt.datetime | None = None
    user_note: str | None = None
    request_id: str | None = None

    @classmethod
    def parse(cls, data: Any) -> PromoRequest:
        """Validate; exactly one of ``userIds`` and ``planId``."""
        from credits.features.admin import parse_expiry  # the grant's own rule for expiresAt

        f = Fields(data, {"userIds", "planId", "amount", "expiresAt", "userNote", "reason", "requestId"})
        amount = f.integer("amount", low=1, high=MAX_AMOUNT)
        reason = f.string("reason", max_len=500)
        note = f.string("userNote", required=False, min_len=0, max_len=500) or None
        expires = parse_expiry(f)
        request_id = request_key(f)
        ids: tuple[str, ...] = ()
        plan_id = None
        if f.present("userIds") == f.present("planId"):
            f.fail("userIds", "give either userIds or planId")
        elif f.present("userIds"):
            raw = f.data["userIds"]
            if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_USERS:
                f.fail("userIds", f"must be a list of 1..{MAX_USERS} user ids")
            elif not all(isinstance(u, str) and _UID.fullmatch(u) for u in raw):
                f.fail("userIds", "every entry must be a user id")
            else:
                ids = tuple(dict.fromkeys(raw))
        else:
            plan_id = f.document_id("planId", max_len=64, pattern=_PLAN_ID)
        f.raise_if_any()
        assert amount is not None and reason is not None
        return cls(amount, reason, ids, plan_id, expires, note, request_id)

    def fingerprint(self) -> str:
        """What makes two promotions "the same request" for an idempotency key."""
        return idempotency.fingerprint(
            {
                "amount": self.amount,
                "reason": self.reason,
                "userIds": list(self.user_ids),
                "planId": self.plan_id,
                "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
                "userNote": self.user_note,
            }
        )


def job_ref(client: firestore.Client, job_id: str) -> firestore.DocumentReference:
    """``promo_jobs/{jobId}``."""
    return client.collection(PROMO_JOBS).document(job_id)


def start(cmd: Command, request: PromoRequest) -> PromoResponse:
    """Create the job and its audit entry (once per ``requestId``), then work on it."""
    client, clock, actor, deadline = cmd.client, cmd.clock, cmd.caller, cmd.deadline
    job_id = (
        idempotency.key(actor.uid, request.request_id, length=32)
        if request.request_id
        else client.collection(PROMO_JOBS).document().id
    )
    ref = job_ref(client, job_id)
    fingerprint = request.fingerprint()

    def step(attempt: Attempt) -> Plan[str]:
        now = clock.now()
        got = attempt.get([ref, config_store.applied_ref(client)])
        if got[ref.path].exists:  # the same requestId: the same job, if the same promotion
            return Plan(result=idempotency.replay(got[ref.path].to_dict() or {}, fingerprint, lambda _: job_id))
        config = config_store.load(attempt, got[config_store.applied_ref(client).path]).credits
        if request.plan_id is not None and request.plan_id not in config.plans:
            raise InvalidRequest({"planId": "is not a configured plan"})
        if request.expires_at is not None and request.expires_at <= now:
            raise InvalidRequest({"expiresAt": "must be in the future"})
        plan: Plan[str] = Plan()
        audit_id = audit.add(plan, client, audit.entry(actor, cmd.ctx, _audit_change(request, job_id), now))
        plan.create(
            ref,
            {
                "amount": request.amount,
                "userIds": list(request.user_ids),
                "planId": request.plan_id,
                "expiresAt": request.expires_at,
                "userNote": request.user_note,
                "auditId": audit_id,
                "actorId": actor.uid,
                "status": "running",
                **idempotency.record(request.request_id, fingerprint),
                "cursor": None,
                "next": 0,
                "granted": 0,
                "failed": [],
                "createdAt": now,
                "updatedAt": now,
            },
        )
        plan.result = job_id
        return plan

    cmd.commit("grantPromoCredits", step)
    return resume(client, clock, job_id, seconds=min(20.0, (deadline.remaining() - 5.0) if deadline else 20.0))


def _audit_change(request: PromoRequest, job_id: str) -> audit.Change:
    """The audit trail's record of a promotion started: what it grants, to how many users."""
    return audit.Change(
        "grant_promo_credits",
        f"{PROMO_JOBS}/{job_id}",
        None,
        {
            "amount": request.amount,
            "users": len(request.user_ids) if request.user_ids else None,
            "planId": request.plan_id,
            "expiresAt": request.expires_at,
            "userNote": request.user_note,
        },
        request_id=request.request_id,
        note=request.reason,
    )


def resume(client: firestore.Client, clock: Clock, job_id: str, *, seconds: float = 60.0) -> PromoResponse:
    """Work on a job for at most ``seconds``; returns its state ``{jobId, status, granted, failed}``."""
    ref = job_ref(client, job_id)
    budget = Deadline(max(1.0, seconds))
    while not budget.expired():
        snap = ref.get()
        job = snap.to_dict() or {}
        if job.get("status") != "running":
            break
        uids, position = _next_batch(client, job)
        if not uids:
            try:
                ref.update(
                    {"status": "done", "updatedAt": clock.now()}, option=client.write_option(last_update_time=snap.update_time)
                )
            except (gexc.FailedPrecondition, gexc.Aborted):
                continue
            break
        granted, failed = 0, []
        for uid in uids:
            try:
                if _grant_one(client, clock, job_id, job, uid):
                    granted += 1
            except CreditsError as err:
                failed.append({"userId": uid, "reason": err.reason})
        try:
            ref.update(
                {
                    **position,
                    "granted": firestore.Increment(granted),
                    "failed": firestore.ArrayUnion(failed[:20]) if failed else job.get("failed", []),
                    "updatedAt": clock.now(),
                },
                option=client.write_option(last_update_time=snap.update_time),
            )
        except (gexc.FailedPrecondition, gexc.Aborted):
            continue  # another run moved the cursor meanwhile; its grants and ours are the same entries
    job = ref.get().to_dict() or {}
    return PromoResponse.model_validate(
        {"jobId": job_id, "status": job.get("status"), "granted": job.get("granted", 0), "failed": len(job.get("failed", []))}
    )


def _next_batch(client: firestore.Client, job: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The next users and the cursor after them."""
    ids = job.get("userIds") or []
    if ids:
        start = int(job.get("next", 0))
        batch = [str(u) for u in ids[start : start + BATCH]]
        return batch, {"next": start + len(batch)}
    query = (
        client.collection(db.USERS)
        .where(filter=FieldFilter("plan.id", "==", job.get("planId")))
        .order_by("__name__")
        .limit(BATCH)
    )
    cursor = job.get("cursor")
    if isinstance(cursor, str):
        query = query.start_after({"__name__": accounts.user_ref(client, cursor)})
    uids = [s.id for s in query.stream()]
    return uids, {"cursor": uids[-1] if uids else cursor}


def _grant_one(client: firestore.Client, clock: Clock, job_id: str, job: dict[str, Any], uid: str) -> bool:
    """One user's grant, exactly once (its entry id); whether this call wrote it."""
    entry = grants.grant_entry(f"promo_{job_id}_{uid}")
    user_ref = accounts.user_ref(client, uid)
    entry_ref = ledger.entry_ref(client, entry)

    def step(attempt: Attempt) -> Plan[bool]:
        now = clock.now()
        got = attempt.get([user_ref, entry_ref, config_store.applied_ref(client)])
        if got[entry_ref.path].exists:
            return Plan(result=False)
        if not got[user_ref.path].exists:
            return Plan(error=InvalidRequest({"userIds": f"{uid} has no account"}))
        config = config_store.load(attempt, got[config_store.applied_ref(client).path]).credits
        account = accounts.prepare(attempt, got[user_ref.path], None, config, now, None)
        expires = job.get("expiresAt")
        if isinstance(expires, dt.datetime) and expires <= now:
            return Plan(result=False)  # the promotion has lapsed: granting it now would expire at once
        leg = grants.bucket_grant_leg(
            entry,
            int(job["amount"]),
            grants.NewBucket(
                "promo", bucket_store.plain(expires) if isinstance(expires, dt.datetime) else None, f"{PROMO_JOBS}/{job_id}"
            ),
            Reason.PROMO_GRANT,
            note=job.get("userNote") if isinstance(job.get("userNote"), str) else None,
        )
        plan: Plan[bool] = Plan(result=True)
        account.post(plan, client, now=now, low_balance_below=config.lowBalanceThreshold, legs=(leg,))
        return plan

    return run(client, step, lock_key=f"user:{uid}", deadline=Deadline(15.0))


def running_jobs(client: firestore.Client, limit: int = 20) -> list[str]:
    """Jobs not finished yet (for the hourly job to continue)."""
    query = client.collection(PROMO_JOBS).where(filter=FieldFilter("status", "==", "running")).limit(limit)
    return [s.id for s in query.stream()]
