"""Shared vocabulary of the analyzers: sections, evidence, parse errors, the parser registry.

One name per piece of collected data: the probe's section name is the key under which
its parser registers here, the name of a recorded fixture file, and the snapshot key.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

PARSERS: dict[str, Callable[[str], Any]] = {}


def parser(section: str) -> Callable[[Callable[[str], Any]], Callable[[str], Any]]:
    """Register `parse(text)` as the parser of `section`."""

    def register(func: Callable[[str], Any]) -> Callable[[str], Any]:
        PARSERS[section] = func
        return func

    return register


class ParseError(ValueError):
    """A section held a line its parser cannot read."""

    def __init__(self, section: str, line_no: int, line: str, reason: str = "unreadable line"):
        self.section, self.line_no, self.line, self.reason = section, line_no, line[:200], reason
        super().__init__(f"{section}: line {line_no}: {reason}: {self.line!r}")


@dataclass(frozen=True)
class Section:
    """One section of a probe run, as it came from the host.

    rc is the command's exit status, None when it was cut by the output cap or killed
    by its time limit (then `truncated` is True).
    """

    name: str
    text: str
    rc: int | None = 0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.truncated


@dataclass(frozen=True)
class Evidence:
    """Why a finding holds: where it was seen (section, path or line) and by which rule."""

    source: str
    detail: str
    rule: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "detail": self.detail, "rule": self.rule}
