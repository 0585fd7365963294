"""Result types of the analysis: what a host runs, serves, keeps and talks to.

These frozen dataclasses are the contract between the analyzers, the database layer
(which stores them) and the planner (which turns them into Kubernetes objects).

Confidence. Every finding carries `confidence`, a float from 0 to 1: how likely the finding
is true given how it was seen. One scale for all analyzers (here and in analyzers.estate):

    1.0   seen directly: a socket in the kernel's tables (Listener, Connection), a cron entry
          or timer (ScheduledJob), a loopback-only port (Route 'local')
    0.95  seen, then attributed: an established connection mapped to an app at each end
          (Peer); a data directory named by the software's own flag; a unit file's ordering
          (OrderEdge); a cluster seen both in connections and in config
    0.9   read in a config file (a data directory; a cluster's members), a connection end
          outside the inventory (ExternalEndpoint), a route judged from the clients seen
          (Route 'internal'/'external'), a cluster from connections alone, a client that must
          start after its server (OrderEdge from a Peer)
    0.85  a file the processes hold open for writing
    0.8   a cluster known only from config (members declared, no connection seen); a primary
          started before its standbys (OrderEdge)
    0.7   a database's working directory
    0.6   the software's default data directory (nothing seen there, only known)
    0.5   a reachable port with no client seen (Route 'unseen')
    share the part of the hosts an agent runs on (NodeDaemon: 3 of 4 hosts -> 0.75)

A StateLocation's confidence is the highest of its evidence's (STATE_CONFIDENCE by rule);
Route and Cluster compute theirs from what they hold when none is given.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from analyzers.base import Evidence

STATEFUL = "stateful"
CONFIG_TEXT_MAX = 64 * 1024     # bytes of a config file's text kept in HostFindings.config_texts
STATELESS = "stateless"

# Evidence rule of a state location -> confidence (see the scale above). A config file's rule
# is "<software>:data"; any other rule counts as the weakest.
STATE_CONFIDENCE = {"data-dir-flag": 0.95, "config-file": 0.9, "open-for-write": 0.85, "database-cwd": 0.7,
                    "database-default-dir": 0.6}


def state_confidence(evidence) -> float:
    """The confidence of a state location: the highest of its evidence's rules."""
    def one(rule: str) -> float:
        return STATE_CONFIDENCE["config-file"] if rule.endswith(":data") else STATE_CONFIDENCE.get(rule, 0.6)
    return max((one(e.rule) for e in evidence), default=0.6)


@dataclass(frozen=True)
class Listener:
    """A listening socket. scope: 'loopback' (only this host), 'all' (every address), 'address'."""

    protocol: str
    address: str
    port: int
    scope: str
    pid: int | None = None
    confidence: float = 1.0


@dataclass(frozen=True)
class Connection:
    """An established connection seen from this host; remote_* is the other end."""

    protocol: str
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    pid: int | None = None
    confidence: float = 1.0


@dataclass(frozen=True)
class StateLocation:
    """A place where an application keeps data that must survive a restart.

    kind: data | config | log | cache | temp | socket | pid; filesystem: local | tmpfs | network.
    size_bytes and file_count are None until measured. confidence: given, or else the highest
    of its evidence's (state_confidence).
    """

    path: str
    kind: str = "data"
    fstype: str = ""
    filesystem: str = "local"
    size_bytes: int | None = None
    file_count: int | None = None
    evidence: tuple[Evidence, ...] = ()
    confidence: float | None = None        # a float once constructed

    def __post_init__(self) -> None:
        if self.confidence is None:
            object.__setattr__(self, "confidence", state_confidence(self.evidence))


@dataclass(frozen=True)
class DeclaredMember:
    """Another member of this app's cluster, as the app's own configuration names it.

    address: an IP address or a host name (short or fully qualified), as written; port: the
    member's peer port (the software's default when the config gives none). relation:
    'member' (an equal of the same cluster), 'primary' (this app replicates from it: redis
    replicaof, postgresql primary_conninfo), 'group' (address is a coordination string that
    every member shares, port None: Kafka's zookeeper.connect).
    """

    address: str
    port: int | None
    relation: str = "member"
    evidence: Evidence | None = None


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
    declared_members: tuple[DeclaredMember, ...] = ()   # cluster members its config names
    # (name, value, source) of each variable its unit sets: Environment= (source: the unit file)
    # and EnvironmentFile= files (source: that file), the file's winning over the unit's as in
    # systemd; a secret's value is "<redacted>" (analyzers.secrets), never the value
    environment: tuple[tuple[str, str, str], ...] = ()

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
    oneshot: bool = False      # runs once (cron @reboot, a systemd Type=oneshot service), not on a schedule
    confidence: float = 1.0

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
    # (path, text) of each config file some application uses, secrets redacted, at most
    # CONFIG_TEXT_MAX bytes of UTF-8 each (the probe reads no more), in path order
    config_texts: tuple[tuple[str, str], ...] = ()
    scanned_at: str = ""        # when the probe ran, ISO 8601 UTC ('' when unknown)
    missing: tuple[str, ...] = field(default_factory=tuple)
