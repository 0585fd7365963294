"""Sections packages_dpkg, packages_rpm, packages_apk."""
from __future__ import annotations

import pytest

from analyzers.base import ParseError
from analyzers.parsers.packages import Package, parse_apk, parse_dpkg, parse_rpm
from parser_fixtures import section


def test_dpkg():
    rows = {p.name: p.version for p in parse_dpkg(section("packages_dpkg", "debian12"))}
    assert rows["adduser"] == "3.134" and rows["redis-server"].startswith("5:7.0.15")
    rows = parse_dpkg(section("packages_dpkg", "with_removed"))
    assert [p.name for p in rows] == ["libc6", "nginx", "nginx-core", "postgresql-15", "redis-server"]
    assert Package("redis-server", "5:7.0.15-1~deb12u1") in rows


def test_rpm():
    rows = parse_rpm(section("packages_rpm", "rhel9"))
    assert Package("postgresql-server", "13.14-1.el9_3") in rows and len(rows) == 5
    assert parse_rpm(section("packages_rpm", "amzn2"))[1] == Package("mariadb-server", "10.5.23-1.amzn2")


def test_apk():
    rows = parse_apk(section("packages_apk", "alpine320"))
    assert rows[0] == Package("alpine-baselayout", "3.6.5-r0") and Package("redis", "7.2.5-r0") in rows
    rows = parse_apk(section("packages_apk", "alpine318"))
    assert rows[0] == Package("ca-certificates-bundle", "20240226-r0") and rows[2] == Package("postgresql15", "15.7-r0")


@pytest.mark.parametrize("func", [parse_dpkg, parse_rpm, parse_apk])
def test_empty_and_garbage(func):
    assert func("") == ()
    with pytest.raises(ParseError):
        func("this is not a package line at all\n")
