"""Many hosts' findings in, the estate's shape out: who talks to whom, what starts first,
which applications form one cluster, which agents run everywhere, which jobs are scheduled.

Applications are referred to as "HOST/KEY" (KEY is the application's stable key on its host).

Clusters come from two kinds of evidence: established connections between apps of the same
software on different hosts (rule "established-connection"), and the members an app's own
configuration names (Application.declared_members, read by analyzers.configs; etcd's
--initial-cluster on the command line), resolved to inventoried hosts by address or by host
name (rule "declared-member"). Every finding carries a confidence on the scale documented in
analyzers.findings.
"""
from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

import networkx as nx

from analyzers.base import Evidence
from analyzers.findings import Application, DeclaredMember, HostFindings, ScheduledJob

# Software whose cluster members are equals, and software with one writer and its followers.
MEMBER_CLUSTERS = {"etcd", "consul", "zookeeper", "kafka", "elasticsearch", "opensearch", "cassandra",
                   "rabbitmq", "mongodb"}
REPLICATED = {"postgresql": ("primary", "standby"), "mysql": ("primary", "replica"),
              "mariadb": ("primary", "replica"), "redis": ("primary", "replica"), "valkey": ("primary", "replica")}
# Software that forms one cluster with a kin (a MariaDB node in a MySQL Galera cluster, a Valkey
# replica of a Redis primary).
FAMILY = {"mariadb": "mysql", "valkey": "redis"}
# Ports on which replicated software talks as equals, not as a replica to its primary (Galera's
# group communication, incremental and snapshot state transfer).
MEMBER_PORTS = {"mysql": {4567, 4568, 4444}}
CLUSTER_CONFIDENCE = {"both": 0.95, "connection": 0.9, "declared": 0.8}
ORDER_CONFIDENCE = {"unit": 0.95, "peer": 0.9, "primary": 0.8}
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
    confidence: float = 0.95


@dataclass(frozen=True)
class ExternalEndpoint:
    """A connection with one end outside the inventory. direction 'out': the app is the client;
    'in': a client outside the inventory uses the app's port (an external route)."""

    app: str
    address: str
    port: int
    direction: str
    evidence: tuple[Evidence, ...] = ()
    confidence: float = 0.9


@dataclass(frozen=True)
class Route:
    """Who reaches a listening port: 'local' (loopback only), 'external' (clients outside the
    inventory seen), 'internal' (only inventoried clients seen), 'unseen' (reachable, no client seen).
    confidence: given, or by route (ROUTE_CONFIDENCE)."""

    app: str
    port: int
    protocol: str
    scope: str
    route: str
    clients: tuple[str, ...] = ()
    confidence: float | None = None     # a float once constructed

    def __post_init__(self) -> None:
        if self.confidence is None:
            object.__setattr__(self, "confidence", ROUTE_CONFIDENCE.get(self.route, 0.5))


ROUTE_CONFIDENCE = {"local": 1.0, "external": 0.9, "internal": 0.9, "unseen": 0.5}


@dataclass(frozen=True)
class Cluster:
    """Apps of one software on several hosts that form one clustered application.

    roles: primary/standby (postgresql), primary/replica (redis, mysql, mariadb asynchronous
    replication), member (the rest, Galera included). confidence: given, or from the kinds of
    evidence (CLUSTER_CONFIDENCE: connections and declared members 0.95, connections 0.9,
    declared members only 0.8)."""

    software: str
    members: tuple[tuple[str, str], ...]       # (app ref, role), primary first
    evidence: tuple[Evidence, ...] = ()
    confidence: float | None = None            # a float once constructed

    def __post_init__(self) -> None:
        if self.confidence is None:
            declared = any(e.rule == "declared-member" for e in self.evidence)
            seen = any(e.rule != "declared-member" for e in self.evidence)
            kind = "both" if declared and seen else "declared" if declared else "connection"
            object.__setattr__(self, "confidence", CLUSTER_CONFIDENCE[kind])


@dataclass(frozen=True)
class NodeDaemon:
    """confidence: the share of the estate's hosts the agent runs on."""

    software: str
    apps: tuple[str, ...]
    hosts: tuple[str, ...]
    evidence: tuple[Evidence, ...] = ()
    confidence: float = 1.0


@dataclass(frozen=True)
class OrderEdge:
    """`before` must be up before `after` starts. confidence (ORDER_CONFIDENCE): a unit file's
    ordering 0.95, a client after its server 0.9, a standby after its primary 0.8."""

    before: str
    after: str
    reason: str
    confidence: float = 0.9


@dataclass(frozen=True)
class DeclaredLink:
    """`app` names `member` in its configuration. relation: 'member' (equals), 'primary' (app
    replicates from member), 'group' (both share one coordination string)."""

    app: str
    member: str
    relation: str
    evidence: Evidence


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
        data["apps"] = {ref: {"host": host, "key": app.key, "software": app.software, "name": app.name,
                              "confidence": app.confidence}
                        for ref, (host, app) in self.apps.items()}
        return data


# An estate names each address many times (listeners, connections, configs): parsing each
# spelling once keeps the estate analysis linear in practice. Bounded, for a long-running service.
_ADDRESS_CACHE = 1 << 17


@lru_cache(maxsize=_ADDRESS_CACHE)
def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=_ADDRESS_CACHE)
def normalize_address(address: str) -> str:
    """One spelling per address: IPv4-mapped IPv6 becomes IPv4, zones are dropped."""
    ip = _ip(address.split("%")[0])
    if ip is None:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ip)


@lru_cache(maxsize=_ADDRESS_CACHE)
def _is_loopback(address: str) -> bool:
    ip = _ip(normalize_address(address))
    return False if ip is None else ip.is_loopback


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


def _name_index(hosts: Sequence[tuple[str, HostFindings]]) -> dict[str, str]:
    """host name -> inventory name, for the names exactly one host answers to: its inventory
    name and the host name it reports, each fully qualified and short, lowercased."""
    owners: dict[str, set[str]] = defaultdict(set)
    for name, findings in hosts:
        for known in (name, findings.hostname):
            known = known.strip().lower().rstrip(".")
            if known:
                owners[known].add(name)
                owners[known.split(".")[0]].add(name)
    return {known: next(iter(names)) for known, names in owners.items() if len(names) == 1}


def _resolver(hosts: Sequence[tuple[str, HostFindings]]):
    """A function: an address or host name as a config writes it -> the inventoried host, or None."""
    addresses, names = _address_index(hosts), _name_index(hosts)

    def resolve(address: str, here: str) -> str | None:
        address = address.strip().strip("[]")
        if _is_loopback(address) or address.lower() in ("localhost", "localhost.localdomain"):
            return here
        if _ip(address.split("%")[0]) is None:
            known = address.lower().rstrip(".")
            return names.get(known) or (names.get(known.split(".")[0]) if "." in known else None)
        return addresses.get(normalize_address(address)) or names.get(address)
    return resolve


def family(software: str) -> str:
    return FAMILY.get(software, software)


def _command_line_members(app: Application, host: str) -> list[DeclaredMember]:
    """The members an app's command line lists (etcd --initial-cluster)."""
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
            members.append(DeclaredMember(url.hostname, url.port, "member", Evidence(
                f"{host}:processes", f"{app.software} lists member {url.hostname}:{url.port} in --initial-cluster",
                "declared-member")))
    return members


def _member_app(apps: Sequence[tuple[str, Application]], software: str, port: int | None) -> str | None:
    """The app of `software`'s family on one host that a declared member names: the one
    listening on the member's port, else the only one of that family."""
    kin = [(ref, app) for ref, app in apps if family(app.software) == family(software)]
    on_port = [ref for ref, app in kin if port is not None and any(
        l.port == port and l.protocol == "tcp" for l in app.listeners)]
    if len(on_port) == 1:
        return on_port[0]
    return kin[0][0] if len(kin) == 1 else None


def _group_key(value: str, here: str, resolve) -> str:
    """A shared coordination string ('zk1:2181,zk2:2181/kafka') with each host resolved to its
    inventory name where it can be, so two spellings of one ZooKeeper ensemble compare equal."""
    hosts, slash, chroot = value.partition("/")
    parts = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "")
        parts.append(f"{resolve(host, here) or host.lower()}:{port}")
    return ",".join(sorted(parts)) + slash + chroot


def _relation_text(member: DeclaredMember) -> str:
    where = f"{member.address}:{member.port}" if member.port else member.address
    return {"primary": f"replicates from {where}", "group": f"shares {where}"}.get(member.relation,
                                                                               f"lists member {where}")


def declared_peers(hosts: Sequence[tuple[str, HostFindings]]) -> list[DeclaredLink]:
    """Links between apps that name each other in their own configuration, resolved to
    inventoried hosts by address or host name; members outside the inventory are left out."""
    resolve = _resolver(hosts)
    by_host = {name: [(f"{name}/{app.key}", app) for app in f.applications] for name, f in hosts}
    found: list[DeclaredLink] = []
    groups: dict[tuple[str, str], list[tuple[str, str, Evidence]]] = defaultdict(list)
    for name, _findings in hosts:
        for ref, app in by_host[name]:
            for member in (*_command_line_members(app, name), *app.declared_members):
                ev = member.evidence or Evidence("config", "", "")
                if ev.rule != "declared-member":      # a config line: "<software>:<relation>", path:line
                    ev = Evidence(f"{name}:{ev.source}", f"{app.software} {_relation_text(member)} ({ev.detail})",
                                  "declared-member")
                if member.relation == "group":
                    groups[(family(app.software), _group_key(member.address, name, resolve))].append((ref, name, ev))
                    continue
                other_host = resolve(member.address, name)
                if other_host is None or other_host == name:
                    continue
                other = _member_app(by_host[other_host], app.software, member.port)
                if other is not None:
                    found.append(DeclaredLink(ref, other, member.relation, ev))
    for (_software, _key), sharing in sorted(groups.items()):
        first_ref, first_host, _ = sharing[0]
        for ref, host, ev in sharing[1:]:
            if host != first_host:
                found.append(DeclaredLink(ref, first_ref, "group", ev))
    return found


def _roles(software: str, members: set[str], links: Mapping[tuple[str, str], dict]) -> dict[str, str]:
    """Roles in one cluster: for one-writer software, the apps that replicate from another are
    its followers and the rest its primaries; a cluster of equals (Galera, a replication ring,
    any other software) has members only."""
    if software not in REPLICATED or any(d["relation"] == "member" for d in links.values()):
        return {m: "member" for m in members}
    lead, follow = REPLICATED[software]
    followers = {a for (a, _b), d in links.items() if d["relation"] == "replicates"}
    if not members - followers:
        return {m: "member" for m in members}
    return {m: follow if m in followers else lead for m in members}


def find_clusters(apps: Mapping[str, tuple[str, Application]], peers: Sequence[Peer],
                  declared: Sequence[DeclaredLink] = ()) -> list[Cluster]:
    """Apps of the same software on different hosts joined by connections between them, or that
    list each other as members."""
    links: dict[tuple[str, str], dict] = {}

    def link(a: str, b: str, relation: str, source: str, evidence: Evidence) -> None:
        d = links.setdefault((a, b), {"relation": relation, "sources": set(), "evidence": []})
        if relation == "member":
            d["relation"] = "member"
        d["sources"].add(source)
        d["evidence"].append(evidence)

    for d in declared:
        if d.app in apps and d.member in apps:
            link(d.app, d.member, "replicates" if d.relation == "primary" else "member", "declared", d.evidence)
    for peer in peers:
        (c_host, c_app), (s_host, s_app) = apps[peer.client], apps[peer.server]
        if family(c_app.software) == family(s_app.software) and c_host != s_host and c_app.software != "unknown" \
                and c_app.category != "app":
            equal = peer.port in MEMBER_PORTS.get(family(c_app.software), ())
            for ev in peer.evidence[:1]:
                link(peer.client, peer.server, "member" if equal else "replicates", "connection", ev)
    graph = nx.Graph()
    graph.add_edges_from(links)
    components = list(nx.connected_components(graph))
    component_of = {ref: i for i, members in enumerate(components) for ref in members}
    links_of: list[dict[tuple[str, str], dict]] = [{} for _ in components]
    for pair, d in links.items():
        links_of[component_of[pair[0]]][pair] = d
    clusters = []
    for members, mine in zip(components, links_of):
        software = apps[min(members)][1].software
        roles = _roles(family(software), members, mine)
        ordered = sorted(members, key=lambda m: (roles[m] not in ("primary", "member"), m))
        evidence = tuple(Evidence(ev.source, f"{a} -> {b}: {ev.detail}", ev.rule)
                         for (a, b), d in sorted(mine.items()) for ev in d["evidence"])
        sources = {source for d in mine.values() for source in d["sources"]}
        kind = "both" if len(sources) > 1 else next(iter(sources))
        clusters.append(Cluster(software, tuple((m, roles[m]) for m in ordered), evidence, CLUSTER_CONFIDENCE[kind]))
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
                                  (Evidence("estate", detail, "same-agent-on-most-hosts"),),
                                  round(len(host_names) / max(host_count, 1), 2)))
    return daemons


def startup_order(apps: Mapping[str, tuple[str, Application]], peers: Sequence[Peer],
                  clusters: Sequence[Cluster]) -> tuple[list[OrderEdge], list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Edges (server before client; a unit before the units that name it in After=/Requires=/Wants=;
    a primary before its standbys), the start waves, and the cycles that were condensed."""
    cluster_of = {ref: i for i, c in enumerate(clusters) for ref, _ in c.members}
    edges: dict[tuple[str, str], tuple[str, float]] = {}

    def add(edge: tuple[str, str], reason: str, kind: str) -> None:
        """The first reason is kept; an edge two kinds of evidence agree on takes the higher confidence."""
        first, confidence = edges.get(edge, (reason, 0.0))
        edges[edge] = (first, max(confidence, ORDER_CONFIDENCE[kind]))

    for peer in peers:
        same = cluster_of.get(peer.client) is not None and cluster_of.get(peer.client) == cluster_of.get(peer.server)
        if not same:
            add((peer.server, peer.client), f"{peer.client} connects to {peer.server} on port {peer.port}", "peer")
    for cluster in clusters:
        leads = [r for r, role in cluster.members if role == "primary"]
        for lead in leads:
            for ref, role in cluster.members:
                if ref != lead and role != "primary":
                    add((lead, ref), f"{role} {ref} replicates from primary {lead}", "primary")
    units = {(host, app.unit): ref for ref, (host, app) in apps.items() if app.unit}
    for ref, (host, app) in apps.items():
        for dep in app.unit_after:
            before = units.get((host, dep))
            if before and before != ref:
                add((before, ref), f"{app.unit} is ordered after {dep} (unit file)", "unit")
    graph = nx.DiGraph()
    graph.add_nodes_from(apps)
    graph.add_edges_from(edges)
    cycles = [tuple(sorted(c)) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    condensed = nx.condensation(graph)
    waves = [tuple(sorted(ref for node in generation for ref in condensed.nodes[node]["members"]))
             for generation in nx.topological_generations(condensed)]
    order = [OrderEdge(b, a, reason, confidence) for (b, a), (reason, confidence) in sorted(edges.items())]
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
