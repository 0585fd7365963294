"""Section `hostname`: /proc/sys/kernel/hostname -> the host name.

Sample::

    web01

Empty input reads as ''. Strict: more than one word raises ParseError.
"""
from __future__ import annotations

from analyzers.base import ParseError, parser


@parser("hostname")
def parse(text: str) -> str:
    name = text.strip()
    if any(c.isspace() for c in name):
        raise ParseError("hostname", 1, text.strip().splitlines()[0] if name else text)
    return name
