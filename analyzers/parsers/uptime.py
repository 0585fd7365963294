"""Section `uptime`: /proc/uptime -> seconds since boot (float).

Sample::

    1777.84 3441.37

Empty input reads as 0.0. Strict: anything else raises ParseError.
"""
from __future__ import annotations

from analyzers.base import ParseError, parser


@parser("uptime")
def parse(text: str) -> float:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return 0.0
    try:
        if len(lines) != 1:
            raise ValueError("more than one line")
        return float(lines[0].split()[0])
    except ValueError as exc:
        raise ParseError("uptime", 1 + text.splitlines().index(lines[-1]), lines[-1]) from exc
