"""Section `processes`: per process the raw /proc files, as sub-records.

Sample (``MARK`` is `analyzers.probe_output.MARK`, put there by split_sections)::

    MARK pid 12
    MARK f stat
    12 (redis-server) S 1 12 12 0 -1 4194560 ... 
    MARK f status
    Name:\tredis-server ... Uid:\t101\t101\t101\t101 ... VmRSS:\t  12896 kB ... Threads:\t5
    MARK f cmdline
    /usr/bin/redis-server\\0127.0.0.1:6379\\0
    MARK f cgroup
    0::/system.slice/redis-server.service
    MARK f links
    lrwxrwxrwx 1 root root 0 Dec  3 21:42 /proc/12/cwd -> /var/lib/redis
    lrwxrwxrwx 1 root root 0 Dec  3 21:42 /proc/12/exe -> /usr/bin/redis-server
    <blank>
    /proc/12/fd:
    total 0
    lrwx------ 1 root root 64 Dec  3 21:42 3 -> socket:[5141]
    MARK f fdflags
    /proc/12/fdinfo/3:flags:\t02000002

Naturally noisy: processes come and go while the probe reads them, file names may hold
newlines, so lines that do not read are skipped, never an error. A process whose files
vanished mid-read is kept with what was read (from stat, else status); one with neither
is dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.base import parser
from analyzers.probe_output import split_records

STAT_FIELDS = ("state", "ppid", "pgrp", "session", "tty_nr", "tpgid", "flags", "minflt", "cminflt",
               "majflt", "cmajflt", "utime", "stime", "cutime", "cstime", "priority", "nice",
               "num_threads", "itrealvalue", "starttime", "vsize", "rss")

_LINK_RE = re.compile(r" /proc/\d+/(exe|cwd) -> (.*)$")
_FD_DIR_RE = re.compile(r"^/proc/\d+/fd/?:$")
_FD_RE = re.compile(r" (\d+) -> (.*)$")
_FD_NOLINK_RE = re.compile(r"^l\S* .* (\d+)$")
_FLAGS_RE = re.compile(r"/fdinfo/(\d+):flags:\s*([0-7]+)\s*$")


@dataclass(frozen=True)
class OpenFile:
    fd: int
    target: str
    flags: int | None = None

    @property
    def writable(self) -> bool:
        return self.flags is not None and self.flags & 3 in (1, 2)

    @property
    def socket_inode(self) -> int | None:
        if self.target.startswith("socket:[") and self.target.endswith("]"):
            try:
                return int(self.target[8:-1])
            except ValueError:
                return None
        return None


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    ppid: int
    comm: str
    state: str
    uid: int | None
    cmdline: tuple[str, ...]
    exe: str
    cwd: str
    cgroup: str
    utime: int
    stime: int
    starttime: int
    rss_kib: int
    threads: int
    open_files: tuple[OpenFile, ...]


def parse_stat_line(line: str) -> dict:
    """One /proc/PID/stat line -> dict; comm runs from the first '(' to the last ')'.

    Raises ValueError when the line does not read.
    """
    line = line.rstrip("\n")
    open_at, close_at = line.find("("), line.rfind(")")
    if open_at < 0 or close_at < open_at:
        raise ValueError("no (comm) in stat line")
    rest = line[close_at + 1:].split()
    if len(rest) < len(STAT_FIELDS):
        raise ValueError("short stat line")
    out: dict = {"pid": int(line[:open_at]), "comm": line[open_at + 1:close_at]}
    for name, value in zip(STAT_FIELDS, rest):
        out[name] = value if name == "state" else int(value)
    return out


def parse_status(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out.setdefault(key.strip(), value.strip())
    return out


def cgroup_path(text: str) -> str:
    """cgroup v2 '0::' path, else the name=systemd hierarchy's, else the first."""
    entries = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            entries.append(parts)
    for hid, controllers, path in entries:
        if hid == "0" and controllers == "":
            return path
    for _hid, controllers, path in entries:
        if "name=systemd" in controllers.split(","):
            return path
    return entries[0][2] if entries else ""


def parse_links(text: str) -> tuple[str, str, list[tuple[int, str]]]:
    """`ls -l exe cwd fd/` -> (exe, cwd, [(fd, target)]); an unreadable link has target ''."""
    exe = cwd = ""
    fds: list[tuple[int, str]] = []
    in_fd = False
    for line in text.splitlines():
        if _FD_DIR_RE.match(line):
            in_fd = True
            continue
        if not in_fd:
            match = _LINK_RE.search(line)
            if match:
                if match.group(1) == "exe":
                    exe = match.group(2)
                else:
                    cwd = match.group(2)
            continue
        match = _FD_RE.search(line)
        if match and line.startswith("l"):
            fds.append((int(match.group(1)), match.group(2)))
            continue
        match = _FD_NOLINK_RE.match(line)
        if match:
            fds.append((int(match.group(1)), ""))
    return exe, cwd, fds


def parse_fdflags(text: str) -> dict[int, int]:
    flags = {}
    for line in text.splitlines():
        match = _FLAGS_RE.search(line)
        if match:
            flags[int(match.group(1))] = int(match.group(2), 8)
    return flags


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int((value or "").split()[0])
    except (ValueError, IndexError):
        return default


def build(pid: int, files: dict[str, str]) -> ProcessRecord | None:
    """One process from its files; None when neither stat nor status could be read."""
    stat: dict | None
    try:
        stat = parse_stat_line(files.get("stat", "").split("\n", 1)[0])
    except ValueError:
        stat = None
    status = parse_status(files.get("status", ""))
    if stat is None and "Name" not in status:
        return None
    uid_fields = status.get("Uid", "").split()
    uid = int(uid_fields[0]) if uid_fields and uid_fields[0].isdigit() else None
    raw_cmd = files.get("cmdline", "")
    args = raw_cmd.split("\x00")
    while args and args[-1] == "":
        args.pop()
    exe, cwd, fds = parse_links(files.get("links", ""))
    flags = parse_fdflags(files.get("fdflags", ""))
    open_files = tuple(OpenFile(fd, target, flags.get(fd)) for fd, target in fds)
    if stat is not None:
        ppid, comm, state = stat["ppid"], stat["comm"], stat["state"]
        utime, stime, starttime, threads = stat["utime"], stat["stime"], stat["starttime"], stat["num_threads"]
    else:
        ppid, comm = _int(status.get("PPid")), status.get("Name", "")
        state = status.get("State", "").split(" ")[0]
        utime = stime = starttime = 0
        threads = _int(status.get("Threads"))
    if "Threads" in status:
        threads = _int(status.get("Threads"), threads)
    return ProcessRecord(pid=pid, ppid=ppid, comm=comm, state=state, uid=uid, cmdline=tuple(args),
                         exe=exe, cwd=cwd, cgroup=cgroup_path(files.get("cgroup", "")),
                         utime=utime, stime=stime, starttime=starttime,
                         rss_kib=_int(status.get("VmRSS")), threads=threads, open_files=open_files)


@parser("processes")
def parse(text: str) -> tuple[ProcessRecord, ...]:
    out: list[ProcessRecord] = []
    pid: int | None = None
    files: dict[str, str] = {}

    def flush() -> None:
        if pid is not None:
            record = build(pid, files)
            if record is not None:
                out.append(record)

    for header, body in split_records(text):
        kind, _, arg = header.partition(" ")
        if kind == "pid":
            flush()
            pid, files = (int(arg), {}) if arg.strip().isdigit() else (None, {})
        elif kind == "f" and pid is not None:
            files[arg.strip()] = body
    flush()
    return tuple(out)
