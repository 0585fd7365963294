"""Result types of the analysis: what a host runs, serves, keeps and talks to.

These frozen dataclasses are the contract between the analyzers, the database layer
(which stores them) and the planner (which turns them into Kubernetes objects).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from analyzers.base import Evidence

STATEFUL = "stateful"
STATELESS = "stateless"


@dataclass(frozen=True)
class Listener:
    """A listening socket. scope: 'loopback' (only this host), 'all' (every address), 'address'."""

    protocol: str
    address: str
    port: int
    scope: str
    pid: int | None = None


@dataclass(frozen=True)
class Connection:
    """An established connection seen from this host; remote_* is the other end."""

    protocol: str
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    pid: int | None = None


@dataclass(frozen=True)
class StateLocation:
    """A place where an application keeps data that must survive a restart.

    kind: data | config | log | cache | temp | socket | pid; filesystem: local | tmpfs | network.
    size_bytes and file_count are None until measured.
    """

    path: str
    kind: str = "data"
    fstype: str = ""
    filesystem: str = "local"
    size_bytes: int | None = None
    file_count: int | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Application:
    """One application on one host: a group of processes with a name, ports and state.

    key is stable across rescans of the same host (unit name, else software and port),
    so overrides and history can refer to it.
    """

    key: str
    name: str
    software: str
    version: str = ""
    category: str = "app"
    pids: tuple[int, ...] = ()
    user: str = ""
    uid: int | None = None
    command: tuple[str, ...] = ()
    exe: str = ""
    cwd: str = ""
    unit: str = ""
    unit_after: tuple[str, ...] = ()      # units this app's unit starts after (After=, Requires=, Wants=)
    listeners: tuple[Listener, ...] = ()
    connections: tuple[Connection, ...] = ()
    state: tuple[StateLocation, ...] = ()
    config_files: tuple[str, ...] = ()       # the app's configuration files on the host
    certificates: tuple[str, ...] = ()       # TLS certificate and key paths its config names (never content)
    secrets: tuple[str, ...] = ()            # "SOURCE: KEY" of each redacted secret (never the value)
    verdict: str = STATELESS
    verdict_reason: str = ""
    confidence: float = 0.5
    evidence: tuple[Evidence, ...] = ()
    rss_kib: int = 0
    cpu_percent: float = 0.0

    @property
    def stateful(self) -> bool:
        return self.verdict == STATEFUL

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ScheduledJob:
    """A cron entry (or timer) that runs a command on a schedule; system=True for OS housekeeping."""

    schedule: str
    user: str
    command: str
    source: str
    line_no: int = 0
    system: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HostFindings:
    """Everything the analyzers concluded about one host, and what they could not see."""

    hostname: str = ""
    os_name: str = ""
    os_version: str = ""
    timezone: str = ""          # IANA name, '' when unknown
    cpu_count: int = 0
    mem_total_kib: int = 0
    addresses: tuple[str, ...] = ()
    applications: tuple[Application, ...] = ()
    plumbing: tuple[str, ...] = ()
    jobs: tuple[ScheduledJob, ...] = ()
    certificates: tuple = ()    # analyzers.parsers.certificates.Certificate, one per file read
    missing: tuple[str, ...] = field(default_factory=tuple)
