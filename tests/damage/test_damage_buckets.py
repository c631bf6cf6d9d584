"""A damaged bucket harms its user alone: ``data_invalid`` for that user, the jobs go on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from credits.features import maintenance
from credits.vocab.clock import ManualClock
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from tests.support import emulators as emu
from tests.support.ledger import assert_buckets_balance


def test_damaged_buckets_stay_local(db: firestore.Client, admin: emu.User) -> None:
    users = [emu.sign_up() for _ in range(5)]
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    for u in users:
        assert emu.call("getCreditStatus", {}, u).ok
        r = emu.call(
            "grantCreditsToUser", {"userId": u.uid, "amount": 30, "reason": "r", "source": "promo", "expiresAt": soon}, admin
        )
        assert r.ok, r.body
    promo = {
        u.uid: next(k for k in db.collection("users").document(u.uid).get().to_dict()["buckets"] if k.startswith("grant_"))
        for u in users
    }

    def bucket_field(i: int, name: str, value: Any) -> None:
        u = users[i]
        db.collection("users").document(u.uid).update({FieldPath("buckets", promo[u.uid], name).to_api_repr(): value})

    bucket_field(0, "remaining", "30")  # wrong type
    bucket_field(1, "remaining", -5)  # negative
    bucket_field(2, "expiresAt", "next week")  # not a timestamp
    damaged = {f"users/{users[i].uid}" for i in range(3)}
    healthy = users[3:]

    for u in users[:3]:
        for name, data in (("getCreditStatus", {}), ("validateAndDeductCredits", {"type": "image", "prompt": "a boat"})):
            r = emu.call(name, data, u)
            assert r.reason == "data_invalid" and r.details["document"] == f"users/{u.uid}", r.body
    for u in healthy:
        assert emu.call("validateAndDeductCredits", {"type": "image", "prompt": "a boat"}, u).ok

    later = ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    report = maintenance.expire_buckets(db, later)
    assert damaged <= {s["document"] for s in report.skipped}, report.skipped
    assert report.expired_credits >= 2 * 20 and report.expired_users >= 2  # the healthy promos (10 of each spent)
    for u in healthy:
        user = db.collection("users").document(u.uid).get().to_dict()
        assert user["credits"] == 100 and promo[u.uid] not in user["buckets"] and user["nextExpiryAt"] is None
        assert db.collection("credit_logs").document(f"expire_{promo[u.uid]}").get().to_dict()["delta"] == -20
        assert_buckets_balance(db, u.uid)
    for path in damaged:
        notes = db.collection("admin_notifications").where(filter=FieldFilter("document", "==", path)).stream()
        assert len([n for n in notes if n.to_dict()["kind"] == "data_invalid"]) == 1, path
    assert not maintenance.expire_buckets(db, later).expired_credits  # exactly once
