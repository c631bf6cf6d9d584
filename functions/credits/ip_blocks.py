"""Blocked IP addresses and ranges, one small document: ``ip_blocks/current``.

``entries`` maps an address (``203.0.113.7``) or a CIDR range (``198.51.100.0/24``,
``2001:db8::/32``) to why and by whom it was blocked. One document means one read per call
whatever the number of blocks (capped at ``MAX_ENTRIES`` so it stays far below 1 MiB); an
admin may edit it through ``setIpBlock`` or, in an emergency, directly in the console.
Matching parses the entries once per document version and checks membership in O(entries),
which for a few thousand networks is microseconds.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

MAX_ENTRIES = 5_000

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


def parse_target(value: str) -> str | None:
    """An address or a network in canonical form (``10.0.0.1``, ``10.0.0.0/8``), else None."""
    text = value.strip()
    if "/" in text:
        try:
            return str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            return None
    return normalize_ip(text)


def is_blocked(entries: Any, ip: str | None) -> bool:
    if not ip or not isinstance(entries, dict) or not entries:
        return False
    if ip in entries:
        return True
    networks = _networks(tuple(sorted(k for k in entries if isinstance(k, str) and "/" in k)))
    if not networks:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in net for net in networks if net.version == address.version)


@functools.lru_cache(maxsize=16)
def _networks(keys: tuple[str, ...]) -> tuple[Network, ...]:
    result = []
    for key in keys:
        try:
            result.append(ipaddress.ip_network(key, strict=False))
        except ValueError:
            continue
    return tuple(result)
