"""Small sections: probe_info, os_release, hostname, cpuinfo, meminfo, uptime, passwd."""
from __future__ import annotations

import pytest

from analyzers.base import ParseError
from analyzers.parsers import cpuinfo, hostname, meminfo, os_release, passwd, probe_info, uptime
from parser_fixtures import section


def test_probe_info():
    info = probe_info.parse(section("probe_info", "debian12"))
    assert info["version"] == "1" and info["clk_tck"] == "100" and "ss" in info["tools"].split()
    info = probe_info.parse(section("probe_info", "busybox"))
    assert info["uname"] == "Linux 5.15.0-105-generic aarch64" and info["tools"] == "ss ip df du find apk"
    assert probe_info.parse("") == {}
    with pytest.raises(ParseError):
        probe_info.parse("version=1\ngarbage\n")


def test_os_release():
    assert os_release.parse(section("os_release", "debian12"))["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"
    rhel = os_release.parse(section("os_release", "rhel9"))
    assert (rhel["ID"], rhel["VERSION_ID"], rhel["REDHAT_SUPPORT_PRODUCT_VERSION"]) == ("rhel", "9.4", "9.4")
    alpine = os_release.parse(section("os_release", "alpine"))
    assert (alpine["ID"], alpine["VERSION_ID"]) == ("alpine", "3.20.0")
    assert os_release.parse("") == {}
    assert os_release.parse('garbage\n\x00\nNAME="a \\"b\\""\n') == {"NAME": 'a "b"'}


def test_hostname():
    assert hostname.parse(section("hostname", "debian12")) == "vm"
    assert hostname.parse(section("hostname", "fqdn")) == "db-01.prod.example.internal"
    assert hostname.parse("") == ""
    with pytest.raises(ParseError):
        hostname.parse("two words\n")


def test_cpuinfo():
    assert cpuinfo.parse(section("cpuinfo", "debian12")) == cpuinfo.CpuInfo(2, "Intel(R) Xeon(R) Processor")
    assert cpuinfo.parse(section("cpuinfo", "arm64")) == cpuinfo.CpuInfo(8, "")
    assert cpuinfo.parse("") == cpuinfo.CpuInfo(0, "")
    with pytest.raises(ParseError):
        cpuinfo.parse("garbage\n")


def test_meminfo():
    mem = meminfo.parse(section("meminfo", "debian12"))
    assert mem["MemTotal"] == 24683792 and "Active(anon)" in mem
    mem = meminfo.parse(section("meminfo", "centos7"))
    assert mem["MemTotal"] == 3880192 and mem["HugePages_Total"] == 0
    assert meminfo.parse("") == {}
    with pytest.raises(ParseError):
        meminfo.parse("MemTotal: lots kB\n")


def test_uptime():
    assert uptime.parse(section("uptime", "debian12")) == 1777.84
    assert uptime.parse(section("uptime", "long")) == 8649132.07
    assert uptime.parse("") == 0.0
    with pytest.raises(ParseError):
        uptime.parse("garbage\n")


def test_passwd():
    users = passwd.parse(section("passwd", "debian12"))
    assert users[0] == "root" and users[65534] == "nobody"
    users = passwd.parse(section("passwd", "nis"))
    assert users == {0: "root", 1: "bin", 26: "postgres", 1001: "app user"}
    assert passwd.parse("") == {}
    assert passwd.parse("garbage\n\x00:x:y\n") == {}


@pytest.mark.parametrize("text,zone", [
    ("Europe/Berlin\n", "Europe/Berlin"),
    ("lrwxrwxrwx 1 root root 38 Jan 1 2024 /etc/localtime -> ../usr/share/zoneinfo/America/New_York\n",
     "America/New_York"),
    ("Etc/UTC", "Etc/UTC"),
    ("-rw-r--r-- 1 root root 118 Jan 1 2024 /etc/localtime\n", ""),
    ("<script>alert(1)</script>", ""),
    ("", "")])
def test_timezone(text, zone):
    from analyzers.parsers.timezone import parse
    assert parse(text) == zone
