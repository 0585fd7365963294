"""Where an application keeps state, and the verdict: stateful or stateless, with its reason.

Evidence, strongest first: a data directory named by the software's own flags (or its
well-known default for databases, which are stateful even when idle); files the processes
hold open for writing on a persistent filesystem; the working directory of a database.
Logs, pid files, sockets, temp files and anything on tmpfs do not make an app stateful.
Each location's confidence is the strongest of its evidence (analyzers.findings.STATE_CONFIDENCE:
flag 0.95, config file 0.9, open for writing 0.85, cwd 0.7, the software's default dir 0.6).
"""
from __future__ import annotations

import os
from dataclasses import replace
from typing import Iterable, Mapping, Sequence

from analyzers.base import Evidence
from analyzers.findings import STATEFUL, STATELESS, StateLocation

NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "ceph", "glusterfs", "fuse.sshfs", "9p", "lustre", "gpfs"}
VOLATILE_FS = {"tmpfs", "ramfs", "devtmpfs", "proc", "sysfs", "cgroup", "cgroup2", "overlay"}
SKIP_PREFIXES = ("/proc/", "/sys/", "/dev/")

# software -> (flags that name the data dir, default data dir)
DATA_DIR_FLAGS: dict[str, tuple[tuple[str, ...], str]] = {
    "redis": (("--dir",), "/var/lib/redis"),
    "postgresql": (("-D", "--pgdata"), "/var/lib/postgresql"),
    "mysql": (("--datadir",), "/var/lib/mysql"),
    "mariadb": (("--datadir",), "/var/lib/mysql"),
    "etcd": (("--data-dir",), "/var/lib/etcd"),
    "mongodb": (("--dbpath",), "/var/lib/mongodb"),
    "consul": (("-data-dir", "--data-dir"), "/opt/consul"),
    "prometheus": (("--storage.tsdb.path",), "/var/lib/prometheus"),
    "grafana": (("cfg:default.paths.data",), "/var/lib/grafana"),
    "elasticsearch": (("-Epath.data",), "/var/lib/elasticsearch"),
    "opensearch": (("-Epath.data",), "/var/lib/opensearch"),
    "cassandra": (("-Dcassandra.storagedir",), "/var/lib/cassandra"),
    "kafka": ((), "/var/lib/kafka"),
    "zookeeper": ((), "/var/lib/zookeeper"),
    "rabbitmq": ((), "/var/lib/rabbitmq"),
    "minio": ((), "/var/lib/minio"),
}
# Software that takes its data directory as a positional argument after a subcommand.
DATA_DIR_AFTER = {"minio": "server"}
# Software whose working directory is its data directory when no flag says otherwise.
CWD_IS_DATA = {"redis"}


def flag_value(cmdline: Iterable[str], flags: tuple[str, ...]) -> str | None:
    """Value of `--flag value`, `--flag=value` or `-Dvalue` in an argument list."""
    args = list(cmdline)
    for i, arg in enumerate(args):
        for flag in flags:
            if arg == flag and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(flag + "="):
                return arg[len(flag) + 1:]
            if len(flag) == 2 and flag.startswith("-") and arg.startswith(flag) and len(arg) > 2:
                return arg[2:]
    return None


def positional_after(cmdline: Iterable[str], word: str) -> str | None:
    """The first absolute path after `word`: `minio server /data` -> '/data'."""
    args = list(cmdline)
    if word not in args:
        return None
    return next((a for a in args[args.index(word) + 1:] if a.startswith("/")), None)


def path_kind(path: str) -> str:
    """data | log | pid | socket | temp | cache, from the path alone."""
    name = os.path.basename(path)
    if path.startswith("/var/log/") or name.endswith((".log", ".log.1")) or "/log/" in path:
        return "log"
    if name.endswith(".pid") or name.endswith(".lock"):
        return "pid"
    if name.endswith(".sock"):
        return "socket"
    if path.startswith(("/tmp/", "/var/tmp/", "/dev/shm/")):
        return "temp"
    if path.startswith(("/run/", "/var/run/")):
        return "temp"          # runtime files: gone at reboot
    if "/cache/" in path or path.startswith("/var/cache/"):
        return "cache"
    return "data"


def mount_of(path: str, mounts) -> tuple[str, str]:
    """(fstype, filesystem class) of the mount holding `path` (longest matching mount point)."""
    best, fstype = "", ""
    for m in mounts:
        target = m.target.rstrip("/") or "/"
        if (path == target or path.startswith(target.rstrip("/") + "/")) and len(target) >= len(best):
            best, fstype = target, m.fstype
    if fstype in VOLATILE_FS:
        return fstype, "tmpfs"
    if fstype in NETWORK_FS or fstype.startswith("nfs"):
        return fstype, "network"
    return fstype, "local"


def data_root(path: str) -> str:
    """Collapse a written file to the directory that holds the app's data."""
    parts = path.split("/")
    if path.startswith("/var/lib/") and len(parts) > 4:
        return "/".join(parts[:4])
    return os.path.dirname(path) or "/"


def find_state(software: str, group: list, mounts,
               config_dirs: Sequence[tuple[str, Evidence]] = ()) -> tuple[list[StateLocation], list[str]]:
    """State locations of one process group and the notes about what was set aside.

    config_dirs: data directories the app's own config files name (analyzers.configs); they
    count after a command-line flag and before the software's default."""
    found: dict[str, list[Evidence]] = {}
    other: dict[tuple[str, str], list[Evidence]] = {}
    ignored: list[str] = []
    leader = group[0]
    flag = None
    if software in DATA_DIR_FLAGS:
        flags, _default = DATA_DIR_FLAGS[software]
        flag = next((flag_value(p.cmdline, flags) for p in group if flag_value(p.cmdline, flags)), None)
    if not flag and config_dirs:
        for path, evidence in config_dirs:
            if path.startswith("/"):
                found.setdefault(os.path.normpath(path), []).append(evidence)
    elif software in DATA_DIR_FLAGS:
        flags, default = DATA_DIR_FLAGS[software]
        value = next((flag_value(p.cmdline, flags) for p in group if flag_value(p.cmdline, flags)), None)
        if not value and software in DATA_DIR_AFTER:
            value = positional_after(leader.cmdline, DATA_DIR_AFTER[software])
        if value:
            path = value if value.startswith("/") else os.path.normpath(os.path.join(leader.cwd or "/", value))
            found.setdefault(path, []).append(Evidence("processes", f"pid {leader.pid}: {flags[0] if flags else 'data dir'} {value}",
                                                       "data-dir-flag"))
        elif software in CWD_IS_DATA and leader.cwd and leader.cwd != "/":
            found.setdefault(leader.cwd, []).append(Evidence("processes", f"pid {leader.pid}: cwd {leader.cwd}",
                                                             "database-cwd"))
        else:
            found.setdefault(default, []).append(Evidence("rule", f"{software} keeps data in {default} by default",
                                                          "database-default-dir"))
    for proc in group:
        for f in proc.open_files:
            target = f.target
            if not target.startswith("/") or target.startswith(SKIP_PREFIXES) or not f.writable:
                continue
            target = target.removesuffix(" (deleted)")
            kind = path_kind(target)
            fstype, fsclass = mount_of(target, mounts)
            if kind != "data":
                ignored.append(f"{target}: {kind} file, not state")
                _note(other, kind, target, proc, f)
                continue
            if fsclass == "tmpfs":
                ignored.append(f"{target}: on {fstype}, lost at reboot, not state")
                _note(other, "temp", target, proc, f)
                continue
            root = next((p for p in found if target == p or target.startswith(p.rstrip("/") + "/")), None)
            root = root or data_root(target)
            found.setdefault(root, []).append(
                Evidence("processes", f"pid {proc.pid} writes {target} (fd {f.fd})", "open-for-write"))
    locations = []
    for path, evidence in found.items():
        fstype, fsclass = mount_of(path, mounts)
        locations.append(StateLocation(path=path, kind="data", fstype=fstype, filesystem=fsclass,
                                       evidence=tuple(evidence[:10])))
    for (kind, path), evidence in sorted(other.items()):
        if not any(path == loc.path or path.startswith(loc.path.rstrip("/") + "/") for loc in locations):
            fstype, fsclass = mount_of(path, mounts)
            locations.append(StateLocation(path=path, kind=kind, fstype=fstype, filesystem=fsclass,
                                           evidence=tuple(evidence[:10])))
    return locations, ignored


def config_locations(paths: Sequence[str], mounts) -> list[StateLocation]:
    """The app's configuration files as locations of kind config (they become ConfigMaps, not volumes)."""
    out = []
    for path in paths:
        fstype, fsclass = mount_of(path, mounts)
        out.append(StateLocation(path=path, kind="config", fstype=fstype, filesystem=fsclass,
                                 evidence=(Evidence("configs", f"configuration file {path}", "config-file"),)))
    return out


def _note(other: dict, kind: str, target: str, proc, f) -> None:
    """A written file that is not state, kept with its kind: logs and temp files by directory,
    pid files and sockets as themselves."""
    path = target if kind in ("pid", "socket") else (os.path.dirname(target) or "/")
    other.setdefault((kind, path), []).append(
        Evidence("processes", f"pid {proc.pid} writes {target} (fd {f.fd})", f"{kind}-file"))


def with_usage(locations: list[StateLocation], usage: Mapping[str, object]) -> list[StateLocation]:
    """Attach measured sizes (from the `path_usage` section) to each location."""
    out = []
    for loc in locations:
        u = usage.get(loc.path)
        if u is None:
            out.append(loc)
        else:
            out.append(replace(loc, size_bytes=u.size_bytes, file_count=u.file_count))
    return out


def verdict(software: str, locations: list[StateLocation], ignored: list[str]) -> tuple[str, str, float]:
    """(verdict, reason, confidence) from the state found."""
    persistent = [l for l in locations if l.kind == "data" and l.filesystem != "tmpfs"]
    if persistent:
        rules = {e.rule for l in persistent for e in l.evidence}
        paths = ", ".join(l.path for l in persistent[:3])
        if "open-for-write" in rules or "data-dir-flag" in rules:
            return STATEFUL, f"keeps data in {paths}", 0.9
        return STATEFUL, f"{software} is a database; its data lives in {paths}", 0.7
    if ignored:
        return STATELESS, "writes only logs, pid, temp or tmpfs files: " + "; ".join(list(dict.fromkeys(ignored))[:3]), 0.7
    return STATELESS, "holds no file open for writing on a persistent filesystem", 0.6
