"""Sections `systemctl_unit_files` and `systemctl_units`.

`systemctl list-unit-files --type=service --no-pager` (a VENDOR PRESET or PRESET column
on newer systemd, none on older; a blank line and 'N unit files listed.' footer)::

    UNIT FILE                              STATE           VENDOR PRESET
    apt-daily.service                      static          enabled
    autovt@.service                        alias           -

    2 unit files listed.

`systemctl list-units --type=service --type=timer --all --no-legend --no-pager --plain`::

    cron.service    loaded active running Regular background program processing daemon
    ● foo.service   not-found inactive dead foo.service

A '-' preset reads as None; a leading '●'/'*' marker is dropped. Strict: a row that does
not read raises ParseError.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.base import ParseError, parser

_FOOTER_RE = re.compile(r"^\d+ [\w ]*listed\.?$")


@dataclass(frozen=True)
class UnitFileState:
    unit_file: str
    state: str
    preset: str | None


@dataclass(frozen=True)
class UnitState:
    unit: str
    load: str
    active: str
    sub: str
    description: str


@parser("systemctl_unit_files")
def parse_unit_files(text: str) -> tuple[UnitFileState, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or line.startswith("UNIT FILE") or _FOOTER_RE.match(line.strip()):
            continue
        if len(fields) not in (2, 3):
            raise ParseError("systemctl_unit_files", line_no, line)
        preset = fields[2] if len(fields) == 3 and fields[2] != "-" else None
        rows.append(UnitFileState(fields[0], fields[1], preset))
    return tuple(rows)


@parser("systemctl_units")
def parse_units(text: str) -> tuple[UnitState, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped[:1] in ("\u25cf", "*", "\u00d7"):
            stripped = stripped[1:].strip()
        if not stripped or stripped.startswith("UNIT ") or _FOOTER_RE.match(stripped):
            continue
        fields = stripped.split(None, 4)
        if len(fields) < 4:
            raise ParseError("systemctl_units", line_no, line)
        rows.append(UnitState(fields[0], fields[1], fields[2], fields[3], fields[4] if len(fields) > 4 else ""))
    return tuple(rows)


parse = parse_unit_files
