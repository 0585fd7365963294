"""Addresses in observed command lines, rewritten to the names they have in the cluster.

A client's `--redis 10.0.0.5:6379` becomes `--redis cache-1:6379` (the server's Service); a
cluster member's peers become the stable DNS names of the StatefulSet's pods
(NAME-N.HEADLESS.NAMESPACE.svc.cluster.local); its own address becomes $(POD_NAME)'s name, and
what it listens on becomes 0.0.0.0, since a pod's address is not known in advance.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from analyzers.findings import HostFindings

POD_NAME = "$(POD_NAME)"
_LISTEN_FLAGS = re.compile(r"listen|bind", re.IGNORECASE)


def host_addresses(host: str, findings: HostFindings | None, loopback: bool = False) -> set[str]:
    """The names and addresses other machines use for a host (loopback ones only when asked)."""
    found = {host}
    if findings is not None:
        if findings.hostname:
            found.add(findings.hostname)
        for address in findings.addresses:
            try:
                ip = ipaddress.ip_address(address.split("%")[0])
            except ValueError:
                continue
            if ip.is_link_local or (ip.is_loopback and not loopback):
                continue
            found.add(str(ip))
    if loopback:
        found |= {"127.0.0.1", "localhost", "::1"}
    return {a for a in found if a}


def reachable_address(findings: HostFindings | None) -> str | None:
    """The address other machines reach a host at: its first address that is neither loopback nor
    link-local, IPv4 before IPv6; None when the findings have none."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for address in findings.addresses if findings is not None else ():
        try:
            ip = ipaddress.ip_address(address.split("%")[0].split("/")[0])
        except ValueError:
            continue
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast):
            found.append(ip)
    found.sort(key=lambda ip: ip.version)     # stable: the first of each family stays first
    return str(found[0]) if found else None


def _pattern(addresses: Iterable[str]) -> re.Pattern | None:
    words = sorted({a for a in addresses if a}, key=lambda a: (-len(a), a))
    if not words:
        return None
    return re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, words)) + r")(?![\w-]|\.\w)")


def pod_dns(name: str, ordinal: int | str, headless: str, namespace: str) -> str:
    return f"{name}-{ordinal}.{headless}.{namespace}.svc.cluster.local"


def self_dns(headless: str, namespace: str) -> str:
    return f"{POD_NAME}.{headless}.{namespace}.svc.cluster.local"


def _split_flags(args: Sequence[str]) -> list[tuple[str, str, str]]:
    """(flag, value, form) per argument: form '=' (--flag=value), 'next' (value of the previous
    flag) or '' (a lone argument)."""
    out = []
    previous = ""
    for arg in args:
        if arg.startswith("-") and "=" in arg:
            flag, value = arg.split("=", 1)
            out.append((flag, value, "="))
            previous = ""
        elif arg.startswith("-"):
            out.append((arg, "", ""))
            previous = arg
        else:
            out.append((previous, arg, "next"))
            previous = ""
    return out


def rewrite_cluster_args(args: Sequence[str], software: str, name: str, headless: str, namespace: str,
                         members: Sequence[set[str]]) -> tuple[tuple[str, ...], bool, list[str]]:
    """Member addresses in the ordinal-0 member's arguments, rewritten to pod DNS names.

    members[i]: the addresses of the host ordinal i replaces. Returns (args, whether $(POD_NAME)
    is used, notes).
    """
    ordinal_of = {a: i for i, addresses in enumerate(members) for a in addresses}
    pattern = _pattern(ordinal_of)
    notes: list[str] = []
    uses_pod_name = False
    rewritten: list[str] = []
    for arg, (flag, value, form) in zip(args, _split_flags(args)):
        if not form or pattern is None and not (software == "etcd" and flag == "--name"):
            rewritten.append(arg)
            continue
        new = value
        if software == "etcd" and flag == "--name":
            new = POD_NAME
        elif software == "etcd" and flag == "--initial-cluster":
            items = []
            for item in filter(None, value.split(",")):
                url = item.split("=", 1)[-1]
                host = urlsplit(url).hostname or ""
                if host in ordinal_of:
                    i = ordinal_of[host]
                    items.append(f"{name}-{i}={url.replace(host, pod_dns(name, i, headless, namespace), 1)}")
                else:
                    items.append(item)
                    notes.append(f"member {item!r} of --initial-cluster is not a planned member: left as it was")
            new = ",".join(items)
        elif _LISTEN_FLAGS.search(flag):
            new = _dedupe_listen(pattern.sub(lambda m: "0.0.0.0" if ordinal_of[m.group(1)] == 0 else m.group(1),
                                             value))
        else:
            new = pattern.sub(lambda m: (self_dns(headless, namespace) if ordinal_of[m.group(1)] == 0
                                         else pod_dns(name, ordinal_of[m.group(1)], headless, namespace)), value)
        uses_pod_name = uses_pod_name or POD_NAME in new
        rewritten.append(f"{flag}={new}" if form == "=" else new)
    if tuple(rewritten) != tuple(args):
        notes.append("member addresses in the arguments rewritten to the pods' stable DNS names "
                     f"({name}-N.{headless}.{namespace}.svc.cluster.local)")
    else:
        notes.append(f"no member address in the arguments to rewrite: where the configuration names the members, "
                     f"point it at {pod_dns(name, 'N', headless, namespace)}")
    return tuple(rewritten), uses_pod_name, notes


def _dedupe_listen(value: str) -> str:
    """Once a URL listens on 0.0.0.0:PORT, loopback URLs of the same port would fail to bind: drop them."""
    items = value.split(",")
    wildcard = {urlsplit(i).port for i in items if urlsplit(i).hostname == "0.0.0.0"}
    kept = [i for i in items if not (urlsplit(i).hostname in ("127.0.0.1", "localhost", "::1")
                                     and urlsplit(i).port in wildcard)]
    return ",".join(dict.fromkeys(kept))


def rewrite_peer_args(args: Sequence[str], targets: Mapping[tuple[str, int], str]) -> tuple[tuple[str, ...], list[str]]:
    """ADDRESS:PORT of a server in the arguments becomes SERVICE:PORT. targets: (address, port) -> service."""
    if not targets:
        return tuple(args), []
    by_port: dict[int, dict[str, str]] = {}
    for (address, port), service in targets.items():
        by_port.setdefault(port, {})[address] = service
    notes: list[str] = []
    out = []
    for arg in args:
        new = _libpq_hosts(arg, targets)
        for port, services in sorted(by_port.items()):
            words = sorted(services, key=lambda a: (-len(a), a))
            pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, words)) + rf"):{port}(?!\d)")
            new = pattern.sub(lambda m, s=services, p=port: f"{s[m.group(1)]}:{p}", new)
        if new != arg:
            notes.append(f"argument {arg!r} now names the Service: {new!r}")
        out.append(new)
    return tuple(out), notes


_LIBPQ_HOST = re.compile(r"(?<![\w.-])(host|hostaddr)\s*=\s*(['\"]?)([\w.:-]+)\2(?=\s|$)")
_LIBPQ_PORT = re.compile(r"(?<![\w.-])port\s*=\s*(['\"]?)(\d{1,5})\1(?=\s|$)")


def _libpq_hosts(arg: str, targets: Mapping[tuple[str, int], str]) -> str:
    """A libpq keyword/value string ("host=10.0.0.5 port=5432 dbname=app"): its host (or hostaddr,
    which must stay numeric, so it becomes host) names the Service of that address and port
    (5432 when the string gives none)."""
    if "=" not in arg or "host" not in arg:
        return arg
    port_match = _LIBPQ_PORT.search(arg)
    port = int(port_match.group(2)) if port_match else 5432

    def sub(m: re.Match) -> str:
        service = targets.get((m.group(3), port))
        return f"host={service}" if service else m.group(0)
    return _LIBPQ_HOST.sub(sub, arg)
