"""Section `mounts`: /proc/mounts, with octal escapes (\\040 space, \\011 tab, \\012, \\134) decoded.

Sample::

    /dev/vda / ext4 rw,relatime,discard 0 0
    //192.0.2.10/Photos\\040and\\040Videos /mnt/smb/media cifs rw,relatime,vers=2.1 0 0

Strict: a line without six fields raises ParseError.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.base import ParseError, parser

_OCTAL_RE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    fstype: str
    options: tuple[str, ...]
    dump: int
    pass_: int


def unescape(text: str) -> str:
    if "\\" not in text:          # the usual case, and a regex substitution each is most of the parse
        return text
    return _OCTAL_RE.sub(lambda m: chr(int(m.group(1), 8)), text)


@parser("mounts")
def parse(text: str) -> tuple[Mount, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            if len(fields) != 6:
                raise ValueError("not six fields")
            source, target, fstype, options, dump, pass_ = fields
            rows.append(Mount(unescape(source), unescape(target), unescape(fstype),
                              tuple(unescape(o) for o in options.split(",") if o), int(dump), int(pass_)))
        except ValueError as exc:
            raise ParseError("mounts", line_no, line) from exc
    return tuple(rows)
