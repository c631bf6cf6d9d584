"""The stored logs of the sliding-window rate limits, read and written in the charge's own
atomic commit, whose precondition makes the limit exact under any concurrency: a user's
windows (all four types) and refusal counter live in the ``rateLimits`` map of
``users/{uid}``, which every charge reads and writes anyway; an address's log is one small
document of its own (``rate_limits/ip_{bucket}``). The window arithmetic itself is the pure
``credits.policy.window``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from google.cloud import firestore

from credits.policy.window import expires_at_ms
from credits.store import db
from credits.store.ip_blocks import bucket, bucket_id
from credits.vocab.clock import from_millis, to_millis
from credits.vocab.errors import DataInvalid

USER_FIELD = "rateLimits"
"""The map on ``users/{uid}`` that holds the user's windows (server-written only)."""
LEGACY_USER_PREFIX = "u_"
"""``rate_limits/u_{uid}``: where a user's windows lived before they moved to ``users/{uid}``.
Such records are no longer read or written; the hourly sweep deletes them once spent."""
IP_PREFIX = "ip_"


def ip_ref(client: firestore.Client, ip: str) -> firestore.DocumentReference:
    """``rate_limits/ip_{bucket}``: one address's (IPv6: one /64's) requests and sign-up grants."""
    return client.collection(db.RATE_LIMITS).document(IP_PREFIX + bucket_id(ip))


@dataclass(frozen=True)
class UserLimits:
    """A user's stored rate-limit windows, checked."""

    windows: dict[str, tuple[int, ...]]
    refusals: dict[str, Any] | None
    data: dict[str, Any]

    def hits(self, generation_type: str) -> tuple[int, ...]:
        """The stored log of one type (unpruned)."""
        return self.windows.get(generation_type, ())

    def stored_windows(self) -> dict[str, dict[str, Any]]:
        """The stored windows as they are (each with its limit and length), to write back."""
        stored = self.data.get("windows")
        out: dict[str, dict[str, Any]] = {}
        if isinstance(stored, dict):
            for kind, window in stored.items():
                if isinstance(window, dict):
                    out[str(kind)] = dict(window)
        return out


def _int_log(value: object) -> tuple[int, ...] | None:
    if not isinstance(value, list) or any(isinstance(h, bool) or not isinstance(h, int) for h in value):
        return None
    return tuple(value)


def parse_user_limits(path: str, user: dict[str, Any] | None) -> UserLimits:
    """The user's limits, from the ``rateLimits`` map of the user's document ``user`` (empty
    when missing); ``DataInvalid`` on ``path`` if the map or its logs are damaged.
    """
    data = (user or {}).get(USER_FIELD)
    if data is None:
        return UserLimits({}, None, {})
    if not isinstance(data, dict):
        raise DataInvalid(path, {USER_FIELD: "must be a map"})
    problems: dict[str, str] = {}
    windows: dict[str, tuple[int, ...]] = {}
    stored = data.get("windows", {})
    if not isinstance(stored, dict):
        problems[f"{USER_FIELD}.windows"] = "must be a map"
    else:
        for kind, window in stored.items():
            hits = _int_log(window.get("hits", [])) if isinstance(window, dict) else None
            if hits is None:
                problems[f"{USER_FIELD}.windows.{kind}"] = "must be a map with a list of integer times in hits"
            else:
                windows[str(kind)] = hits
    refusals = data.get("refusals")
    if refusals is not None and not isinstance(refusals, dict):
        problems[f"{USER_FIELD}.refusals"] = "must be a map"
    if problems:
        raise DataInvalid(path, problems)
    return UserLimits(windows, refusals if isinstance(refusals, dict) else None, data)


def last_call(user: dict[str, Any] | None) -> object:
    """The mark (``lastCall``) of the call that last wrote the user's limits, if any."""
    data = (user or {}).get(USER_FIELD)
    return data.get("lastCall") if isinstance(data, dict) else None


@dataclass(frozen=True)
class IpRecord:
    """One address bucket's request log and sign-up grant log. ``users`` tags each request
    with the user who made it (``user_tag``, aligned with ``hits``; empty for a log written
    before tags existed), which is how a user's share of the window is counted.
    """

    hits: tuple[int, ...]
    grants: tuple[int, ...]
    damaged: bool = False
    users: tuple[str, ...] = ()

    def hits_of(self, tag: str) -> tuple[int, ...]:
        """The requests of the user tagged ``tag`` in the log (unpruned)."""
        if len(self.users) != len(self.hits):
            return ()
        return tuple(t for t, user in zip(self.hits, self.users, strict=True) if user == tag)

    def with_request(self, now_ms: int, window_seconds: int, limit: int, tag: str) -> tuple[list[int], list[str]]:
        """The log, pruned to the window, with one more request by ``tag``: the newest ``limit``."""
        users = self.users if len(self.users) == len(self.hits) else ("",) * len(self.hits)
        start = now_ms - window_seconds * 1000
        pairs = sorted((t, u) for t, u in zip(self.hits, users, strict=True) if t > start)
        pairs = [*pairs, (now_ms, tag)][-limit:]
        return [t for t, _ in pairs], [u for _, u in pairs]


def user_tag(uid: str) -> str:
    """A short pseudonymous tag for a user in an address's log (not the uid itself)."""
    return hashlib.sha256(uid.encode()).hexdigest()[:10]


def parse_ip_record(data: dict[str, Any] | None) -> IpRecord:
    """An address record. A damaged one reads as empty (``damaged``): the record is shared by
    everyone behind the address, so a console typo must not lock them all out; the next
    write replaces it and the admins are told.
    """
    if not data:
        return IpRecord((), ())
    hits = _int_log(data.get("hits", []))
    grants = _int_log(data.get("signupGrants", []))
    if hits is None or grants is None:
        return IpRecord(hits or (), grants or (), damaged=True)
    users = data.get("hitUsers")
    tags = tuple(users) if isinstance(users, list) and all(isinstance(u, str) for u in users) else ()
    return IpRecord(hits, grants, users=tags if len(tags) == len(hits) else ())


def ip_record_fields(ip: str, record: IpRecord, limit: int, window_seconds: int, now: dt.datetime) -> dict[str, Any]:
    """The address record to store: both logs (requests tagged by user) and when all of it is spent."""
    hits, grants, users = record.hits, record.grants, record.users
    expiries = [ms for ms in (expires_at_ms(hits, window_seconds), max(grants) + GRANT_LOG_MS if grants else None) if ms]
    return {
        "ip": bucket(ip),
        "shard": db.index_shard(IP_PREFIX + bucket_id(ip)),
        "hits": list(hits),
        "hitUsers": list(users) if len(users) == len(hits) else [],
        "limit": limit,
        "windowSeconds": window_seconds,
        "signupGrants": list(grants),
        "expiresAt": from_millis(max(expiries)) if expiries else None,
        "updatedAt": now,
    }


def user_limits_fields(
    uid: str, windows: dict[str, dict[str, Any]], refusals: dict[str, Any] | None, call_token: str
) -> dict[str, dict[str, Any]]:
    """The user's ``rateLimits`` map to store on ``users/{uid}``: the windows, the refusal
    counter, the writing call's mark, and ``expiresAt``, when every window is spent (the
    hourly sweep clears the map after it; ``shard`` spreads that query's index).
    """
    latest: int | None = None
    for window in windows.values():
        hits, seconds = window.get("hits"), window.get("windowSeconds")
        if isinstance(hits, list) and hits and isinstance(seconds, int):
            expiry = expires_at_ms(hits, seconds)
            if expiry is not None and (latest is None or expiry > latest):
                latest = expiry
    if refusals and isinstance(refusals.get("since"), dt.datetime):
        refusal_end = to_millis(refusals["since"]) + REFUSAL_LOG_MS
        latest = refusal_end if latest is None else max(latest, refusal_end)
    fields: dict[str, Any] = {
        "shard": db.index_shard(LEGACY_USER_PREFIX + uid),
        "windows": windows,
        "expiresAt": from_millis(latest) if latest is not None else None,
        "lastCall": call_token,
    }
    if refusals is not None:
        fields["refusals"] = refusals
    return {USER_FIELD: fields}


GRANT_LOG_MS = 24 * 3600 * 1000
REFUSAL_LOG_MS = 3600 * 1000
