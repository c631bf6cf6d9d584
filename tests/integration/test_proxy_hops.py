"""A wrong ``CREDITS_TRUSTED_PROXY_HOPS`` is reported: an error in the logs without any client's
address, and one admin notification per kind of problem, however many requests show it."""

from __future__ import annotations

import logging

import pytest
from credits.api import transport
from credits.vocab.clock import ManualClock
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter


def test_a_wrong_hop_count_is_logged_without_addresses_and_notified_once(
    client: firestore.Client, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    credits_log = logging.getLogger("credits")  # the structured logger does not propagate to the root
    credits_log.addHandler(caplog.handler)
    try:
        for _ in range(5):
            transport.report_forwarding_problem(client, clock, "too_few_hops", hops=3, seen=1)
    finally:
        credits_log.removeHandler(caplog.handler)
    notes = [
        n.to_dict() or {}
        for n in client.collection("admin_notifications").where(filter=FieldFilter("kind", "==", "proxy_hops")).stream()
    ]
    mine = [n for n in notes if n.get("problem") == "too_few_hops" and n.get("configuredHops") == 3]
    assert len(mine) == 1, notes
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "CREDITS_TRUSTED_PROXY_HOPS" in r.getMessage()]
    assert errors, caplog.records
    assert all("203.0.113" not in r.getMessage() for r in caplog.records)
