"""Section `unit_files`: systemd unit files and drop-ins of the host.

The probe reads every *.service and *.timer of /etc/systemd/system and /run/systemd/system,
then for each running service (from /proc/PID/cgroup) the file systemd loads for it from
/etc, /run, /lib or /usr/lib/systemd/system (for an instance NAME@I.service also the template
NAME@.service) and its drop-ins NAME.service.d/*.conf.

Sample (``MARK`` is `analyzers.probe_output.MARK`)::

    MARK file /etc/systemd/system/app.service
    [Unit]
    After=network.target \\
          postgresql.service
    [Service]
    User=app
    ExecStart=/opt/app/bin/run --port 8080

systemd rules: '#' and ';' lines are comments (also inside a continuation), a trailing
backslash continues the line (joined with a space), repeated keys accumulate, an empty
assignment resets the list, dependency keys are space-separated lists. Naturally noisy
(systemd itself ignores lines it cannot read): such lines are skipped.

Precedence and drop-ins (as systemd loads them): one `UnitFile` per unit name. When a name
is found in several directories, the first of /etc/systemd/system, /run/systemd/system,
/lib/systemd/system, /usr/lib/systemd/system wins (any other directory ranks after them, in
section order). A drop-in `DIR/NAME.d/X.conf` is merged onto unit NAME: drop-ins apply in
order of their file name X.conf (a same-named drop-in in a higher-precedence directory hides
the lower one); an instance's drop-ins and its template's (`NAME@.service.d`) sort together,
the instance's hiding a same-named one of the template.
Merging appends each assignment to the unit's, so lists accumulate, an empty assignment
resets, and the last value of a single-valued key wins. Drop-ins for an instance
NAME@I.service whose own file is absent make an instance unit from the template
NAME@.service (its `path` is the template's). Drop-ins for a unit that is not in the
section are ignored. `UnitFile.dropins` lists the drop-in paths merged, in order.
"""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field

from analyzers.base import parser
from analyzers.probe_output import split_records


@dataclass(frozen=True)
class UnitFile:
    path: str
    name: str
    sections: dict = field(default_factory=dict, hash=False)   # section -> key -> tuple[str, ...]
    dropins: tuple[str, ...] = ()

    def get(self, section: str, key: str) -> tuple[str, ...]:
        return tuple(self.sections.get(section, {}).get(key, ()))

    def _list(self, key: str) -> tuple[str, ...]:
        return tuple(word for value in self.get("Unit", key) for word in value.split())

    def _last(self, key: str) -> str:
        values = self.get("Service", key)
        return values[-1] if values else ""

    @property
    def after(self) -> tuple[str, ...]:
        return self._list("After")

    @property
    def requires(self) -> tuple[str, ...]:
        return self._list("Requires")

    @property
    def wants(self) -> tuple[str, ...]:
        return self._list("Wants")

    @property
    def exec_start(self) -> tuple[str, ...]:
        return self.get("Service", "ExecStart")

    @property
    def user(self) -> str:
        return self._last("User")

    @property
    def working_directory(self) -> str:
        return self._last("WorkingDirectory")

    @property
    def environment(self) -> dict[str, str]:
        """Environment= assignments; a variable set twice keeps its last value, in its last place."""
        env: dict[str, str] = {}
        for value in self.get("Service", "Environment"):
            try:
                words = shlex.split(value)
            except ValueError:
                words = value.split()
            for word in words:
                key, sep, val = word.partition("=")
                if sep and key:
                    env.pop(key, None)
                    env[key] = val
        return env


def _logical_lines(text: str) -> list[str]:
    out: list[str] = []
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if current is not None and line[:1] in ("#", ";"):
            continue
        if line.endswith("\\"):
            current = (current or []) + [line[:-1].strip()]
            continue
        if current is not None:
            out.append(" ".join(current + [line]).strip())
            current = None
        else:
            out.append(line)
    if current is not None:
        out.append(" ".join(current).strip())
    return out


Assignment = tuple[str, str, str]   # (section, key, value)
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")


def assignments(text: str) -> list[Assignment]:
    """The (section, key, value) assignments of one unit file or drop-in, in file order."""
    out: list[Assignment] = []
    current: str | None = None
    for line in _logical_lines(text):
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None or not key.strip():
            continue
        out.append((current, key.strip(), value.strip()))
    return out


def _build(path: str, name: str, parts: list[list[Assignment]], dropins: tuple[str, ...] = ()) -> UnitFile:
    sections: dict[str, dict[str, list[str]]] = {}
    for part in parts:
        for section, key, value in part:
            keys = sections.setdefault(section, {})
            if value == "":
                keys[key] = []
            else:
                keys.setdefault(key, []).append(value)
    frozen = {s: {k: tuple(v) for k, v in keys.items()} for s, keys in sections.items()}
    return UnitFile(path, name, frozen, dropins)


def parse_unit(path: str, text: str) -> UnitFile:
    return _build(path, os.path.basename(path), [assignments(text)])


def _rank(path: str) -> int:
    for rank, directory in enumerate(UNIT_DIRS):
        if path.startswith(directory + "/"):
            return rank
    return len(UNIT_DIRS)


def _template(name: str) -> str | None:
    """"NAME@.service" for an instance "NAME@I.service"; None for anything else."""
    stem, at, rest = name.partition("@")
    dot = rest.rfind(".")
    if not at or not stem or dot <= 0:
        return None
    return f"{stem}@{rest[dot:]}"


@parser("unit_files")
def parse(text: str) -> tuple[UnitFile, ...]:
    units: dict[str, tuple[int, str, list[Assignment]]] = {}     # name -> (rank, path, assignments)
    dropins: dict[str, dict[str, tuple[int, str, list[Assignment]]]] = {}  # unit -> conf name -> ...
    for header, body in split_records(text):
        if not header.startswith("file "):
            continue
        path = header[5:]
        parent, base = os.path.split(path)
        if parent.endswith(".d") and base.endswith(".conf") and os.path.basename(parent) != ".d":
            unit = os.path.basename(parent)[:-2]
            seen = dropins.setdefault(unit, {}).get(base)
            if seen is None or _rank(path) < seen[0]:
                dropins[unit][base] = (_rank(path), path, assignments(body))
            continue
        seen_unit = units.get(base)
        if seen_unit is None or _rank(path) < seen_unit[0]:
            units[base] = (_rank(path), path, assignments(body))
    for unit in dropins:
        template = _template(unit)
        if unit not in units and template in units:
            units[unit] = units[template]
    out = []
    for name, (_, path, parts) in units.items():
        confs = dict(dropins.get(_template(name) or "", {}))
        confs.update(dropins.get(name, {}))         # the instance's X.conf hides the template's
        chain = [confs[c] for c in sorted(confs)]
        out.append(_build(path, name, [parts] + [d[2] for d in chain], tuple(d[1] for d in chain)))
    return tuple(out)
