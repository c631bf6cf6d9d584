# proto-plus ships no types; only what credits.store.wire uses is described (datetime_helpers).
