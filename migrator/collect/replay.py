"""Recorded hosts: one file per section (named after it) plus meta.json with each status.

A recording reads back as the same `Section` mapping a live scan gives, so every analyzer
and planner test can run on real output without a host.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from analyzers.base import Section

META = "meta.json"


def write_case(directory: Path, sections: Mapping[str, Section]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    meta = {}
    for name, section in sections.items():
        (directory / f"{name}.txt").write_text(section.text, encoding="utf-8")
        meta[name] = {"rc": section.rc, "truncated": section.truncated}
    (directory / META).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


def read_case(directory: Path) -> dict[str, Section]:
    meta = json.loads((directory / META).read_text())
    return {name: Section(name, (directory / f"{name}.txt").read_text(encoding="utf-8"),
                          info.get("rc"), info.get("truncated", False))
            for name, info in sorted(meta.items())}
