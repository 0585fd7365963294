"""Sections `proc_net_tcp`, `proc_net_tcp6`, `proc_net_udp`, `proc_net_udp6`: /proc/net/{tcp,udp}[6].

Sample (addresses are hex, little-endian per 32-bit word; ports big-endian hex)::

      sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
       0: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5141 1 ...

Strict: a row that does not read raises ParseError.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from analyzers.base import ParseError, parser
from analyzers.parsers._inet import canonical

TCP_STATES = {
    0x01: "ESTABLISHED", 0x02: "SYN_SENT", 0x03: "SYN_RECV", 0x04: "FIN_WAIT1", 0x05: "FIN_WAIT2",
    0x06: "TIME_WAIT", 0x07: "CLOSE", 0x08: "CLOSE_WAIT", 0x09: "LAST_ACK", 0x0A: "LISTEN",
    0x0B: "CLOSING", 0x0C: "NEW_SYN_RECV",
}
UDP_STATES = {**TCP_STATES, 0x07: "UNCONN", 0x01: "ESTABLISHED"}


@dataclass(frozen=True)
class InetSocket:
    protocol: str          # 'tcp' | 'udp'
    family: int            # 4 | 6 (the socket's family; see ipv4_mapped)
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    state: str
    uid: int
    inode: int
    ipv4_mapped: bool = False


def decode_address(text: str) -> tuple[str, int, bool]:
    """'0100007F:18EB' -> ('127.0.0.1', 6379, False)."""
    hex_addr, hex_port = text.split(":")
    raw = bytes.fromhex(hex_addr)
    if len(raw) not in (4, 16):
        raise ValueError(f"bad address length {len(raw)}")
    packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(packed)
    address, mapped = canonical(str(ip))
    return address, int(hex_port, 16), mapped


def _parse(section: str, protocol: str, family: int, text: str) -> tuple[InetSocket, ...]:
    states = TCP_STATES if protocol == "tcp" else UDP_STATES
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] == "sl":
            continue
        try:
            if not fields[0].endswith(":") or len(fields) < 10:
                raise ValueError("short row")
            local, lport, lmapped = decode_address(fields[1])
            remote, rport, rmapped = decode_address(fields[2])
            code = int(fields[3], 16)
            rows.append(InetSocket(protocol, family, local, lport, remote, rport,
                                   states.get(code, f"0x{code:02X}"), int(fields[7]), int(fields[9]),
                                   lmapped or rmapped))
        except (ValueError, IndexError) as exc:
            raise ParseError(section, line_no, line) from exc
    return tuple(rows)


@parser("proc_net_tcp")
def parse_tcp(text: str) -> tuple[InetSocket, ...]:
    return _parse("proc_net_tcp", "tcp", 4, text)


@parser("proc_net_tcp6")
def parse_tcp6(text: str) -> tuple[InetSocket, ...]:
    return _parse("proc_net_tcp6", "tcp", 6, text)


@parser("proc_net_udp")
def parse_udp(text: str) -> tuple[InetSocket, ...]:
    return _parse("proc_net_udp", "udp", 4, text)


@parser("proc_net_udp6")
def parse_udp6(text: str) -> tuple[InetSocket, ...]:
    return _parse("proc_net_udp6", "udp", 6, text)


parse = parse_tcp
