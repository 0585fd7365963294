"""One application to one workload: image, command, ports, volumes, resources, secrets.

Decisions about a single application, before the estate (peers, routes, clusters) is considered.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

from analyzers.findings import STATEFUL, Application, Listener, StateLocation

from migrator.planner.images import (IMAGE_USERS, OFFICIAL_IMAGES, REQUIRED_SECRET_ENV, dockerfile,
                                     official_image, placeholder_image)
from migrator.planner.model import DEPLOYMENT, STATEFULSET, EnvVar, PlannedPort, PlannedSecret, PlannedVolume, PlannedWorkload
from migrator.planner.names import dns1035, label_value

GIB = 1024 ** 3
HEADROOM = 2                 # a volume gets twice the measured use
DEFAULT_SIZE_GIB = 10        # when the use was not measured
MIN_MEMORY_MIB = 64
MIN_CPU_MILLI = 50
MEMORY_LIMIT_FACTOR = 2      # limit = 2 x request; no CPU limit (throttling hurts more than it protects)
# "<name>-headless" must stay a label and a StatefulSet name leaves room for its revision hash.
NAME_MAX = 47
MANAGED_BY = "migrator"
PLACEHOLDER = "<set-me>"
HTTP_PORTS = frozenset({80, 443, 8080, 8443})
TLS_PORTS = frozenset({443, 8443})
HTTP_SOFTWARE = frozenset({"nginx", "apache-httpd", "haproxy", "tomcat", "python-app", "node-app", "java-app"})
# Software that answers plain HTTP GET / on its port (probes); interpreters only on HTTP-looking ports.
ANSWERS_HTTP = frozenset({"nginx", "apache-httpd"})
HTTP_LOOKING_PORTS = frozenset({80, 3000, 5000, 8000, 8008, 8080, 8081, 8888})


def plan_workload(host: str, app: Application, name: str | None = None) -> PlannedWorkload:
    """The workload of one application, before overrides, estate decisions and name deduplication."""
    notes: list[str] = []
    name = name or dns1035(f"{app.name or app.software or app.key}-{host}", NAME_MAX)
    ports = exposed_ports(app.listeners, app.software)
    image = official_image(app, notes)
    recipe = None
    volumes = _volumes(app.state, notes)
    run_as_user, run_as_group, fs_group = _users(app, image is not None, volumes, notes)
    if image is not None:
        command = tuple(OFFICIAL_ENTRYPOINTS.get(app.software, ()))
        args = _observed_args(app, notes)
        working_dir = None
    else:
        image = placeholder_image(name)
        notes.append(f"no official image for {app.software or 'this application'}: build an image from the "
                     f"application on the host with the generated Dockerfile (dockerfiles/{name}/Dockerfile) "
                     f"and replace {image}")
        command, args = tuple(app.command[:1]), tuple(app.command[1:])
        working_dir = app.cwd or None
        recipe = dockerfile(host, app, [p.port for p in ports], run_as_group)
    if app.software in OFFICIAL_IMAGES and not args:
        args = _data_args(app, volumes)
    env, secrets = _secret_env(app, name, notes)
    if app.software == "postgresql" and volumes:
        args = _without_data_dir(args, notes)
        env += (EnvVar("PGDATA", value=f"{volumes[0].mount_path.rstrip('/')}/pgdata"),)
        notes.append(f"PGDATA is {volumes[0].mount_path.rstrip('/')}/pgdata, a directory inside the volume "
                     "(a volume's root holds lost+found, which initdb refuses)")
    annotations = {
        "migrator.io/source-host": host,
        "migrator.io/source-app": app.key,
        "migrator.io/verdict": app.verdict,
    }
    if _evidence(app):
        annotations["migrator.io/evidence"] = _evidence(app)
    memory_mib = max(MIN_MEMORY_MIB, math.ceil(app.rss_kib / 1024))
    return PlannedWorkload(
        id=f"{host}/{app.key}", name=name, kind=STATEFULSET if app.verdict == STATEFUL else DEPLOYMENT,
        host=host, app_key=app.key, software=app.software, image=image, command=command, args=args,
        working_dir=working_dir, run_as_user=run_as_user, run_as_group=run_as_group, fs_group=fs_group,
        ports=ports, volumes=volumes,
        replicas=1, cpu_request=f"{max(MIN_CPU_MILLI, math.ceil(app.cpu_percent * 10))}m",
        memory_request=f"{memory_mib}Mi", memory_limit=f"{memory_mib * MEMORY_LIMIT_FACTOR}Mi",
        labels={"app.kubernetes.io/name": label_value(app.software or name),
                "app.kubernetes.io/instance": name,
                "app.kubernetes.io/managed-by": MANAGED_BY},
        annotations=annotations, notes=tuple(notes), refs=(f"{host}/{app.key}",), hosts=(host,),
        category=app.category, verdict=app.verdict, env=env, secrets=secrets, dockerfile=recipe)


def _users(app: Application, official: bool, volumes: Sequence[PlannedVolume], notes: list[str]
           ) -> tuple[int | None, int | None, int | None]:
    """(runAsUser, runAsGroup, fsGroup) of the container and pod.

    An official image runs as its own user (its entrypoint often starts as root and drops to it):
    no runAsUser, since the VM's uid (redis 104 on Debian) means nothing in the image, and fsGroup
    the image's gid so that a new, root-owned volume is writable. A generated image runs as the
    process ran on the host: its uid, and its gid (the uid when the findings do not have the gid).
    """
    if official:
        known = IMAGE_USERS.get(app.software, ())
        if not volumes:
            return None, None, None
        if known:
            uid, gid = known
            if app.uid != uid:
                notes.append(f"the {app.software} image runs as its own user (uid {uid}"
                             f"{f', not the host uid {app.uid}' if app.uid is not None else ''}): no runAsUser; "
                             f"fsGroup {gid} makes the new volumes writable to it; files copied from the host "
                             f"must be owned by {uid}:{gid}")
            return None, None, gid
        if known == ():
            notes.append(f"the user the {app.software or 'official'} image runs as is not known to the planner: "
                         "check it can write its volumes (set the pod's fsGroup to its group)")
        return None, None, None
    if app.uid is None:
        return None, None, None
    gid = getattr(app, "gid", None)    # not in the findings yet: the analyzers may add it
    if gid is None:
        gid = app.uid
        which = "runAsGroup and fsGroup are" if volumes else "runAsGroup is"
        notes.append(f"gid of the process is not in the findings: {which} its uid {app.uid}; set the host's "
                     "group if it differs")
    return app.uid, gid, gid if volumes else None


# Official images without an entrypoint that takes the server's flags: the server program to run.
OFFICIAL_ENTRYPOINTS = {"etcd": ("/usr/local/bin/etcd",)}


def is_http(software: str, port: int) -> bool:
    """Whether a listening port serves HTTP(S): a web port number, or web/app server software."""
    return port in HTTP_PORTS or software in HTTP_SOFTWARE


def answers_http(software: str, port: int) -> bool:
    """Whether GET / on the port is known to get a plain HTTP answer (for an HTTP readiness probe)."""
    if port in TLS_PORTS:
        return False
    if software in ANSWERS_HTTP:
        return True
    return software in ("python-app", "node-app") and port in HTTP_LOOKING_PORTS


def exposed_ports(listeners: Sequence[Listener], software: str = "") -> tuple[PlannedPort, ...]:
    """Ports other hosts can reach, one per (port, protocol); loopback-only ones are not exposed."""
    seen = {(l.port, _protocol(l.protocol)) for l in listeners if l.scope != "loopback" and 0 < l.port < 65536}
    return tuple(PlannedPort(f"{proto.lower()}-{port}", port, proto,
                             http=proto == "TCP" and answers_http(software, port))
                 for port, proto in sorted(seen))


def volume_size(size_bytes: int | None) -> str | None:
    """Measured use times HEADROOM, rounded up to whole GiB (at least 1); None when unmeasured."""
    if size_bytes is None:
        return None
    return f"{max(1, math.ceil(size_bytes * HEADROOM / GIB))}Gi"



def _protocol(protocol: str) -> str:
    p = protocol.lower()
    return "UDP" if p.startswith("udp") else "SCTP" if p.startswith("sctp") else "TCP"


def _secret_env(app: Application, name: str, notes: list[str]) -> tuple[tuple[EnvVar, ...], tuple[PlannedSecret, ...]]:
    """Variables the official image needs, from a Secret the plan emits with placeholder values."""
    keys = REQUIRED_SECRET_ENV.get(app.software, ())
    if not keys:
        return (), ()
    secret = f"{name}-credentials"
    notes.append(f"set {', '.join(keys)} in Secret {secret} (placeholder {PLACEHOLDER!r}); with data restored "
                 "from the host the database keeps its own users and passwords")
    return (tuple(EnvVar(k, secret=secret, key=k) for k in keys),
            (PlannedSecret(secret, "Opaque", keys, f"the {app.software} image needs {', '.join(keys)}"),))


def _without_data_dir(args: tuple[str, ...], notes: list[str]) -> tuple[str, ...]:
    """postgres -D DIR: the data directory is PGDATA in the container, not the host's path."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == "-D" and i + 1 < len(args):
            notes.append(f"data directory {args[i + 1]} of the host becomes PGDATA")
            skip = True
            continue
        if arg.startswith("-D") and len(arg) > 2:
            notes.append(f"data directory {arg[2:]} of the host becomes PGDATA")
            continue
        out.append(arg)
    return tuple(out)


def _observed_args(app: Application, notes: list[str]) -> tuple[str, ...]:
    """The arguments the host ran the server with, so the image runs it the same way.

    A rewritten process title ("nginx: master process ...", "redis-server *:6379") is not
    a command line: its arguments are dropped with a note.
    """
    if not app.command:
        return ()
    title = app.command[0].endswith(":") or (len(app.command) == 2 and re.fullmatch(r"[^/=]*:\d+", app.command[1]))
    if title or (len(app.command) == 1 and " " in app.command[0]):
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
