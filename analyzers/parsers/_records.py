"""Sub-records inside one section: the `file PATH` / `pid N` / `f NAME` markers.

The probe marks each file (unit_files, crontabs) and each process part (processes) with a
line `@@NONCE@@ KIND ARG`. Parsers receive only a section's text, never the nonce, so
`probe_output.split_sections` rewrites those marker lines into a fixed, nonce-free form:

    @@M@@ file /etc/crontab          a real marker (its KIND is one the section uses)
    @@M@@ lit @@M@@ file /etc/evil   a content line that began with `@@M@@`, kept verbatim

Every content line that starts with `@@M@@` is escaped as `@@M@@ lit <line>`, so a host
cannot forge a record boundary by writing `@@M@@ ...` into a crontab or a command line: only
lines that carried the secret nonce become markers. The result is plain text (it survives
UTF-8 files, so recordings replay unchanged) and `encode`/`records` are exact inverses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

MARK = "@@M@@"
LITERAL = "lit"
# The marker kinds each multi-record section carries.
KINDS: dict[str, frozenset[str]] = {
    "processes": frozenset({"pid", "f"}),
    "unit_files": frozenset({"file"}),
    "crontabs": frozenset({"file"}),
}


def encode(text: str, nonce_marker: str, kinds: frozenset[str]) -> str:
    """Rewrite `nonce_marker KIND ARG` lines to `@@M@@ KIND ARG`; escape content that looks alike."""
    out = []
    prefix = nonce_marker + " "
    for line in text.split("\n"):
        if line.startswith(prefix) and line[len(prefix):].split(" ", 1)[0] in kinds:
            out.append(MARK + line[len(nonce_marker):])
        elif line.startswith(MARK):
            out.append(f"{MARK} {LITERAL} {line}")
        else:
            out.append(line)
    return "\n".join(out)


@dataclass(frozen=True)
class Record:
    """One marked record: its kind and argument, the marker's line number and its content."""

    kind: str
    arg: str
    line_no: int
    text: str

    @property
    def first_line_no(self) -> int:
        return self.line_no + 1


def records(text: str, kinds: frozenset[str]) -> tuple[list[tuple[int, str]], list[Record]]:
    """Split encoded text into (lines before the first marker, the records in order).

    A record's text is exactly what the probe printed between its marker and the next one
    (the probe puts one newline before each marker; it is not part of the content).
    """
    preamble: list[tuple[int, str]] = []
    found: list[Record] = []
    current: tuple[str, str, int] | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            found.append(Record(current[0], current[1], current[2], "\n".join(body)))

    for line_no, line in enumerate(text.split("\n"), 1):
        if line.startswith(MARK + " "):
            kind, _, arg = line[len(MARK) + 1:].partition(" ")
            if kind == LITERAL:
                line = arg
            elif kind in kinds:
                close()
                current, body = (kind, arg, line_no), []
                continue
        if current is None:
            preamble.append((line_no, line))
        else:
            body.append(line)
    close()
    return preamble, found


def iter_lines(record: Record) -> Iterator[tuple[int, str]]:
    """The record's lines with their line numbers in the section text."""
    for offset, line in enumerate(record.text.split("\n")):
        yield record.first_line_no + offset, line
