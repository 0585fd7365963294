"""Section `ip_addr`: `ip -o addr show`, one address per line.

Sample::

    1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
    4: eth0    inet6 fe80::fc:ff:fe00:1/64 scope link \\       valid_lft forever preferred_lft forever

`eth0@if5` names read as `eth0`; a point-to-point `inet A peer B/32` reads as A with
the full prefix. Lines of other families (link/...) are skipped. Strict: an inet/inet6
line that does not read raises ParseError.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from analyzers.base import ParseError, parser


@dataclass(frozen=True)
class Address:
    interface: str
    family: int          # 4 | 6
    address: str
    prefixlen: int


@parser("ip_addr")
def parse(text: str) -> tuple[Address, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            if not fields[0].endswith(":") or len(fields) < 4:
                raise ValueError("short line")
            kind = fields[2]
            if kind not in ("inet", "inet6"):
                continue
            interface = fields[1].split("@", 1)[0]
            address, _, prefix = fields[3].partition("/")
            ip = ipaddress.ip_address(address)
            prefixlen = int(prefix) if prefix else ip.max_prefixlen
            rows.append(Address(interface, ip.version, str(ip), prefixlen))
        except (ValueError, IndexError) as exc:
            raise ParseError("ip_addr", line_no, line) from exc
    return tuple(rows)
