"""Section `probe_info`: key=value facts the probe reports about itself.

Sample::

    version=1
    uid=0
    clk_tck=100
    tools= timeout ss ip systemctl

Strict: a line without '=' raises ParseError.
"""
from __future__ import annotations

from analyzers.base import ParseError, parser


@parser("probe_info")
def parse(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or any(c.isspace() for c in key.strip()):
            raise ParseError("probe_info", line_no, line)
        out[key.strip()] = value.strip()
    return out
