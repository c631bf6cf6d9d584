"""The older single-document configuration is migrated without losing a setting, whatever the
order in which the configuration trigger and the migration run.

``tests/e2e/test_hand_edits.py::test_the_older_single_document_shape_is_migrated_without_losing_a_setting``
once found the default terms where it expected the migrated ones: deleting
``system_config/moderation`` fires the trigger, which restores the document (from the
applied copy, or the defaults); when it committed before the migration, the migration kept
that document over the terms embedded in the older shape. Here that order is forced.
"""

from __future__ import annotations

from typing import Any

from credits.store import config_store
from credits.vocab.clock import SystemClock
from google.cloud import firestore

from tests.support import config as cfg

LEGACY: dict[str, Any] = {
    "costs": {"image": 9, "video": 5, "voice": 3, "chat": 0.02},
    "defaultCredits": 55,
    "retentionDays": 30,
    "moderation": {"terms": [{"term": "blorp", "category": "test", "severity": "high"}]},
    "abuse": {"suspendScore": 45, "refundRateThreshold": 0.4, "refundRateMinGenerations": 8},
    "version": 12,
}


def test_a_trigger_that_restored_the_moderation_document_first_does_not_win_over_the_older_shape(
    client: firestore.Client,
) -> None:
    clock = SystemClock()
    try:
        for path in ("applied_config/current", "applied_config/terms", "system_config/moderation"):
            client.document(path).delete()
        # The deletion's trigger runs first: it puts system_config/moderation back.
        config_store.check_edit(client, clock, "moderation")
        assert client.document("system_config/moderation").get().exists
        client.document("system_config/credits").set(LEGACY)
        config_store.migrate(client, clock)  # or the legacy write's own trigger: the same plan
        private = client.document("system_config/moderation").get().to_dict() or {}
        public = client.document("system_config/credits").get().to_dict() or {}
        assert [t["term"] for t in private["moderation"]["terms"]] == ["blorp"]
        assert private["abuse"]["suspendScore"] == 45 and "moderation" not in public
        settings = config_store.current_settings(client)
        assert [t.term for t in settings.private.moderation.terms] == ["blorp"]
        assert str(settings.credits.costs.chat) == "0.02" and settings.credits.defaultCredits == 55
    finally:
        cfg.reset(client)
