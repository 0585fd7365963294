"""Section `proc_net_if_inet6`: /proc/net/if_inet6 (address hex, ifindex, prefix len hex, scope, flags, name).

Sample::

    fe8000000000000000fc00fffe000001 04 40 20 80     eth0
    00000000000000000000000000000001 01 80 10 80       lo

Strict: a line that does not read raises ParseError.
"""
from __future__ import annotations

import ipaddress

from analyzers.base import ParseError, parser
from analyzers.parsers.ip_addr import Address


@parser("proc_net_if_inet6")
def parse(text: str) -> tuple[Address, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            if len(fields) != 6 or len(fields[0]) != 32:
                raise ValueError("bad line")
            ip = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
            rows.append(Address(fields[5], 6, str(ip), int(fields[2], 16)))
        except ValueError as exc:
            raise ParseError("proc_net_if_inet6", line_no, line) from exc
    return tuple(rows)
