"""Many hosts' findings in, the estate's shape out: who talks to whom, what starts first,
which applications form one cluster, which agents run everywhere, which jobs are scheduled.

Applications are referred to as "HOST/KEY" (KEY is the application's stable key on its host).
"""
from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

import networkx as nx

from analyzers.base import Evidence
from analyzers.findings import Application, HostFindings, ScheduledJob

# Software whose cluster members are equals, and software with one writer and its followers.
MEMBER_CLUSTERS = {"etcd", "consul", "zookeeper", "kafka", "elasticsearch", "opensearch", "cassandra",
                   "rabbitmq", "mongodb"}
REPLICATED = {"postgresql": ("primary", "standby"), "mysql": ("primary", "replica"),
              "mariadb": ("primary", "replica"), "redis": ("primary", "replica")}
DAEMON_MIN_HOSTS = 3
DAEMON_MIN_SHARE = 0.75


@dataclass(frozen=True)
class Peer:
    """`client` holds an established connection to `server`, which listens on `port`."""

    client: str
    server: str
    port: int
    protocol: str = "tcp"
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class ExternalEndpoint:
    """A connection with one end outside the inventory. direction 'out': the app is the client;
    'in': a client outside the inventory uses the app's port (an external route)."""

    app: str
    address: str
    port: int
    direction: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Route:
    """Who reaches a listening port: 'local' (loopback only), 'external' (clients outside the
    inventory seen), 'internal' (only inventoried clients seen), 'unseen' (reachable, no client seen)."""

    app: str
    port: int
    protocol: str
    scope: str
    route: str
    clients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cluster:
    software: str
    members: tuple[tuple[str, str], ...]       # (app ref, role), primary first
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class NodeDaemon:
    software: str
    apps: tuple[str, ...]
    hosts: tuple[str, ...]
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class OrderEdge:
    """`before` must be up before `after` starts."""

    before: str
    after: str
    reason: str


@dataclass(frozen=True)
class EstateFindings:
    apps: Mapping[str, tuple[str, Application]] = field(default_factory=dict)   # ref -> (host, app)
    peers: tuple[Peer, ...] = ()
    external: tuple[ExternalEndpoint, ...] = ()
    routes: tuple[Route, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    daemons: tuple[NodeDaemon, ...] = ()
    order: tuple[OrderEdge, ...] = ()
    waves: tuple[tuple[str, ...], ...] = ()
    cycles: tuple[tuple[str, ...], ...] = ()
    jobs: tuple[tuple[str, ScheduledJob], ...] = ()

    def as_dict(self) -> dict:
        data = asdict(self)
        data["apps"] = {ref: {"host": host, "key": app.key, "software": app.software, "name": app.name}
                        for ref, (host, app) in self.apps.items()}
        return data


def normalize_address(address: str) -> str:
    """One spelling per address: IPv4-mapped IPv6 becomes IPv4, zones are dropped."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ip)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(normalize_address(address)).is_loopback
    except ValueError:
        return False


def _address_index(hosts: Sequence[tuple[str, HostFindings]]) -> dict[str, str]:
    """address -> host, for addresses exactly one host holds (shared ones, like docker0, say nothing)."""
    owners: dict[str, set[str]] = defaultdict(set)
    for name, findings in hosts:
        for address in findings.addresses:
            norm = normalize_address(address)
            if not _is_loopback(norm):
                owners[norm].add(name)
    return {address: next(iter(names)) for address, names in owners.items() if len(names) == 1}


def _listening(apps: Iterable[tuple[str, Application]], port: int, address: str) -> str | None:
    """The app of one host that accepts connections on address:port."""
    for ref, app in apps:
        for listener in app.listeners:
            if listener.port != port or listener.protocol != "tcp":
                continue
            bound = normalize_address(listener.address)
            if listener.scope == "all" or bound == normalize_address(address) or (
                    listener.scope == "loopback" and _is_loopback(address)):
                return ref
    return None


def find_peers(hosts: Sequence[tuple[str, HostFindings]]) -> tuple[list[Peer], list[ExternalEndpoint]]:
    index = _address_index(hosts)
    by_host = {name: [(f"{name}/{app.key}", app) for app in f.applications] for name, f in hosts}
    peers: dict[tuple[str, str, int], Peer] = {}
    external: dict[tuple, ExternalEndpoint] = {}
    for name, findings in hosts:
        for ref, app in by_host[name]:
            own_ports = {l.port for l in app.listeners if l.protocol == "tcp"}
            for c in app.connections:
                remote = normalize_address(c.remote_address)
                remote_host = name if _is_loopback(remote) else index.get(remote)
                seen = Evidence(f"{name}:proc_net", f"pid {c.pid}: {c.local_address}:{c.local_port} -> "
                                                   f"{c.remote_address}:{c.remote_port}", "established-connection")
                server = _listening(by_host[remote_host], c.remote_port, remote) if remote_host else None
                inbound = c.local_port in own_ports and (server is None or c.remote_port > c.local_port)
                if inbound:
                    if remote_host is None:   # a client outside the inventory: an external route
                        key = (ref, "in", c.local_port)
                        external.setdefault(key, ExternalEndpoint(ref, remote, c.local_port, "in", (seen,)))
                    continue                  # inventoried clients are found from their own side
                if server is not None:
                    if server != ref:
                        key = (ref, server, c.remote_port)
                        if key not in peers:
                            peers[key] = Peer(ref, server, c.remote_port, c.protocol, (seen,))
                elif remote_host is None:
                    key = (ref, remote, c.remote_port)
                    external.setdefault(key, ExternalEndpoint(ref, remote, c.remote_port, "out", (seen,)))
    return sorted(peers.values(), key=lambda p: (p.server, p.client, p.port)), \
        sorted(external.values(), key=lambda e: (e.app, e.direction, e.address, e.port))


def find_routes(apps: Mapping[str, tuple[str, Application]], peers: Sequence[Peer],
                external: Sequence[ExternalEndpoint]) -> list[Route]:
    inside: dict[tuple[str, int], set[str]] = defaultdict(set)
    outside: dict[tuple[str, int], set[str]] = defaultdict(set)
    for peer in peers:
        inside[(peer.server, peer.port)].add(peer.client)
    for end in external:
        if end.direction == "in":
            outside[(end.app, end.port)].add(end.address)
    routes = []
    for ref, (_host, app) in sorted(apps.items()):
        for listener in sorted(set((l.port, l.protocol, l.scope) for l in app.listeners)):
            port, protocol, scope = listener
            key = (ref, port)
            if scope == "loopback":
                route = "local"
            elif outside[key]:
                route = "external"
            elif inside[key]:
                route = "internal"
            else:
                route = "unseen"
            routes.append(Route(ref, port, protocol, scope, route, tuple(sorted(inside[key] | outside[key]))))
    return routes


def _declared_members(app: Application) -> list[tuple[str, str]]:
    """(address, port) of the cluster members an app's command line lists (etcd --initial-cluster)."""
    value = ""
    for i, arg in enumerate(app.command):
        if arg.startswith("--initial-cluster="):
            value = arg.split("=", 1)[1]
        elif arg == "--initial-cluster" and i + 1 < len(app.command):
            value = app.command[i + 1]
    members = []
    for item in filter(None, value.split(",")):
        url = urlsplit(item.split("=", 1)[-1])
        if url.hostname and url.port:
            members.append((url.hostname, url.port))
    return members


def declared_peers(hosts: Sequence[tuple[str, HostFindings]]) -> list[tuple[str, str, Evidence]]:
    """(app, member app, evidence) for members an app names in its own configuration."""
    index = _address_index(hosts)
    by_host = {name: [(f"{name}/{app.key}", app) for app in f.applications] for name, f in hosts}
    found = []
    for name, findings in hosts:
        for ref, app in by_host[name]:
            for address, port in _declared_members(app):
                other_host = index.get(normalize_address(address))
                if other_host is None or other_host == name:
                    continue
                other = _listening(by_host[other_host], port, address)
                if other is not None and apps_software(by_host[other_host], other) == app.software:
                    found.append((ref, other, Evidence(f"{name}:processes", f"{app.software} lists member "
                                                       f"{address}:{port} in --initial-cluster", "declared-member")))
    return found


def apps_software(apps: Iterable[tuple[str, Application]], ref: str) -> str:
    return next((a.software for r, a in apps if r == ref), "")


def find_clusters(apps: Mapping[str, tuple[str, Application]], peers: Sequence[Peer],
                  declared: Sequence[tuple[str, str, Evidence]] = ()) -> list[Cluster]:
    """Apps of the same software on different hosts joined by connections between them, or that
    list each other as members."""
    graph = nx.DiGraph()
    for a, b, evidence in declared:
        graph.add_edge(a, b, evidence=(evidence,), declared=True)
    for peer in peers:
        (c_host, c_app), (s_host, s_app) = apps[peer.client], apps[peer.server]
        if c_app.software == s_app.software and c_host != s_host and c_app.software != "unknown" \
                and c_app.category != "app":
            graph.add_edge(peer.client, peer.server, evidence=peer.evidence, declared=False)
    clusters = []
    for members in nx.weakly_connected_components(graph):
        software = apps[next(iter(members))][1].software
        sub = graph.subgraph(members)
        if software in REPLICATED:
            lead, follow = REPLICATED[software]
            connected = sub.edge_subgraph([(a, b) for a, b, d in sub.edges(data=True) if not d.get("declared")])
            roles = {m: (follow if m in connected and connected.out_degree(m) else lead) for m in members}
        else:
            roles = {m: "member" for m in members}
        ordered = sorted(members, key=lambda m: (roles[m] not in ("primary", "member"), m))
        evidence = tuple(Evidence(ev.source, f"{a} -> {b}: {ev.detail}", ev.rule)
                         for a, b, ev in sorted((a, b, d["evidence"][0]) for a, b, d in sub.edges(data=True)))
        clusters.append(Cluster(software, tuple((m, roles[m]) for m in ordered), evidence))
    return sorted(clusters, key=lambda c: (c.software, c.members))


def find_daemons(apps: Mapping[str, tuple[str, Application]], host_count: int,
                 clustered: set[str]) -> list[NodeDaemon]:
    """The same stateless software on all or most hosts: an agent that belongs on every node."""
    where: dict[str, list[str]] = defaultdict(list)
    for ref, (_host, app) in apps.items():
        if app.software != "unknown" and app.category != "database":
            where[app.software].append(ref)
    daemons = []
    for software, refs in sorted(where.items()):
        host_names = sorted({apps[r][0] for r in refs})
        if len(host_names) < max(DAEMON_MIN_HOSTS, DAEMON_MIN_SHARE * host_count):
            continue
        if any(r in clustered or apps[r][1].stateful for r in refs):
            continue
        detail = f"{software} runs on {len(host_names)} of {host_count} hosts, keeping no state"
        daemons.append(NodeDaemon(software, tuple(sorted(refs)), tuple(host_names),
                                  (Evidence("estate", detail, "same-agent-on-most-hosts"),)))
    return daemons


def startup_order(apps: Mapping[str, tuple[str, Application]], peers: Sequence[Peer],
                  clusters: Sequence[Cluster]) -> tuple[list[OrderEdge], list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Edges (server before client; a unit before the units that name it in After=/Requires=/Wants=;
    a primary before its standbys), the start waves, and the cycles that were condensed."""
    cluster_of = {ref: i for i, c in enumerate(clusters) for ref, _ in c.members}
    edges: dict[tuple[str, str], str] = {}
    for peer in peers:
        same = cluster_of.get(peer.client) is not None and cluster_of.get(peer.client) == cluster_of.get(peer.server)
        if not same:
            edges.setdefault((peer.server, peer.client), f"{peer.client} connects to {peer.server} on port {peer.port}")
    for cluster in clusters:
        leads = [r for r, role in cluster.members if role == "primary"]
        for lead in leads:
            for ref, role in cluster.members:
                if ref != lead:
                    edges.setdefault((lead, ref), f"{role} {ref} replicates from primary {lead}")
    units = {(host, app.unit): ref for ref, (host, app) in apps.items() if app.unit}
    for ref, (host, app) in apps.items():
        for dep in app.unit_after:
            before = units.get((host, dep))
            if before and before != ref:
                edges.setdefault((before, ref), f"{app.unit} is ordered after {dep} (unit file)")
    graph = nx.DiGraph()
    graph.add_nodes_from(apps)
    graph.add_edges_from(edges)
    cycles = [tuple(sorted(c)) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    condensed = nx.condensation(graph)
    waves = [tuple(sorted(ref for node in generation for ref in condensed.nodes[node]["members"]))
             for generation in nx.topological_generations(condensed)]
    order = [OrderEdge(b, a, reason) for (b, a), reason in sorted(edges.items())]
    return order, waves, sorted(cycles)


def analyze_estate(hosts: Sequence[tuple[str, HostFindings]]) -> EstateFindings:
    """hosts: (host name, findings) pairs, one per inventoried host."""
    apps = {f"{name}/{app.key}": (name, app) for name, findings in hosts for app in findings.applications}
    peers, external = find_peers(hosts)
    routes = find_routes(apps, peers, external)
    clusters = find_clusters(apps, peers, declared_peers(hosts))
    clustered = {ref for c in clusters for ref, _ in c.members}
    daemons = find_daemons(apps, len(hosts), clustered)
    order, waves, cycles = startup_order(apps, peers, clusters)
    jobs = tuple((name, job) for name, findings in hosts for job in findings.jobs if not job.system)
    return EstateFindings(apps=apps, peers=tuple(peers), external=tuple(external), routes=tuple(routes),
                          clusters=tuple(clusters),
                          daemons=tuple(daemons), order=tuple(order), waves=tuple(waves), cycles=tuple(cycles),
                          jobs=jobs)
