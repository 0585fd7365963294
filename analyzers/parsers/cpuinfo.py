"""Section `cpuinfo`: processor count and first model name from /proc/cpuinfo.

Sample (`grep -c ^processor; grep -m1 '^model name'`)::

    2
    model name\t: Intel(R) Xeon(R) Processor

Empty input reads as CpuInfo(0, ''). Strict: other lines raise ParseError.
"""
from __future__ import annotations

from dataclasses import dataclass

from analyzers.base import ParseError, parser


@dataclass(frozen=True)
class CpuInfo:
    count: int
    model: str


@parser("cpuinfo")
def parse(text: str) -> CpuInfo:
    count, model = 0, ""
    for line_no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.isdigit():
            count = int(stripped)
        elif stripped.startswith("model name") and ":" in stripped:
            model = model or stripped.split(":", 1)[1].strip()
        else:
            raise ParseError("cpuinfo", line_no, line)
    return CpuInfo(count, model)
