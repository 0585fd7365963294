"""Section `proc_net_fib_trie`: /proc/net/fib_trie; the host's own IPv4 addresses.

Sample (an address is local when a '/32 host LOCAL' line follows its leaf)::

    Local:
      +-- 0.0.0.0/0 3 0 5
         |-- 127.0.0.1
            /32 host LOCAL
         |-- 192.0.2.255
            /32 link BROADCAST

Returns each local address once, in order. Lines other than leaves and their route lines
(trie nodes, table names) are structure and are skipped; nothing raises.
"""
from __future__ import annotations

import ipaddress
import re

from analyzers.base import parser

_LEAF_RE = re.compile(r"^[\s|`+-]*\|--\s+(\d+\.\d+\.\d+\.\d+)\s*$")
_LOCAL_RE = re.compile(r"^\s*/32\s+host\s+LOCAL\s*$")


@parser("proc_net_fib_trie")
def parse(text: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    leaf = None
    for line in text.splitlines():
        match = _LEAF_RE.match(line)
        if match:
            try:
                leaf = str(ipaddress.IPv4Address(match.group(1)))
            except ValueError:
                leaf = None
            continue
        if "--" in line:
            leaf = None
            continue
        if leaf and _LOCAL_RE.match(line):
            found[leaf] = None
    return tuple(found)
