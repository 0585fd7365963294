"""Parse every section of a snapshot once and keep what could not be read, as data.

`HostFacts` is what the combiners work on: typed records from each parser, and a list of
plain-words notes about what was missing or unreadable on this host.
"""
from __future__ import annotations

import importlib
import ipaddress
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

from analyzers import parsers as _parsers_pkg
from analyzers.base import PARSERS, ParseError, Section

# Sections the probe may leave out by design (a tool missing, another distribution).
OPTIONAL = {"ss", "ip_addr", "lsblk", "systemctl_units", "systemctl_unit_files",
            "packages_dpkg", "packages_rpm", "packages_apk", "path_usage"}


@lru_cache(maxsize=1)
def load_parsers() -> Mapping[str, Any]:
    """Import every module of analyzers.parsers so each registers under its section name."""
    for info in pkgutil.iter_modules(_parsers_pkg.__path__):
        importlib.import_module(f"{_parsers_pkg.__name__}.{info.name}")
    return PARSERS


@dataclass
class HostFacts:
    parsed: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def get(self, name: str, default: Any = ()) -> Any:
        return self.parsed.get(name, default)

    @property
    def tools(self) -> set[str]:
        return set(self.get("probe_info", {}).get("tools", "").split())

    @property
    def clock_ticks(self) -> int:
        try:
            return int(self.get("probe_info", {}).get("clk_tck", 100)) or 100
        except ValueError:
            return 100

    def addresses(self) -> tuple[str, ...]:
        """Every address this host owns, from `ip` or else from /proc."""
        found: list[str] = [a.address for a in self.get("ip_addr")]
        if not found:
            found = [a.address for a in self.get("proc_net_if_inet6")] + list(self.get("proc_net_fib_trie"))
        seen = dict.fromkeys(str(ipaddress.ip_address(a.split("%")[0])) for a in found if _is_ip(a))
        return tuple(seen)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%")[0])
        return True
    except ValueError:
        return False


def parse_sections(sections: Mapping[str, Section]) -> HostFacts:
    """Run each section through its parser; a failure becomes a note, never an exception."""
    registry = load_parsers()
    facts = HostFacts()
    for name, section in sections.items():
        func = registry.get(name)
        if func is None:
            continue
        if section.truncated:
            facts.notes.append(f"{name}: output cut by its size or time limit; read what arrived")
        elif section.rc not in (0, None) and not section.text.strip():
            facts.notes.append(f"{name}: the command failed (exit status {section.rc})")
            continue
        try:
            facts.parsed[name] = func(section.text)
        except ParseError as exc:
            facts.notes.append(f"{name}: unreadable output ({exc})")
        except (ValueError, IndexError) as exc:
            facts.notes.append(f"{name}: unreadable output ({type(exc).__name__}: {exc})")
    for name in ("processes", "proc_net_tcp", "mounts"):
        if name not in facts.parsed:
            facts.notes.append(f"{name}: not collected; findings that need it are incomplete")
    if "systemctl_units" not in sections:
        facts.notes.append("systemctl: not available or systemd not running; unit files read from disk")
    if not any(n in sections for n in ("packages_dpkg", "packages_rpm", "packages_apk")):
        facts.notes.append("packages: no dpkg, rpm or apk; versions come from binaries only")
    return facts
