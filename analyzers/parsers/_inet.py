"""Shared address helpers of the socket parsers (no section of its own)."""
from __future__ import annotations

import ipaddress


def canonical(address: str) -> tuple[str, bool]:
    """(canonical text, ipv4_mapped): '::ffff:10.0.0.1' -> ('10.0.0.1', True).

    Text that is not an IP address ('*', a host name) comes back unchanged.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address, False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped), True
    return str(ip), False
