"""Section `unit_files`: systemd unit files from /etc/systemd/system and /run/systemd/system.

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
        env: dict[str, str] = {}
        for value in self.get("Service", "Environment"):
            try:
                words = shlex.split(value)
            except ValueError:
                words = value.split()
            for word in words:
                key, sep, val = word.partition("=")
                if sep and key:
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


def parse_unit(path: str, text: str) -> UnitFile:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in _logical_lines(text):
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), {})
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None or not key.strip():
            continue
        key, value = key.strip(), value.strip()
        if value == "":
            current[key] = []
        else:
            current.setdefault(key, []).append(value)
    frozen = {s: {k: tuple(v) for k, v in keys.items()} for s, keys in sections.items()}
    return UnitFile(path, os.path.basename(path), frozen)


@parser("unit_files")
def parse(text: str) -> tuple[UnitFile, ...]:
    return tuple(parse_unit(header[5:], body) for header, body in split_records(text)
                 if header.startswith("file "))
