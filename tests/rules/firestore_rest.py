"""Firestore over REST, as a client and (for fixtures only) as the owner.

Requests under test carry a real Auth-emulator ID token (or none, for a signed-out
caller), so the Firestore emulator evaluates ``firestore.rules`` exactly as it would for
the Firebase JS SDK. ``Authorization: Bearer owner`` bypasses the rules, as the Admin SDK
does: the ``bypass_*`` helpers use it only to seed fixture documents, to check what a
denied request left behind, and to clean up. No request under test goes through them.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

import requests

from tests.support import emulators as emu

DOCUMENTS = f"http://{emu.FIRESTORE_HOST}/v1/projects/{emu.PROJECT}/databases/(default)/documents"
DOC_NAME_PREFIX = f"projects/{emu.PROJECT}/databases/(default)/documents/"
_BYPASS = {"Authorization": "Bearer owner"}
TIMEOUT = 30


# ---------------------------------------------------------------- values


def encode(value: Any) -> dict[str, Any]:
    """A Python value as a Firestore REST ``Value``."""
    if value is None:
        return {"nullValue": None}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, dt.datetime):
        when = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return {"timestampValue": when.isoformat().replace("+00:00", "Z")}
    if isinstance(value, dict):
        return {"mapValue": {"fields": {k: encode(v) for k, v in value.items()}}}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [encode(v) for v in value]}}
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(value: dict[str, Any]) -> Any:
    """A Firestore REST ``Value`` as a Python value (timestamps stay strings)."""
    (kind, raw), *_ = value.items()
    if kind == "nullValue":
        return None
    if kind == "integerValue":
        return int(raw)
    if kind == "mapValue":
        return {k: decode(v) for k, v in (raw.get("fields") or {}).items()}
    if kind == "arrayValue":
        return [decode(v) for v in (raw.get("values") or [])]
    return raw


def document_body(data: dict[str, Any]) -> dict[str, Any]:
    return {"fields": {k: encode(v) for k, v in data.items()}}


def document_data(document: dict[str, Any]) -> dict[str, Any]:
    return {k: decode(v) for k, v in (document.get("fields") or {}).items()}


def doc_name(path: str) -> str:
    return DOC_NAME_PREFIX + path


# ---------------------------------------------------------------- callers


@dataclass(frozen=True)
class Caller:
    """Who sends a request: a signed-in user (their ID token) or nobody (no token)."""

    name: str
    token: str | None
    uid: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


ANONYMOUS = Caller("anon", None, None)


def caller_of(name: str, user: emu.User) -> Caller:
    return Caller(name, user.id_token, user.uid)


# ---------------------------------------------------------------- requests under test


def _session() -> requests.Session:
    return emu.session()


def get(caller: Caller, path: str) -> requests.Response:
    return _session().get(f"{DOCUMENTS}/{path}", headers=caller.headers, timeout=TIMEOUT)


def batch_get(caller: Caller, paths: list[str]) -> requests.Response:
    return _session().post(
        f"{DOCUMENTS}:batchGet", json={"documents": [doc_name(p) for p in paths]}, headers=caller.headers, timeout=TIMEOUT
    )


def run_query(caller: Caller, structured_query: dict[str, Any], parent: str = "") -> requests.Response:
    """POST ``:runQuery`` (a "list" for the rules); ``parent`` is a document path for subcollections."""
    url = f"{DOCUMENTS}/{parent}:runQuery" if parent else f"{DOCUMENTS}:runQuery"
    return _session().post(url, json={"structuredQuery": structured_query}, headers=caller.headers, timeout=TIMEOUT)


def create(caller: Caller, collection_path: str, doc_id: str, data: dict[str, Any]) -> requests.Response:
    """``POST .../{collection}?documentId=`` : a create only (fails if the document exists)."""
    return _session().post(
        f"{DOCUMENTS}/{collection_path}",
        params={"documentId": doc_id},
        json=document_body(data),
        headers=caller.headers,
        timeout=TIMEOUT,
    )


def update(
    caller: Caller, path: str, data: dict[str, Any], mask: list[str] | None = None, *, must_exist: bool | None = True
) -> requests.Response:
    """PATCH. With ``mask`` only those fields change (a masked field missing from ``data`` is
    deleted); without it the document is replaced. ``must_exist=True`` makes it an update only,
    ``False`` a create only, ``None`` an upsert (rules then judge it as create or update)."""
    params: list[tuple[str, str]] = [("updateMask.fieldPaths", f) for f in (mask or [])]
    if must_exist is not None:
        params.append(("currentDocument.exists", "true" if must_exist else "false"))
    return _session().patch(
        f"{DOCUMENTS}/{path}", params=params, json=document_body(data), headers=caller.headers, timeout=TIMEOUT
    )


def delete(caller: Caller, path: str) -> requests.Response:
    return _session().delete(f"{DOCUMENTS}/{path}", headers=caller.headers, timeout=TIMEOUT)


def commit(caller: Caller, writes: list[dict[str, Any]]) -> requests.Response:
    """An atomic batch (``:commit``), as ``writeBatch``/transactions send it."""
    return _session().post(f"{DOCUMENTS}:commit", json={"writes": writes}, headers=caller.headers, timeout=TIMEOUT)


# ---------------------------------------------------------------- queries


def field_filter(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"fieldFilter": {"field": {"fieldPath": field}, "op": op, "value": encode(value)}}


def query(
    collection: str,
    where: dict[str, Any] | None = None,
    *,
    limit: int | None = None,
    order_by: str | None = None,
    all_descendants: bool = False,
) -> dict[str, Any]:
    q: dict[str, Any] = {"from": [{"collectionId": collection, **({"allDescendants": True} if all_descendants else {})}]}
    if where is not None:
        q["where"] = where
    if order_by is not None:
        q["orderBy"] = [{"field": {"fieldPath": order_by}, "direction": "ASCENDING"}]
    if limit is not None:
        q["limit"] = limit
    return q


def query_documents(response: requests.Response) -> list[dict[str, Any]]:
    """The documents of a successful runQuery response."""
    return [entry["document"] for entry in response.json() if "document" in entry]


# ---------------------------------------------------------------- outcomes


def _describe(response: requests.Response) -> str:
    return f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text[:600]}"


def error_status(response: requests.Response) -> str | None:
    """The ``error.status`` of a REST error; runQuery may wrap it in a list."""
    try:
        body = response.json()
    except ValueError:
        return None
    items = body if isinstance(body, list) else [body]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("error"), dict):
            return str(item["error"].get("status"))
    return None


def assert_allowed(response: requests.Response) -> None:
    assert response.status_code == 200, f"expected 200 (allowed), got {_describe(response)}"
    assert error_status(response) is None, f"expected no error, got {_describe(response)}"


def assert_denied(response: requests.Response) -> None:
    assert response.status_code == 403, f"expected 403 PERMISSION_DENIED, got {_describe(response)}"
    assert error_status(response) == "PERMISSION_DENIED", f"expected PERMISSION_DENIED, got {_describe(response)}"


def assert_outcome(response: requests.Response, allowed: bool) -> None:
    if allowed:
        assert_allowed(response)
    else:
        assert_denied(response)


# ---------------------------------------------------------------- fixtures (owner bypass)


def bypass_set(path: str, data: dict[str, Any]) -> None:
    """Write a fixture document as the owner (rules bypassed): creates or replaces it."""
    r = _session().patch(f"{DOCUMENTS}/{path}", json=document_body(data), headers=_BYPASS, timeout=TIMEOUT)
    assert r.status_code == 200, f"seeding {path} failed: {_describe(r)}"


def bypass_read(path: str) -> dict[str, Any] | None:
    """The document's data as the owner sees it, or None if it does not exist."""
    r = _session().get(f"{DOCUMENTS}/{path}", headers=_BYPASS, timeout=TIMEOUT)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, f"reading {path} failed: {_describe(r)}"
    return document_data(r.json())


def bypass_delete(path: str) -> None:
    r = _session().delete(f"{DOCUMENTS}/{path}", headers=_BYPASS, timeout=TIMEOUT)
    assert r.status_code == 200, f"deleting {path} failed: {_describe(r)}"


def bypass_snapshot(path: str) -> dict[str, Any] | None:
    """The document's raw REST fields (exact types, for ``bypass_restore``), or None."""
    r = _session().get(f"{DOCUMENTS}/{path}", headers=_BYPASS, timeout=TIMEOUT)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, f"reading {path} failed: {_describe(r)}"
    return dict(r.json().get("fields") or {})


def bypass_restore(path: str, snapshot: dict[str, Any] | None) -> None:
    """Put a document back exactly as ``bypass_snapshot`` saw it (absent if it was absent)."""
    if snapshot is None:
        bypass_delete(path)
        return
    r = _session().patch(f"{DOCUMENTS}/{path}", json={"fields": snapshot}, headers=_BYPASS, timeout=TIMEOUT)
    assert r.status_code == 200, f"restoring {path} failed: {_describe(r)}"
