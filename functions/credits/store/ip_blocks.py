"""Blocked addresses and ranges, read at a cost that does not grow with their number.

An address is *bucketed* before anything looks at it: an IPv4 address stands for itself, an
IPv6 address for its /64 (one subscriber's network: a client can pick any of its 2^64
addresses, so blocks, per-address rate limits and sign-up grants count the /64).

* A blocked address (bucket) is one document, ``ip_blocks/addr_{bucket}``, looked up by id in
  a charge's batched read: one document read whatever the number of blocks, and no cap on how
  many there are.
* Blocked ranges (CIDR networks wider than a bucket) are few and bounded (``MAX_RANGES``): their
  networks are listed in one small index, ``ip_blocks/ranges`` (``cidrs``: networks only, at
  most ~4.5 KB), with each range's reason in its own document ``ip_blocks/range_{id}``.
  Matching parses the index once per content and tests at most ``MAX_RANGES`` networks.

``setIpBlock`` writes these documents (audited); the console can too. The older single
document ``ip_blocks/current`` (up to 5,000 entries, ~800 KB, read by every charge) is moved
into this shape by ``migrate_legacy``.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Any, Literal

from google.cloud import firestore

from credits.store import db

MAX_RANGES = 100
RANGES_DOC = "ranges"
LEGACY_DOC = "current"
IPV6_BUCKET_PREFIX = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def normalize_ip(value: str | None) -> str | None:
    """The canonical text of an address, or None if it is not one."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:5123"
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]  # an IPv6 zone ("fe80::1%eth0") says nothing about the client
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def bucket(ip: str) -> str:
    """The unit an address is counted and blocked by: itself (IPv4) or its /64 (IPv6)."""
    address = ipaddress.ip_address(ip)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_BUCKET_PREFIX}", strict=False))
    return str(address)


def bucket_id(ip: str) -> str:
    """``bucket(ip)`` as a document id (Firestore ids cannot hold '/')."""
    return bucket(ip).replace("/", "_")


@dataclass(frozen=True)
class Target:
    """What ``setIpBlock`` blocks: one bucket (``address``) or a wider network (``range``)."""

    kind: Literal["address", "range"]
    key: str  # the bucket text, or the network in canonical form


def parse_target(value: str) -> Target | None:
    """An address or a network, canonical and bucketed; None if it is neither.

    ``10.0.0.1`` and ``10.0.0.1/32`` are an address; ``2001:db8::1`` and any IPv6 network of
    /64 or longer are the /64 bucket; wider networks are ranges.
    """
    text = value.strip()
    if "/" in text:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None
        full = 32 if network.version == 4 else IPV6_BUCKET_PREFIX
        if network.prefixlen >= full:
            return Target("address", bucket(str(network.network_address)))
        return Target("range", str(network))
    ip = normalize_ip(text)
    return None if ip is None else Target("address", bucket(ip))


def address_ref(client: firestore.Client, key: str) -> firestore.DocumentReference:
    """``ip_blocks/addr_{bucket}`` for a bucket text (see ``bucket``)."""
    return client.collection(db.IP_BLOCKS).document("addr_" + key.replace("/", "_"))


def range_ref(client: firestore.Client, network: str) -> firestore.DocumentReference:
    """The document holding one range's reason."""
    digest = hashlib.sha256(network.encode()).hexdigest()[:32]
    return client.collection(db.IP_BLOCKS).document(f"range_{digest}")


def ranges_ref(client: firestore.Client) -> firestore.DocumentReference:
    """The index of blocked ranges."""
    return client.collection(db.IP_BLOCKS).document(RANGES_DOC)


def refs_for(client: firestore.Client, ip: str | None) -> list[firestore.DocumentReference]:
    """What a charge reads to know whether ``ip`` is blocked (nothing for an unknown address)."""
    if not ip:
        return []
    return [address_ref(client, bucket(ip)), ranges_ref(client)]


def is_blocked(ip: str | None, address: db.Snapshot | None, ranges: db.Snapshot | None) -> bool:
    """Whether ``ip`` is blocked, from the two documents of ``refs_for``.

    A damaged index is read as far as it is readable (a network that does not parse is
    skipped): blocking is a protection, and a console typo must not stop every charge.
    """
    if not ip:
        return False
    if address is not None and address.exists:
        return True
    if ranges is None or not ranges.exists:
        return False
    cidrs = (ranges.to_dict() or {}).get("cidrs")
    if not isinstance(cidrs, list) or not cidrs:
        return False
    networks = _networks(tuple(c for c in cidrs[: MAX_RANGES * 2] if isinstance(c, str)))
    candidate = ipaddress.ip_address(ip)
    return any(candidate in net for net in networks if net.version == candidate.version)


@functools.lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    result = []
    for cidr in cidrs:
        try:
            result.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue
    return tuple(result)


def stored_cidrs(snapshot: db.Snapshot) -> list[str]:
    """The index's list of networks as stored (empty when missing or malformed)."""
    cidrs = (snapshot.to_dict() or {}).get("cidrs") if snapshot.exists else None
    return [c for c in cidrs if isinstance(c, str)] if isinstance(cidrs, list) else []


def legacy_entries(data: dict[str, Any] | None) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The older ``ip_blocks/current`` document's entries, as (addresses, ranges) by target key."""
    addresses: dict[str, dict[str, Any]] = {}
    ranges: dict[str, dict[str, Any]] = {}
    entries = (data or {}).get("entries")
    if not isinstance(entries, dict):
        return addresses, ranges
    for raw, detail in entries.items():
        target = parse_target(str(raw))
        if target is None:
            continue
        info = detail if isinstance(detail, dict) else {}
        (addresses if target.kind == "address" else ranges)[target.key] = info
    return addresses, ranges
