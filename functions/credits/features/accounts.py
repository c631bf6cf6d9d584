"""Accounts: ``users/{uid}``, its checked shape, its opening and its restoration.

An account exists, with its sign-up grant decided and recorded in the ledger exactly once
(``signup_{uid}``), by the time the user's first call that passes input validation returns:
``getCreditStatus``, ``validateAndDeductCredits``, or an update of their own generation. The
opening is part of that call's own commit (whatever else the call decides, a refusal
included), so it happens exactly once however many first calls race.

The sign-up decision (``policy.signup``) needs the caller's identity (anonymous? a verified
email?) and address. An account an admin creates first (a grant or a suspension before the
user ever called) has no such facts: it opens with ``signupGrant: "pending"`` and the user's
first own call decides.

A user document deleted by hand in the console is not a new user: the next call recreates it
from the ledger (the balance the entries sum to, the same sign-up decision) and the audit
trail (the status: the latest of the user's ``setUserStatus`` audit entries and automatic
suspensions in ``abuse_detection``), records a 0-delta ``restore`` entry and tells the
admins; it never grants again, never loops, and never lifts a suspension.

Reading an account goes through ``parse``: a balance that is not a non-negative integer, an
unknown status, counters that are not integers are ``data_invalid`` naming the document, for
that user alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from google.cloud import firestore
from google.cloud.firestore_v1 import aggregation
from google.cloud.firestore_v1.base_query import FieldFilter

from credits.features import plans
from credits.policy import buckets as bucket_policy, signup as signup_policy
from credits.policy.buckets import Bucket
from credits.policy.signup import SignupDecision
from credits.store import buckets as bucket_store, db, ledger, notifications
from credits.store.atomic import Attempt, Plan
from credits.store.db import Snapshot
from credits.store.ledger import EntryId, EntryKind, Leg, Reason
from credits.vocab.clock import from_millis, to_millis
from credits.vocab.config import CreditConfig
from credits.vocab.context import Caller
from credits.vocab.errors import DataInvalid

AccountStatus = Literal["active", "suspended"]
SignupGrant = Literal["granted", "withheld", "pending"]
PROFILE_FIELDS = ("displayName", "photoURL", "locale", "preferences")


def user_ref(client: firestore.Client, uid: str) -> firestore.DocumentReference:
    """``users/{uid}``."""
    return client.collection(db.USERS).document(uid)


def path_of(uid: str) -> str:
    """The document path of an account, as ``DataInvalid`` names it."""
    return f"{db.USERS}/{uid}"


@dataclass(frozen=True)
class Account:
    """A user document as read and checked."""

    snapshot: Snapshot
    uid: str
    credits: int
    status: AccountStatus
    usage: dict[str, int]
    signup_grant: SignupGrant | None
    low_balance: bool | None
    data: dict[str, Any]
    buckets: dict[str, Bucket] = field(default_factory=dict)

    @property
    def stored_buckets(self) -> Any:
        """The ``buckets`` field as stored (None for an account that predates buckets)."""
        return self.data.get(bucket_store.FIELD)

    @property
    def suspended(self) -> bool:
        """Whether the account is suspended."""
        return self.status == "suspended"


def parse(snapshot: Snapshot) -> Account | None:
    """The account, None if the document does not exist; ``DataInvalid`` if it is damaged."""
    if not snapshot.exists:
        return None
    data = snapshot.to_dict() or {}
    uid = snapshot.id
    problems: dict[str, str] = {}
    credits = data.get("credits")
    if isinstance(credits, bool) or not isinstance(credits, int) or credits < 0:
        problems["credits"] = "must be a non-negative integer"
    status = data.get("status", "active")
    if status not in ("active", "suspended"):
        problems["status"] = "must be active or suspended"
    usage_raw = data.get("usage", {})
    usage: dict[str, int] = {}
    if not isinstance(usage_raw, dict):
        problems["usage"] = "must be a map"
    else:
        for name, value in usage_raw.items():
            if isinstance(value, bool) or not isinstance(value, int):
                problems[f"usage.{name}"] = "must be an integer"
            else:
                usage[str(name)] = value
    grant = data.get("signupGrant")
    if grant is not None and grant not in ("granted", "withheld", "pending"):
        problems["signupGrant"] = "must be granted, withheld or pending"
    low = data.get("lowBalance")
    held: dict[str, Bucket] = {}
    if not problems:
        held = bucket_store.parse(uid, data, cast(int, credits), problems)
    if problems:
        raise DataInvalid(path_of(uid), problems)
    return Account(
        snapshot=snapshot,
        uid=uid,
        credits=cast(int, credits),
        status=cast(AccountStatus, status),
        usage=usage,
        signup_grant=cast("SignupGrant | None", grant),
        low_balance=low if isinstance(low, bool) else None,
        data=data,
        buckets=held,
    )


def _identity_fields(uid: str, caller: Caller | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "uid": uid,
        "email": caller.email if caller else None,
        "displayName": caller.name if caller else None,
        "status": "active",
        "role": "user",
        "createdAt": now,
    }


def _signup_fields(decision: SignupDecision | None) -> dict[str, Any]:
    if decision is None:
        return {"signupGrant": "pending"}
    if decision.granted:
        return {"signupGrant": "granted"}
    return {"signupGrant": "withheld", "signupGrantRule": decision.rule}


def signup_leg(uid: str, decision: SignupDecision) -> Leg:
    """The ledger leg that records a sign-up decision (0 credits when withheld)."""
    if decision.granted:
        entry = EntryId(EntryKind.SIGNUP, uid)
        rule = bucket_store.Open(str(entry), "signup", None, None) if decision.amount else None
        return Leg(decision.amount, entry, Reason.SIGNUP_GRANT, actor_id="system", buckets=rule)
    return Leg(
        0, EntryId(EntryKind.SIGNUP, uid), Reason.SIGNUP_GRANT_WITHHELD, actor_id="system", note=f"withheld: {decision.rule}"
    )


@dataclass(frozen=True)
class SignupFacts:
    """What the sign-up policy needs about the caller's address (the wider networks' counts
    and the product's hourly count are read only when the narrow rules would grant).
    """

    ip_known: bool
    ip_blocked: bool
    grants_from_ip: tuple[int, ...]
    ip: str | None = None


@dataclass
class Prepared:
    """A user's account as a call will post to it: opened, restored or decided if need be.

    Every call that touches the caller's account goes through one ``Prepared`` and posts at
    most once (``post``), so the account's opening, its sign-up entry and the call's own legs
    land in one write of the user document and one commit.
    """

    uid: str
    snapshot: Snapshot
    account: Account | None  # as read; None when the document is created by this call
    opening: dict[str, Any] | None = None
    opening_balance: int = 0
    legs: list[Leg] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    notices: list[dict[str, Any]] = field(default_factory=list)
    decision: SignupDecision | None = None  # a sign-up decision made by this call
    # Other documents the account's opening writes (a grant's wider-network and hourly counts).
    writes: list[tuple[Snapshot, dict[str, Any]]] = field(default_factory=list)
    opening_buckets: dict[str, Bucket] = field(default_factory=dict)
    now: dt.datetime | None = None  # the call's clock: what has expired by then is not spendable

    @property
    def held(self) -> dict[str, Bucket]:
        """The buckets as read (or rebuilt), expired ones included."""
        return dict(self.opening_buckets) if self.account is None else dict(self.account.buckets)

    @property
    def expiring(self) -> int:
        """Credits of buckets that have expired by ``now`` (the posting expires them first)."""
        if self.now is None:
            return 0
        return sum(b.remaining for b in bucket_policy.expired(self.held.values(), self.now))

    @property
    def balance(self) -> int:
        """The spendable balance once expired buckets are gone and the account's own legs are posted."""
        base = self.opening_balance if self.account is None else self.account.credits
        return base - self.expiring + sum(leg.delta for leg in self.legs)

    def live_buckets(self) -> list[Bucket]:
        """The live buckets once the account's own legs are posted, in spend order (a preview
        of what ``post`` will store; legs that open buckets are applied on a copy).
        """
        book = bucket_store.Book(self.now or dt.datetime.now(dt.UTC), self.held)
        for bucket in book.catch_up():
            book.apply(bucket_store.Expire(bucket.id), -bucket.remaining)
        for leg in self.legs:
            if leg.delta:
                book.apply(leg.buckets if leg.buckets is not None else bucket_store.Spend(), leg.delta)
        return bucket_policy.spend_order(bucket_policy.live(book.buckets.values(), book.now))

    @property
    def status(self) -> AccountStatus:
        """The account's status."""
        if self.account is not None:
            return self.account.status
        return cast(AccountStatus, (self.opening or {}).get("status", "active"))

    @property
    def usage(self) -> dict[str, int]:
        """The usage counters as read."""
        return {} if self.account is None else dict(self.account.usage)

    @property
    def signup_grant(self) -> str:
        """``granted``, ``withheld`` or ``pending``."""
        if "signupGrant" in self.fields:
            return str(self.fields["signupGrant"])
        if self.opening is not None:
            return str(self.opening.get("signupGrant", "pending"))
        return (self.account.signup_grant if self.account else None) or "granted"

    @property
    def signup_rule(self) -> str | None:
        """The rule that withheld the sign-up grant, if it was withheld."""
        source = {**(self.account.data if self.account else {}), **(self.opening or {}), **self.fields}
        rule = source.get("signupGrantRule")
        return rule if isinstance(rule, str) and self.signup_grant == "withheld" else None

    @property
    def granted_now(self) -> bool:
        """Whether this call grants the sign-up credits (the address's grant log counts it)."""
        return self.decision is not None and self.decision.granted

    @property
    def must_write(self) -> bool:
        """Whether the account changes even if the call itself writes nothing to it."""
        return self.opening is not None or bool(self.legs) or bool(self.fields)

    def post(
        self,
        plan: Plan[Any],
        client: firestore.Client,
        *,
        now: dt.datetime,
        low_balance_below: int,
        legs: tuple[Leg, ...] = (),
        fields: dict[str, Any] | None = None,
    ) -> ledger.Posting:
        """Post the account's legs, then the call's ``legs``, with ``fields``."""
        return self.post_change(plan, client, ledger.Change(legs, now, low_balance_below, fields=fields))

    def post_change(self, plan: Plan[Any], client: firestore.Client, change: ledger.Change) -> ledger.Posting:
        """Post the account's legs, then the call's ``change`` (its legs, usage and fields)."""
        for notice in self.notices:
            notifications.add(plan, client, notice)
        for snapshot, data in self.writes:
            plan.put(snapshot, data)
        holder = ledger.Holder(self.uid, self.snapshot, self.account, self.opening, self.opening_balance, self.opening_buckets)
        return ledger.post(
            plan,
            client,
            holder,
            dataclasses.replace(
                change,
                legs=[*self.legs, *change.legs],
                fields={**self.fields, **(change.fields or {})},
                first_leg=len(self.legs),
            ),
        )


def prepare(
    attempt: Attempt,
    snapshot: Snapshot,
    caller: Caller | None,
    config: CreditConfig,
    now: dt.datetime,
    facts: SignupFacts | None,
) -> Prepared:
    """The caller's account, ready to post to.

    ``facts`` None means the caller is not the account's user (an admin acting on it): a new
    account then opens with its sign-up decision pending. Raises ``DataInvalid`` for a
    damaged document.
    """
    account = parse(snapshot)
    uid = snapshot.id
    if account is not None:
        prepared = Prepared(uid, snapshot, account, now=now)
        if account.signup_grant == "pending" and facts is not None and caller is not None:
            decided = _decide(attempt, prepared, caller, config, facts, now)
            prepared.decision = decided
            prepared.legs.append(signup_leg(uid, decided))
            prepared.fields.update(_signup_fields(decided))
        plans.catch_up(prepared, config, now)  # a free plan's new period, in this call's commit
        return prepared
    past = history(attempt, uid)
    if past.existed:
        restored = _restored(snapshot, past, caller, now)
        restored.now = now
        restored.opening_buckets = bucket_store.rebuild(attempt, uid)
        restored.opening_balance = sum(b.remaining for b in restored.opening_buckets.values())
        return restored
    prepared = Prepared(uid, snapshot, None, now=now)
    decision = _decide(attempt, prepared, caller, config, facts, now) if facts is not None and caller is not None else None
    prepared.opening = {**_identity_fields(uid, caller, now), **_signup_fields(decision)}
    if decision is not None:
        prepared.decision = decision
        prepared.legs.append(signup_leg(uid, decision))
    return prepared


def network_ref(client: firestore.Client, network: str) -> firestore.DocumentReference:
    """``rate_limits/net_{network}``: a wider network's sign-up grants (IPv4 /24, IPv6 /56 or /48)."""
    return client.collection(db.RATE_LIMITS).document("net_" + network.replace("/", "_"))


def hourly_ref(client: firestore.Client, hour: int, shard: int) -> firestore.DocumentReference:
    """``rate_limits/signups_{hour}_{shard}``: one shard of the product's sign-up grants in a clock hour."""
    return client.collection(db.RATE_LIMITS).document(f"signups_{hour}_{shard}")


def _decide(
    attempt: Attempt, prepared: Prepared, caller: Caller, config: CreditConfig, facts: SignupFacts, now: dt.datetime
) -> SignupDecision:
    """The sign-up decision: the account's and the address's own rules first (no read), then,
    for a sign-up they would grant, the wider networks and the hour (one more round trip, on a
    first call only). A grant's counts go into ``prepared.writes``.
    """
    signup = config.signup
    narrow = signup_policy.SignupState(
        amount=config.defaultCredits,
        anonymous=caller.anonymous,
        email_verified=caller.email_verified,
        require_verified_email=signup.requireVerifiedEmail,
        ip_known=facts.ip_known,
        ip_blocked=facts.ip_blocked,
        grants_from_ip=facts.grants_from_ip,
        grants_per_ip_per_day=signup.grantsPerIpPerDay,
    )
    first = signup_policy.decide(narrow)
    if not first.granted or facts.ip is None:
        return first
    wider = _WiderCounts.read(attempt, facts.ip, now)
    decision = signup_policy.decide(
        dataclasses.replace(
            narrow,
            grants_from_network=wider.logs["network"],
            grants_per_network_per_day=signup.grantsPerNetworkPerDay,
            grants_from_allocation=wider.logs["allocation"],
            grants_per_allocation_per_day=signup.grantsPerAllocationPerDay,
            grants_this_hour=wider.this_hour,
            grants_per_hour=signup.grantsPerHour,
        )
    )
    if decision.rule == "global_limit":
        _tell_hourly_cap(attempt.client, signup.grantsPerHour, wider.hour, now)
    if decision.granted:
        prepared.writes.extend(wider.counted(config, prepared.uid, now))
    return decision


@dataclass(frozen=True)
class _WiderCounts:
    """The sign-up grants counted at an address's wider networks and in the clock hour, as read."""

    now_ms: int
    hour: int
    nets: signup_policy.Networks
    snaps: dict[str, Snapshot]  # "network", "allocation" (IPv6 only), "hour_{shard}"
    logs: dict[str, tuple[int, ...]]  # the live grant logs of "network" and "allocation"
    this_hour: int

    @classmethod
    def read(cls, attempt: Attempt, ip: str, now: dt.datetime) -> _WiderCounts:
        """One round trip: the networks' records and every shard of the hour's count."""
        client = attempt.client
        now_ms = to_millis(now)
        hour = signup_policy.hour_of(now_ms)
        nets = signup_policy.networks_of(ip)
        refs = {f"hour_{shard}": hourly_ref(client, hour, shard) for shard in range(signup_policy.GLOBAL_SHARDS)}
        refs["network"] = network_ref(client, nets.network)
        if nets.allocation is not None:
            refs["allocation"] = network_ref(client, nets.allocation)
        got = attempt.get(list(refs.values()))
        snaps = {name: got[ref.path] for name, ref in refs.items()}
        logs = {
            name: signup_policy.live_grants((snaps[name].to_dict() or {}).get("signupGrants"), now_ms) if name in snaps else ()
            for name in ("network", "allocation")
        }
        this_hour = sum(_count(snaps[f"hour_{shard}"]) for shard in range(signup_policy.GLOBAL_SHARDS))
        return cls(now_ms, hour, nets, snaps, logs, this_hour)

    def counted(self, config: CreditConfig, uid: str, now: dt.datetime) -> list[tuple[Snapshot, dict[str, Any]]]:
        """The writes that count a grant: the networks' logs and the user's shard of the hour."""
        signup = config.signup
        writes: list[tuple[Snapshot, dict[str, Any]]] = []
        for name, per_day in (("network", signup.grantsPerNetworkPerDay), ("allocation", signup.grantsPerAllocationPerDay)):
            if name in self.snaps:
                network = self.nets.network if name == "network" else str(self.nets.allocation)
                grants = signup_policy.with_grant(self.logs[name], self.now_ms, per_day)
                writes.append((self.snaps[name], _network_fields(network, grants, now)))
        mine = self.snaps[f"hour_{signup_policy.shard_of(uid)}"]
        writes.append(
            (
                mine,
                {
                    "count": _count(mine) + 1,
                    "hour": from_millis(self.hour * signup_policy.HOUR_MS),
                    "shard": db.index_shard(mine.id),
                    "expiresAt": from_millis((self.hour + 2) * signup_policy.HOUR_MS),
                    "updatedAt": now,
                },
            )
        )
        return writes


def _tell_hourly_cap(client: firestore.Client, limit: int, hour: int, now: dt.datetime) -> None:
    """Tell the admins the hourly cap on sign-up grants was reached: once an hour, not once an
    account (the notification's id is the hour's).
    """
    notifications.once(
        client,
        f"signup_cap_{hour}",
        notifications.document(
            "signup_cap",
            "high",
            f"the hourly cap on sign-up grants ({limit}) was reached; new accounts get no "
            "grant until the hour ends (signupGrantRule global_limit)",
            now,
            limit=limit,
            hour=from_millis(hour * signup_policy.HOUR_MS),
        ),
    )


def _count(snapshot: Snapshot) -> int:
    value = (snapshot.to_dict() or {}).get("count") if snapshot.exists else 0
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _network_fields(network: str, grants: list[int], now: dt.datetime) -> dict[str, Any]:
    doc_id = "net_" + network.replace("/", "_")
    return {
        "network": network,
        "signupGrants": grants,
        "shard": db.index_shard(doc_id),
        "expiresAt": from_millis(max(grants) + signup_policy.GRANT_WINDOW_MS) if grants else None,
        "updatedAt": now,
    }


def signup_ref(client: firestore.Client, uid: str) -> firestore.DocumentReference:
    """The sign-up entry of ``uid``: it exists iff the sign-up grant was decided."""
    return ledger.entry_ref(client, EntryId(EntryKind.SIGNUP, uid))


@dataclass(frozen=True)
class StatusRecord:
    """The latest status change the audit trail knows of (an admin's or the abuse score's)."""

    status: AccountStatus
    reason: str | None
    at: dt.datetime
    by: str


@dataclass(frozen=True)
class History:
    """What the ledger (and the audit trail) know of a user whose document is missing."""

    entries: int
    balance: int
    signup: Snapshot
    status: StatusRecord | None = None

    @property
    def existed(self) -> bool:
        """Whether the user had an account before (any entry at all)."""
        return self.entries > 0 or self.signup.exists


def history(attempt: Attempt, uid: str) -> History:
    """Look a missing user up in the ledger: a new user has no entries. One aggregation
    query (count and sum of ``delta``) and one document read; only on a first call.
    """
    client = attempt.client
    query = client.collection(db.CREDIT_LOGS).where(filter=FieldFilter("userId", "==", uid))
    agg = aggregation.AggregationQuery(query)
    agg.sum("delta", alias="balance").count(alias="entries")
    timeout = max(0.05, attempt.deadline.remaining())
    # ``stream`` rather than ``get``: the same one query, and ``get``'s annotation says it
    # returns results where it returns batches of them (a list of lists).
    results = {r.alias: r.value for batch in agg.stream(retry=None, timeout=timeout) for r in batch}
    entries = int(results.get("entries") or 0)
    attempt.reads += entries // 1000 + 1  # an aggregation is billed per 1,000 entries scanned
    ref = signup_ref(client, uid)
    signup = attempt.get([ref])[ref.path]
    status = latest_status(attempt, uid) if entries or signup.exists else None
    return History(entries=entries, balance=int(results.get("balance") or 0), signup=signup, status=status)


def latest_status(attempt: Attempt, uid: str) -> StatusRecord | None:
    """The user's latest status change: ``set_user_status`` audit entries (an admin's, before
    and after) and automatic suspensions (``abuse_detection`` records with ``action:
    suspended``). Equality filters only (no composite index); a user has few of either.
    """
    client = attempt.client
    timeout = max(0.05, attempt.deadline.remaining())
    found: list[StatusRecord] = []
    audits = (
        client.collection(db.ADMIN_AUDIT_LOGS)
        .where(filter=FieldFilter("target", "==", path_of(uid)))
        .where(filter=FieldFilter("action", "==", "set_user_status"))
        .limit(_STATUS_LOOKUP_LIMIT)
    )
    for doc in audits.stream(retry=None, timeout=timeout):
        attempt.reads += 1
        data = doc.to_dict() or {}
        after = data.get("after")
        status = after.get("status") if isinstance(after, dict) else None
        at = data.get("createdAt")
        if status in ("active", "suspended") and isinstance(at, dt.datetime):
            found.append(StatusRecord(status, _text(data.get("note")), at, str(data.get("actorId") or "admin")))
    suspensions = (
        client.collection(db.ABUSE_DETECTION)
        .where(filter=FieldFilter("userId", "==", uid))
        .where(filter=FieldFilter("action", "==", "suspended"))
        .limit(_STATUS_LOOKUP_LIMIT)
    )
    for doc in suspensions.stream(retry=None, timeout=timeout):
        attempt.reads += 1
        data = doc.to_dict() or {}
        at = data.get("createdAt")
        if isinstance(at, dt.datetime):
            reason = f"automatic: {data.get('severity')} {data.get('kind')} event"
            found.append(StatusRecord("suspended", reason, at, "system:abuse"))
    return max(found, key=lambda r: r.at) if found else None


_STATUS_LOOKUP_LIMIT = 500


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _restored(snapshot: Snapshot, past: History, caller: Caller | None, now: dt.datetime) -> Prepared:
    """A deleted account rebuilt from the ledger: its balance, the same sign-up decision, a
    0-delta ``restore`` entry and an admin notification; never a new grant.

    A concurrent posting for the same user would have to create the same document first,
    which the plan's precondition refuses, so the sum cannot go stale unnoticed.
    """
    uid = snapshot.id
    grant: SignupGrant = "pending"
    if past.signup.exists:
        reason = (past.signup.to_dict() or {}).get("reason")
        grant = "withheld" if reason == Reason.SIGNUP_GRANT_WITHHELD.value else "granted"
    opening = {**_identity_fields(uid, caller, now), "signupGrant": grant, "restoredAt": now}
    if past.status is not None:
        opening.update(
            {
                "status": past.status.status,
                "statusReason": past.status.reason,
                "statusChangedAt": past.status.at,
                "statusChangedBy": past.status.by,
            }
        )
    status = opening["status"]
    leg = Leg(
        0,
        EntryId(EntryKind.RESTORE, f"{uid}_{past.entries}"),
        Reason.ACCOUNT_RESTORED,
        actor_id="system",
        note=f"users/{uid} was missing; rebuilt from {past.entries} ledger entries",
    )
    notice = notifications.document(
        "account_restored",
        "medium",
        f"users/{uid} was missing and was rebuilt from the ledger and the audit trail (balance "
        f"{past.balance}; status {status}; usage counters restarted)",
        now,
        userId=uid,
        document=path_of(uid),
    )
    return Prepared(uid, snapshot, None, opening=opening, opening_balance=past.balance, legs=[leg], notices=[notice])
