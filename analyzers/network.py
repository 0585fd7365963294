"""Sockets to listeners and connections, attributed to processes through socket inodes."""
from __future__ import annotations

import ipaddress
from collections import defaultdict

from analyzers.facts import HostFacts
from analyzers.findings import Connection, Listener

SOCKET_SECTIONS = ("proc_net_tcp", "proc_net_tcp6", "proc_net_udp", "proc_net_udp6")


def scope_of(address: str) -> str:
    """'loopback' (this host only), 'all' (every address) or 'address' (one address)."""
    if address in ("*", "0.0.0.0", "::"):
        return "all"
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return "address"
    if ip.is_loopback:
        return "loopback"
    return "address"


def inode_owners(facts: HostFacts) -> dict[int, int]:
    """socket inode -> pid (the lowest pid when several processes share one socket)."""
    owners: dict[int, int] = {}
    for proc in sorted(facts.get("processes"), key=lambda p: p.pid, reverse=True):
        for f in proc.open_files:
            if f.socket_inode is not None:
                owners[f.socket_inode] = proc.pid
    return owners


def sockets_by_pid(facts: HostFacts) -> tuple[dict[int, list[Listener]], dict[int, list[Connection]]]:
    owners = inode_owners(facts)
    listeners: dict[int, list[Listener]] = defaultdict(list)
    connections: dict[int, list[Connection]] = defaultdict(list)
    seen: set[tuple] = set()
    for section in SOCKET_SECTIONS:
        for s in facts.get(section):
            pid = owners.get(s.inode)
            if pid is None or not s.inode:
                continue
            if (s.protocol == "tcp" and s.state == "LISTEN") or (
                    s.protocol == "udp" and s.state == "UNCONN" and s.remote_port == 0 and s.local_port):
                key = (pid, s.protocol, s.local_address, s.local_port)
                if key not in seen:
                    seen.add(key)
                    listeners[pid].append(Listener(s.protocol, s.local_address, s.local_port,
                                                   scope_of(s.local_address), pid))
            elif s.protocol == "tcp" and s.state == "ESTABLISHED":
                connections[pid].append(Connection(s.protocol, s.local_address, s.local_port,
                                                   s.remote_address, s.remote_port, pid))
    return listeners, connections
