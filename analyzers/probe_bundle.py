"""Probe version 3 reads many whole files in one `grep -aH` (a process costs the host about a
millisecond of CPU; a file read by the shell's own `read` costs a system call a byte). This
module cuts that output back into the sections earlier versions printed, one command each, so
that redaction, storage and every parser see the same sections whatever the probe's version.

Two sections carry such a bundle: ``processes`` and ``configs``. Each ends with two parts::

    MARK f bundle
    /proc/net/tcp                     the paths grep read, in its order, one a line
    /etc/cron.d/e2scrub_all
    MARK f files
    /proc/net/tcp:  sl  local_address ...
    /etc/cron.d/e2scrub_all:30 3 * * 0 root test -e /run/systemd/system || ...

Every grep line starts with its file's path and a colon, so no content can pass for another
file's. A path that holds a colon is told apart by the list: the current file first, then the
first later path the line starts with. Before its bundle, processes may hold a part
``f dpkg``: the package database's ``Package:``, ``Version:`` and ``Status:`` lines (dpkg's
status file, a text file: no dpkg-query process); it becomes ``packages_dpkg`` in dpkg-query's
format.
"""
from __future__ import annotations

import re

from analyzers.base import Section
from analyzers.probe_output import MARK

# whole files read with the processes, and the section each was its own command's
SINGLE_FILES = {
    "/proc/net/tcp": "proc_net_tcp", "/proc/net/tcp6": "proc_net_tcp6", "/proc/net/udp": "proc_net_udp",
    "/proc/net/udp6": "proc_net_udp6", "/proc/net/if_inet6": "proc_net_if_inet6",
    "/proc/net/fib_trie": "proc_net_fib_trie", "/proc/mounts": "mounts", "/etc/passwd": "passwd",
}
# read on every host (a file missing reads as that section's command failing, as before)
ALWAYS = ("proc_net_tcp", "proc_net_tcp6", "proc_net_udp", "proc_net_udp6", "proc_net_if_inet6",
          "proc_net_fib_trie", "mounts")
UNIT_DIRS = ("/etc/systemd/system/", "/run/systemd/system/", "/lib/systemd/system/", "/usr/lib/systemd/system/")
CRON_PATHS = ("/etc/crontab", "/etc/cron.d/", "/var/spool/cron/")
FILE_CAP = {"unit_files": 262144, "crontabs": 262144, "configs": 65536}   # characters kept of each file

_WANT = {"unknown": "u", "install": "i", "hold": "h", "deinstall": "r", "purge": "p"}
_STATUS = {"not-installed": "n", "config-files": "c", "half-installed": "H", "unpacked": "U",
           "half-configured": "F", "triggers-awaited": "W", "triggers-pending": "t", "installed": "i"}
_EFLAG = {"ok": " ", "reinstreq": "R"}


def unbundle(sections: dict[str, Section]) -> None:
    """Replace version 3's bundles in `sections` (in place) by the sections they stand for."""
    procs = sections.get("processes")
    bundle = _cut(procs.text) if procs is not None else None
    if bundle is not None:
        head, paths, files = bundle
        head, dpkg = _cut_part(head, "dpkg")
        sections["processes"] = Section("processes", head, procs.rc, procs.truncated)
        _add_files(sections, procs, paths, files)
        if dpkg is not None:
            _add(sections, Section("packages_dpkg", _dpkg(dpkg), procs.rc, procs.truncated))
    configs = sections.get("configs")
    bundle = _cut(configs.text) if configs is not None else None
    if bundle is not None:
        _head, paths, files = bundle
        grouped = _group(paths, files)
        sections["configs"] = Section("configs", _records(grouped, FILE_CAP["configs"]), configs.rc, configs.truncated)


def _add(sections: dict[str, Section], section: Section) -> None:
    sections.setdefault(section.name, section)    # a section the probe printed itself wins


def _cut(text: str) -> tuple[str, list[str], str] | None:
    """(the text before the bundle, the bundle's paths, grep's output); None without a bundle."""
    head, files = _cut_part(text, "files")
    head, listed = _cut_part(head, "bundle")
    if files is None and listed is None:
        return None
    return head, [p for p in (listed or "").split("\n") if p.startswith("/")], files or ""


def _cut_part(text: str, name: str) -> tuple[str, str | None]:
    """(the text before part `name`, without the '\\n' the probe prints before a part's marker;
    everything after the marker line, None when there is no such part)."""
    match = re.search("^" + re.escape(MARK) + "f " + name + r"\r?$", text, re.M)
    if match is None:
        return text, None
    head = text[:match.start()]
    return (head[:-1] if head.endswith("\n") else head), text[match.end() + 1:]


def _group(paths: list[str], files: str) -> dict[str, list[str]]:
    """grep -aH output by file, in the listed order (a listed file without lines maps to [])."""
    order: dict[str, int] = {}
    for path in paths:
        order.setdefault(path, len(order))
    listed = list(order)
    out: dict[str, list[str]] = {path: [] for path in listed}
    current = -1
    for line in files.split("\n"):
        if current >= 0 and line.startswith(listed[current] + ":"):
            out[listed[current]].append(line[len(listed[current]) + 1:])
            continue
        pos = line.find(":")
        while pos > 0:
            index = order.get(line[:pos])
            if index is not None and index > current:
                current = index
                out[listed[current]].append(line[pos + 1:])
                break
            pos = line.find(":", pos + 1)
    return out


def _records(grouped: dict[str, list[str]], cap: int) -> str:
    """Files as earlier probes marked them: '\\nMARK file PATH\\n' and the content."""
    return "".join(f"\n{MARK}file {path}\n" + "".join(line + "\n" for line in lines)[:cap]
                   for path, lines in grouped.items())


def _add_files(sections: dict[str, Section], procs: Section, paths: list[str], files: str) -> None:
    grouped = _group(paths, files)
    rc, cut = (None, True) if procs.truncated else (0, False)
    units: dict[str, list[str]] = {}
    crontabs: dict[str, list[str]] = {}
    for path, lines in grouped.items():
        name = SINGLE_FILES.get(path)
        if name is not None:
            _add(sections, Section(name, "".join(line + "\n" for line in lines), rc, cut))
        elif path.startswith(UNIT_DIRS):
            units[path] = lines
        elif path == CRON_PATHS[0] or path.startswith(CRON_PATHS[1:]):
            crontabs[path] = lines
    if not procs.truncated:
        for name in ALWAYS:
            _add(sections, Section(name, "", 1, False))      # the file was not there to read
    _add(sections, Section("unit_files", _records(units, FILE_CAP["unit_files"]), rc, cut))
    _add(sections, Section("crontabs", _records(crontabs, FILE_CAP["crontabs"]), rc, cut))


def _dpkg(text: str) -> str:
    """The package database's Package/Version/Status lines in dpkg-query's format."""
    rows: list[list[str]] = []
    for line in text.split("\n"):
        field, _, value = line.partition(":")
        value = value.strip()
        if field == "Package":
            rows.append([value, "", ""])
        elif rows and field == "Version":
            rows[-1][1] = value
        elif rows and field == "Status":
            words = value.split()
            if len(words) == 3:
                rows[-1][2] = _WANT.get(words[0], "?") + _STATUS.get(words[2], "?") + _EFLAG.get(words[1], "?")
    return "".join(f"{name}\t{version}\t{abbrev}\n" for name, version, abbrev in rows if name and "\t" not in name + version)
