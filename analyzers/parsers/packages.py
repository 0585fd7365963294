"""Sections `packages_dpkg`, `packages_rpm`, `packages_apk`: installed packages and versions.

Samples::

    packages_dpkg (dpkg-query -W -f='${Package}\\t${Version}\\t${db:Status-Abbrev}\\n'):
        redis-server\\t5:7.0.15-1~deb12u1\\tii
    packages_rpm (rpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n'):
        redis\\t7.2.4-1.el9
    packages_apk (apk info -v):
        redis-7.2.5-r0

dpkg keeps installed ('ii') and held ('hi') packages only. Strict: a line that does not
read raises ParseError.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.base import ParseError, parser

_APK_RE = re.compile(r"^(?P<name>.+?)-(?P<version>\d[^-]*-r\d+)$")


@dataclass(frozen=True)
class Package:
    name: str
    version: str


@parser("packages_dpkg")
def parse_dpkg(text: str) -> tuple[Package, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not parts[0]:
            raise ParseError("packages_dpkg", line_no, line)
        if parts[2].strip()[:2] in ("ii", "hi"):
            rows.append(Package(parts[0].split(":")[0] if ":" in parts[0] else parts[0], parts[1]))
    return tuple(rows)


@parser("packages_rpm")
def parse_rpm(text: str) -> tuple[Package, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ParseError("packages_rpm", line_no, line)
        rows.append(Package(parts[0], parts[1]))
    return tuple(rows)


@parser("packages_apk")
def parse_apk(text: str) -> tuple[Package, ...]:
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _APK_RE.match(line.strip())
        if not match:
            raise ParseError("packages_apk", line_no, line)
        rows.append(Package(match.group("name"), match.group("version")))
    return tuple(rows)


parse = parse_dpkg
