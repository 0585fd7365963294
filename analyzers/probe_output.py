"""Split the probe's framed output into `Section`s.

The probe (migrator/collect/probe.sh) frames every section with lines that carry the
per-run nonce, each printed with one '\\n' before it::

    \\n@@NONCE@@ begin NAME\\n
    <raw output, capped>
    \\n@@NONCE@@ rc NAME CODE\\n     (absent when the cap cut the output)
    \\n@@NONCE@@ end NAME\\n
    ...
    \\n@@NONCE@@ done\\n

Reading rules:

* The bytes are decoded as UTF-8 with errors="replace" (the ASCII markers survive any
  invalid byte next to them). Only marker *lines* (a whole line `@@NONCE@@ begin|end NAME`
  or `@@NONCE@@ done`) frame; the exactly one '\\n' the probe prints before each marker is
  removed, so a section's text is what its command printed.
* A section without its rc marker (cut by the output cap, or the stream ended before its
  end marker) gets ``rc=None, truncated=True``; a trailing partial rc/end marker left by the
  cap is dropped. Exit status 137 (SIGKILL: what ``timeout -s KILL`` returns when the time
  limit hits) also reads as ``rc=None, truncated=True``.
* A section that never ends (stream cut) stops at the next real begin/done marker.
  The first section of a name wins; later duplicates are ignored.
* Version 3's bundles (whole files read in one grep, see analyzers/probe_bundle.py) are cut
  back into the sections earlier versions printed, so every reader sees the same sections.

Sub-records. unit_files and crontabs mark each file with ``@@NONCE@@ file PATH``;
processes mark each process with ``@@NONCE@@ pid N`` and each of its files with
``@@NONCE@@ f NAME``. Parsers never see the nonce: in those sections the real marker prefix
at the start of such a line is replaced by the fixed token `MARK` (``"\\x1eM\\x1e "``, using
the ASCII record separator U+001E). To keep the token unforgeable, every U+001E already
in the decoded data is first replaced by U+FFFD, in every section, so a line of section
text starts with `MARK` only when the probe itself wrote that marker line with the secret
nonce. A forged marker without the nonce (``@@other@@ file /x``) stays plain content; NUL
bytes (cmdline) pass through untouched; the text stays valid UTF-8, so recordings replay
unchanged. Parsers cut such a section with `split_records`.
"""
from __future__ import annotations

import re
from typing import Mapping

from analyzers.base import Section

MARK = "\x1eM\x1e "
_RS = "\x1e"
SUBRECORD_KINDS: dict[str, tuple[str, ...]] = {
    "processes": ("pid", "f"),
    "unit_files": ("file",),
    "crontabs": ("file",),
    "configs": ("file", "f"),
    "certificates": ("file",),
}
KILLED = 137
_NONCE = re.compile(r"[A-Za-z0-9_.-]+")


class SplitSections(dict):
    """name -> Section, in probe order; `complete` is True when the `done` marker was seen."""

    complete: bool = False


def _prefix(nonce: str) -> str:
    return f"@@{nonce}@@ "


def _strip_partial_marker(body: str, prefix: str, name: str) -> str:
    """Drop a marker line the output cap cut short at the very end of `body`."""
    idx = body.rfind("\n")
    if idx < 0:
        return body
    tail = body[idx + 1:]
    if not tail:
        return body
    rc_head = f"{prefix}rc {name} "
    for full in (rc_head, f"{prefix}end {name}", f"{prefix}done"):
        if full.startswith(tail):
            return body[:idx]
    if re.fullmatch(re.escape(rc_head) + r"-?\d*", tail):
        return body[:idx]
    return body


def _mark_subrecords(text: str, prefix: str, kinds: tuple[str, ...]) -> str:
    pattern = re.compile(r"^" + re.escape(prefix) + r"(?=(?:" + "|".join(kinds) + r") )", re.M)
    return pattern.sub(MARK, text)


def split_sections(data: bytes, nonce: str) -> SplitSections:
    """Sections of one probe run by name (see the module docstring for the rules).

    Never raises on odd or hostile content; raises ValueError for an unusable nonce.
    """
    if not _NONCE.fullmatch(nonce or ""):
        raise ValueError(f"not a probe nonce: {nonce!r}")
    text = data.decode("utf-8", errors="replace").replace(_RS, "\ufffd")
    prefix = _prefix(nonce)
    frame = re.compile(r"^" + re.escape(prefix) + r"(?:(begin|end) (\S+)|(done))\r?$", re.M)
    rc_re = re.compile(r"\n" + re.escape(prefix) + r"rc (\S+) (-?\d+)\r?\n\Z")
    sections = SplitSections()
    state: dict = {"name": None, "start": 0}

    def close(end: int, ended: bool) -> None:
        name = state["name"]
        state["name"] = None
        if name is None:
            return
        body = text[state["start"]:end]
        if ended and body.endswith("\n"):
            body = body[:-1]  # the '\n' the probe prints before the closing marker
        rc: int | None = None
        truncated = True
        match = rc_re.search("\n" + body if body.startswith(prefix) else body)
        if match and match.group(1) == name:
            body = body[:max(match.start() - (1 if body.startswith(prefix) else 0), 0)]
            rc, truncated = int(match.group(2)), False
            if rc == KILLED:
                rc, truncated = None, True
        else:
            if not ended and body.endswith("\n"):
                body = body[:-1]
            body = _strip_partial_marker(body, prefix, name)
        if name in SUBRECORD_KINDS:
            body = _mark_subrecords(body, prefix, SUBRECORD_KINDS[name])
        if name not in sections:
            sections[name] = Section(name, body, rc, truncated)

    for match in frame.finditer(text):
        kind, name, done = match.groups()
        if done:
            close(match.start(), True)
            sections.complete = True
            break
        if kind == "begin":
            close(match.start(), True)
            state["name"], state["start"] = name, min(match.end() + 1, len(text))
        elif name == state["name"]:
            close(match.start(), True)
    else:
        close(len(text), False)
    from analyzers.probe_bundle import unbundle     # (it imports MARK from here)
    unbundle(sections)
    return sections


def probe_done(data: bytes, nonce: str) -> bool:
    """True when the probe ran to its final `done` marker."""
    if not _NONCE.fullmatch(nonce or ""):
        return False
    return re.search(rb"(?:\A|\n)" + re.escape(_prefix(nonce).encode()) + rb"done\r?(?:\n|\Z)", data) is not None


probe_complete = probe_done


def frame_sections(sections: Mapping[str, Section], nonce: str) -> bytes:
    """The probe output that `split_sections` reads back as `sections` (for recorded cases)."""
    if not _NONCE.fullmatch(nonce or ""):
        raise ValueError(f"not a probe nonce: {nonce!r}")
    prefix = _prefix(nonce)
    out = []
    for name, section in sections.items():
        out.append(f"\n{prefix}begin {name}\n{section.text.replace(MARK, prefix)}")
        if section.rc is not None:
            out.append(f"\n{prefix}rc {name} {section.rc}\n")
        out.append(f"\n{prefix}end {name}\n")
    out.append(f"\n{prefix}done\n")
    return "".join(out).encode("utf-8")


def split_records(text: str) -> list[tuple[str, str]]:
    """Cut a section with sub-records into (header, body) pairs.

    `header` is the marker line after `MARK` ("file /etc/crontab", "pid 12", "f stat");
    `body` is the text up to the next marker line, without the one '\\n' the probe prints
    before a marker. Non-blank text before the first marker comes under the header "".
    """
    out: list[tuple[str, str]] = []
    header = ""
    lines: list[str] = []
    started = False
    for line in text.split("\n"):
        if line.startswith(MARK):
            if started or any(lines):
                out.append((header, "\n".join(lines)))
            header, lines, started = line[len(MARK):].rstrip("\r"), [], True
        else:
            lines.append(line)
    if started or any(lines):
        out.append((header, "\n".join(lines)))
    return out
