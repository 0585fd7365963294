"""Section `meminfo`: /proc/meminfo -> {key: value} (kB; counts such as HugePages_Total as is).

Sample::

    MemTotal:       24683792 kB
    HugePages_Total:       0

Strict: a line that does not read raises ParseError.
"""
from __future__ import annotations

from analyzers.base import ParseError, parser


@parser("meminfo")
def parse(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        fields = value.split()
        try:
            if not sep or not key.strip() or len(fields) not in (1, 2) or fields[1:] not in ([], ["kB"]):
                raise ValueError("not 'Key: N [kB]'")
            out[key.strip()] = int(fields[0])
        except ValueError as exc:
            raise ParseError("meminfo", line_no, line) from exc
    return out
