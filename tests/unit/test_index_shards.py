"""The index shards are numbered alike on both sides, and every time-ordered query of the
admin pages has its composite index.

The backend stamps ``shard`` (``db.index_shard``) on ``ai_activity`` documents; the admin
library's live stream filters ``shard in ALL_INDEX_SHARDS`` because the single-field
``createdAt`` index is exempt. A shard the library does not name would hide its generations
from the stream, and the emulators do not enforce indexes, so both are checked here.
"""

from __future__ import annotations

import json
import pathlib
import re

from credits.store import db

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_admin_library_names_every_shard_the_backend_writes() -> None:
    source = (ROOT / "client/src/admin-logic.ts").read_text()
    match = re.search(r"export const INDEX_SHARDS = (\d+);", source)
    assert match, "INDEX_SHARDS not found in client/src/admin-logic.ts"
    assert int(match.group(1)) == db.INDEX_SHARDS
    shards = {db.index_shard(f"activity-{i}") for i in range(2_000)}
    assert shards == set(range(db.INDEX_SHARDS))


def test_the_live_stream_has_its_index_and_no_single_field_index() -> None:
    indexes = json.loads((ROOT / "firestore.indexes.json").read_text())
    exempt = {(o["collectionGroup"], o["fieldPath"]) for o in indexes.get("fieldOverrides", []) if o.get("indexes") == []}
    assert ("ai_activity", "createdAt") in exempt
    composite = [
        [(f["fieldPath"], f.get("order")) for f in i["fields"]]
        for i in indexes["indexes"]
        if i["collectionGroup"] == "ai_activity"
    ]
    assert [("shard", "ASCENDING"), ("createdAt", "DESCENDING")] in composite
    source = (ROOT / "client/src/admin.ts").read_text()
    feed = source[source.index("watchActivityFeed(") :]
    feed = feed[: feed.index("\n  }\n")]
    assert 'where("shard", "in", ALL_INDEX_SHARDS)' in feed
    assert 'orderBy("createdAt", "desc")' in feed
