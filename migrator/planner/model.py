"""The plan: our intermediate representation between findings and Kubernetes objects.

Plain frozen data, built by builder.build_plan and turned into objects by objects.to_objects.
Every workload remembers the applications ("HOST/KEY" refs) it replaces, so each object made
from it can say where it came from and why.
"""
from __future__ import annotations

from dataclasses import dataclass, field

DEPLOYMENT = "Deployment"
STATEFULSET = "StatefulSet"
DAEMONSET = "DaemonSet"
CRONJOB = "CronJob"
JOB = "Job"
BATCH = (CRONJOB, JOB)      # run to completion: no Service, no volume, no policy of their own
KINDS = (DEPLOYMENT, STATEFULSET, DAEMONSET)       # what an override may turn a long-running app into

# How a port is reached from outside its pods.
CLUSTER = "cluster"              # ClusterIP Service only
INGRESS = "ingress"              # ClusterIP Service and an Ingress
LOADBALANCER = "loadbalancer"    # ClusterIP Service and a LoadBalancer Service
NONE = "none"                    # no Service at all (override only)
EXPOSURES = (NONE, CLUSTER, INGRESS, LOADBALANCER)


@dataclass(frozen=True)
class PlannedPort:
    name: str          # "tcp-6379"
    port: int
    protocol: str      # TCP | UDP | SCTP
    exposure: str = CLUSTER
    http: bool = False  # the software is known to answer plain HTTP here: an HTTP readiness probe


@dataclass(frozen=True)
class PlannedVolume:
    name: str          # "data", "data-2", ...
    mount_path: str
    size: str          # "NGi"
    storage_class: str | None = None


@dataclass(frozen=True)
class HostPathMount:
    """A directory of the node mounted into a node agent's pod."""

    name: str
    host_path: str
    mount_path: str
    read_only: bool = True


@dataclass(frozen=True)
class EnvVar:
    """A plain value, a key of a Secret (secret, key), or a field of the pod (field_path)."""

    name: str
    value: str | None = None
    secret: str | None = None
    key: str | None = None
    field_path: str | None = None


@dataclass(frozen=True)
class PlannedSecret:
    """A Secret the plan emits with placeholder values: the reviewer sets the real ones.

    annotations: more (name, value) pairs for its metadata (where each key comes from, the
    certificate it replaces), never a secret value; notes: what the reviewer must do."""

    name: str
    type: str                      # Opaque | kubernetes.io/tls
    keys: tuple[str, ...]
    reason: str
    annotations: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedConfigMap:
    """A ConfigMap of an application's config files: (key, original path, text) per file."""

    name: str
    files: tuple[tuple[str, str, str], ...]
    reason: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileMount:
    """One key of a ConfigMap or Secret mounted as a file at its original path (subPath).

    volume: the pod volume's name; source: "configmap" | "secret"; mode: file mode (items)."""

    volume: str
    source: str
    object_name: str
    key: str
    mount_path: str
    mode: int | None = None


@dataclass(frozen=True)
class WaitFor:
    """An initContainer waits until service:port answers before the app starts."""

    service: str
    port: int
    reason: str


@dataclass(frozen=True)
class AllowRule:
    """Ingress admitted to `port`: from the pods of `clients` (workload names), or from anywhere."""

    port: int
    protocol: str
    clients: tuple[str, ...] = ()
    anywhere: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Schedule:
    cron: str              # 5-field cron or a @macro Kubernetes accepts
    time_zone: str
    suspend: bool = False
    source: str = ""       # the schedule as the host wrote it


@dataclass(frozen=True)
class PlannedWorkload:
    id: str            # "<host>/<app.key>", the stable key overrides refer to
    name: str
    kind: str          # Deployment | StatefulSet | DaemonSet | CronJob
    host: str
    app_key: str
    software: str
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    working_dir: str | None = None
    run_as_user: int | None = None
    ports: tuple[PlannedPort, ...] = ()
    volumes: tuple[PlannedVolume, ...] = ()
    replicas: int = 1
    cpu_request: str = "50m"
    memory_request: str = "64Mi"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # where it comes from: application refs ("HOST/KEY"), in ordinal order for a StatefulSet
    refs: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    category: str = "app"
    verdict: str = ""
    memory_limit: str | None = None
    env: tuple[EnvVar, ...] = ()
    secrets: tuple[PlannedSecret, ...] = ()
    host_network: bool = False
    host_pid: bool = False
    host_paths: tuple[HostPathMount, ...] = ()
    waits: tuple[WaitFor, ...] = ()
    allow: tuple[AllowRule, ...] = ()
    service: bool = True             # a ClusterIP Service for its ports (when it has some)
    primary_only: bool = False       # the Service sends clients to ordinal 0 only (one writer)
    hpa: bool = False
    schedule: Schedule | None = None
    dockerfile: str | None = None    # for images the reviewer must build
    wave: int | None = None
    run_as_group: int | None = None  # generated images: the process's group (its uid when unknown)
    fs_group: int | None = None      # the pod's fsGroup: new volumes writable by the image's user
    cluster: bool = False            # the members of one distributed system (ordinal i replaces refs[i])
    roles: tuple[str, ...] = ()      # a cluster's member roles, in ordinal order ("primary", "member", ...)
    config_maps: tuple[PlannedConfigMap, ...] = ()   # the app's config files
    file_mounts: tuple[FileMount, ...] = ()          # config files and TLS files at their original paths

    @property
    def selector(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def headless_service_name(self) -> str:
        return f"{self.name}-headless"

    @property
    def independent_copies(self) -> bool:
        """Several pods of a stateful application that is not a cluster: copies that do not replicate."""
        return (self.replicas > 1 and not self.cluster and self.kind in (DEPLOYMENT, STATEFULSET)
                and (self.verdict == "stateful" or bool(self.volumes)))

    @property
    def exposed(self) -> bool:
        """Whether the workload gets a ClusterIP Service."""
        return self.service and bool(self.ports) and self.kind not in BATCH


@dataclass(frozen=True)
class DataStep:
    """How to move one application's state into the volume of one pod (ordinal)."""

    workload: str
    ordinal: int
    source: str          # "HOST/KEY"
    software: str
    method: str          # dump-restore | replication | snapshot | file-copy
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    namespace: str
    workloads: tuple[PlannedWorkload, ...] = ()
    notes: tuple[str, ...] = ()
    network_policies: bool = True
    data_steps: tuple[DataStep, ...] = ()
    waves: tuple[tuple[str, ...], ...] = ()     # workload names per migration wave
    unmatched_overrides: tuple[str, ...] = ()   # override ids that match no application (for warnings)
