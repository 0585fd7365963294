"""Applications that become one workload together: a cluster (one StatefulSet, one ordinal per
member, primary first), a node agent (one DaemonSet), and the same stateless application on
several hosts (one Deployment with a replica per host). Everything else stays one per app.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from analyzers.estate import EstateFindings
from analyzers.findings import STATELESS, Application, HostFindings

from migrator.planner.model import DAEMONSET, STATEFULSET, HostPathMount, PlannedVolume, PlannedWorkload
from migrator.planner.names import dns1035
from migrator.planner.workloads import MEMORY_LIMIT_FACTOR, NAME_MAX, _volumes, plan_workload

SINGLE = "single"
CLUSTER = "cluster"
DAEMON = "daemon"
REPLICAS = "replicas"


@dataclass(frozen=True)
class Unit:
    kind: str
    refs: tuple[str, ...]                    # application refs, primary (ordinal 0) first
    first: tuple[str, Application]           # (host, application) of refs[0]
    roles: tuple[str, ...] = ()
    evidence: str = ""


def units(hosts: Sequence[tuple[str, HostFindings]], estate: EstateFindings) -> list[Unit]:
    """The estate's applications as units of planning, in host order (each group where first met)."""
    cluster_of = {ref: c for c in estate.clusters for ref, _ in c.members}
    daemon_of = {ref: d for d in estate.daemons for ref in d.apps}
    same: dict[tuple, list[str]] = defaultdict(list)
    for host, findings in hosts:
        for app in findings.applications:
            ref = f"{host}/{app.key}"
            if ref not in cluster_of and ref not in daemon_of and app.verdict == STATELESS and app.listeners:
                ports = tuple(sorted({(l.port, l.protocol) for l in app.listeners}))
                same[(app.software, app.name, app.cwd, ports)].append(ref)
    replicated = {ref: tuple(refs) for refs in same.values()
                  if len({r.split("/", 1)[0] for r in refs}) == len(refs) > 1 for ref in refs}
    out: list[Unit] = []
    done: set[str] = set()
    for host, findings in hosts:
        for app in findings.applications:
            ref = f"{host}/{app.key}"
            if ref in done:
                continue
            if ref in cluster_of:
                cluster = cluster_of[ref]
                refs = tuple(r for r, _ in cluster.members)
                evidence = "; ".join(e.detail for e in cluster.evidence[:2]) or f"{cluster.software} cluster"
                out.append(Unit(CLUSTER, refs, estate.apps[refs[0]], tuple(role for _, role in cluster.members),
                                evidence))
            elif ref in daemon_of:
                daemon = daemon_of[ref]
                refs = daemon.apps
                out.append(Unit(DAEMON, refs, estate.apps[refs[0]], (), daemon.evidence[0].detail
                                if daemon.evidence else ""))
            elif ref in replicated:
                refs = replicated[ref]
                hosts_ = ", ".join(r.split("/", 1)[0] for r in refs)
                out.append(Unit(REPLICAS, refs, (host, app), (),
                                f"{app.software} {app.name!r} with the same directory and ports on {hosts_}"))
            else:
                out.append(Unit(SINGLE, (ref,), (host, app)))
                continue
            done.update(refs)
    return out


def _merge(w: PlannedWorkload, members: Sequence[tuple[str, Application]], unit: Unit) -> PlannedWorkload:
    """The workload of a group: the largest member's resources, every source named."""
    cpu = max(int(w.cpu_request[:-1]), *(math.ceil(a.cpu_percent * 10) for _, a in members))
    memory = max(int(w.memory_request[:-2]), *(math.ceil(a.rss_kib / 1024) for _, a in members))
    hosts = tuple(dict.fromkeys(h for h, _ in members))
    annotations = {**w.annotations, "migrator.io/source-hosts": ",".join(hosts),
                   "migrator.io/source-apps": ",".join(unit.refs)}
    if unit.evidence:
        annotations["migrator.io/evidence"] = unit.evidence[:300]
    return replace(w, refs=unit.refs, hosts=hosts, cpu_request=f"{cpu}m", memory_request=f"{memory}Mi",
                   memory_limit=f"{memory * MEMORY_LIMIT_FACTOR}Mi", annotations=annotations)


def cluster_workload(unit: Unit, estate: EstateFindings) -> PlannedWorkload:
    """ONE StatefulSet: replicas = members, ordinal i replaces member i (the primary is ordinal 0)."""
    members = [estate.apps[r] for r in unit.refs]
    host, primary = members[0]
    w = plan_workload(host, primary, name=dns1035(primary.name or primary.software or primary.key, NAME_MAX))
    w = _merge(w, members, unit)
    w = replace(w, kind=STATEFULSET, replicas=len(members), volumes=_largest_volumes(w.volumes, members),
                primary_only=bool(unit.roles) and unit.roles[0] == "primary", cluster=True, roles=unit.roles)
    return _with_ordinals(w)


_PRIMARY_NOTE = "ordinal 0 replaces the primary "


def _with_ordinals(w: PlannedWorkload) -> PlannedWorkload:
    """The ordinals annotation and the primary's note, for the replicas the workload has now."""
    ordinals = ",".join(f"{i}={w.refs[i]} ({w.roles[i] if i < len(w.roles) else 'member'})" if i < len(w.refs)
                        else f"{i}=new (no host)" for i in range(w.replicas))
    notes = [n for n in w.notes if not n.startswith(_PRIMARY_NOTE)]
    if w.primary_only and w.refs:
        standbys = (f"ordinals 1..{w.replicas - 1} start as its standbys (see the data steps)" if w.replicas > 2
                    else "ordinal 1 starts as its standby (see the data steps)" if w.replicas == 2 else "no standby")
        notes.append(f"{_PRIMARY_NOTE}{w.refs[0]}; {standbys}; the Service sends clients to ordinal 0")
    return replace(w, annotations={**w.annotations, "migrator.io/ordinals": ordinals}, notes=tuple(notes))


# What to configure so that the pods of a stateful application replicate, by software.
REPLICATION_HINTS = {
    "redis": "replication (REPLICAOF {pod0} on ordinals 1..N-1) with Sentinel or a Service to the primary only",
    "valkey": "replication (REPLICAOF {pod0} on ordinals 1..N-1) with Sentinel or a Service to the primary only",
    "postgresql": "streaming replication (each ordinal > 0 a standby: pg_basebackup -R from {pod0}) and a "
                  "Service to the primary only",
    "mysql": "replication (CHANGE REPLICATION SOURCE TO {pod0} on ordinals > 0) and a Service to the primary only",
    "mariadb": "replication (CHANGE MASTER TO {pod0} on ordinals > 0) and a Service to the primary only",
    "mongodb": "a replica set (--replSet, then rs.initiate naming every pod's DNS name)",
    "etcd": "a cluster (--initial-cluster naming every pod's DNS name)",
    "elasticsearch": "a cluster (discovery.seed_hosts and cluster.initial_master_nodes naming the pods)",
    "opensearch": "a cluster (discovery.seed_hosts and cluster.initial_cluster_manager_nodes naming the pods)",
}


def resized(w: PlannedWorkload) -> tuple[PlannedWorkload, list[str]]:
    """After a replicas override: a cluster's ordinal notes match the new count; several pods of a
    stateful application that is not a cluster are called what they are, independent copies.

    Returns the workload and the notes for the plan.
    """
    if w.cluster:
        w = _with_ordinals(w)
        notes = list(w.notes)
        members = len(w.refs)
        if w.replicas < members:
            notes.append(f"replicas {w.replicas} (override) for {members} members: "
                         f"{', '.join(w.refs[w.replicas:])} not replaced (no ordinal); the members' configuration "
                         "(e.g. --initial-cluster) still names them: remove them there")
        elif w.replicas > members:
            one = w.replicas == members + 1
            extra = f"ordinal {members} replaces no host" if one else \
                f"ordinals {members}..{w.replicas - 1} replace no host"
            it = "it starts" if one else "they start"
            joins = (f"{it} as {'a standby' if one else 'standbys'} of ordinal 0" if w.primary_only else
                     f"{it} empty and must join as {'a new member' if one else 'new members'}: add {'it' if one else 'them'} to the members' "
                     "configuration (e.g. --initial-cluster)")
            notes.append(f"{extra}: {joins} (see the data steps)")
        return replace(w, notes=tuple(notes)), []
    if not w.independent_copies:
        return w, []
    pod0 = f"{w.name}-0.{w.headless_service_name}" if w.kind == STATEFULSET else w.name
    hint = REPLICATION_HINTS.get(w.software, "the software's own replication or clustering").format(pod0=pod0)
    if w.kind == STATEFULSET:
        volumes = "each pod gets its own volume and only ordinal 0 gets the host's data"
    else:
        volumes = (f"the pods share the claim{'s' if len(w.volumes) > 1 else ''} of one volume (ReadWriteOnce: "
                   "one node only) and write the same files at once")
    warning = (f"{w.name}: replicas {w.replicas} (override) makes {w.replicas} independent {w.software or 'app'} "
               f"servers behind one Service; they will not replicate: {volumes}, and each client reaches any "
               f"one of them. Configure {hint}, or keep replicas 1")
    return replace(w, notes=w.notes + (warning,)), [warning]


def _largest_volumes(volumes: Sequence[PlannedVolume], members: Sequence[tuple[str, Application]]
                     ) -> tuple[PlannedVolume, ...]:
    """Each volume as large as the largest member's measured state at that path (or position)."""
    sizes: dict[int, list[int]] = defaultdict(list)
    for _, app in members:
        theirs = _volumes(app.state, [])
        for i, v in enumerate(volumes):
            match = next((t for t in theirs if t.mount_path == v.mount_path), theirs[i] if i < len(theirs) else None)
            if match is not None:
                sizes[i].append(int(match.size[:-2]))
    return tuple(replace(v, size=f"{max(sizes[i])}Gi") if sizes[i] else v for i, v in enumerate(volumes))


# What a node agent needs of its node, as the upstream charts give it.
NODE_ACCESS = {
    "node_exporter": dict(
        host_pid=True, host_network=True,
        host_paths=(HostPathMount("proc", "/proc", "/host/proc"), HostPathMount("sys", "/sys", "/host/sys"),
                    HostPathMount("root", "/", "/host/root")),
        args=("--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root"),
        note="node_exporter reads the node's /proc, /sys and / (mounted read-only under /host) and shares its "
             "PID and network namespaces, as the upstream prometheus-node-exporter chart does"),
    "fluent-bit": dict(host_paths=(HostPathMount("varlog", "/var/log", "/var/log"),),
                       note="fluent-bit reads the node's /var/log (read-only hostPath)"),
    "fluentd": dict(host_paths=(HostPathMount("varlog", "/var/log", "/var/log"),),
                    note="fluentd reads the node's /var/log (read-only hostPath)"),
    "filebeat": dict(host_paths=(HostPathMount("varlog", "/var/log", "/var/log"),),
                     note="filebeat reads the node's /var/log (read-only hostPath)"),
}


def daemon_workload(unit: Unit, estate: EstateFindings) -> PlannedWorkload:
    """ONE DaemonSet for an agent found on most hosts; node access only as the software needs it."""
    members = [estate.apps[r] for r in unit.refs]
    host, app = members[0]
    w = _merge(plan_workload(host, app, name=dns1035(app.software or app.name, NAME_MAX)), members, unit)
    access = NODE_ACCESS.get(app.software, {})
    notes = list(w.notes)
    args = w.args
    if access.get("args"):
        missing = tuple(a for a in access["args"] if not any(x.startswith(a.split("=")[0]) for x in args))
        args = args + missing
    if access.get("note"):
        notes.append(access["note"])
    return replace(w, kind=DAEMONSET, replicas=1, volumes=(), args=args, host_pid=access.get("host_pid", False),
                   host_network=access.get("host_network", False), host_paths=access.get("host_paths", ()),
                   notes=tuple(notes))


def replicated_workload(unit: Unit, estate: EstateFindings) -> PlannedWorkload:
    """ONE Deployment for the same stateless application on several hosts: one replica per host."""
    host, app = unit.first
    members = [estate.apps.get(r, unit.first) for r in unit.refs]
    w = plan_workload(host, app, name=dns1035(app.name or app.software or app.key, NAME_MAX))
    return replace(_merge(w, members, unit), replicas=len(members))
