"""Firestore's wire format for the engine's one read and one commit, without proto-plus.

The engine (``atomic``) reads with one ``BatchGetDocuments`` and commits with one ``Commit``.
The client library builds both through proto-plus wrappers, value by value, and copies every
document it reads twice (once into the snapshot, once more on each ``to_dict``). For a charge
(six documents read, five written, about 170 values in the writes) that wrapping cost more than
the two round trips themselves: 4 to 5 ms of Python per call (``bench/bench_charge.py``;
``docs/performance.md``). Here the same requests are built directly as the raw protobuf
messages the library's wrappers hold, and sent through the library's own generated client
(``client._firestore_api``, the library's channel, credentials and metadata), so what goes on
the wire is what the library would send.

Exactness is kept in two ways:

* Only plain values take the fast path (None, bool, int, float, datetimes, str, bytes,
  references, lists, maps, and ``DELETE_FIELD`` where an update may carry it). Anything else
  (transforms such as ``Increment``, ``SERVER_TIMESTAMP``, GeoPoints, BSON types) makes that
  one write fall back to the library's own encoder (``_helpers.pbs_for_*``), which also raises
  the library's errors for values it refuses.
* ``tests/unit/test_wire.py`` compares every write this module builds with the library's
  encoding of the same write, message for message, over hand-picked and generated documents;
  ``tests/integration/test_wire.py`` compares reads with ``client.get_all`` on the emulator.
  The library's version is pinned (``functions/requirements.txt``), and those tests are what
  an upgrade must pass.

Decoding is the same in reverse: plain values (integers, strings, timestamps, maps, lists,
booleans, nulls, doubles) are decoded here, into the types the library gives them; bytes,
references, geo points, vectors and BSON maps by the library's ``_helpers.decode_value`` and
``decode_dict``. A snapshot decodes its fields on first use (the applied configuration,
cached by its update time, is often never decoded), without the defensive copy at
construction (the decoded data belongs to the snapshot alone; ``to_dict`` still hands out a
copy). ``tests/unit/test_wire.py`` compares the decoding with the library's, types included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud import firestore
from google.cloud._helpers import _datetime_to_pb_timestamp
from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1.document import DocumentReference
from google.cloud.firestore_v1.field_path import FieldPath
from google.cloud.firestore_v1.types import document as document_types, firestore as firestore_types, write as write_types
from proto.datetime_helpers import DatetimeWithNanoseconds as ProtoNanos

_Value: Any = document_types.Value.pb()
_Write: Any = write_types.Write.pb()
_CommitRequest: Any = firestore_types.CommitRequest.pb()
_BatchGetRequest: Any = firestore_types.BatchGetDocumentsRequest.pb()
_BatchGetResponse: Any = firestore_types.BatchGetDocumentsResponse
_Commit: Any = firestore_types.CommitRequest
_BatchGet: Any = firestore_types.BatchGetDocumentsRequest

DELETE_FIELD = firestore.DELETE_FIELD
Snapshot = firestore.DocumentSnapshot[DocumentReference]

# The library's own converters, unannotated there: called through Any.
_datetime_pb: Any = _datetime_to_pb_timestamp
_nanos_pb: Any = DatetimeWithNanoseconds.timestamp_pb


class MapPatch(dict[str, Any]):
    """The changed keys of one map field: each key set to its new value, or removed with
    ``firestore.DELETE_FIELD``. An update of an existing document writes them as nested field
    paths (``buckets.<key>``), so a write carries what changed, not the whole map; it is only
    valid there (a create needs the whole map, so the engine refuses a patch on one).
    """


class Unsupported(Exception):
    """A value the fast path does not encode: the write goes through the library instead."""


# ------------------------------------------------------------------ values


def _encode_into(out: Any, value: Any) -> None:
    """Set the raw ``Value`` ``out`` to ``value``, in the library's order of type checks
    (``_helpers.encode_value``): bool before int, a datetime before anything else.
    """
    if value is None:
        out.null_value = 0
    elif isinstance(value, bool):
        out.boolean_value = value
    elif isinstance(value, int):
        out.integer_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, DatetimeWithNanoseconds):
        out.timestamp_value.CopyFrom(_nanos_pb(value))
    elif isinstance(value, dt.datetime):
        out.timestamp_value.CopyFrom(_datetime_pb(value))
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, bytes):
        if getattr(value, "subtype", None) is not None:
            raise Unsupported("BSON binary")
        out.bytes_value = value
    elif isinstance(value, DocumentReference):
        out.reference_value = value._document_path
    elif isinstance(value, (list, tuple)):
        array = out.array_value
        array.SetInParent()
        values = array.values
        for element in value:
            _encode_into(values.add(), element)
    elif type(value) is dict:
        _encode_map(out.map_value, value)
    else:
        raise Unsupported(type(value).__name__)


def _encode_map(map_value: Any, data: Mapping[str, Any]) -> None:
    map_value.SetInParent()  # an empty map is still a map
    _encode_fields(map_value.fields, data)


def _encode_fields(fields: Any, data: Mapping[str, Any]) -> None:
    """Encode ``data`` into a protobuf map of values (a map value's or a document's fields)."""
    for key, value in data.items():
        if not isinstance(key, str):
            raise Unsupported("a name that is not a string")
        _encode_into(fields[key], value)


def encode_value(value: Any) -> Any:
    """A raw ``google.firestore.v1.Value`` for ``value``; ``Unsupported`` outside the fast path."""
    out = _Value()
    _encode_into(out, value)
    return out


# ------------------------------------------------------------------ writes


def _set_precondition_time(stamp: Any, when: dt.datetime) -> None:
    """An update time as the library's precondition carries it (proto-plus's timestamp rule:
    its own nanosecond datetime whole, any other datetime to the microsecond).
    """
    if isinstance(when, ProtoNanos):
        stamp.CopyFrom(when.timestamp_pb())
    else:
        stamp.seconds = int(when.timestamp())
        stamp.nanos = when.microsecond * 1000


def create_pb(path: str, data: Mapping[str, Any]) -> Any:
    """A write that creates ``path`` with ``data`` only if it does not exist."""
    try:
        write = _Write()
        write.update.name = path
        _encode_fields(write.update.fields, data)
        write.current_document.exists = False
        return write
    except (Unsupported, TypeError, ValueError):
        return _raw(_helpers.pbs_for_create(path, dict(data)))


def update_pb(path: str, data: Mapping[str, Any], update_time: dt.datetime) -> Any:
    """A write that sets the top-level fields ``data`` of ``path`` if it was last updated at
    ``update_time``. A ``MapPatch`` value sets only its own keys of that map; ``DELETE_FIELD``
    removes a field.
    """
    try:
        write = _Write()
        document = write.update
        document.name = path
        fields = document.fields
        paths: list[tuple[str, ...]] = []
        for key, value in data.items():
            if not isinstance(key, str):
                raise Unsupported("a field name that is not a string")
            if isinstance(value, MapPatch):
                for inner, inner_value in value.items():
                    if not isinstance(inner, str):
                        raise Unsupported("a map key that is not a string")
                    paths.append((key, inner))
                    if inner_value is not DELETE_FIELD:
                        target = fields[key].map_value
                        _encode_into(target.fields[inner], inner_value)
            else:
                paths.append((key,))
                if value is not DELETE_FIELD:
                    _encode_into(fields[key], value)
        if not paths:
            raise Unsupported("an empty update")  # the library refuses it with its own error
        write.update_mask.field_paths.extend(FieldPath(*parts).to_api_repr() for parts in sorted(paths))
        _set_precondition_time(write.current_document.update_time, update_time)
        return write
    except (Unsupported, TypeError, ValueError):
        option = _helpers.LastUpdateOption(update_time)
        return _raw(_helpers.pbs_for_update(path, _field_paths(data), option))


def delete_pb(path: str, update_time: dt.datetime) -> Any:
    """A write that deletes ``path`` if it was last updated at ``update_time``."""
    return write_types.Write.pb(_helpers.pb_for_delete(path, _helpers.LastUpdateOption(update_time)))


def merge_pb(path: str, data: Mapping[str, Any]) -> Any:
    """A write that merges ``data`` into ``path`` with no precondition (transforms allowed):
    always the library's encoder, since merges carry transforms such as ``Increment``.
    """
    return _raw(_helpers.pbs_for_set_with_merge(path, dict(data), merge=True))


def _field_paths(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as ``update`` reads it: every key a quoted top-level name, a patch's keys as
    nested paths (so dots in names stay names).
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, MapPatch):
            for inner, inner_value in value.items():
                out[FieldPath(key, inner).to_api_repr()] = inner_value
        else:
            out[FieldPath(key).to_api_repr()] = value
    return out


def _raw(writes: Sequence[Any]) -> Any:
    (only,) = writes  # the library gives one write per create, update or merge (transforms ride in it)
    return write_types.Write.pb(only)


def commit(client: firestore.Client, writes: Sequence[Any], timeout: float) -> None:
    """Commit raw writes atomically: one ``Commit`` round trip, no automatic re-send."""
    request = _CommitRequest(database=client._database_string, writes=writes)
    client._firestore_api.commit(request=_Commit.wrap(request), metadata=client._rpc_metadata, retry=None, timeout=timeout)


# ------------------------------------------------------------------ reads


class ReadSnapshot(Snapshot):
    """A ``DocumentSnapshot`` whose fields are decoded (``decode_fields``) on first use, not
    when read: a caller that needs only the document's times, or a cached result
    keyed by them (the applied configuration, ``config_store.load``), decodes nothing. No copy
    at construction; ``to_dict`` copies only maps and lists (every other decoded value is
    immutable).
    """

    def __init__(
        self,
        reference: DocumentReference,
        fields: Any,
        read_time: dt.datetime | None,
        create_time: dt.datetime | None,
        update_time: dt.datetime | None,
        client: firestore.Client | None = None,
    ) -> None:
        self._reference = reference
        self._fields = fields  # the response's protobuf map (empty for an empty document), or None if missing
        self._decoder = client  # the client that read it: a reference value is made by it
        self._decoded: dict[str, Any] | None = None
        self._exists = fields is not None
        self.read_time = read_time
        self.create_time = create_time
        self.update_time = update_time

    @property
    def _data(self) -> dict[str, Any] | None:  # what the library's methods (get, __eq__) read
        if self._decoded is None and self._fields is not None:
            decoded: Any = decode_fields(self._fields, self._decoder)
            self._decoded = decoded
            self._fields = None
        return self._decoded

    def to_dict(self) -> dict[str, Any] | None:
        """The document's fields (a copy), or None if it does not exist."""
        data = self._data
        if not self._exists or data is None:
            return None
        copied: dict[str, Any] = _copy(data)
        return copied


def _copy(value: Any) -> Any:
    if type(value) is dict:
        return {key: _copy(inner) for key, inner in value.items()}
    if type(value) is list:
        return [_copy(inner) for inner in value]
    return value


# api_core's nanosecond datetime, the class the library decodes a document's timestamps to.
_timestamp: Callable[[Any], DatetimeWithNanoseconds] = DatetimeWithNanoseconds.from_timestamp_pb


def _decode(value: Any, client: Any) -> Any:
    """A raw ``Value`` as the library decodes it (``_helpers.decode_value``), plain kinds here;
    bytes, references and geo points by the library itself.
    """
    kind = value.WhichOneof("value_type")
    if kind == "integer_value":
        return value.integer_value
    if kind == "string_value":
        return value.string_value
    if kind == "timestamp_value":
        return _timestamp(value.timestamp_value)
    if kind == "map_value":
        return decode_fields(value.map_value.fields, client)
    if kind == "array_value":
        return [_decode(element, client) for element in value.array_value.values]
    if kind == "boolean_value":
        return value.boolean_value
    if kind == "null_value":
        return None
    if kind == "double_value":
        return value.double_value
    return _helpers.decode_value(value, client)


def decode_fields(fields: Any, client: Any) -> Any:
    """A raw map of values (a document's fields, a map value's) as the library decodes it
    (``_helpers.decode_dict``). A map the library may turn into something else (a vector has
    ``__type__``, a BSON value is a map of one ``__name__`` key) is left to the library whole.
    """
    decoded = {key: _decode(value, client) for key, value in fields.items()}
    if "__type__" in decoded or (len(decoded) == 1 and next(iter(decoded)).startswith("__")):
        return _helpers.decode_dict(fields, client)
    return decoded


def _time(timestamp: Any) -> ProtoNanos | None:
    """A snapshot's time as the library's snapshots carry it: proto-plus's nanosecond datetime
    (values inside documents are api_core's, a different class of the same name).
    """
    if not timestamp.seconds and not timestamp.nanos:
        return None
    return ProtoNanos.from_timestamp_pb(timestamp)


def get_all(client: firestore.Client, refs: Sequence[DocumentReference], timeout: float) -> dict[str, Snapshot]:
    """Read ``refs`` in one ``BatchGetDocuments`` round trip, keyed by document path (the
    relative path, as ``DocumentReference.path``); no automatic retry.
    """
    by_name = {ref._document_path: ref for ref in refs}
    request = _BatchGetRequest(database=client._database_string, documents=list(by_name))
    stream = client._firestore_api.batch_get_documents(
        request=_BatchGet.wrap(request), metadata=client._rpc_metadata, retry=None, timeout=timeout
    )
    out: dict[str, Snapshot] = {}
    for response in stream:
        raw = _BatchGetResponse.pb(response)
        read_time = _time(raw.read_time)
        kind = raw.WhichOneof("result")
        if kind == "found":
            found = raw.found
            ref = by_name[found.name]
            created, updated = _time(found.create_time), _time(found.update_time)
            snapshot = ReadSnapshot(ref, found.fields, read_time, created, updated, client)
        elif kind == "missing":
            ref = by_name[raw.missing]
            snapshot = ReadSnapshot(ref, None, read_time, None, None)
        else:
            raise ValueError(f"a BatchGetDocuments answer with neither found nor missing ({kind})")
        out[ref.path] = snapshot
    return out
