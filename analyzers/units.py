"""Which systemd unit runs an application: from its cgroup, else from unit files whose
ExecStart runs the same program. Without systemd running (containers, some VMs) the unit
files on disk are the only link between a process and its declared dependencies.
"""
from __future__ import annotations

import os
import shlex
from typing import Iterable, Sequence

from analyzers.base import Evidence

_EXEC_PREFIXES = "-@:+!"


def exec_argv(exec_start: str) -> list[str]:
    try:
        words = shlex.split(exec_start)
    except ValueError:
        words = exec_start.split()
    while words and words[0] and words[0][0] in _EXEC_PREFIXES:
        words[0] = words[0].lstrip(_EXEC_PREFIXES)
        if not words[0]:
            words.pop(0)
    return words


def _score(argv: Sequence[str], cmdline: Sequence[str], exe: str) -> int:
    """How well ExecStart argv describes a process: 0 = not this program."""
    if not argv or not cmdline:
        return 0
    program = argv[0]
    same = program in (cmdline[0], exe) or (
        "/" not in program and os.path.basename(cmdline[0]) == program)
    if not same and len(argv) > 1 and len(cmdline) > 1 and os.path.basename(program) == os.path.basename(cmdline[0]):
        same = True
    if not same:
        return 0
    return 1 + len(set(argv[1:]) & set(cmdline[1:]))


def match_unit(units: Iterable, leader, taken: set[str]) -> tuple[object | None, Evidence | None]:
    """The unit file whose ExecStart best fits `leader` (a process), unless already taken."""
    best, best_score = None, 0
    for unit in units:
        if not unit.name.endswith(".service") or unit.name in taken:
            continue
        for line in unit.exec_start:
            score = _score(exec_argv(line), leader.cmdline, leader.exe)
            if score > best_score:
                best, best_score = unit, score
    if best is None:
        return None, None
    return best, Evidence(best.path, f"ExecStart runs {leader.cmdline[0] if leader.cmdline else leader.exe!r} "
                                     f"like pid {leader.pid}", "unit-exec-start")


def template_of(unit: str) -> str:
    """'postgresql@15-main.service' -> 'postgresql@.service' (systemd's template for an instance)."""
    name, at, rest = unit.partition("@")
    return f"{name}@.{rest.rsplit('.', 1)[-1]}" if at and "." in rest else unit


def unit_dependencies(unit) -> tuple[str, ...]:
    """Units this unit is ordered after or needs, without the systemd targets."""
    names = dict.fromkeys((*unit.after, *unit.requires, *unit.wants))
    return tuple(n for n in names if not n.endswith(".target"))
