"""Section `path_usage`: disk use of the state paths, from migrator's measurement command.

Sample (KiB, regular files, path; "-" where the path is missing or unreadable)::

    2048\t12\t/var/lib/redis
    -\t-\t/var/lib/gone
"""
from __future__ import annotations

from dataclasses import dataclass

from analyzers.base import ParseError, parser


@dataclass(frozen=True)
class PathUsage:
    path: str
    size_bytes: int | None
    file_count: int | None


def _number(text: str) -> int | None:
    return None if text == "-" else int(text)


@parser("path_usage")
def parse(text: str) -> tuple[PathUsage, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        try:
            kib, files, path = parts
            size = _number(kib)
            rows.append(PathUsage(path, None if size is None else size * 1024, _number(files)))
        except ValueError as exc:
            raise ParseError("path_usage", line_no, line) from exc
    return tuple(rows)
