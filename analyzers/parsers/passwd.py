"""Section `passwd`: `getent passwd` (or /etc/passwd) -> {uid: name}; the first name of a uid wins.

Sample::

    root:x:0:0:root:/root:/bin/bash
    redis:x:101:104::/var/lib/redis:/usr/sbin/nologin

Naturally noisy (NIS '+' entries, comments, stray lines): lines without a numeric uid are skipped.
"""
from __future__ import annotations

from analyzers.base import parser


@parser("passwd")
def parse(text: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) < 3 or not parts[0] or not parts[2].isdigit():
            continue
        out.setdefault(int(parts[2]), parts[0])
    return out
