"""The allow/deny matrix: every collection x caller x operation, each cell its own test.

Operations, as the Firebase SDK sends them over REST:
* ``get``        GET one existing document (owned by ``owner``);
* ``list``       runQuery over the whole collection, no constraint;
* ``list_own``   runQuery constrained to the caller's own uid (``where(<owner field>, "==", uid)``;
                 a signed-out caller constrains to the owner's uid);
* ``list_owner`` runQuery constrained to ``owner``'s uid (someone else's, unless the caller is
                 the owner);
* ``create``     POST ?documentId= (a create only) of a plausible document, as favourable to the
                 caller as possible (their own uid in the path / ``userId``);
* ``update``     PATCH with an update mask and an exists precondition (an update only);
* ``delete``     DELETE of the existing document.

Every cell asserts exactly 200 (allowed) or exactly 403 PERMISSION_DENIED (denied), and then
checks the effect with the owner bypass: an allowed read returns the right documents, a denied
write leaves the document exactly as it was (or absent), an allowed write took effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.rules import documents as d, firestore_rest as fs
from tests.rules.conftest import Seeder

CALLERS = ("owner", "other", "admin", "anon")
READ_OPS = ("get", "list", "list_own", "list_owner")
WRITE_OPS = ("create", "update", "delete")

NOBODY: frozenset[str] = frozenset()
ADMIN = frozenset({"admin"})
OWNER_ADMIN = frozenset({"owner", "admin"})
SIGNED_IN = frozenset({"owner", "other", "admin"})


def _allow(
    get: frozenset[str],
    list_: frozenset[str],
    list_own: frozenset[str] = NOBODY,
    list_owner: frozenset[str] = NOBODY,
    update: frozenset[str] = NOBODY,
) -> dict[str, frozenset[str]]:
    """Who may do what; nobody may create or delete anything, in any collection."""
    return {
        "get": get,
        "list": list_,
        "list_own": list_own,
        "list_owner": list_owner,
        "create": NOBODY,
        "update": update,
        "delete": NOBODY,
    }


# Per-user entries: the owner reads their own (get, or a query constrained to their uid), an
# admin reads everything; a query for someone else's uid or no uid at all is refused.
ENTRY = _allow(get=OWNER_ADMIN, list_=ADMIN, list_own=SIGNED_IN, list_owner=OWNER_ADMIN)
ADMIN_VIEW = _allow(get=ADMIN, list_=ADMIN, list_own=ADMIN, list_owner=ADMIN)
CLOSED = _allow(get=NOBODY, list_=NOBODY, list_own=NOBODY, list_owner=NOBODY)


@dataclass(frozen=True)
class Row:
    name: str
    collection: str
    doc_id: Callable[[str, str], str]  # (uid the document belongs to, unique) -> document id
    data: Callable[[str, str], dict[str, Any]]  # (uid, unique) -> document
    update: tuple[str, Any]  # the field an "update" changes, and its new value
    allow: dict[str, frozenset[str]]
    own_field: str | None = "userId"  # the field "list_own"/"list_owner" constrain; None: no such cells
    parent: Callable[[str], str] | None = None  # (uid) -> parent document path, for subcollections
    create_data: Callable[[str, str], dict[str, Any]] | None = None
    ops: tuple[str, ...] = field(default=READ_OPS + WRITE_OPS)

    def collection_path(self, uid: str) -> str:
        return f"{self.parent(uid)}/{self.collection}" if self.parent else self.collection

    def path(self, uid: str, unique: str) -> str:
        return f"{self.collection_path(uid)}/{self.doc_id(uid, unique)}"

    def operations(self) -> tuple[str, ...]:
        return tuple(op for op in self.ops if self.own_field or op not in ("list_own", "list_owner"))


ROWS = (
    Row(
        "users",
        "users",
        doc_id=lambda uid, u: uid,
        data=lambda uid, u: d.user_doc(uid),
        update=("displayName", "Renamed By Owner"),
        # get: owner and admin; queries over users are an admin view (an owner knows their path);
        # the owner may update profile fields (field-level cases: test_rules_users.py).
        allow=_allow(get=OWNER_ADMIN, list_=ADMIN, list_own=ADMIN, list_owner=ADMIN, update=frozenset({"owner"})),
        own_field="uid",
        # the most favourable create: only a profile field, in the caller's own users/{uid}
        create_data=lambda uid, u: {"displayName": "Me"},
    ),
    Row(
        "system_config",
        "system_config",
        # never system_config/credits or /moderation: the backend and the other tiers use them
        # (their own cases: test_rules_attacks.py). Any other document there is admin-only.
        doc_id=lambda uid, u: f"rules_test_{u}",
        data=lambda uid, u: d.config_doc(),
        update=("costs", {"image": 0, "video": 0, "voice": 0, "chat": 0}),
        allow=_allow(get=ADMIN, list_=ADMIN),
        own_field=None,
    ),
    Row(
        "applied_config",
        "applied_config",
        doc_id=lambda uid, u: f"rules_test_{u}",
        data=lambda uid, u: {"credits": d.config_doc(), "version": 1},
        update=("version", 99),
        allow=_allow(get=ADMIN, list_=ADMIN),
        own_field=None,
    ),
    Row(
        "job_runs",
        "job_runs",
        doc_id=lambda uid, u: f"rules_test_{u}",
        data=lambda uid, u: {"job": "resetRateLimits", "skippedCount": 0, "startedAt": d.NOW},
        update=("skippedCount", 5),
        allow=_allow(get=ADMIN, list_=ADMIN),
        own_field=None,
    ),
    Row(
        "credit_logs",
        "credit_logs",
        doc_id=lambda uid, u: f"signup_{uid}",
        data=lambda uid, u: d.ledger_entry(uid),
        update=("delta", 1_000_000),
        allow=ENTRY,
    ),
    Row(
        "usage_logs",
        "usage_logs",
        doc_id=lambda uid, u: f"rt_{u}",
        data=lambda uid, u: d.usage_entry(uid, f"rt_{u}"),
        update=("creditsCharged", 0),
        allow=ENTRY,
    ),
    Row(
        "ai_activity",
        "ai_activity",
        doc_id=lambda uid, u: f"rt_{u}",
        data=lambda uid, u: d.activity(uid),
        update=("status", "failed"),
        allow=ENTRY,
    ),
    Row(
        "rate_limits_user",
        "rate_limits",
        doc_id=lambda uid, u: f"u_{uid}",
        data=lambda uid, u: d.user_rate_limit(uid),
        update=("windows", {}),
        allow=ENTRY,
    ),
    Row(
        "rate_limits_ip",
        "rate_limits",
        doc_id=lambda uid, u: f"ip_rt-{u}",
        data=lambda uid, u: d.ip_rate_limit(f"rt-{u}"),
        update=("hits", []),
        allow=_allow(get=ADMIN, list_=ADMIN),
        own_field=None,  # no userId: what an owner may query is the rate_limits_user row
    ),
    Row(
        "abuse_detection",
        "abuse_detection",
        doc_id=lambda uid, u: f"rt_{u}",
        data=lambda uid, u: d.abuse_record(uid),
        update=("severity", "low"),
        allow=ADMIN_VIEW,
    ),
    Row(
        "admin_audit_logs",
        "admin_audit_logs",
        doc_id=lambda uid, u: f"rt_{u}",
        data=lambda uid, u: d.audit_entry("some-admin", uid),
        update=("after", {"credits": 100}),
        allow=ADMIN_VIEW,
        own_field="target",  # "the audit entries about me"
    ),
    Row(
        "abuse_scores",
        "abuse_scores",
        doc_id=lambda uid, u: uid,
        data=lambda uid, u: d.abuse_score(uid),
        update=("score", 0),
        allow=ADMIN_VIEW,
    ),
    Row(
        "admin_notifications",
        "admin_notifications",
        doc_id=lambda uid, u: f"rt_{u}",
        data=lambda uid, u: d.admin_notification(uid),
        update=("read", True),
        allow=ADMIN_VIEW,
    ),
    Row(
        "ip_blocks",
        "ip_blocks",
        # never an address the other tiers use, nor ip_blocks/ranges
        doc_id=lambda uid, u: f"rules_test_{u}",
        data=lambda uid, u: d.ip_block_list(),
        update=("entries", {}),
        allow=_allow(get=ADMIN, list_=ADMIN),
        own_field=None,
    ),
    Row(
        "usage_rollups",
        "usage_rollups",
        doc_id=lambda uid, u: f"rules_test_{u}",
        data=lambda uid, u: d.usage_rollup(),
        update=("byType", {"image": {"creditsUsed": 1_000_000}}),
        allow=_allow(get=ADMIN, list_=ADMIN),
        own_field=None,
    ),
    Row(
        "usage_rollup_users",
        "usage_rollup_users",
        doc_id=lambda uid, u: uid,
        data=lambda uid, u: d.usage_rollup_user(uid),
        update=("creditsUsed7d", 1_000_000),
        allow=ADMIN_VIEW,  # a user's own totals included: rankings are for admins
    ),
    Row(
        "unlisted_collection",
        "private_notes",  # a collection the data model does not name: default deny
        doc_id=lambda uid, u: f"rt_{u}",
        data=lambda uid, u: {"userId": uid, "text": "hello"},
        update=("text", "changed"),
        allow=CLOSED,
    ),
    Row(
        "users_subcollection",
        "private",  # users/{uid}/private/{id}: not covered by the users/{uid} rules
        doc_id=lambda uid, u: f"rt_{u}",
        data=lambda uid, u: {"userId": uid, "text": "hello"},
        update=("text", "changed"),
        allow=CLOSED,
        parent=lambda uid: f"users/{uid}",
    ),
    # Payments: the owner and admins read a payment; Stripe's events, the payment-intent links
    # and the refused-signature counts are admin views; a user's Stripe customer is server only.
    Row(
        "payments",
        "payments",
        doc_id=lambda uid, u: f"cs_test_{u}",
        data=lambda uid, u: d.payment(uid),
        update=("status", "refunded"),
        allow=ENTRY,
    ),
    Row(
        "stripe_events",
        "stripe_events",
        doc_id=lambda uid, u: f"evt_{u}",
        data=lambda uid, u: {"type": "checkout.session.completed", "outcome": "granted", "userId": uid, "receivedAt": d.NOW},
        update=("outcome", "ignored"),
        allow=ADMIN_VIEW,
    ),
    Row(
        "stripe_payment_refs",
        "stripe_payment_refs",
        doc_id=lambda uid, u: f"pi_{u}",
        data=lambda uid, u: {"paymentId": f"cs_test_{u}", "userId": uid},
        update=("paymentId", "cs_test_other"),
        allow=ADMIN_VIEW,
    ),
    Row(
        "stripe_customers",
        "stripe_customers",
        doc_id=lambda uid, u: uid,
        data=lambda uid, u: {"customerId": f"cus_{u}", "userId": uid, "createdAt": d.NOW},
        update=("customerId", "cus_someone_else"),
        allow=CLOSED,
    ),
    Row(
        "stripe_webhook_failures",
        "stripe_webhook_failures",
        doc_id=lambda uid, u: f"rt_{u}",
        data=lambda uid, u: {"hour": d.NOW, "shard": 0, "count": 1},
        update=("count", 0),
        allow=ADMIN_VIEW,
        own_field=None,
    ),
)
ROWS_BY_NAME = {row.name: row for row in ROWS}


def _cells(ops: tuple[str, ...]) -> list[Any]:
    return [
        pytest.param(row.name, caller, op, id=f"{row.name}-{op}-{caller}")
        for row in ROWS
        for op in row.operations()
        if op in ops
        for caller in CALLERS
    ]


def test_every_row_has_a_verdict_for_every_cell() -> None:
    for row in ROWS:
        assert set(row.allow) == set(READ_OPS + WRITE_OPS), row.name
        for op, callers in row.allow.items():
            assert callers <= set(CALLERS), (row.name, op)
    # Nobody creates or deletes anything from a client, in any collection.
    assert all(not row.allow["create"] and not row.allow["delete"] for row in ROWS)


# ---------------------------------------------------------------- reads


@pytest.fixture(scope="module")
def read_world(owner: fs.Caller, module_seeder: Seeder, run_id: str) -> dict[str, str]:
    """One document per row, owned by ``owner``; row name -> path."""
    assert owner.uid
    paths = {}
    for row in ROWS:
        path = row.path(owner.uid, run_id)
        module_seeder.set(path, row.data(owner.uid, run_id))
        paths[row.name] = path
    return paths


@pytest.fixture(scope="module")
def run_id() -> str:
    return uuid.uuid4().hex[:16]


@pytest.mark.parametrize(("row_name", "caller_name", "op"), _cells(READ_OPS))
def test_read(
    row_name: str, caller_name: str, op: str, read_world: dict[str, str], request: pytest.FixtureRequest, owner: fs.Caller
) -> None:
    row = ROWS_BY_NAME[row_name]
    caller = fs.ANONYMOUS if caller_name == "anon" else request.getfixturevalue(caller_name)
    allowed = caller_name in row.allow[op]
    assert owner.uid
    path = read_world[row.name]
    parent = row.parent(owner.uid) if row.parent else ""

    if op == "get":
        response = fs.get(caller, path)
        fs.assert_outcome(response, allowed)
        if allowed:
            assert response.json()["name"] == fs.doc_name(path)
        return

    if op == "list":
        response = fs.run_query(caller, fs.query(row.collection, limit=50), parent=parent)
        fs.assert_outcome(response, allowed)
        if allowed:
            assert isinstance(response.json(), list)
        return

    assert row.own_field
    uid = owner.uid if op == "list_owner" or caller.uid is None else caller.uid
    response = fs.run_query(caller, fs.query(row.collection, fs.field_filter(row.own_field, "EQUAL", uid)), parent=parent)
    fs.assert_outcome(response, allowed)
    if allowed:
        docs = fs.query_documents(response)
        assert all(fs.document_data(doc).get(row.own_field) == uid for doc in docs)
        names = {doc["name"] for doc in docs}
        assert (fs.doc_name(path) in names) == (uid == owner.uid), names


# ---------------------------------------------------------------- writes


@pytest.mark.parametrize(("row_name", "caller_name", "op"), _cells(WRITE_OPS))
def test_write(
    row_name: str,
    caller_name: str,
    op: str,
    fresh_owner: fs.Caller,
    seeder: Seeder,
    unique: str,
    request: pytest.FixtureRequest,
) -> None:
    row = ROWS_BY_NAME[row_name]
    # The owner of the documents is a new user per cell, so a write that is wrongly allowed
    # (a failing cell) cannot disturb any other cell.
    if caller_name == "owner":
        caller = fresh_owner
    elif caller_name == "anon":
        caller = fs.ANONYMOUS
    else:
        caller = request.getfixturevalue(caller_name)
    allowed = caller_name in row.allow[op]
    assert fresh_owner.uid

    if op == "create":
        # As favourable as possible: the caller's own uid in the document id and in userId.
        uid = caller.uid or fresh_owner.uid
        path = seeder.track(row.path(uid, unique))
        assert fs.bypass_read(path) is None
        make = row.create_data or row.data
        response = fs.create(caller, row.collection_path(uid), row.doc_id(uid, unique), make(uid, unique))
        fs.assert_outcome(response, allowed)
        assert (fs.bypass_read(path) is not None) == allowed
        return

    path = seeder.set(row.path(fresh_owner.uid, unique), row.data(fresh_owner.uid, unique))
    before = fs.bypass_read(path)
    assert before is not None

    if op == "update":
        name, value = row.update
        assert before.get(name) != value, "the update must change something"
        response = fs.update(caller, path, {name: value}, mask=[name])
        fs.assert_outcome(response, allowed)
        after = fs.bypass_read(path)
        if allowed:
            assert after == {**before, name: value}
        else:
            assert after == before
        return

    assert op == "delete"
    response = fs.delete(caller, path)
    fs.assert_outcome(response, allowed)
    after = fs.bypass_read(path)
    assert (after is None) == allowed
    if not allowed:
        assert after == before
