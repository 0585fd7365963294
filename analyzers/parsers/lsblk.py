"""Section `lsblk`: `lsblk -P -b -o NAME,KNAME,MAJ:MIN,RM,SIZE,RO,TYPE,MOUNTPOINT,FSTYPE`.

Sample (values may carry `\\xHH` escapes; newer util-linux spells the key MAJ_MIN)::

    NAME="vda" KNAME="vda" MAJ:MIN="254:0" RM="0" SIZE="274877906944" RO="0" TYPE="disk" MOUNTPOINT="/" FSTYPE="ext4"

`lsblk_tree(text)` reads the plain tree output instead (default columns NAME MAJ:MIN RM
SIZE RO TYPE MOUNTPOINT[S]; ASCII or UTF-8 tree glyphs; a '(dm-0)' kname suffix; a long
name wrapped onto its own line), with `parent` from the tree and sizes as printed ('136.7G').
Empty strings read as None. Strict: a line that does not read raises ParseError.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.base import ParseError, parser

_PAIR_RE = re.compile(r'([A-Z][A-Z0-9:_%-]*)="((?:[^"\\]|\\.)*)"')
_HEX_RE = re.compile(r"\\x([0-9a-fA-F]{2})")
_TREE_CHARS = " |`-\u251c\u2514\u2500\u2502"
_ROW_RE = re.compile(r"^(?P<majmin>\d+:\d+)\s+(?P<rm>[01])\s+(?P<size>\S+)\s+(?P<ro>[01])\s+(?P<type>\S+)"
                     r"(?:\s+(?P<mnt>\S.*?))?\s*$")
_NAME_RE = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<kname>[^)\s]+)\))?(?:\s+(?P<rest>.*))?$")


@dataclass(frozen=True)
class BlockDevice:
    name: str
    kname: str | None
    maj_min: str
    rm: bool
    size: int | str
    ro: bool
    type: str
    mountpoint: str | None
    fstype: str | None = None
    parent: str | None = None


def _unescape(text: str) -> str:
    text = _HEX_RE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text.replace('\\"', '"').replace("\\\\", "\\")


@parser("lsblk")
def parse(text: str) -> tuple[BlockDevice, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        values = {k.replace("_", ":") if k == "MAJ_MIN" else k: _unescape(v) for k, v in _PAIR_RE.findall(line)}
        try:
            name = values["NAME"]
            size = values.get("SIZE", "")
            rows.append(BlockDevice(
                name=name, kname=values.get("KNAME") or None, maj_min=values.get("MAJ:MIN", ""),
                rm=values.get("RM", "0").strip() == "1", size=int(size) if size.isdigit() else size,
                ro=values.get("RO", "0").strip() == "1", type=values.get("TYPE", ""),
                mountpoint=values.get("MOUNTPOINT") or values.get("MOUNTPOINTS") or None,
                fstype=values.get("FSTYPE") or None, parent=values.get("PKNAME") or None))
        except KeyError as exc:
            raise ParseError("lsblk", line_no, line) from exc
    return tuple(rows)


def lsblk_tree(text: str) -> tuple[BlockDevice, ...]:
    """Plain `lsblk` tree output -> devices with their parent (see the module docstring)."""
    rows: list[BlockDevice] = []
    stack: list[str] = []          # names by depth
    pending: tuple[int, str, int, str, str | None] | None = None   # line_no, line, depth, name, kname

    def add(depth: int, name: str, kname: str | None, match: re.Match) -> None:
        del stack[depth:]
        parent = stack[depth - 1] if depth > 0 and len(stack) >= depth else None
        stack.append(name)
        rows.append(BlockDevice(name, kname, match.group("majmin"), match.group("rm") == "1",
                                match.group("size"), match.group("ro") == "1", match.group("type"),
                                match.group("mnt") or None, None, parent))

    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip() or (line.startswith("NAME") and not rows and pending is None):
            continue
        if pending is not None:
            match = _ROW_RE.match(line.strip())
            if not match:
                raise ParseError("lsblk", pending[0], pending[1], "wrapped row without its columns")
            add(pending[2], pending[3], pending[4], match)
            pending = None
            continue
        body = line.lstrip(_TREE_CHARS)
        prefix = len(line) - len(body)
        depth = (prefix + 1) // 2
        name_match = _NAME_RE.match(body)
        if not name_match:
            raise ParseError("lsblk", line_no, line)
        rest = name_match.group("rest")
        if not rest:
            pending = (line_no, line, depth, name_match.group("name"), name_match.group("kname"))
            continue
        match = _ROW_RE.match(rest)
        if not match:
            raise ParseError("lsblk", line_no, line)
        add(depth, name_match.group("name"), name_match.group("kname"), match)
    if pending is not None:
        raise ParseError("lsblk", pending[0], pending[1], "wrapped row without its columns")
    return tuple(rows)
