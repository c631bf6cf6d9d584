"""Idempotency keys: one implementation of "seen before: answer the first response".

A callable that takes a ``requestId`` derives the id of the document its commit creates from
``(owner, requestId)`` (``key``: two owners' keys never collide), stores the request's
``fingerprint`` on that document (``record``), and, when the document exists already, answers
through ``replay``: the first response when the fingerprint matches, ``invalid_request`` on
``requestId`` when the key was used for other parameters. The record is the document the action
creates anyway (a charge's activity and its ledger entry, a grant's ledger entry, a promotion's
job), so idempotency costs no extra write and the key lasts as long as that document.

Pure: the callers read the document in their own commit's batched read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from credits.vocab.errors import InvalidRequest

FINGERPRINT = "requestFingerprint"
REQUEST_ID = "requestId"

Answer = TypeVar("Answer")


def key(owner: str, request_id: str, *, length: int = 40) -> str:
    """The document id an owner's ``requestId`` maps to (hex, ``length`` characters)."""
    return hashlib.sha256(f"{owner}\n{request_id}".encode()).hexdigest()[:length]


def fingerprint(fields: Mapping[str, object]) -> str:
    """What makes two calls "the same request": the SHA-256 of their parameters as canonical JSON
    (sorted keys; the same text every version of the backend has stored).
    """
    canonical = json.dumps(dict(fields), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(request_id: str | None, request_fingerprint: str) -> dict[str, str]:
    """The fields a keyed document stores so that a later call can be recognised."""
    fields = {FINGERPRINT: request_fingerprint}
    if request_id is not None:
        fields[REQUEST_ID] = request_id
    return fields


def replay(stored: Mapping[str, Any], request_fingerprint: str, answer: Callable[[Mapping[str, Any]], Answer]) -> Answer:
    """The first call's response, built by ``answer`` from the stored document; a key used with
    other parameters is ``invalid_request`` on ``requestId`` (nothing is written).
    """
    if stored.get(FINGERPRINT) != request_fingerprint:
        raise InvalidRequest({"requestId": "was already used with different parameters"})
    return answer(stored)
