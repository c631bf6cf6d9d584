"""Addresses are bucketed (IPv6 by /64), blocked by document, ranges matched from a small index."""

import pytest
from credits.store.ip_blocks import Target, bucket, bucket_id, is_blocked, legacy_entries, normalize_ip, parse_target


class Snap:
    """A stand-in for a DocumentSnapshot: only ``exists`` and ``to_dict`` are read."""

    def __init__(self, data: dict[str, object] | None) -> None:
        self.exists = data is not None
        self._data = data

    def to_dict(self) -> dict[str, object] | None:
        return self._data


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("203.0.113.7:5555", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::1"),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_ip(raw: str | None, expected: str | None) -> None:
    assert normalize_ip(raw) == expected


def test_an_ipv6_client_is_its_64() -> None:
    assert bucket("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert bucket("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert bucket("203.0.113.7") == "203.0.113.7"
    assert "/" not in bucket_id("2001:db8:1:2::9")


@pytest.mark.parametrize(
    "raw,target",
    [
        ("10.1.2.3", Target("address", "10.1.2.3")),
        ("10.1.2.3/32", Target("address", "10.1.2.3")),
        ("10.1.2.3/8", Target("range", "10.0.0.0/8")),
        ("2001:db8::1", Target("address", "2001:db8::/64")),
        ("2001:db8::/96", Target("address", "2001:db8::/64")),
        ("2001:db8::/32", Target("range", "2001:db8::/32")),
    ],
)
def test_targets_are_canonical_and_bucketed(raw: str, target: Target) -> None:
    assert parse_target(raw) == target


def test_bad_targets() -> None:
    assert parse_target("10.0.0.0/33") is None
    assert parse_target("nope") is None


def test_an_address_document_blocks_its_bucket() -> None:
    assert is_blocked("203.0.113.7", Snap({"reason": "x"}), Snap(None))
    assert not is_blocked("203.0.113.7", Snap(None), Snap(None))
    assert not is_blocked(None, Snap({"reason": "x"}), Snap(None))


def test_ranges_come_from_the_index() -> None:
    index = Snap({"cidrs": ["198.51.100.0/24", "2001:db8::/32", "not a network", 7]})
    assert is_blocked("198.51.100.200", Snap(None), index)
    assert is_blocked("2001:db8:1::5", Snap(None), index)
    assert not is_blocked("198.51.101.1", Snap(None), index)
    assert not is_blocked("198.51.100.1", Snap(None), Snap({"cidrs": "damaged"}))


def test_the_older_single_document_splits_into_addresses_and_ranges() -> None:
    addresses, ranges = legacy_entries(
        {"entries": {"203.0.113.7": {"reason": "a"}, "198.51.100.0/24": {"reason": "b"}, "2001:db8::5": {}, "junk": {}}}
    )
    assert set(addresses) == {"203.0.113.7", "2001:db8::/64"}
    assert set(ranges) == {"198.51.100.0/24"}
    assert legacy_entries(None) == ({}, {})
