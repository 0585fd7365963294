"""The plan: our intermediate representation between findings and Kubernetes objects.

Plain frozen data, built by builder.build_plan and turned into objects by objects.to_objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field

DEPLOYMENT = "Deployment"
STATEFULSET = "StatefulSet"
KINDS = (DEPLOYMENT, STATEFULSET)


@dataclass(frozen=True)
class PlannedPort:
    name: str          # "tcp-6379"
    port: int
    protocol: str      # TCP | UDP | SCTP


@dataclass(frozen=True)
class PlannedVolume:
    name: str          # "data", "data-2", ...
    mount_path: str
    size: str          # "NGi"
    storage_class: str | None = None


@dataclass(frozen=True)
class PlannedWorkload:
    id: str            # "<host>/<app.key>", the stable key overrides refer to
    name: str
    kind: str          # Deployment | StatefulSet
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

    @property
    def selector(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def headless_service_name(self) -> str:
        return f"{self.name}-headless"


@dataclass(frozen=True)
class Plan:
    namespace: str
    workloads: tuple[PlannedWorkload, ...] = ()
    notes: tuple[str, ...] = ()
