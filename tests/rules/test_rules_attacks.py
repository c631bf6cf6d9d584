"""Crafted attacks a real client could send with its own ID token, each refused with
403 PERMISSION_DENIED and leaving no trace (checked with the owner bypass afterwards)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rules import documents as d, firestore_rest as fs
from tests.rules.conftest import Seeder
from tests.support import emulators as emu

AUDIT_PROOF = ("credit_logs", "usage_logs", "abuse_detection", "admin_audit_logs")
OWNER_READABLE = ("credit_logs", "usage_logs", "ai_activity")


@pytest.fixture
def victim(seeder: Seeder, unique: str) -> dict[str, Any]:
    """Another user with a balance, a ledger entry, an activity, a usage entry and a
    rate-limit window; the caller (``fresh_owner``) is someone else."""
    user = emu.sign_up()
    uid = user.uid
    return {
        "uid": uid,
        "user": seeder.set(f"users/{uid}", d.user_doc(uid)),
        "credit_logs": seeder.set(f"credit_logs/signup_{uid}", d.ledger_entry(uid)),
        "usage_logs": seeder.set(f"usage_logs/rt_{unique}", d.usage_entry(uid, f"rt_{unique}")),
        "ai_activity": seeder.set(f"ai_activity/rt_{unique}", d.activity(uid)),
        "rate_limits": seeder.set(f"rate_limits/u_{uid}", d.user_rate_limit(uid)),
    }


@pytest.fixture
def me(fresh_owner: fs.Caller, seeder: Seeder, unique: str) -> dict[str, Any]:
    """The attacker's own documents (a normal, active account)."""
    uid = fresh_owner.uid
    assert uid
    return {
        "caller": fresh_owner,
        "uid": uid,
        "user": seeder.set(f"users/{uid}", d.user_doc(uid)),
        "credit_logs": seeder.set(f"credit_logs/signup_{uid}", d.ledger_entry(uid)),
        "usage_logs": seeder.set(f"usage_logs/mine_{unique}", d.usage_entry(uid, f"mine_{unique}")),
        "ai_activity": seeder.set(f"ai_activity/mine_{unique}", d.activity(uid)),
        "rate_limits": seeder.set(f"rate_limits/u_{uid}", d.user_rate_limit(uid)),
    }


def _unchanged(path: str, before: dict[str, Any] | None) -> None:
    assert fs.bypass_read(path) == before, f"{path} changed although the request was refused"


# ---------------------------------------------------------------- raising one's own credits


def test_raise_own_credits(me: dict[str, Any]) -> None:
    before = fs.bypass_read(me["user"])
    fs.assert_denied(fs.update(me["caller"], me["user"], {"credits": 1_000_000}, mask=["credits"]))
    _unchanged(me["user"], before)


def test_raise_own_credits_with_an_increment_transform(me: dict[str, Any]) -> None:
    # updateDoc(ref, {credits: increment(1000)}): the rules see the transformed value.
    before = fs.bypass_read(me["user"])
    write = {
        "update": {"name": fs.doc_name(me["user"]), "fields": {}},
        "updateMask": {"fieldPaths": []},
        "updateTransforms": [{"fieldPath": "credits", "increment": {"integerValue": "1000"}}],
        "currentDocument": {"exists": True},
    }
    fs.assert_denied(fs.commit(me["caller"], [write]))
    _unchanged(me["user"], before)


def test_raise_own_credits_hidden_in_a_profile_update(me: dict[str, Any]) -> None:
    before = fs.bypass_read(me["user"])
    changes = {"displayName": "Just a rename", "credits": 999_999}
    fs.assert_denied(fs.update(me["caller"], me["user"], changes, mask=list(changes)))
    _unchanged(me["user"], before)


def test_raise_own_credits_with_a_full_document_write(me: dict[str, Any]) -> None:
    before = fs.bypass_read(me["user"])
    assert before is not None
    doc = {**before, "credits": 1_000_000, "createdAt": d.NOW, "updatedAt": d.NOW}
    fs.assert_denied(fs.update(me["caller"], me["user"], doc, mask=None))
    _unchanged(me["user"], before)


def test_reset_own_usage_counters(me: dict[str, Any]) -> None:
    before = fs.bypass_read(me["user"])
    fs.assert_denied(fs.update(me["caller"], me["user"], {"usage": {}}, mask=["usage"]))
    _unchanged(me["user"], before)


# ---------------------------------------------------------------- privilege escalation


def test_set_own_role_admin(me: dict[str, Any]) -> None:
    before = fs.bypass_read(me["user"])
    fs.assert_denied(fs.update(me["caller"], me["user"], {"role": "admin"}, mask=["role"]))
    _unchanged(me["user"], before)


def test_set_an_admin_field_on_own_user(me: dict[str, Any]) -> None:
    before = fs.bypass_read(me["user"])
    fs.assert_denied(fs.update(me["caller"], me["user"], {"admin": True}, mask=["admin"]))
    _unchanged(me["user"], before)


def test_role_admin_in_the_users_document_grants_nothing(fresh_owner: fs.Caller, seeder: Seeder) -> None:
    # Authority is the token claim; a users doc saying role: admin (however it got there) is not.
    assert fresh_owner.uid
    seeder.set(f"users/{fresh_owner.uid}", d.user_doc(fresh_owner.uid, role="admin"))
    fs.assert_denied(fs.run_query(fresh_owner, fs.query("credit_logs", limit=1)))
    fs.assert_denied(fs.run_query(fresh_owner, fs.query("admin_audit_logs", limit=1)))
    fs.assert_denied(fs.run_query(fresh_owner, fs.query("users", limit=1)))


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"admin": "true"}, id="string-true"),
        pytest.param({"admin": 1}, id="one"),
        pytest.param({"admin": False}, id="false"),
        pytest.param({"role": "admin"}, id="role-claim"),
        pytest.param({"admins": True}, id="lookalike-claim"),
    ],
)
def test_a_claim_other_than_admin_true_is_not_admin(claims: dict[str, Any], seeder: Seeder, unique: str) -> None:
    user = emu.sign_up()
    emu.set_claims(user.uid, claims)
    caller = fs.caller_of("pseudo-admin", user.refresh())
    path = seeder.set(f"admin_audit_logs/rt_{unique}", d.audit_entry("some-admin", "x"))
    fs.assert_denied(fs.get(caller, path))
    fs.assert_denied(fs.run_query(caller, fs.query("admin_audit_logs", limit=1)))
    fs.assert_denied(fs.run_query(caller, fs.query("credit_logs", limit=1)))


def test_a_revoked_admin_loses_access_with_the_next_token(seeder: Seeder, unique: str) -> None:
    user = emu.make_admin()
    path = seeder.set(f"admin_audit_logs/rt_{unique}", d.audit_entry("some-admin", "x"))
    fs.assert_allowed(fs.get(fs.caller_of("admin", user), path))  # control: the claim works
    emu.set_claims(user.uid, {})
    fs.assert_denied(fs.get(fs.caller_of("ex-admin", user.refresh()), path))


# ---------------------------------------------------------------- account status


def test_set_status_active_while_suspended(fresh_owner: fs.Caller, seeder: Seeder) -> None:
    assert fresh_owner.uid
    path = seeder.set(
        f"users/{fresh_owner.uid}",
        d.user_doc(fresh_owner.uid, status="suspended", statusReason="abuse", statusChangedBy="system:abuse"),
    )
    before = fs.bypass_read(path)
    changes = {"status": "active", "statusReason": None, "statusChangedBy": None}
    fs.assert_denied(fs.update(fresh_owner, path, changes, mask=list(changes)))
    fs.assert_denied(fs.update(fresh_owner, path, {"status": "active"}, mask=["status"]))
    fs.assert_denied(fs.update(fresh_owner, path, {}, mask=["status"]))  # removing the field
    _unchanged(path, before)


# ---------------------------------------------------------------- creating / deleting one's users doc


def test_create_own_users_doc_with_credits(fresh_owner: fs.Caller, seeder: Seeder) -> None:
    uid = fresh_owner.uid
    assert uid
    path = seeder.track(f"users/{uid}")
    assert fs.bypass_read(path) is None
    doc = d.user_doc(uid, credits=1_000_000)
    fs.assert_denied(fs.create(fresh_owner, "users", uid, doc))  # addDoc/create
    fs.assert_denied(fs.update(fresh_owner, path, doc, mask=None, must_exist=None))  # setDoc (upsert)
    fs.assert_denied(fs.update(fresh_owner, path, doc, mask=None, must_exist=False))  # create precondition
    fs.assert_denied(fs.update(fresh_owner, path, {"credits": 500}, mask=["credits"], must_exist=None))  # setDoc merge
    fs.assert_denied(fs.create(fresh_owner, "users", uid, {"displayName": "only a profile"}))
    assert fs.bypass_read(path) is None


def test_create_someone_elses_users_doc(fresh_owner: fs.Caller, seeder: Seeder) -> None:
    stranger = emu.sign_up()
    path = seeder.track(f"users/{stranger.uid}")
    fs.assert_denied(fs.create(fresh_owner, "users", stranger.uid, d.user_doc(stranger.uid)))
    assert fs.bypass_read(path) is None


def test_delete_own_users_doc(me: dict[str, Any]) -> None:
    # e.g. to be re-created by the backend with a second signup grant
    before = fs.bypass_read(me["user"])
    fs.assert_denied(fs.delete(me["caller"], me["user"]))
    _unchanged(me["user"], before)


# ---------------------------------------------------------------- other users' ledgers


@pytest.mark.parametrize("collection", OWNER_READABLE)
def test_list_all_users_entries(collection: str, me: dict[str, Any], victim: dict[str, Any]) -> None:
    caller = me["caller"]
    eq = fs.field_filter
    for q in (
        fs.query(collection),
        fs.query(collection, limit=1),
        fs.query(collection, order_by="userId"),
        fs.query(collection, eq("userId", "IN", [me["uid"], victim["uid"]])),
        fs.query(collection, eq("userId", "NOT_EQUAL", "nobody")),
        fs.query(collection, eq("userId", "GREATER_THAN_OR_EQUAL", "")),
        fs.query(collection, eq("createdAt", "EQUAL", d.NOW)),
    ):
        fs.assert_denied(fs.run_query(caller, q))
    # control: the same collection constrained to the caller's own uid is readable, and
    # returns exactly the caller's entry
    response = fs.run_query(caller, fs.query(collection, eq("userId", "EQUAL", me["uid"])))
    fs.assert_allowed(response)
    assert [doc["name"] for doc in fs.query_documents(response)] == [fs.doc_name(me[collection])]


@pytest.mark.parametrize("collection", OWNER_READABLE)
def test_read_another_users_entry(collection: str, me: dict[str, Any], victim: dict[str, Any]) -> None:
    caller = me["caller"]
    fs.assert_denied(fs.get(caller, victim[collection]))
    fs.assert_denied(fs.run_query(caller, fs.query(collection, fs.field_filter("userId", "EQUAL", victim["uid"]))))
    fs.assert_allowed(fs.get(caller, me[collection]))  # control


def test_batch_get_including_another_users_entry(me: dict[str, Any], victim: dict[str, Any]) -> None:
    fs.assert_denied(fs.batch_get(me["caller"], [me["credit_logs"], victim["credit_logs"]]))
    fs.assert_allowed(fs.batch_get(me["caller"], [me["credit_logs"]]))  # control


def test_read_another_users_profile(me: dict[str, Any], victim: dict[str, Any]) -> None:
    fs.assert_denied(fs.get(me["caller"], victim["user"]))
    fs.assert_denied(fs.run_query(me["caller"], fs.query("users", fs.field_filter("uid", "EQUAL", victim["uid"]))))


def test_collection_group_query_over_ledgers(me: dict[str, Any], admin: fs.Caller) -> None:
    # No {path=**} rule exists: collection-group queries are closed to every client.
    own = fs.field_filter("userId", "EQUAL", me["uid"])
    fs.assert_denied(fs.run_query(me["caller"], fs.query("credit_logs", own, all_descendants=True)))
    fs.assert_denied(fs.run_query(admin, fs.query("credit_logs", all_descendants=True, limit=1)))


def test_probe_for_existence_of_ledger_entries(me: dict[str, Any], admin: fs.Caller, unique: str) -> None:
    # A missing entry is refused like another user's (403, not 404): no existence oracle.
    fs.assert_denied(fs.get(me["caller"], f"credit_logs/grant_{unique}"))
    response = fs.get(admin, f"credit_logs/grant_{unique}")
    assert response.status_code == 404, response.text


# ---------------------------------------------------------------- audit-proof collections


def _audit_doc(collection: str, uid: str, unique: str) -> dict[str, Any]:
    return {
        "credit_logs": d.ledger_entry(uid, delta=-40, balanceAfter=60, reason="admin_clawback"),
        "usage_logs": d.usage_entry(uid, unique),
        "abuse_detection": d.abuse_record(uid),
        "admin_audit_logs": d.audit_entry(uid, "someone"),
    }[collection]


@pytest.mark.parametrize("caller_name", ["owner", "admin"])
@pytest.mark.parametrize("collection", AUDIT_PROOF)
def test_delete_or_rewrite_an_audit_entry(
    collection: str, caller_name: str, fresh_owner: fs.Caller, admin: fs.Caller, seeder: Seeder, unique: str
) -> None:
    # The entry concerns the caller (its userId, or for the audit log its actorId): an admin
    # erasing the trace of their own action, a user erasing their clawback or abuse record.
    caller = admin if caller_name == "admin" else fresh_owner
    assert caller.uid
    path = seeder.set(f"{collection}/rt_{unique}", _audit_doc(collection, caller.uid, unique))
    before = fs.bypass_read(path)
    fs.assert_denied(fs.delete(caller, path))
    fs.assert_denied(fs.commit(caller, [{"delete": fs.doc_name(path)}]))
    fs.assert_denied(fs.update(caller, path, {"note": "nothing happened"}, mask=["note"]))
    fs.assert_denied(fs.update(caller, path, {}, mask=None))  # blank it out
    _unchanged(path, before)


# ---------------------------------------------------------------- forging backend records


def test_write_ai_activity_directly(me: dict[str, Any], admin: fs.Caller, seeder: Seeder, unique: str) -> None:
    caller = me["caller"]
    own = me["ai_activity"]
    before = fs.bypass_read(own)
    # a finished generation that was never charged
    forged = d.activity(me["uid"], status="completed", creditsCharged=0, initialCharge=0, progress=100)
    forged_path = seeder.track(f"ai_activity/forged_{unique}")
    fs.assert_denied(fs.create(caller, "ai_activity", f"forged_{unique}", forged))
    # mark one's own pending activity failed (to trigger a refund) or rewrite what it cost
    fs.assert_denied(fs.update(caller, own, {"status": "failed"}, mask=["status"]))
    fs.assert_denied(
        fs.update(caller, own, {"creditsCharged": 0, "refundedCredits": 10}, mask=["creditsCharged", "refundedCredits"])
    )
    fs.assert_denied(fs.update(caller, own, {"progress": 50}, mask=["progress"]))
    fs.assert_denied(fs.delete(caller, own))
    # admins too: status changes go through updateAIActivityStatus
    fs.assert_denied(fs.update(admin, own, {"status": "failed"}, mask=["status"]))
    _unchanged(own, before)
    assert fs.bypass_read(forged_path) is None


@pytest.mark.parametrize("caller_name", ["owner", "admin"])
def test_forge_a_usage_logs_entry(
    caller_name: str, fresh_owner: fs.Caller, admin: fs.Caller, seeder: Seeder, unique: str
) -> None:
    caller = admin if caller_name == "admin" else fresh_owner
    assert caller.uid
    path = seeder.track(f"usage_logs/forged_{unique}")
    doc = {**d.usage_entry(caller.uid, f"forged_{unique}"), "creditsCharged": 0, "refundedCredits": 10}
    fs.assert_denied(fs.create(caller, "usage_logs", f"forged_{unique}", doc))
    fs.assert_denied(fs.update(caller, path, doc, mask=None, must_exist=None))
    assert fs.bypass_read(path) is None


@pytest.mark.parametrize("caller_name", ["owner", "admin"])
def test_forge_a_ledger_entry(caller_name: str, fresh_owner: fs.Caller, admin: fs.Caller, seeder: Seeder, unique: str) -> None:
    caller = admin if caller_name == "admin" else fresh_owner
    assert caller.uid
    path = seeder.track(f"credit_logs/grant_{unique}")
    doc = d.ledger_entry(caller.uid, delta=1000, balanceAfter=1100, reason="admin_grant")
    fs.assert_denied(fs.create(caller, "credit_logs", f"grant_{unique}", doc))
    fs.assert_denied(fs.update(caller, path, doc, mask=None, must_exist=None))
    assert fs.bypass_read(path) is None


def test_a_batch_mixing_an_allowed_and_a_forbidden_write_is_refused_whole(
    me: dict[str, Any], seeder: Seeder, unique: str
) -> None:
    before = fs.bypass_read(me["user"])
    ledger = seeder.track(f"credit_logs/grant_{unique}")
    writes: list[dict[str, Any]] = [
        {  # allowed on its own
            "update": {"name": fs.doc_name(me["user"]), "fields": {"displayName": fs.encode("Batch")}},
            "updateMask": {"fieldPaths": ["displayName"]},
            "currentDocument": {"exists": True},
        },
        {  # forbidden
            "update": {"name": fs.doc_name(ledger), **fs.document_body(d.ledger_entry(me["uid"], delta=500))},
            "currentDocument": {"exists": False},
        },
    ]
    fs.assert_denied(fs.commit(me["caller"], writes))
    _unchanged(me["user"], before)
    assert fs.bypass_read(ledger) is None
    fs.assert_allowed(fs.commit(me["caller"], writes[:1]))  # control: the allowed half alone
    assert (fs.bypass_read(me["user"]) or {}).get("displayName") == "Batch"


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize("caller_name", ["admin", "owner"])
def test_write_system_config(caller_name: str, fresh_owner: fs.Caller, admin: fs.Caller, seeder: Seeder, unique: str) -> None:
    # Admins change the configuration only through updateCreditConfiguration (validated,
    # versioned, audited). The real document is targeted; a refused write touches nothing.
    caller = admin if caller_name == "admin" else fresh_owner
    real = "system_config/credits"
    snapshot = fs.bypass_snapshot(real)
    try:
        free = {"image": 0, "video": 0, "voice": 0, "chat": 0}
        fs.assert_denied(fs.update(caller, real, {"costs": free}, mask=["costs"], must_exist=None))
        fs.assert_denied(fs.update(caller, real, {"defaultCredits": 1_000_000}, mask=["defaultCredits"], must_exist=None))
        fs.assert_denied(fs.update(caller, real, {"costs": free}, mask=None, must_exist=None))
        fs.assert_denied(fs.delete(caller, real))
        assert fs.bypass_snapshot(real) == snapshot
    finally:
        # Should the rules ever let this through, put the shared configuration back.
        if fs.bypass_snapshot(real) != snapshot:
            fs.bypass_restore(real, snapshot)
    # nor any other document in the collection
    extra = seeder.track(f"system_config/rules_test_{unique}")
    fs.assert_denied(fs.create(caller, "system_config", f"rules_test_{unique}", d.config_doc()))
    assert fs.bypass_read(extra) is None


def _existing(seeder: Seeder, path: str) -> str:
    """``path`` as the backend keeps it, seeded for this test when this tier runs on its own
    (the other tiers' migrations write it otherwise): a 404 must not pass for a denial."""
    if fs.bypass_read(path) is None:
        seeder.set(path, d.config_doc())
    return path


def test_the_public_configuration_is_readable_by_any_signed_in_user_only(
    fresh_owner: fs.Caller, admin: fs.Caller, seeder: Seeder
) -> None:
    path = _existing(seeder, "system_config/credits")
    fs.assert_allowed(fs.get(fresh_owner, path))
    fs.assert_allowed(fs.get(admin, path))
    fs.assert_denied(fs.get(fs.ANONYMOUS, path))


def test_moderation_terms_and_abuse_thresholds_are_for_admins_only(
    fresh_owner: fs.Caller, admin: fs.Caller, seeder: Seeder
) -> None:
    """Exploit (was): any signed-in user read system_config/credits and got the whole term list
    and the abuse thresholds, to tune prompts and pacing just under them."""
    for path in ("system_config/moderation", "applied_config/current", "applied_config/terms"):
        _existing(seeder, path)
        fs.assert_denied(fs.get(fresh_owner, path))
        fs.assert_denied(fs.get(fs.ANONYMOUS, path))
        fs.assert_allowed(fs.get(admin, path))
    fs.assert_denied(fs.run_query(fresh_owner, fs.query("system_config", limit=10)))
    fs.assert_allowed(fs.run_query(admin, fs.query("system_config", limit=10)))
    public = fs.bypass_read("system_config/credits") or {}
    assert "moderation" not in public and "abuse" not in public


# ---------------------------------------------------------------- rate limits


def test_read_ip_rate_limit_docs(me: dict[str, Any], admin: fs.Caller, seeder: Seeder, unique: str) -> None:
    caller = me["caller"]
    ip = f"198.51.100.{int(unique[:2], 16) % 250 + 1}-rt{unique}"
    path = seeder.set(f"rate_limits/ip_{ip}", d.ip_rate_limit(ip))
    fs.assert_denied(fs.get(caller, path))
    fs.assert_denied(fs.run_query(caller, fs.query("rate_limits", fs.field_filter("ip", "EQUAL", ip))))
    fs.assert_denied(fs.run_query(caller, fs.query("rate_limits", limit=10)))
    fs.assert_denied(fs.run_query(caller, fs.query("rate_limits", fs.field_filter("userId", "EQUAL", None))))
    # controls: the admin reads it; the owner reads their own window, by get and by query
    fs.assert_allowed(fs.get(admin, path))
    fs.assert_allowed(fs.get(caller, me["rate_limits"]))
    response = fs.run_query(caller, fs.query("rate_limits", fs.field_filter("userId", "EQUAL", me["uid"])))
    fs.assert_allowed(response)
    assert [doc["name"] for doc in fs.query_documents(response)] == [fs.doc_name(me["rate_limits"])]


def test_read_or_reset_another_users_rate_limit(me: dict[str, Any], victim: dict[str, Any]) -> None:
    caller = me["caller"]
    before = fs.bypass_read(victim["rate_limits"])
    fs.assert_denied(fs.get(caller, victim["rate_limits"]))
    fs.assert_denied(fs.delete(caller, me["rate_limits"]))  # resetting one's own window
    fs.assert_denied(fs.update(caller, me["rate_limits"], {"windows": {}}, mask=["windows"]))
    _unchanged(victim["rate_limits"], before)


def test_reset_own_rate_limit_windows_on_the_users_document(me: dict[str, Any], seeder: Seeder) -> None:
    # A user's windows are the rateLimits map of users/{uid}, a document its owner may update
    # (profile fields only): emptying, deleting or rewriting the map is refused.
    limits = {k: v for k, v in d.user_rate_limit(me["uid"]).items() if k not in ("userId", "updatedAt")}
    path = seeder.set(me["user"], d.user_doc(me["uid"], rateLimits=limits))
    before = fs.bypass_read(path)
    caller = me["caller"]
    fs.assert_denied(fs.update(caller, path, {"rateLimits": {}}, mask=["rateLimits"]))
    fs.assert_denied(fs.update(caller, path, {}, mask=["rateLimits"]))  # delete the field
    fs.assert_denied(fs.update(caller, path, {"rateLimits": {"windows": {}}}, mask=["rateLimits.windows"]))
    rename = {"displayName": "Just a rename", "rateLimits": {"windows": {}}}
    fs.assert_denied(fs.update(caller, path, rename, mask=["displayName", "rateLimits.windows"]))
    _unchanged(path, before)
    assert fs.get(caller, path).status_code == 200  # and the owner reads them, for a countdown


# ---------------------------------------------------------------- signed-out callers


def test_signed_out_caller_reads_nothing(me: dict[str, Any]) -> None:
    for key in ("user", "credit_logs", "usage_logs", "ai_activity", "rate_limits"):
        fs.assert_denied(fs.get(fs.ANONYMOUS, me[key]))
    fs.assert_denied(fs.run_query(fs.ANONYMOUS, fs.query("credit_logs", fs.field_filter("userId", "EQUAL", me["uid"]))))


@pytest.mark.parametrize("collection", OWNER_READABLE)
def test_the_owners_live_view_query_is_allowed(collection: str, me: dict[str, Any]) -> None:
    # What a client actually subscribes to: own entries, newest first, a page at a time.
    q = fs.query(collection, fs.field_filter("userId", "EQUAL", me["uid"]), limit=20)
    q["orderBy"] = [{"field": {"fieldPath": "createdAt"}, "direction": "DESCENDING"}]
    response = fs.run_query(me["caller"], q)
    fs.assert_allowed(response)
    assert [doc["name"] for doc in fs.query_documents(response)] == [fs.doc_name(me[collection])]


def test_the_applied_configuration_is_written_by_no_client_admins_included(fresh_owner: fs.Caller, admin: fs.Caller) -> None:
    """Issue 20, hole 4: what charges use is written only by the backend. A client, an admin's
    included, can neither change, replace, create nor delete it; the console (the Admin SDK's
    authority, past the rules) is met by the seal and the trigger (tests/e2e/test_hand_edits.py)."""
    for path in ("applied_config/current", "applied_config/terms"):
        for caller in (fresh_owner, admin):
            fs.assert_denied(fs.update(caller, path, {"public": {"costs": {"image": 0}}}, ["public.costs.image"]))
            fs.assert_denied(fs.update(caller, path, {"version": 1}, must_exist=None))
            fs.assert_denied(fs.delete(caller, path))
    fs.assert_denied(fs.create(admin, "applied_config", "shadow", {"version": 1}))
