"""What admins do: grants and claw-backs, configuration, account status, IP blocks, statistics.

Every action is one atomic commit holding the change and its ``admin_audit_logs`` entry.
Admin identity is checked by the transport (the ID token's ``admin`` claim); these
functions take the verified ``Caller``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.cloud import firestore

from . import audit, db, ip_blocks, ledger, stats
from .atomic import Attempt, Plan, run
from .charging import config_ref, ip_blocks_ref
from .clock import Clock
from .config import CreditConfig, from_document, merge_patch
from .context import Caller, ClientContext
from .errors import ConfigurationInvalid, InsufficientCredits, InvalidRequest, NotFound
from .validation import Fields, request_key

_UID = re.compile(r"^[^/\s]{1,128}$")
MAX_GRANT = 1_000_000

# Whether a Firebase Auth account exists for a uid; injected so the domain does not import
# the Admin SDK's auth module (and tests can use the Auth emulator through it).
UserExists = Callable[[str], bool]


def _user_id(f: Fields) -> str | None:
    return f.document_id("userId", pattern=_UID)


def _reason(f: Fields) -> str | None:
    return f.string("reason", max_len=500)


def _user_doc_or_auth(client: firestore.Client, uid: str, user_exists: UserExists) -> None:
    """Refuse an unknown user: no ``users`` document and no Auth account."""
    if client.collection(db.USERS).document(uid).get().exists:
        return
    if not user_exists(uid):
        raise NotFound("The user")


# ------------------------------------------------------------------ grants


@dataclass(frozen=True)
class GrantRequest:
    user_id: str
    amount: int
    reason: str
    request_id: str | None = None

    @classmethod
    def parse(cls, data: Any) -> GrantRequest:
        f = Fields(data, {"userId", "amount", "reason", "requestId"})
        user_id = _user_id(f)
        amount = f.integer("amount", low=-MAX_GRANT, high=MAX_GRANT)
        if amount == 0:
            f.fail("amount", "must not be zero")
        reason = _reason(f)
        request_id = request_key(f)
        f.raise_if_any()
        assert user_id is not None and amount is not None and reason is not None
        return cls(user_id, amount, reason, request_id)

    def fingerprint(self) -> str:
        canonical = json.dumps({"userId": self.user_id, "amount": self.amount, "reason": self.reason}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def grant_entry_id(actor: Caller, request_id: str) -> str:
    return "grant_" + hashlib.sha256(f"{actor.uid}\n{request_id}".encode()).hexdigest()[:40]


def grant(
    client: firestore.Client,
    clock: Clock,
    actor: Caller,
    ctx: ClientContext,
    request: GrantRequest,
    user_exists: UserExists,
) -> dict[str, Any]:
    """Add (or claw back) credits: one ledger entry with the admin as actor, and its audit entry."""
    _user_doc_or_auth(client, request.user_id, user_exists)
    user_ref = client.collection(db.USERS).document(request.user_id)
    entry_ref = (
        ledger.ref(client, grant_entry_id(actor, request.request_id))
        if request.request_id
        else client.collection(db.CREDIT_LOGS).document()
    )
    fingerprint = request.fingerprint()

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        refs = [user_ref, config_ref(client)]
        if request.request_id or attempt.ambiguous:
            refs.append(entry_ref)
        got = attempt.get(refs)
        existing = got.get(entry_ref.path)
        if existing is not None and existing.exists:
            stored = existing.to_dict() or {}
            if stored.get("requestFingerprint") != fingerprint:
                raise InvalidRequest({"requestId": "was already used with different parameters"})
            return Plan(result={"userId": stored["userId"], "newBalance": stored["balanceAfter"], "ledgerEntryId": entry_ref.id})
        user = got[user_ref.path]
        plan: Plan[dict[str, Any]] = Plan()
        if user.exists:
            balance = ledger.balance_of(user.to_dict())
        else:
            config = _config_or_defaults(got[config_ref(client).path])
            balance = config.defaultCredits
        new_balance = balance + request.amount
        if new_balance < 0:
            raise InsufficientCredits(required=-request.amount, available=balance)
        if user.exists:
            plan.put(user, {"credits": new_balance, "updatedAt": now})
        else:
            config = _config_or_defaults(got[config_ref(client).path])
            ledger.create_user(plan, client, user, request.user_id, None, config, now, {"credits": new_balance})
        data = ledger.entry(
            request.user_id,
            request.amount,
            new_balance,
            ledger.ADMIN_GRANT if request.amount > 0 else ledger.ADMIN_CLAWBACK,
            now,
            actor_id=actor.uid,
            note=request.reason,
        )
        data["requestFingerprint"] = fingerprint
        if request.request_id:
            data["requestId"] = request.request_id
        plan.create(entry_ref, data)
        audit.add(
            plan,
            client,
            audit.entry(
                actor,
                ctx,
                "grant_credits",
                f"users/{request.user_id}",
                {"credits": balance},
                {"credits": new_balance, "amount": request.amount, "ledgerEntryId": entry_ref.id},
                now,
                request_id=request.request_id,
                note=request.reason,
            ),
        )
        plan.result = {"userId": request.user_id, "newBalance": new_balance, "ledgerEntryId": entry_ref.id}
        return plan

    return run(client, step, lock_key=f"user:{request.user_id}")


def _config_or_defaults(snapshot: Any) -> CreditConfig:
    try:
        return from_document(snapshot.to_dict() if snapshot.exists else None)
    except ConfigurationInvalid:
        return CreditConfig()


# ------------------------------------------------------------------ configuration


def update_configuration(client: firestore.Client, clock: Clock, actor: Caller, ctx: ClientContext, patch: Any) -> dict[str, Any]:
    """Validate and merge a partial configuration, bump ``version``, audit before and after."""
    if not isinstance(patch, dict):
        raise InvalidRequest({"data": "must be an object"})
    audit_ref = audit.new_ref(client)

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        replayed = audit.replay(attempt, audit_ref)
        if replayed is not None:
            return Plan(result=replayed)
        ref = config_ref(client)
        snap = attempt.get([ref])[ref.path]
        stored = snap.to_dict() if snap.exists else None
        try:
            current = from_document(stored)
        except ConfigurationInvalid:
            # A hand-edited, broken document: the update applies on top of the defaults, so
            # an admin can always repair the configuration through the callable.
            current = CreditConfig(version=int((stored or {}).get("version", 0) or 0))
        merged = merge_patch(current, patch)
        updated = merged.model_copy(update={"version": current.version + 1, "updatedAt": now, "updatedBy": actor.uid})
        plan: Plan[dict[str, Any]] = Plan()
        plan.put(snap, updated.to_firestore())
        plan.result = {"version": updated.version, "config": updated.to_json()}
        audit.add(
            plan,
            client,
            audit.entry(
                actor,
                ctx,
                "update_configuration",
                f"{db.SYSTEM_CONFIG}/{db.CONFIG_DOC}",
                current.to_firestore(),
                updated.to_firestore(),
                now,
            ),
            ref=audit_ref,
            result=plan.result,
        )
        return plan

    return run(client, step, lock_key="config")


# ------------------------------------------------------------------ account status


@dataclass(frozen=True)
class StatusChange:
    user_id: str
    status: str
    reason: str

    @classmethod
    def parse(cls, data: Any) -> StatusChange:
        f = Fields(data, {"userId", "status", "reason"})
        user_id = _user_id(f)
        status = f.choice("status", ("active", "suspended"))
        reason = _reason(f)
        f.raise_if_any()
        assert user_id is not None and status is not None and reason is not None
        return cls(user_id, status, reason)


def set_user_status(
    client: firestore.Client,
    clock: Clock,
    actor: Caller,
    ctx: ClientContext,
    request: StatusChange,
    user_exists: UserExists,
) -> dict[str, Any]:
    _user_doc_or_auth(client, request.user_id, user_exists)
    user_ref = client.collection(db.USERS).document(request.user_id)
    audit_ref = audit.new_ref(client)

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        replayed = audit.replay(attempt, audit_ref)
        if replayed is not None:
            return Plan(result=replayed)
        got = attempt.get([user_ref, config_ref(client)])
        user = got[user_ref.path]
        fields = {
            "status": request.status,
            "statusReason": request.reason,
            "statusChangedAt": now,
            "statusChangedBy": actor.uid,
            "updatedAt": now,
        }
        plan: Plan[dict[str, Any]] = Plan()
        before = (user.to_dict() or {}).get("status", "active") if user.exists else None
        if user.exists:
            plan.put(user, fields)
        else:
            config = _config_or_defaults(got[config_ref(client).path])
            ledger.create_user(plan, client, user, request.user_id, None, config, now, fields)
        plan.result = {"userId": request.user_id, "status": request.status, "previousStatus": before}
        audit.add(
            plan,
            client,
            audit.entry(
                actor,
                ctx,
                "set_user_status",
                f"users/{request.user_id}",
                {"status": before},
                {"status": request.status},
                now,
                note=request.reason,
            ),
            ref=audit_ref,
            result=plan.result,
        )
        return plan

    return run(client, step, lock_key=f"user:{request.user_id}")


# ------------------------------------------------------------------ IP blocks


@dataclass(frozen=True)
class IpBlockChange:
    target: str
    blocked: bool
    reason: str

    @classmethod
    def parse(cls, data: Any) -> IpBlockChange:
        f = Fields(data, {"ip", "blocked", "reason"})
        raw = f.string("ip", max_len=64)
        target = None
        if raw is not None:
            target = ip_blocks.parse_target(raw)
            if target is None:
                f.fail("ip", "must be an IPv4/IPv6 address or a CIDR range")
        blocked = f.boolean("blocked")
        reason = _reason(f)
        f.raise_if_any()
        assert target is not None and blocked is not None and reason is not None
        return cls(target, blocked, reason)


def set_ip_block(
    client: firestore.Client, clock: Clock, actor: Caller, ctx: ClientContext, request: IpBlockChange
) -> dict[str, Any]:
    ref = ip_blocks_ref(client)
    audit_ref = audit.new_ref(client)

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        replayed = audit.replay(attempt, audit_ref)
        if replayed is not None:
            return Plan(result=replayed)
        snap = attempt.get([ref])[ref.path]
        entries = dict(((snap.to_dict() or {}).get("entries") or {}) if snap.exists else {})
        before = entries.get(request.target)
        if request.blocked:
            if request.target not in entries and len(entries) >= ip_blocks.MAX_ENTRIES:
                raise InvalidRequest({"ip": f"the block list is full ({ip_blocks.MAX_ENTRIES} entries); use a range"})
            entries[request.target] = {"reason": request.reason, "blockedAt": now, "blockedBy": actor.uid}
        else:
            entries.pop(request.target, None)
        plan: Plan[dict[str, Any]] = Plan()
        plan.put(snap, {"entries": entries, "updatedAt": now, "updatedBy": actor.uid})
        plan.result = {"ip": request.target, "blocked": request.blocked, "entries": len(entries)}
        audit.add(
            plan,
            client,
            audit.entry(
                actor,
                ctx,
                "set_ip_block",
                request.target,
                {"blocked": before is not None},
                {"blocked": request.blocked},
                now,
                note=request.reason,
            ),
            ref=audit_ref,
            result=plan.result,
        )
        return plan

    return run(client, step, lock_key="ip_blocks")


# ------------------------------------------------------------------ statistics


def usage_stats(client: firestore.Client, clock: Clock, actor: Caller, ctx: ClientContext, data: Any) -> dict[str, Any]:
    """``getUsageStats {range?}``: the range's figures at a bounded, reported cost (see
    ``stats``), and an audit entry of the look."""
    f = Fields(data if data is not None else {}, {"range"})
    range_name = f.choice("range", tuple(stats.RANGES), required=False) or "24h"
    f.raise_if_any()
    now = clock.now()
    result, cost = stats.usage_stats(client, now, range_name)
    reads = cost.total

    audit_ref = audit.new_ref(client)

    def step(attempt: Attempt) -> Plan[None]:
        plan: Plan[None] = Plan()
        if audit.replay(attempt, audit_ref) is not None:
            return plan
        audit.add(
            plan,
            client,
            audit.entry(actor, ctx, "get_usage_stats", range_name, None, None, now),
            ref=audit_ref,
            result={"documentsRead": reads},
        )
        return plan

    run(client, step)
    return result
