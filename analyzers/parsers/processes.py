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

The probe since version 2 reads all processes at once (a handful of commands whatever their
number, instead of six per process) and writes three parts, no ``pid`` records::

    MARK f proc_files
    /proc/12/stat:12 (redis-server) S 1 12 12 0 -1 4194560 ...
    /proc/12/cgroup:0::/system.slice/redis-server.service
    /proc/12/cmdline:/usr/bin/redis-server\0127.0.0.1:6379\0
    /proc/12/status:Uid:\t101\t101\t101\t101
    MARK f proc_links
    lrwxrwxrwx 1 root root 0 Dec  3 21:42 /proc/12/cwd -> /var/lib/redis
    lrwxrwxrwx 1 root root 0 Dec  3 21:42 /proc/12/exe -> /usr/bin/redis-server
    <blank>
    /proc/12/fd/:
    total 0
    lrwx------ 1 root root 64 Dec  3 21:42 3 -> socket:[5141]
    MARK f proc_fdflags
    /proc/12/fdinfo/3:flags:\t02000002

proc_files is `grep -aH` output: every line starts with the file it came from, so a line
(and a NUL- or newline-holding argument, continued on the next prefixed line) belongs to its
process whatever the file holds; of status only Name, State, PPid, Uid, VmRSS and Threads.
proc_links is one `ls -l` of every exe, cwd and fd/ (the links first, then one block per fd
directory after a blank line and its `/proc/PID/fd/:` header); proc_fdflags one `grep -rH`.
Both formats read to the same records: the per-process one stays readable, so snapshots
stored before version 2 analyze again unchanged. (A file name with newlines can forge ls
lines in either: in the old format only into its own process's record, here also a block
header; the fds it forges name sockets and files, never the nonce framing.)

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
_FILE_LINE_RE = re.compile(r"/proc/(\d+)/(stat|status|cmdline|cgroup):")
_BATCH_LINK_RE = re.compile(r" /proc/(\d+)/(exe|cwd) -> (.*)$")
_BATCH_FD_DIR_RE = re.compile(r"^/proc/(\d+)/fd/?:$")
_BATCH_FLAGS_RE = re.compile(r"^/proc/(\d+)/fdinfo/+(\d+):flags:\s*([0-7]+)\s*$")
CMDLINE_CAP = 32768       # bytes of a command line kept (the old probe's head -c)
BATCH_PARTS = ("proc_files", "proc_links", "proc_fdflags")


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


def build(pid: int, files: dict[str, str], links: tuple[str, str, list[tuple[int, str]]] | None = None,
          flags: dict[int, int] | None = None) -> ProcessRecord | None:
    """One process from its files (`links` and `flags` already read, in the batched format);
    None when neither stat nor status could be read."""
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
    exe, cwd, fds = links if links is not None else parse_links(files.get("links", ""))
    if flags is None:
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


def _cap_cmdline(raw: str) -> str:
    if len(raw) * 4 <= CMDLINE_CAP:
        return raw
    data = raw.encode("utf-8", "surrogateescape")
    return raw if len(data) <= CMDLINE_CAP else data[:CMDLINE_CAP].decode("utf-8", "ignore")


def parse_batched(parts: dict[str, str]) -> tuple[ProcessRecord, ...]:
    """The version 2 format: proc_files, proc_links and proc_fdflags of all processes."""
    files: dict[int, dict[str, list[str]]] = {}
    for line in parts.get("proc_files", "").split("\n"):
        match = _FILE_LINE_RE.match(line)
        if match:
            pid = int(match.group(1))
            files.setdefault(pid, {}).setdefault(match.group(2), []).append(line[match.end():])
    links: dict[int, tuple[str, str, list[tuple[int, str]]]] = {}

    def entry(pid: int) -> tuple[str, str, list[tuple[int, str]]]:
        return links.setdefault(pid, ("", "", []))

    fd_pid: int | None = None
    previous = ""
    for line in parts.get("proc_links", "").split("\n"):
        header = _BATCH_FD_DIR_RE.match(line)
        if header and previous == "":
            fd_pid = int(header.group(1))
            entry(fd_pid)
        elif fd_pid is None:
            match = _BATCH_LINK_RE.search(line)
            if match:
                pid = int(match.group(1))
                exe, cwd, fds = entry(pid)
                links[pid] = (match.group(3), cwd, fds) if match.group(2) == "exe" else (exe, match.group(3), fds)
        elif line.startswith("l"):
            match = _FD_RE.search(line) or _FD_NOLINK_RE.match(line)
            if match:
                target = match.group(2) if match.re is _FD_RE else ""
                entry(fd_pid)[2].append((int(match.group(1)), target))
        previous = line
    flags: dict[int, dict[int, int]] = {}
    for line in parts.get("proc_fdflags", "").split("\n"):
        match = _BATCH_FLAGS_RE.match(line)
        if match:
            flags.setdefault(int(match.group(1)), {})[int(match.group(2))] = int(match.group(3), 8)
    out: list[ProcessRecord] = []
    for pid, lines in files.items():
        texts = {name: "\n".join(value) for name, value in lines.items()}
        if "cmdline" in texts:
            texts["cmdline"] = _cap_cmdline(texts["cmdline"])
        record = build(pid, texts, links.get(pid, ("", "", [])), flags.get(pid, {}))
        if record is not None:
            out.append(record)
    return tuple(out)


@parser("processes")
def parse(text: str) -> tuple[ProcessRecord, ...]:
    out: list[ProcessRecord] = []
    pid: int | None = None
    files: dict[str, str] = {}
    batched: dict[str, str] = {}

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
        elif kind == "f" and arg.strip() in BATCH_PARTS:
            batched.setdefault(arg.strip(), body)
        elif kind == "f" and pid is not None:
            files[arg.strip()] = body
    flush()
    if batched:
        return tuple(out) + parse_batched(batched)
    return tuple(out)
