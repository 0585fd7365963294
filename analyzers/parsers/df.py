"""Section `df`: `df -kP`; also plain `df -k`, where a long device name wraps onto its own line.

Sample::

    Filesystem     1024-blocks     Used Available Capacity Mounted on
    /dev/vda         264212084 23507312  82883600      23% /
    /dev/mapper/vg_data-lv_pgdata
                     101541152    284192  96015720   1% /var/lib/pgsql

Mount points with spaces survive (everything after the percentage). '-' sizes read as 0,
a '-' percentage as None. Strict: a row that does not read raises ParseError.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.base import ParseError, parser

_NUMS = r"(?P<size>\d+|-)\s+(?P<used>\d+|-)\s+(?P<avail>\d+|-)\s+(?P<pct>\d+%|-)\s+(?P<mnt>\S.*?)\s*$"
_ROW_RE = re.compile(r"^(?P<fs>\S.*?)\s+" + _NUMS)
_CONT_RE = re.compile(r"^\s+" + _NUMS)


@dataclass(frozen=True)
class DfEntry:
    filesystem: str
    size_kib: int
    used_kib: int
    available_kib: int
    use_percent: int | None
    mounted_on: str


def _n(text: str) -> int:
    return 0 if text == "-" else int(text)


def _entry(fs: str, m: re.Match) -> DfEntry:
    pct = m.group("pct")
    return DfEntry(fs, _n(m.group("size")), _n(m.group("used")), _n(m.group("avail")),
                   None if pct == "-" else int(pct[:-1]), m.group("mnt"))


@parser("df")
def parse(text: str) -> tuple[DfEntry, ...]:
    rows = []
    pending: tuple[int, str] | None = None
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip() or (line.startswith("Filesystem") and not rows and pending is None):
            continue
        if pending is not None:
            match = _CONT_RE.match(line)
            if not match:
                raise ParseError("df", pending[0], pending[1], "wrapped row without its numbers")
            rows.append(_entry(pending[1].strip(), match))
            pending = None
            continue
        match = _ROW_RE.match(line)
        if match:
            rows.append(_entry(match.group("fs"), match))
        elif len(line.split()) == 1 and not line[0].isspace():
            pending = (line_no, line)
        else:
            raise ParseError("df", line_no, line)
    if pending is not None:
        raise ParseError("df", pending[0], pending[1], "wrapped row without its numbers")
    return tuple(rows)
