"""Section `os_release`: /etc/os-release (shell-style KEY=value, values maybe quoted).

Sample::

    PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
    VERSION_ID="12"
    ID=debian

Naturally noisy (some distributions ship stray lines): comments and lines that are not
KEY=value are skipped.
"""
from __future__ import annotations

import re

from analyzers.base import parser

_LINE_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_ESCAPE_RE = re.compile(r"\\([\\$\"`])")


@parser("os_release")
def parse(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE_RE.match(line.strip())
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = _ESCAPE_RE.sub(r"\1", value[1:-1])
        elif len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        out[key] = value
    return out
