"""The engine's own encoding of writes (``store.wire``) against the client library's.

Every write the fast path builds must be, byte for byte, the write the library would have
built for the same call (``WriteBatch.create`` / ``update`` with a last-update-time option /
``delete`` / ``set(merge=True)``), and whatever the fast path does not handle must reach the
library (and its errors). Hand-picked documents cover the shapes the backend writes
(timestamps with nanoseconds, nested maps, empty maps and lists, keys that need quoting, map
patches with deletions); generated documents cover the rest.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from credits.store import wire
from credits.store.atomic import MapPatch
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.types import document as document_types, write as write_types
from hypothesis import given, settings, strategies as st
from proto.datetime_helpers import DatetimeWithNanoseconds as ProtoNanos

CLIENT = firestore.Client(project="wire-test", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]  # unannotated __init__; builds no connection
REF = CLIENT.collection("users").document("u-1")
PATH = REF._document_path
# A snapshot's update time as the library reads it: proto-plus's nanosecond datetime.
UPDATED = ProtoNanos(2026, 12, 5, 23, 1, 2, nanosecond=123456789, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 5, 23, 1, 2, 654321, tzinfo=dt.UTC)


def _bytes(write: Any) -> bytes:
    raw = write if not hasattr(write, "_pb") else write_types.Write.pb(write)
    encoded: bytes = raw.SerializeToString(deterministic=True)
    return encoded


def _library(kind: str, data: dict[str, Any]) -> bytes:
    """What ``WriteBatch`` builds for the same call (the engine's writes before ``wire``)."""
    batch = CLIENT.batch()
    if kind == "create":
        batch.create(REF, data)
    elif kind == "update":
        fields: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, MapPatch):
                for inner, inner_value in value.items():
                    fields[firestore.Client.field_path(key, inner)] = inner_value
            else:
                fields[firestore.Client.field_path(key)] = value
        batch.update(REF, fields, option=CLIENT.write_option(last_update_time=UPDATED))
    elif kind == "merge":
        batch.set(REF, data, merge=True)
    else:
        batch.delete(REF, option=CLIENT.write_option(last_update_time=UPDATED))
    (only,) = batch._write_pbs
    return _bytes(only)


def _ours(kind: str, data: dict[str, Any]) -> bytes:
    if kind == "create":
        return _bytes(wire.create_pb(PATH, data))
    if kind == "update":
        return _bytes(wire.update_pb(PATH, data, UPDATED))
    if kind == "merge":
        return _bytes(wire.merge_pb(PATH, data))
    return _bytes(wire.delete_pb(PATH, UPDATED))


def _fast(kind: str, data: dict[str, Any]) -> bytes:
    """``_ours``, failing if the write leaves the fast path (the library's encoder is asked)."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the write fell back to the library's encoder")

    with mock.patch.object(wire._helpers, "pbs_for_create", refuse), mock.patch.object(wire._helpers, "pbs_for_update", refuse):
        return _ours(kind, data)


CHARGE_LIKE = {
    "userId": "u-1",
    "shard": 7,
    "type": "image",
    "model": None,
    "quantity": "1",
    "creditsCharged": 10,
    "progress": 0.0,
    "flagged": False,
    "createdAt": NOW,
    "updatedAt": UPDATED,
    "hits": [1764975662000, 1764975663000, 1764975664123],
    "hitUsers": ["a1b2c3d4e5", "a1b2c3d4e5", "ffff000011"],
    "bucketDraws": [{"id": "signup_u-1", "amount": 10}],
    "response": {"activityId": "x", "creditsCharged": 10, "remainingCredits": 90, "status": "pending"},
    "windows": {"image": {"hits": [], "limit": 50, "windowSeconds": 3600}, "video": {}},
    "blob": b"\x00\x01\xff",
    "owner": REF,
    "ünïcode key": "välue",
    "a.dotted`key": "kept as one name",
    "empty": {},
    "nothing": [],
    "tuple": (1, "two", 3.5),
}


@pytest.mark.parametrize("kind", ["create", "update"])
def test_a_charge_like_document_is_encoded_as_the_library_does(kind: str) -> None:
    assert _fast(kind, CHARGE_LIKE) == _library(kind, CHARGE_LIKE)


def test_a_map_patch_sets_and_deletes_single_keys_as_the_library_does() -> None:
    data = {
        "credits": 90,
        "buckets": MapPatch({"signup_u-1": {"remaining": 90, "source": "signup"}, "promo.x": firestore.DELETE_FIELD}),
        "updatedAt": NOW,
        "pending": firestore.DELETE_FIELD,
        "usage": {"generations": 3, "creditsUsed": 30},
    }
    assert _fast("update", data) == _library("update", data)


def test_a_patch_that_only_deletes_is_a_mask_without_fields() -> None:
    data = {"buckets": MapPatch({"old": firestore.DELETE_FIELD}), "updatedAt": NOW}
    ours = wire.update_pb(PATH, data, UPDATED)
    assert list(ours.update_mask.field_paths) == ["buckets.old", "updatedAt"]
    assert "buckets" not in ours.update.fields
    assert _bytes(ours) == _library("update", data)


@pytest.mark.parametrize(
    "read_at",
    [UPDATED, dt.datetime(2026, 12, 5, 23, 1, 2, 123456, tzinfo=dt.UTC)],
    ids=["library snapshot time", "plain datetime"],
)
def test_an_update_time_precondition_is_the_librarys(read_at: dt.datetime) -> None:
    """A snapshot's update time keeps its nanoseconds in the precondition, as the library's."""
    write = wire.update_pb(PATH, {"n": 1}, read_at)
    option = CLIENT.write_option(last_update_time=read_at)
    batch = CLIENT.batch()
    batch.update(REF, {"n": 1}, option=option)
    (library,) = batch._write_pbs
    assert write.current_document == write_types.Write.pb(library).current_document
    if read_at is UPDATED:
        assert write.current_document.update_time.nanos == 123_456_789


def test_transforms_and_sentinels_go_through_the_library() -> None:
    merge = {"count": firestore.Increment(1), "hour": "2026120523", "shard": 3}
    assert _ours("merge", merge) == _library("merge", merge)
    update = {"granted": firestore.Increment(5), "failed": firestore.ArrayUnion(["u-2"]), "at": firestore.SERVER_TIMESTAMP}
    assert _ours("update", update) == _library("update", update)
    create = {"at": firestore.SERVER_TIMESTAMP, "geo": firestore.GeoPoint(52.1, 4.3)}
    assert _ours("create", create) == _library("create", create)
    assert _ours("delete", {}) == _library("delete", {})


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("update", {}),  # an empty update
        ("update", {"buckets": MapPatch()}),  # a patch with nothing in it, and nothing else
        ("create", {"nested": {"gone": firestore.DELETE_FIELD}}),  # a delete inside a create
        ("update", {"nested": {"gone": firestore.DELETE_FIELD}}),  # a nested delete
        ("create", {"bad": object()}),  # a value Firestore cannot hold
        ("create", {"big": 2**63}),  # past a 64-bit integer
    ],
)
def test_what_the_library_refuses_is_refused_with_the_librarys_error(kind: str, data: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)) as library_error:
        _library(kind, data)
    with pytest.raises(type(library_error.value)):
        _ours(kind, data)


# ------------------------------------------------------------------ generated documents

_keys = st.text(min_size=1, max_size=12).filter(lambda k: not k.startswith("__"))
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=12),
    st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)),
    st.builds(
        lambda seconds, nanos: DatetimeWithNanoseconds.from_timestamp_pb(
            __import__("google.protobuf.timestamp_pb2", fromlist=["Timestamp"]).Timestamp(seconds=seconds, nanos=nanos)
        ),
        st.integers(min_value=0, max_value=4_000_000_000),
        st.integers(min_value=0, max_value=999_999_999),
    ),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=25,
)
_documents = st.dictionaries(_keys, _values, min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(_documents)
def test_generated_documents_are_created_as_the_library_does(data: dict[str, Any]) -> None:
    assert _fast("create", data) == _library("create", data)


@settings(max_examples=300, deadline=None)
@given(_documents, st.dictionaries(_keys, st.one_of(_values, st.just(firestore.DELETE_FIELD)), max_size=4))
def test_generated_updates_are_encoded_as_the_library_does(data: dict[str, Any], patch: dict[str, Any]) -> None:
    update = dict(data)
    if patch:
        update["patched"] = MapPatch(patch)
    assert _fast("update", update) == _library("update", update)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_generated_values_are_encoded_as_the_library_does(value: Any) -> None:
    from google.cloud.firestore_v1 import _helpers

    library = _helpers.encode_value(value)._pb.SerializeToString(deterministic=True)
    assert wire.encode_value(value).SerializeToString(deterministic=True) == library


# ------------------------------------------------------------------ decoding


def _same(ours: Any, library: Any) -> None:
    """Equal, and of the same types all the way down (a nanosecond timestamp keeps its nanos)."""
    assert type(ours) is type(library), (ours, library)
    if isinstance(library, dict):
        assert list(ours) == list(library)
        for key in library:
            _same(ours[key], library[key])
    elif isinstance(library, list):
        assert len(ours) == len(library)
        for a, b in zip(ours, library, strict=True):
            _same(a, b)
    else:
        assert ours == library
        assert getattr(ours, "nanosecond", None) == getattr(library, "nanosecond", None)


def _decoded_both_ways(data: dict[str, Any]) -> tuple[Any, Any]:
    from google.cloud.firestore_v1 import _helpers

    fields = document_types.Document(fields=_helpers.encode_dict(data))._pb.fields
    return wire.decode_fields(fields, CLIENT), _helpers.decode_dict(fields, CLIENT)


@settings(max_examples=300, deadline=None)
@given(_documents)
def test_generated_documents_are_decoded_as_the_library_does(data: dict[str, Any]) -> None:
    _same(*_decoded_both_ways(data))


def test_special_maps_references_and_geo_points_are_decoded_by_the_library() -> None:
    from google.cloud.firestore_v1 import GeoPoint
    from google.cloud.firestore_v1.vector import Vector

    data = {
        "vector": Vector([1.0, 2.5]),
        "typed": {"__type__": "something else", "n": 1},
        "one": {"theme": "light"},
        "bson": {"__int__": 7},
        "not_bson": {"__nothing__": 7},
        "binary": {"__binary__": b"\x00ab"},
        "ref": CLIENT.document("users/u1"),
        "where": GeoPoint(52.1, 4.3),
        "raw": b"\x00\x01",
        "nested": [{"a": [1, None, True, 2.5, "s"]}],
    }
    ours, library = _decoded_both_ways(data)
    assert isinstance(ours["vector"], Vector) and ours["ref"] == library["ref"]
    _same({k: v for k, v in ours.items() if k != "ref"}, {k: v for k, v in library.items() if k != "ref"})
