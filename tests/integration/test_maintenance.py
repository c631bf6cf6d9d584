"""The scheduled jobs as plain functions, with an injected clock."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

from credits.features import maintenance
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.features.lifecycle import StatusRequest, update_status
from credits.features.reconcile import reconcile
from credits.vocab.clock import ManualClock
from credits.vocab.context import Caller, ClientContext
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import config as cfg
from tests.support.ledger import assert_books_balance, balance

GENERATOR = Caller(uid="it-generator", is_generator=True)  # the owner's "completed" only confirms


def start(client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, **data: object) -> str:
    payload = {"type": "image", "prompt": "p", **data}
    return str(charge(Command(client, clock, caller, ctx), ChargeRequest.parse(payload)).activityId)


def status(client: firestore.Client, activity: str) -> dict:
    return client.collection("ai_activity").document(activity).get().to_dict()


def test_stuck_activities_are_failed_and_refunded_exactly_once(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, clean: None
) -> None:
    pending = start(client, clock, caller, ctx, quantity=2)
    processing = start(client, clock, caller, ctx)
    update_status(Command(client, clock, caller, ctx), StatusRequest(processing, "processing"))
    done = start(client, clock, caller, ctx)
    update_status(Command(client, clock, GENERATOR, ctx), StatusRequest(done, "completed"))
    assert balance(client, caller.uid) == 60

    clock.advance(29 * 60)
    report = maintenance.reset_rate_limits(client, clock)
    assert report.failed_activities == []  # not yet 30 minutes

    clock.advance(2 * 60)
    report = maintenance.reset_rate_limits(client, clock)
    assert sorted(report.failed_activities) == sorted([pending, processing])
    assert report.refunded_credits == 30
    assert status(client, pending)["status"] == "failed" and status(client, pending)["failureSource"] == "system"
    assert status(client, done)["status"] == "completed"
    assert balance(client, caller.uid) == 90
    assert client.collection("usage_logs").document(pending).get().exists

    again = maintenance.reset_rate_limits(client, clock)
    assert again.failed_activities == [] and again.refunded_credits == 0
    assert balance(client, caller.uid) == 90
    assert_books_balance(client, caller.uid)


def test_two_sweeps_at_once_refund_once(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, clean: None
) -> None:
    ids = [start(client, clock, caller, ctx) for _ in range(6)]
    clock.advance(31 * 60)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: maintenance.sweep_stuck(client, clock), range(2)))
    failed = reports[0].failed_activities + reports[1].failed_activities
    assert sorted(failed) == sorted(ids)
    assert balance(client, caller.uid) == 100
    refunds = [
        e.id
        for e in client.collection("credit_logs").where(filter=FieldFilter("userId", "==", caller.uid)).stream()
        if e.id.startswith("refund_")
    ]
    assert len(refunds) == 6
    assert reconcile(client) == []


def test_recently_updated_activity_is_not_swept(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, clean: None
) -> None:
    activity = start(client, clock, caller, ctx)
    clock.advance(25 * 60)
    update_status(Command(client, clock, caller, ctx), StatusRequest(activity, "processing"))
    clock.advance(25 * 60)  # 50 minutes old, but touched 25 minutes ago
    assert maintenance.sweep_stuck(client, clock).failed_activities == []
    assert status(client, activity)["status"] == "processing"


def test_expired_rate_limit_windows_are_removed(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, clean: None
) -> None:
    start(client, clock, caller, ctx)
    other = Caller(uid=f"it-{uuid.uuid4().hex}")
    # a user's record from before the windows moved onto users/{uid}, spent an hour ago
    legacy = client.collection("rate_limits").document(f"u_it-{uuid.uuid4().hex}")
    legacy.set({"shard": 3, "windows": {}, "expiresAt": clock.now() - dt.timedelta(hours=1)})
    clock.advance(1800)
    start(client, clock, other, ClientContext(ip="198.18.250.1"))
    clock.advance(1801)
    # spent: the first user's hour and the legacy record; live: the second user's hour, and
    # both addresses, which remember the sign-up grants they gave for 24 hours
    users = client.collection("users")
    before = users.document(caller.uid).get().to_dict() or {}
    report = maintenance.expire_rate_limits(client, clock)
    assert report.deleted == {"rate_limits": 1, "userRateLimits": 1}
    assert not legacy.get().exists
    after = users.document(caller.uid).get().to_dict() or {}
    assert "rateLimits" in before and "rateLimits" not in after
    assert {k: v for k, v in before.items() if k != "rateLimits"} == after  # only the spent map went
    assert (users.document(other.uid).get().to_dict() or {})["rateLimits"]["windows"]["image"]["hits"]
    limits = client.collection("rate_limits")
    assert limits.document(f"ip_{ctx.ip}").get().exists
    clock.advance(24 * 3600)
    # the rest: the second user's hour, both addresses, the sign-up grant logs of their /24s
    # and the hour's shards of the product-wide grant count
    left = {d.id for d in limits.stream()}
    assert {f"ip_{ctx.ip}", "ip_198.18.250.1", "net_198.18.250.0_24"} <= left
    assert maintenance.expire_rate_limits(client, clock).deleted == {"rate_limits": len(left), "userRateLimits": 1}
    assert not list(limits.stream())
    assert "rateLimits" not in (users.document(other.uid).get().to_dict() or {})


def test_a_users_windows_written_since_the_sweep_read_them_stay(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, clean: None
) -> None:
    start(client, clock, caller, ctx)
    clock.advance(3601)
    user = client.collection("users").document(caller.uid)
    read = user.get()
    start(client, clock, caller, ctx)  # a new charge: its window is live
    assert maintenance._delete_guarded(client, [read], field_only="rateLimits") == 0
    assert len(user.get().to_dict()["rateLimits"]["windows"]["image"]["hits"]) == 1


def test_retention_deletes_old_activity_and_nothing_permanent(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, clean: None
) -> None:
    old = start(client, clock, caller, ctx)
    update_status(Command(client, clock, caller, ctx), StatusRequest(old, "failed"))
    for collection in ("abuse_detection", "admin_audit_logs"):
        client.collection(collection).document(f"keep-{uuid.uuid4().hex}").set({"createdAt": clock.now(), "userId": caller.uid})
    clock.advance(91 * 86400)
    recent = start(client, clock, caller, ctx)
    report = maintenance.cleanup_old_data(client, clock)
    assert report.deleted["ai_activity"] == 1
    assert not client.collection("ai_activity").document(old).get().exists
    assert client.collection("ai_activity").document(recent).get().exists
    # the permanent record is untouched
    assert client.collection("usage_logs").document(old).get().exists
    assert len(list(client.collection("credit_logs").where(filter=FieldFilter("userId", "==", caller.uid)).stream())) == 4
    for collection in ("abuse_detection", "admin_audit_logs"):
        assert len(list(client.collection(collection).where(filter=FieldFilter("userId", "==", caller.uid)).stream())) == 1
    assert_books_balance(client, caller.uid)


def test_retention_follows_the_configuration_and_works_in_batches(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, clean: None
) -> None:
    cfg.apply(client, {"retentionDays": 1, "rateLimits": {"image": 500, "ipRequests": 500}})
    ids = []
    for _ in range(7):
        activity = start(client, clock, caller, ctx, quantity=1)
        update_status(Command(client, clock, GENERATOR, ctx), StatusRequest(activity, "completed"))
        ids.append(activity)
    clock.advance(2 * 86400)
    first = maintenance.cleanup_old_activities(client, clock, 1, max_docs=5)
    assert first.deleted["ai_activity"] == 5 and first.more
    second = maintenance.cleanup_old_activities(client, clock, 1, max_docs=5)
    assert second.deleted["ai_activity"] == 2
    assert maintenance.cleanup_old_data(client, clock).deleted["ai_activity"] == 0  # retention read from the configuration
    cfg.reset(client)


def test_old_pending_activity_waits_for_the_sweep(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, clean: None
) -> None:
    activity = start(client, clock, caller, ctx)
    clock.advance(100 * 86400)
    assert maintenance.cleanup_old_data(client, clock).deleted["ai_activity"] == 0
    maintenance.reset_rate_limits(client, clock)
    assert status(client, activity)["status"] == "failed"  # refunded first
    assert maintenance.cleanup_old_data(client, clock).deleted["ai_activity"] == 1


def test_reconcile_reports_drift(
    client: firestore.Client, clock: ManualClock, caller: Caller, ctx: ClientContext, clean: None
) -> None:
    start(client, clock, caller, ctx)
    assert reconcile(client) == []
    client.collection("users").document(caller.uid).update({"credits": 1000})
    drifts = reconcile(client)
    # The balance no longer matches its entries, nor the buckets that hold it.
    assert sorted((d.user_id, d.kind) for d in drifts) == [(caller.uid, "buckets_mismatch"), (caller.uid, "ledger_mismatch")]
    client.collection("credit_logs").document("refund_fake").set(
        {
            "userId": caller.uid,
            "delta": 5,
            "balanceAfter": 5,
            "activityId": "x",
            "reason": "failure_refund",
            "createdAt": dt.datetime.now(dt.UTC),
        }
    )
    kinds = {d.kind for d in reconcile(client)}
    assert "over_refund" in kinds
