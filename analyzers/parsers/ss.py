"""Section `ss`: `ss -tunap` (with a Netid column); also reads `ss -tlnp` (without it).

Sample::

    Netid State  Recv-Q Send-Q      Local Address:Port  Peer Address:Port Process
    udp   UNCONN 0      0           127.0.0.53%lo:53         0.0.0.0:*    users:(("systemd-resolve",pid=655,fd=15))
    tcp   ESTAB  0      0      [fe80::1]%eth0:22   [fe80::2]:51234       users:(("sshd",pid=4321,fd=4),("sshd",pid=4300,fd=4))

Addresses lose their brackets; a `%zone` or bound device goes to `interface`; a `*` port
is None; `*` as an address stays '*'; '::ffff:a.b.c.d' reads as 'a.b.c.d' with
ipv4_mapped. Strict: a row that does not read raises ParseError.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.base import ParseError, parser
from analyzers.parsers._inet import canonical

_PROC_RE = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)')


@dataclass(frozen=True)
class SsProcess:
    name: str
    pid: int
    fd: int


@dataclass(frozen=True)
class SsSocket:
    netid: str | None
    state: str
    recv_q: int
    send_q: int
    local_address: str
    local_port: int | None
    peer_address: str
    peer_port: int | None
    interface: str | None
    processes: tuple[SsProcess, ...]
    ipv4_mapped: bool = False


def split_endpoint(text: str) -> tuple[str, int | None, str | None, bool]:
    """'[fe80::1]%eth0:22' -> ('fe80::1', 22, 'eth0', False)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"no port in {text!r}")
    port = None if port_text == "*" else int(port_text)
    interface = None
    if host.startswith("["):
        end = host.index("]")
        inner, rest = host[1:end], host[end + 1:]
        if rest:
            if not rest.startswith("%"):
                raise ValueError(f"odd endpoint {text!r}")
            interface = rest[1:]
        host = inner
    if "%" in host:
        host, interface = host.split("%", 1)
    address, mapped = canonical(host)
    return address, port, interface or None, mapped


@parser("ss")
def parse(text: str) -> tuple[SsSocket, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        fields = line.split(None)
        if not fields or fields[0] in ("Netid", "State"):
            continue
        try:
            with_netid = not fields[1].isdigit()
            count = 6 if with_netid else 5
            parts = line.split(None, count)
            if len(parts) < count:
                raise ValueError("short row")
            netid = parts[0] if with_netid else None
            state, recv_q, send_q, local, peer = parts[count - 5:count]
            rest = parts[count] if len(parts) > count else ""
            laddr, lport, liface, lmapped = split_endpoint(local)
            paddr, pport, piface, pmapped = split_endpoint(peer)
            procs = tuple(SsProcess(n.replace('\\"', '"'), int(p), int(f)) for n, p, f in _PROC_RE.findall(rest))
            if rest.strip().startswith("users:") and not procs:
                raise ValueError("unreadable process column")
            rows.append(SsSocket(netid, state, int(recv_q), int(send_q), laddr, lport, paddr, pport,
                                 liface or piface, procs, lmapped or pmapped))
        except (ValueError, IndexError) as exc:
            raise ParseError("ss", line_no, line) from exc
    return tuple(rows)
