"""What admins do: grants and claw-backs, configuration, account status, IP blocks, statistics.

Every action is one atomic commit holding the change and its ``admin_audit_logs`` entry.
Admin identity is checked by the transport (the ID token's ``admin`` claim); these
functions take the verified ``Caller``. Money moves only through ``ledger.post``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.cloud import firestore

from credits.features import accounts, charging, rollup, stats
from credits.store import audit, config_store, db, ip_blocks, ledger, notifications
from credits.store.atomic import DEFAULT_BUDGET_SECONDS, Attempt, Deadline, Plan, run
from credits.store.ledger import EntryId, EntryKind, Leg, Reason
from credits.vocab.clock import Clock
from credits.vocab.context import Caller, ClientContext
from credits.vocab.errors import DataInvalid, InsufficientCredits, InvalidRequest, NotFound
from credits.vocab.validation import Fields, request_key

_UID = re.compile(r"^[^/\s]{1,128}$")
MAX_GRANT = 1_000_000

# Whether a Firebase Auth account exists for a uid; injected so the domain does not import
# the Admin SDK's auth module (and tests can use the Auth emulator through it).
UserExists = Callable[[str], bool]


def _user_id(f: Fields) -> str | None:
    return f.document_id("userId", pattern=_UID)


def _reason(f: Fields) -> str | None:
    return f.string("reason", max_len=500)


def _known(snapshot: db.Snapshot, user_exists: UserExists) -> None:
    """Refuse an unknown user: no ``users`` document (as read in the step) and no Auth account."""
    if not snapshot.exists and not user_exists(snapshot.id):
        raise NotFound("The user")


# ------------------------------------------------------------------ grants


@dataclass(frozen=True)
class GrantRequest:
    """What ``grantCreditsToUser`` accepts."""

    user_id: str
    amount: int
    reason: str
    request_id: str | None = None

    @classmethod
    def parse(cls, data: Any) -> GrantRequest:
        """Validate a request; ``InvalidRequest`` names every bad field."""
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
        """What makes two grants "the same request" for an idempotency key."""
        canonical = json.dumps({"userId": self.user_id, "amount": self.amount, "reason": self.reason}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def grant_key(actor: Caller, request_id: str) -> str:
    """The ledger key of an idempotent grant (per admin: two admins' keys never collide)."""
    return hashlib.sha256(f"{actor.uid}\n{request_id}".encode()).hexdigest()[:40]


def grant(
    client: firestore.Client,
    clock: Clock,
    actor: Caller,
    ctx: ClientContext,
    request: GrantRequest,
    user_exists: UserExists,
    *,
    deadline: Deadline | None = None,
) -> dict[str, Any]:
    """Add (or claw back) credits: one ledger entry with the admin as actor, and its audit entry."""
    user_ref = accounts.user_ref(client, request.user_id)
    key = grant_key(actor, request.request_id) if request.request_id else ledger.new_random_key(client)
    entry = EntryId(EntryKind.GRANT, key)
    entry_ref = ledger.entry_ref(client, entry)
    fingerprint = request.fingerprint()

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        refs = [user_ref, config_store.applied_ref(client)]
        if request.request_id or attempt.ambiguous:
            refs.append(entry_ref)
        got = attempt.get(refs)
        existing = got.get(entry_ref.path)
        if existing is not None and existing.exists:
            stored = existing.to_dict() or {}
            if stored.get("requestFingerprint") != fingerprint:
                raise InvalidRequest({"requestId": "was already used with different parameters"})
            return Plan(result={"userId": stored["userId"], "newBalance": stored["balanceAfter"], "ledgerEntryId": entry_ref.id})
        _known(got[user_ref.path], user_exists)
        config = config_store.load(attempt, got[config_store.applied_ref(client).path]).credits
        account = accounts.prepare(attempt, got[user_ref.path], None, config, now, None)
        before = account.balance
        if before + request.amount < 0:
            raise InsufficientCredits(required=-request.amount, available=before)
        plan: Plan[dict[str, Any]] = Plan()
        extra = {"requestFingerprint": fingerprint, **({"requestId": request.request_id} if request.request_id else {})}
        posting = account.post(
            plan,
            client,
            now=now,
            low_balance_below=config.lowBalanceThreshold,
            legs=(
                Leg(
                    request.amount,
                    entry,
                    Reason.ADMIN_GRANT if request.amount > 0 else Reason.ADMIN_CLAWBACK,
                    actor_id=actor.uid,
                    note=request.reason,
                    fields=extra,
                ),
            ),
        )
        audit.add(
            plan,
            client,
            audit.entry(
                actor,
                ctx,
                "grant_credits",
                f"users/{request.user_id}",
                {"credits": before},
                {"credits": posting.balance_after, "amount": request.amount, "ledgerEntryId": entry_ref.id},
                now,
                request_id=request.request_id,
                note=request.reason,
            ),
        )
        plan.result = {"userId": request.user_id, "newBalance": posting.balance_after, "ledgerEntryId": entry_ref.id}
        return plan

    with notifications.reporting(client, clock, "grantCreditsToUser"):
        return run(client, step, lock_key=f"user:{request.user_id}", deadline=deadline)


# ------------------------------------------------------------------ configuration


def update_configuration(
    client: firestore.Client,
    clock: Clock,
    actor: Caller,
    ctx: ClientContext,
    patch: Any,
    *,
    deadline: Deadline | None = None,
) -> dict[str, Any]:
    """Validate and merge a partial configuration of either document, audit before and after."""
    return config_store.update(client, clock, actor, ctx, patch, deadline=deadline)


# ------------------------------------------------------------------ account status


@dataclass(frozen=True)
class StatusChange:
    """What ``setUserStatus`` accepts."""

    user_id: str
    status: str
    reason: str

    @classmethod
    def parse(cls, data: Any) -> StatusChange:
        """Validate a request; ``InvalidRequest`` names every bad field."""
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
    *,
    deadline: Deadline | None = None,
) -> dict[str, Any]:
    """Suspend or reactivate an account (opening it, grant pending, if it does not exist yet)."""
    user_ref = accounts.user_ref(client, request.user_id)
    audit_ref = audit.new_ref(client)

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        replayed = audit.replay(attempt, audit_ref)
        if replayed is not None:
            return Plan(result=replayed)
        got = attempt.get([user_ref, config_store.applied_ref(client)])
        user = got[user_ref.path]
        _known(user, user_exists)
        config = config_store.load(attempt, got[config_store.applied_ref(client).path]).credits
        fields = {
            "status": request.status,
            "statusReason": request.reason,
            "statusChangedAt": now,
            "statusChangedBy": actor.uid,
            "updatedAt": now,
        }
        plan: Plan[dict[str, Any]] = Plan()
        try:
            account = accounts.prepare(attempt, user, None, config, now, None)
            before: str | None = account.status if account.account is not None else None
            account.post(plan, client, now=now, low_balance_below=config.lowBalanceThreshold, fields=fields)
        except DataInvalid:
            # A damaged account can still be suspended: the status is all this writes.
            if not user.exists:
                raise
            before = str((user.to_dict() or {}).get("status"))
            plan.put(user, fields)
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

    with notifications.reporting(client, clock, "setUserStatus"):
        return run(client, step, lock_key=f"user:{request.user_id}", deadline=deadline)


# ------------------------------------------------------------------ IP blocks


@dataclass(frozen=True)
class IpBlockChange:
    """What ``setIpBlock`` accepts."""

    target: ip_blocks.Target
    blocked: bool
    reason: str

    @classmethod
    def parse(cls, data: Any) -> IpBlockChange:
        """Validate a request; ``InvalidRequest`` names every bad field."""
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
    client: firestore.Client,
    clock: Clock,
    actor: Caller,
    ctx: ClientContext,
    request: IpBlockChange,
    *,
    deadline: Deadline | None = None,
) -> dict[str, Any]:
    """Block or unblock an address bucket (one document) or a range (the bounded index)."""
    target = request.target
    audit_ref = audit.new_ref(client)
    ranges_ref = ip_blocks.ranges_ref(client)
    doc_ref = ip_blocks.address_ref(client, target.key) if target.kind == "address" else ip_blocks.range_ref(client, target.key)

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        replayed = audit.replay(attempt, audit_ref)
        if replayed is not None:
            return Plan(result=replayed)
        got = attempt.get([doc_ref, ranges_ref])
        doc, index = got[doc_ref.path], got[ranges_ref.path]
        was_blocked = doc.exists
        plan: Plan[dict[str, Any]] = Plan()
        detail = {"target": target.key, "kind": target.kind, "reason": request.reason, "blockedAt": now, "blockedBy": actor.uid}
        if target.kind == "range":
            cidrs = ip_blocks.stored_cidrs(index)
            if request.blocked and target.key not in cidrs:
                if len(cidrs) >= ip_blocks.MAX_RANGES:
                    raise InvalidRequest(
                        {"ip": f"at most {ip_blocks.MAX_RANGES} ranges can be blocked; block addresses, or a wider range"}
                    )
                cidrs = [*cidrs, target.key]
            elif not request.blocked:
                cidrs = [c for c in cidrs if c != target.key]
            was_blocked = was_blocked or target.key in ip_blocks.stored_cidrs(index)
            if cidrs != ip_blocks.stored_cidrs(index) or not index.exists:
                plan.put(index, {"cidrs": cidrs, "updatedAt": now, "updatedBy": actor.uid})
        if request.blocked:
            if doc.exists:
                plan.put(doc, detail)
            else:
                plan.create(doc_ref, detail)
        else:
            plan.delete(doc)
        plan.result = {"ip": target.key, "blocked": request.blocked, "kind": target.kind}
        audit.add(
            plan,
            client,
            audit.entry(
                actor,
                ctx,
                "set_ip_block",
                target.key,
                {"blocked": was_blocked},
                {"blocked": request.blocked},
                now,
                note=request.reason,
            ),
            ref=audit_ref,
            result=plan.result,
        )
        return plan

    return run(client, step, lock_key="ip_blocks", deadline=deadline)


# ------------------------------------------------------------------ statistics


def usage_stats(client: firestore.Client, clock: Clock, actor: Caller, ctx: ClientContext, data: Any) -> dict[str, Any]:
    """``getUsageStats {range?}``: the range's figures at a bounded, reported cost (see
    ``stats``), and an audit entry of the look.
    """
    f = Fields(data if data is not None else {}, {"range"})
    range_name = f.choice("range", tuple(rollup.RANGES), required=False) or "24h"
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


# ------------------------------------------------------------------ moderation


def test_moderation(client: firestore.Client, actor: Caller, data: Any, *, deadline: Deadline | None = None) -> dict[str, Any]:
    """``testModeration {prompt}``: the verdict a charge with this prompt would get now,
    ``{verdict, category?, source}``, from the same configuration and the same code
    (``charging.prompt_verdict``). It charges, records and audits nothing: it is a read.
    """
    del actor  # the transport checked the admin claim; a read leaves no trace
    f = Fields(data, {"prompt"})
    prompt = f.string("prompt", max_len=charging.PROMPT_MAX)
    f.raise_if_any()
    assert prompt is not None
    attempt = Attempt(client=client, number=1, ambiguous=False, deadline=deadline or Deadline(DEFAULT_BUDGET_SECONDS))
    ref = config_store.applied_ref(client)
    applied = config_store.load(attempt, attempt.get([ref])[ref.path])
    return charging.prompt_verdict(attempt, applied, prompt).to_json()
