"""The engine's own read and commit (``store.wire``) against the emulator, beside the library's:
the same snapshots, the same preconditions, the same stored documents."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from credits.store import atomic, wire
from credits.store.atomic import Attempt, MapPatch, Plan
from google.api_core import exceptions as gexc
from google.cloud import firestore

NOW = dt.datetime(2026, 12, 5, 23, 1, 2, 654321, tzinfo=dt.UTC)


def _document(client: firestore.Client) -> dict[str, Any]:
    return {
        "credits": 90,
        "ratio": 0.25,
        "flag": True,
        "none": None,
        "at": NOW,
        "hits": [1, 2, 3],
        "nested": {"a": {"b": [{"c": "d"}]}, "empty": {}},
        "blob": b"\x00\xff",
        "ref": client.collection("users").document("someone"),
        "dotted.key": "one name",
    }


def test_a_read_gives_the_librarys_snapshots(client: firestore.Client) -> None:
    present = client.collection("it_wire").document(uuid.uuid4().hex)
    missing = client.collection("it_wire").document(uuid.uuid4().hex)
    present.set(_document(client))

    ours = wire.get_all(client, [present, missing], timeout=10)
    library = {snap.reference.path: snap for snap in client.get_all([present, missing])}

    assert set(ours) == set(library) == {present.path, missing.path}
    for path, snap in ours.items():
        theirs = library[path]
        assert snap.exists == theirs.exists
        assert snap.reference.path == theirs.reference.path
        assert snap.to_dict() == theirs.to_dict()
        assert snap.update_time == theirs.update_time
        assert type(snap.update_time) is type(theirs.update_time)
        assert snap.create_time == theirs.create_time
        assert type(snap.read_time) is type(theirs.read_time)
    assert ours[present.path].get("nested.a") == library[present.path].get("nested.a")


def test_to_dict_hands_out_a_copy(client: firestore.Client) -> None:
    ref = client.collection("it_wire").document(uuid.uuid4().hex)
    ref.set(_document(client))
    snap = wire.get_all(client, [ref], timeout=10)[ref.path]
    first = snap.to_dict()
    assert first is not None
    first["hits"].append(4)
    first["nested"]["a"]["b"][0]["c"] = "changed"
    again = snap.to_dict()
    assert again is not None
    assert again["hits"] == [1, 2, 3]
    assert again["nested"]["a"]["b"][0]["c"] == "d"


def test_a_commit_is_guarded_by_the_update_time_it_read(client: firestore.Client) -> None:
    """A stale snapshot's update fails its precondition; a fresh one applies, patch and all."""
    ref = client.collection("it_wire").document(uuid.uuid4().hex)
    ref.set({"n": 1, "buckets": {"a": 1, "b": 2}})
    stale = wire.get_all(client, [ref], timeout=10)[ref.path]
    ref.update({"n": 2})
    assert stale.update_time is not None
    with pytest.raises(gexc.FailedPrecondition):
        wire.commit(client, [wire.update_pb(ref._document_path, {"n": 3}, stale.update_time)], timeout=10)
    fresh = wire.get_all(client, [ref], timeout=10)[ref.path]
    assert fresh.update_time is not None
    patch = MapPatch({"a": firestore.DELETE_FIELD, "c": 3})
    wire.commit(client, [wire.update_pb(ref._document_path, {"n": 3, "buckets": patch}, fresh.update_time)], timeout=10)
    assert ref.get().to_dict() == {"n": 3, "buckets": {"b": 2, "c": 3}}


def test_a_create_of_an_existing_document_fails_and_writes_nothing(client: firestore.Client) -> None:
    existing = client.collection("it_wire").document(uuid.uuid4().hex)
    other = client.collection("it_wire").document(uuid.uuid4().hex)
    existing.set({"n": 1})
    with pytest.raises(gexc.Conflict):
        wire.commit(
            client, [wire.create_pb(other._document_path, {"n": 1}), wire.create_pb(existing._document_path, {"n": 2})], 10
        )
    assert not other.get().exists
    assert existing.get().to_dict() == {"n": 1}


def test_the_engine_stores_what_the_library_would(client: firestore.Client) -> None:
    """Through ``atomic.run``: a create and a guarded update read back as written, with
    transforms (a merge with ``Increment``) beside them in the same commit."""
    ref = client.collection("it_wire").document(uuid.uuid4().hex)
    counter = client.collection("it_wire").document(uuid.uuid4().hex)
    data = _document(client)

    def create(attempt: Attempt) -> Plan[None]:
        plan: Plan[None] = Plan()
        plan.put(attempt.get([ref])[ref.path], data)
        plan.merge(counter, {"count": firestore.Increment(1)})
        return plan

    atomic.run(client, create)
    assert ref.get().to_dict() == data

    def update(attempt: Attempt) -> Plan[None]:
        plan: Plan[None] = Plan()
        plan.put(attempt.get([ref])[ref.path], {"credits": 80, "nested": MapPatch({"empty": firestore.DELETE_FIELD})})
        plan.merge(counter, {"count": firestore.Increment(1)})
        return plan

    atomic.run(client, update)
    stored = ref.get().to_dict()
    assert stored is not None
    assert stored["credits"] == 80
    assert stored["nested"] == {"a": {"b": [{"c": "d"}]}}
    assert counter.get().to_dict() == {"count": 2}
