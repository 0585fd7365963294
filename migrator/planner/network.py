"""The estate's connections turned into decisions: which ports are exposed and how (ClusterIP,
Ingress, LoadBalancer, nothing), what each workload waits for before it starts, which addresses
in its arguments become Service names, which peers its NetworkPolicy admits, which stateless
HTTP apps scale, and the migration wave of each workload.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from analyzers.estate import EstateFindings, OrderEdge, Peer
from analyzers.findings import STATELESS, HostFindings

from migrator.planner.model import (BATCH, CLUSTER, DAEMONSET, DEPLOYMENT, INGRESS, LOADBALANCER, NONE,
                                    STATEFULSET, AllowRule, EnvVar, PlannedWorkload, WaitFor)
from migrator.planner.rewrite import host_addresses, rewrite_cluster_args, rewrite_peer_args
from migrator.planner.workloads import TLS_PORTS, is_http

HPA_MIN = 2


def connect(workloads: Sequence[PlannedWorkload], estate: EstateFindings,
            hosts: Sequence[tuple[str, HostFindings]], namespace: str,
            exposure: Mapping[str, str], policies: bool = True) -> list[PlannedWorkload]:
    """Every workload with its estate decisions made; workloads are named and overridden already."""
    index = _Index.of(estate)
    exposed = [_expose(w, index, exposure.get(w.name)) if w.kind not in BATCH else w for w in workloads]
    owner = {ref: w for w in exposed for ref in w.refs}
    findings = dict(hosts)
    wave_of = {ref: i + 1 for i, wave in enumerate(estate.waves) for ref in wave}
    monitoring = sorted(w.name for w in exposed if w.category == "monitoring")
    done = []
    for w in exposed:
        if w.kind in BATCH:
            done.append(w)
            continue
        w = _waits_and_addresses(w, index, owner, findings)
        if w.kind == STATEFULSET and len(w.refs) > 1:
            w = _cluster_addresses(w, namespace, findings)
        notes = list(w.notes)
        allow = _allow(w, index, owner, monitoring, notes)
        w = replace(w, allow=allow, notes=tuple(notes) if policies else w.notes)
        w = _scale(w)
        waves = [wave_of[r] for r in w.refs if r in wave_of]
        if waves:
            w = replace(w, wave=min(waves), annotations={**w.annotations, "migrator.io/wave": str(min(waves))})
        done.append(w)
    return done


@dataclass(frozen=True)
class _Index:
    """The estate's peers, routes and order edges by application, so each workload looks up its
    own instead of scanning the whole estate (plans of thousands of hosts stay linear)."""

    routes: Mapping[tuple[str, int], object]
    by_client: Mapping[str, list[Peer]]
    by_server: Mapping[str, list[Peer]]
    after: Mapping[str, list[OrderEdge]]
    position: Mapping[int, int]

    @classmethod
    def of(cls, estate: EstateFindings) -> "_Index":
        by_client: dict[str, list[Peer]] = defaultdict(list)
        by_server: dict[str, list[Peer]] = defaultdict(list)
        for peer in estate.peers:
            by_client[peer.client].append(peer)
            by_server[peer.server].append(peer)
        after: dict[str, list[OrderEdge]] = defaultdict(list)
        for edge in estate.order:
            after[edge.after].append(edge)
        return cls({(r.app, r.port): r for r in estate.routes}, by_client, by_server, after,
                   {id(p): i for i, p in enumerate(estate.peers)})

    def peers(self, refs: Sequence[str], side: str) -> list[Peer]:
        """Peers whose client (side='client') or server is one of `refs`, in estate order."""
        table = self.by_client if side == "client" else self.by_server
        found = {id(p): p for ref in refs for p in table.get(ref, ())}
        return [found[k] for k in sorted(found, key=self.position.__getitem__)]


def plan_waves(workloads: Sequence[PlannedWorkload]) -> tuple[tuple[str, ...], ...]:
    """Workload names per migration wave, first wave first (CronJobs go with the last wave)."""
    last = max((w.wave for w in workloads if w.wave), default=1)
    waves: dict[int, list[str]] = defaultdict(list)
    for w in workloads:
        waves[w.wave or last].append(w.name)
    return tuple(tuple(sorted(waves[i])) for i in sorted(waves))


def _expose(w: PlannedWorkload, index: _Index, override: str | None) -> PlannedWorkload:
    """How each port is reached: external clients seen -> Ingress (HTTP) or LoadBalancer, else ClusterIP."""
    route_of = index.routes
    notes = list(w.notes)
    service = w.service
    ports = []
    for p in w.ports:
        routes = [route_of[(ref, p.port)] for ref in w.refs if (ref, p.port) in route_of]
        external = sorted({c for r in routes if r.route == "external" for c in r.clients})
        exposure = CLUSTER
        if override in (CLUSTER, NONE):
            exposure = CLUSTER
        elif override == INGRESS:
            exposure = INGRESS if p.protocol == "TCP" else CLUSTER
        elif override == LOADBALANCER:
            exposure = LOADBALANCER
        elif external:
            exposure = INGRESS if p.protocol == "TCP" and is_http(w.software, p.port) else LOADBALANCER
            notes.append(f"port {p.port}: clients outside the estate seen ({', '.join(external[:3])}): "
                         f"{'an Ingress' if exposure == INGRESS else 'a LoadBalancer Service'}")
        ports.append(replace(p, exposure=exposure))
    if override is None and any(p.exposure == INGRESS for p in ports):
        # A web server reached from outside on one HTTP(S) port serves the others there too (80 -> 443).
        ports = [replace(p, exposure=INGRESS) if p.protocol == "TCP" and is_http(w.software, p.port)
                 and p.exposure == CLUSTER else p for p in ports]
    tls = [p.port for p in ports if p.exposure == INGRESS and p.port in TLS_PORTS]
    if tls:
        notes.append(f"TLS of port {', '.join(map(str, tls))} terminates at the Ingress with Secret {w.name}-tls "
                     "(placeholders: put the host's certificate and key there, never in the plan)")
    if override == NONE:
        service = False
        notes.append("exposure overridden to none: no Service")
    elif w.kind == DAEMONSET and override is None:
        used = any(peer.client not in w.refs for peer in index.peers(w.refs, "server"))
        if not used and all(p.exposure == CLUSTER for p in ports):
            service = False
            notes.append("no peer was seen using the agent's ports: no Service")
    return replace(w, ports=tuple(ports), service=service, notes=tuple(notes))


def _waits_and_addresses(w: PlannedWorkload, index: _Index, owner: Mapping[str, PlannedWorkload],
                         findings: Mapping[str, HostFindings]) -> PlannedWorkload:
    """initContainers waiting for each server the workload's apps connect to (and units they start
    after), and the servers' addresses in its arguments rewritten to their Services."""
    notes = list(w.notes)
    waits: dict[tuple[str, int], WaitFor] = {}
    targets: dict[tuple[str, int], str] = {}
    reached: dict[tuple[str, int], list[str]] = {}
    for peer in index.peers(w.refs, "client"):
        server = owner.get(peer.server)
        if server is None:
            notes.append(f"connects to {peer.server}:{peer.port}, which is not in the plan")
            continue
        if server.name == w.name:
            continue
        if not server.exposed or peer.port not in {p.port for p in server.ports}:
            notes.append(f"connects to {peer.server} on port {peer.port}, which gets no Service "
                         "(listens on loopback only or not exposed): reach it another way")
            continue
        reason = f"{peer.client} connects to {peer.server}:{peer.port}"
        waits.setdefault((server.name, peer.port), WaitFor(server.name, peer.port, reason))
        client_host, server_host = peer.client.split("/", 1)[0], peer.server.split("/", 1)[0]
        for address in host_addresses(server_host, findings.get(server_host), loopback=client_host == server_host):
            targets[(address, peer.port)] = server.name
        reached.setdefault((server.name, peer.port), []).append(peer.server)
    for edge in sorted({id(e): e for ref in w.refs for e in index.after.get(ref, ())}.values(),
                       key=lambda e: (e.before, e.after)):
        server = owner.get(edge.before)
        if server is None or server.name == w.name or "ordered after" not in edge.reason:
            continue
        if server.exposed and not any(s == server.name for s, _ in waits):
            port = server.ports[0].port
            waits[(server.name, port)] = WaitFor(server.name, port, edge.reason)
    for (service, port), servers in sorted(reached.items()):
        notes.append(f"connects to {', '.join(sorted(set(servers)))} on port {port}: in the cluster that is "
                     f"Service {service}:{port}; configuration that names the hosts must name the Service")
    args, rewritten = rewrite_peer_args(w.args, targets)
    config_maps, in_files = _rewrite_config_files(w.config_maps, targets)
    return replace(w, waits=tuple(waits[k] for k in sorted(waits)), args=args, config_maps=config_maps,
                   notes=tuple(notes + rewritten + in_files))


def _rewrite_config_files(config_maps, targets: Mapping[tuple[str, int], str]):
    """ADDRESS:PORT of a server in the config files becomes SERVICE:PORT, as in the arguments."""
    out, notes = [], []
    for cm in config_maps:
        files = []
        for key, path, text in cm.files:
            (new,), _ = rewrite_peer_args((text,), targets)
            if new != text:
                names = sorted({f"{s}:{p}" for (_, p), s in targets.items()
                                if new.count(f"{s}:{p}") > text.count(f"{s}:{p}")})
                notes.append(f"config file {path}: server addresses now name their Service ({', '.join(names)})")
            files.append((key, path, new))
        out.append(replace(cm, files=tuple(files)))
    return tuple(out), notes


def _cluster_addresses(w: PlannedWorkload, namespace: str, findings: Mapping[str, HostFindings]) -> PlannedWorkload:
    members = [host_addresses(ref.split("/", 1)[0], findings.get(ref.split("/", 1)[0])) for ref in w.refs]
    args, pod_name, notes = rewrite_cluster_args(w.args, w.software, w.name, w.headless_service_name, namespace,
                                                 members)
    env = w.env
    if pod_name and not any(e.name == "POD_NAME" for e in env):
        env = (EnvVar("POD_NAME", field_path="metadata.name"),) + env
    return replace(w, args=args, env=env, notes=w.notes + tuple(notes))


def _allow(w: PlannedWorkload, index: _Index, owner: Mapping[str, PlannedWorkload],
           monitoring: Sequence[str], notes: list[str]) -> tuple[AllowRule, ...]:
    """Per port, exactly the workloads seen connecting (members of a cluster reach each other;
    monitoring reaches agents), and anyone for ports exposed outside the cluster."""
    if not w.exposed:
        return ()
    rules = []
    served = index.peers(w.refs, "server")
    for p in w.ports:
        seen = [peer for peer in served if peer.port == p.port]
        clients = {owner[peer.client].name for peer in seen if peer.client in owner}
        why = [f"seen: {', '.join(sorted(peer.client for peer in seen))}"] if clients else []
        if w.kind == STATEFULSET and w.replicas > 1:
            clients.add(w.name)
            why.append("cluster members reach each other")
        if w.kind == DAEMONSET and monitoring:
            clients.update(monitoring)
            why.append("monitoring scrapes agents")
        anywhere = p.exposure in (INGRESS, LOADBALANCER)
        if anywhere:
            why.append("exposed outside the cluster")
        if not clients and not anywhere:
            why.append("no client seen: nothing admitted")
            notes.append(f"port {p.port}: no client was seen, so its NetworkPolicy admits nobody; "
                         "add the clients or switch network policies off")
        rules.append(AllowRule(p.port, p.protocol, tuple(sorted(clients)), anywhere, "; ".join(why)[:300]))
    return tuple(rules)


def _scale(w: PlannedWorkload) -> PlannedWorkload:
    """A stateless HTTP Deployment gets at least 2 replicas and a HorizontalPodAutoscaler."""
    overridden = "replicas" in w.annotations.get("migrator.io/overridden", "").split(",")
    http = any(p.protocol == "TCP" and is_http(w.software, p.port) for p in w.ports)
    if w.kind != DEPLOYMENT or w.verdict != STATELESS or w.volumes or not http or overridden:
        return w
    return replace(w, hpa=True, replicas=max(HPA_MIN, w.replicas),
                   notes=w.notes + ("stateless HTTP app: at least 2 replicas and a HorizontalPodAutoscaler "
                                    "(CPU 70%, 2 to 5); anything it keeps in memory per client is not shared",))
