"""The estate's connections turned into decisions: which ports are exposed and how (ClusterIP,
Ingress, LoadBalancer, nothing), what each workload waits for before it starts, which addresses
in its arguments become Service names, which peers its NetworkPolicy admits, which stateless
HTTP apps scale, and the migration wave of each workload.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from analyzers.estate import EstateFindings
from analyzers.findings import STATELESS, HostFindings

from migrator.planner.model import (CLUSTER, CRONJOB, DAEMONSET, DEPLOYMENT, INGRESS, LOADBALANCER, NONE,
                                    STATEFULSET, AllowRule, EnvVar, PlannedWorkload, WaitFor)
from migrator.planner.rewrite import host_addresses, rewrite_cluster_args, rewrite_peer_args
from migrator.planner.workloads import TLS_PORTS, is_http

HPA_MIN = 2


def connect(workloads: Sequence[PlannedWorkload], estate: EstateFindings,
            hosts: Sequence[tuple[str, HostFindings]], namespace: str,
            exposure: Mapping[str, str], policies: bool = True) -> list[PlannedWorkload]:
    """Every workload with its estate decisions made; workloads are named and overridden already."""
    exposed = [_expose(w, estate, exposure.get(w.name)) if w.kind != CRONJOB else w for w in workloads]
    owner = {ref: w for w in exposed for ref in w.refs}
    findings = dict(hosts)
    wave_of = {ref: i + 1 for i, wave in enumerate(estate.waves) for ref in wave}
    monitoring = sorted(w.name for w in exposed if w.category == "monitoring")
    done = []
    for w in exposed:
        if w.kind == CRONJOB:
            done.append(w)
            continue
        w = _waits_and_addresses(w, estate, owner, findings)
        if w.kind == STATEFULSET and len(w.refs) > 1:
            w = _cluster_addresses(w, namespace, findings)
        notes = list(w.notes)
        allow = _allow(w, estate, owner, monitoring, notes)
        w = replace(w, allow=allow, notes=tuple(notes) if policies else w.notes)
        w = _scale(w)
        waves = [wave_of[r] for r in w.refs if r in wave_of]
        if waves:
            w = replace(w, wave=min(waves), annotations={**w.annotations, "migrator.io/wave": str(min(waves))})
        done.append(w)
    return done


def plan_waves(workloads: Sequence[PlannedWorkload]) -> tuple[tuple[str, ...], ...]:
    """Workload names per migration wave, first wave first (CronJobs go with the last wave)."""
    last = max((w.wave for w in workloads if w.wave), default=1)
    waves: dict[int, list[str]] = defaultdict(list)
    for w in workloads:
        waves[w.wave or last].append(w.name)
    return tuple(tuple(sorted(waves[i])) for i in sorted(waves))


def _expose(w: PlannedWorkload, estate: EstateFindings, override: str | None) -> PlannedWorkload:
    """How each port is reached: external clients seen -> Ingress (HTTP) or LoadBalancer, else ClusterIP."""
    route_of = {(r.app, r.port): r for r in estate.routes}
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
        used = any(peer.server in w.refs and peer.client not in w.refs for peer in estate.peers)
        if not used and all(p.exposure == CLUSTER for p in ports):
            service = False
            notes.append("no peer was seen using the agent's ports: no Service")
    return replace(w, ports=tuple(ports), service=service, notes=tuple(notes))


def _waits_and_addresses(w: PlannedWorkload, estate: EstateFindings, owner: Mapping[str, PlannedWorkload],
                         findings: Mapping[str, HostFindings]) -> PlannedWorkload:
    """initContainers waiting for each server the workload's apps connect to (and units they start
    after), and the servers' addresses in its arguments rewritten to their Services."""
    notes = list(w.notes)
    waits: dict[tuple[str, int], WaitFor] = {}
    targets: dict[tuple[str, int], str] = {}
    reached: dict[tuple[str, int], list[str]] = {}
    for peer in estate.peers:
        if peer.client not in w.refs:
            continue
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
    for edge in estate.order:
        server = owner.get(edge.before)
        if edge.after not in w.refs or server is None or server.name == w.name or "ordered after" not in edge.reason:
            continue
        if server.exposed and not any(s == server.name for s, _ in waits):
            port = server.ports[0].port
            waits[(server.name, port)] = WaitFor(server.name, port, edge.reason)
    for (service, port), servers in sorted(reached.items()):
        notes.append(f"connects to {', '.join(sorted(set(servers)))} on port {port}: in the cluster that is "
                     f"Service {service}:{port}; configuration that names the hosts must name the Service")
    args, rewritten = rewrite_peer_args(w.args, targets)
    return replace(w, waits=tuple(waits[k] for k in sorted(waits)), args=args, notes=tuple(notes + rewritten))


def _cluster_addresses(w: PlannedWorkload, namespace: str, findings: Mapping[str, HostFindings]) -> PlannedWorkload:
    members = [host_addresses(ref.split("/", 1)[0], findings.get(ref.split("/", 1)[0])) for ref in w.refs]
    args, pod_name, notes = rewrite_cluster_args(w.args, w.software, w.name, w.headless_service_name, namespace,
                                                 members)
    env = w.env
    if pod_name and not any(e.name == "POD_NAME" for e in env):
        env = (EnvVar("POD_NAME", field_path="metadata.name"),) + env
    return replace(w, args=args, env=env, notes=w.notes + tuple(notes))


def _allow(w: PlannedWorkload, estate: EstateFindings, owner: Mapping[str, PlannedWorkload],
           monitoring: Sequence[str], notes: list[str]) -> tuple[AllowRule, ...]:
    """Per port, exactly the workloads seen connecting (members of a cluster reach each other;
    monitoring reaches agents), and anyone for ports exposed outside the cluster."""
    if not w.exposed:
        return ()
    rules = []
    for p in w.ports:
        clients = {owner[peer.client].name for peer in estate.peers
                   if peer.server in w.refs and peer.port == p.port and peer.client in owner}
        why = [f"seen: {', '.join(sorted(peer.client for peer in estate.peers if peer.server in w.refs and peer.port == p.port))}"] \
            if clients else []
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
