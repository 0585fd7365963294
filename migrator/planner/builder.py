"""build_plan: findings of many hosts (and stored overrides) in, a Plan out. Pure.

One workload per application: "stateful" becomes a StatefulSet, everything else a
Deployment. Every decision that is a guess leaves a note on the workload or the plan.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from analyzers.findings import STATEFUL, Application, HostFindings, Listener, StateLocation

from migrator.planner.model import DEPLOYMENT, KINDS, STATEFULSET, Plan, PlannedPort, PlannedVolume, PlannedWorkload
from migrator.planner.names import dns1035, label_value

GIB = 1024 ** 3
HEADROOM = 2                 # a volume gets twice the measured use
DEFAULT_SIZE_GIB = 10        # when the use was not measured
MIN_MEMORY_MIB = 64
MIN_CPU_MILLI = 50
# "<name>-headless" must stay a label and a StatefulSet name leaves room for its revision hash.
NAME_MAX = 47
PLACEHOLDER_REGISTRY = "migrator.invalid"
MANAGED_BY = "migrator"
OVERRIDE_KEYS = ("kind", "replicas", "image", "storage_size", "storage_class", "exclude")
_QUANTITY = re.compile(r"[1-9][0-9]*(Ki|Mi|Gi|Ti|Pi)")


def _version_tag(version: str) -> str | None:
    """'1:10.11.6-0+deb12u1' -> '10.11.6'; None when no version number is there."""
    found = re.match(r"(?:\d+:)?(\d+(?:\.\d+)*)", version.strip())
    return found.group(1) if found else None


def _postgres_major(tag: str) -> str:
    parts = tag.split(".")
    return ".".join(parts[:2]) if int(parts[0]) < 10 and len(parts) > 1 else parts[0]


# software id -> image for a version tag. Official images, so the app runs unchanged.
OFFICIAL_IMAGES = {
    "redis": lambda tag: f"redis:{tag}",
    "postgresql": lambda tag: f"postgres:{_postgres_major(tag)}",
    "nginx": lambda tag: f"nginx:{tag}",
    "mysql": lambda tag: f"mysql:{tag}",
    "mariadb": lambda tag: f"mariadb:{tag}",
    "etcd": lambda tag: f"quay.io/coreos/etcd:v{tag}",
}
LATEST = {
    "redis": "redis:latest", "postgresql": "postgres:latest", "nginx": "nginx:latest",
    "mysql": "mysql:latest", "mariadb": "mariadb:latest", "etcd": "quay.io/coreos/etcd:latest",
}


def build_plan(hosts: Sequence[tuple[str, HostFindings]], overrides: Mapping[str, Mapping] | None = None,
               namespace: str = "default") -> Plan:
    """The plan for `hosts` ((host name, findings) pairs), in their order.

    overrides maps a workload id ("<host>/<app key>") to changes: kind, replicas, image,
    storage_size, storage_class, exclude. An invalid override raises ValueError; an override
    for an application no longer found is noted on the plan.
    """
    overrides = dict(overrides or {})
    for wid, changes in overrides.items():
        _check_override(wid, changes)
    taken: set[str] = set()
    workloads: list[PlannedWorkload] = []
    notes: list[str] = []
    for host, findings in hosts:
        if findings.missing:
            notes.append(f"{host}: not seen by the scan: {', '.join(findings.missing)}")
        for app in findings.applications:
            workload = plan_workload(host, app)
            changes = overrides.pop(workload.id, None)
            if changes and changes.get("exclude"):
                notes.append(f"{workload.id}: excluded by override")
                continue
            if changes:
                workload = apply_override(workload, changes)
            workload = replace(workload, name=_unique(workload.name, taken))
            workload = replace(workload, labels={**workload.labels, "app.kubernetes.io/instance": workload.name})
            workloads.append(workload)
    for wid in sorted(overrides):
        notes.append(f"{wid}: override for an application that was not found")
    return Plan(namespace=namespace, workloads=tuple(workloads), notes=tuple(notes))


def plan_workload(host: str, app: Application) -> PlannedWorkload:
    """The workload of one application, before overrides and estate-wide name deduplication."""
    notes: list[str] = []
    name = dns1035(f"{app.name or app.software or app.key}-{host}", NAME_MAX)
    image, official = _image(app, name, notes)
    if official:
        command: tuple[str, ...] = ()
        args = _observed_args(app, notes)
        working_dir = None
    else:
        command, args = tuple(app.command[:1]), tuple(app.command[1:])
        working_dir = app.cwd or None
    volumes = _volumes(app.state, notes)
    if official and not args:
        args = _data_args(app, volumes)
    annotations = {
        "migrator.io/source-host": host,
        "migrator.io/source-app": app.key,
        "migrator.io/verdict": app.verdict,
    }
    if _evidence(app):
        annotations["migrator.io/evidence"] = _evidence(app)
    return PlannedWorkload(
        id=f"{host}/{app.key}", name=name, kind=STATEFULSET if app.verdict == STATEFUL else DEPLOYMENT,
        host=host, app_key=app.key, software=app.software, image=image, command=command, args=args,
        working_dir=working_dir, run_as_user=app.uid, ports=exposed_ports(app.listeners), volumes=volumes,
        replicas=1, cpu_request=f"{max(MIN_CPU_MILLI, math.ceil(app.cpu_percent * 10))}m",
        memory_request=f"{max(MIN_MEMORY_MIB, math.ceil(app.rss_kib / 1024))}Mi",
        labels={"app.kubernetes.io/name": label_value(app.software or name),
                "app.kubernetes.io/instance": name,
                "app.kubernetes.io/managed-by": MANAGED_BY},
        annotations=annotations, notes=tuple(notes))


def exposed_ports(listeners: Sequence[Listener]) -> tuple[PlannedPort, ...]:
    """Ports other hosts can reach, one per (port, protocol); loopback-only ones are not exposed."""
    seen = {(l.port, _protocol(l.protocol)) for l in listeners if l.scope != "loopback" and 0 < l.port < 65536}
    return tuple(PlannedPort(f"{proto.lower()}-{port}", port, proto) for port, proto in sorted(seen))


def volume_size(size_bytes: int | None) -> str | None:
    """Measured use times HEADROOM, rounded up to whole GiB (at least 1); None when unmeasured."""
    if size_bytes is None:
        return None
    return f"{max(1, math.ceil(size_bytes * HEADROOM / GIB))}Gi"


def apply_override(workload: PlannedWorkload, changes: Mapping) -> PlannedWorkload:
    applied = [key for key in OVERRIDE_KEYS if key in changes and key != "exclude"]
    if "kind" in changes:
        workload = replace(workload, kind=changes["kind"])
    if "replicas" in changes:
        workload = replace(workload, replicas=changes["replicas"])
    if "image" in changes:
        workload = replace(workload, image=changes["image"])
    if "storage_size" in changes:
        size = changes["storage_size"]
        size = f"{size}Gi" if isinstance(size, int) else size
        workload = replace(workload, volumes=tuple(replace(v, size=size) for v in workload.volumes))
    if "storage_class" in changes:
        workload = replace(workload, volumes=tuple(replace(v, storage_class=changes["storage_class"])
                                                   for v in workload.volumes))
    if not applied:
        return workload
    return replace(workload, annotations={**workload.annotations, "migrator.io/overridden": ",".join(applied)})


def _check_override(wid: str, changes: Mapping) -> None:
    if not isinstance(changes, Mapping):
        raise ValueError(f"override {wid!r}: expected a mapping, got {type(changes).__name__}")
    unknown = sorted(set(changes) - set(OVERRIDE_KEYS))
    if unknown:
        raise ValueError(f"override {wid!r}: unknown keys {unknown}; allowed: {list(OVERRIDE_KEYS)}")
    checks = {
        "kind": lambda v: v in KINDS,
        "replicas": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "image": lambda v: isinstance(v, str) and v.strip() == v and bool(v),
        "storage_size": lambda v: (isinstance(v, int) and not isinstance(v, bool) and v > 0)
        or (isinstance(v, str) and bool(_QUANTITY.fullmatch(v))),
        "storage_class": lambda v: v is None or (isinstance(v, str) and bool(v)),
        "exclude": lambda v: isinstance(v, bool),
    }
    for key, value in changes.items():
        if not checks[key](value):
            raise ValueError(f"override {wid!r}: invalid {key}: {value!r}")


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        suffix = f"-{n}"
        candidate = dns1035(name, NAME_MAX - len(suffix)).rstrip("-") + suffix
    taken.add(candidate)
    return candidate


def _protocol(protocol: str) -> str:
    p = protocol.lower()
    return "UDP" if p.startswith("udp") else "SCTP" if p.startswith("sctp") else "TCP"


def _image(app: Application, name: str, notes: list[str]) -> tuple[str, bool]:
    make = OFFICIAL_IMAGES.get(app.software)
    if make is None:
        notes.append(f"no official image for {app.software or 'this application'}: build an image from the "
                     f"application on the host and replace {PLACEHOLDER_REGISTRY}/{name}:latest")
        return f"{PLACEHOLDER_REGISTRY}/{name}:latest", False
    tag = _version_tag(app.version)
    if tag is None:
        notes.append(f"version of {app.software} unknown: using the 'latest' image; pin the version the host runs")
        return LATEST[app.software], True
    return make(tag), True


def _observed_args(app: Application, notes: list[str]) -> tuple[str, ...]:
    """The arguments the host ran the server with, so the image runs it the same way.

    A rewritten process title ("nginx: master process ...", "redis-server *:6379") is not
    a command line: its arguments are dropped with a note.
    """
    if not app.command:
        return ()
    title = app.command[0].endswith(":") or (len(app.command) == 2 and re.fullmatch(r"[^/=]*:\d+", app.command[1]))
    if title:
        notes.append(f"command line {' '.join(app.command)[:120]!r} is a process title: image default used")
        return ()
    args = tuple(app.command[1:])
    if any(a.startswith("/etc/") or "/etc/" in a for a in args):
        notes.append("arguments refer to configuration files under /etc: provide them in the container")
    return args


def _data_args(app: Application, volumes: Sequence[PlannedVolume]) -> tuple[str, ...]:
    """Arguments that point an official image at the data volume, where the VM kept its data.

    Used when the observed command line was a process title and so told us nothing.
    """
    if app.software != "redis" or not volumes:
        return ()
    args = ("--dir", volumes[0].mount_path, "--port", str(next((l.port for l in app.listeners), 6379)))
    if any("appendonly" in e.detail for loc in app.state for e in loc.evidence):
        args += ("--appendonly", "yes")
    return args


def _volumes(state: Sequence[StateLocation], notes: list[str]) -> tuple[PlannedVolume, ...]:
    volumes: list[PlannedVolume] = []
    paths: set[str] = set()
    for location in state:
        if location.kind != "data" or location.path in paths:
            continue
        paths.add(location.path)
        size = volume_size(location.size_bytes)
        if size is None:
            size = f"{DEFAULT_SIZE_GIB}Gi"
            notes.append(f"size of {location.path} not measured: {size} assumed")
        name = "data" if not volumes else f"data-{len(volumes) + 1}"
        volumes.append(PlannedVolume(name, location.path, size))
    return tuple(volumes)


def _evidence(app: Application) -> str:
    reason = app.verdict_reason or "; ".join(e.detail for e in app.evidence[:3])
    return reason[:300]
