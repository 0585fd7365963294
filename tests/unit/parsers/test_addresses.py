"""Sections ip_addr, proc_net_if_inet6, proc_net_fib_trie."""
from __future__ import annotations

import pytest

from analyzers.base import ParseError
from analyzers.parsers import ip_addr, proc_net_fib_trie, proc_net_if_inet6
from analyzers.parsers.ip_addr import Address
from parser_fixtures import section


def test_ip_addr_recorded():
    assert ip_addr.parse(section("ip_addr", "debian12")) == (
        Address("lo", 4, "127.0.0.1", 8), Address("lo", 6, "::1", 128), Address("eth0", 4, "192.0.2.2", 24),
        Address("eth0", 6, "fd00::2", 64), Address("eth0", 6, "fe80::fc:ff:fe00:1", 64))


def test_ip_addr_docker_host():
    rows = ip_addr.parse(section("ip_addr", "docker_host"))
    assert Address("veth1a2b3c", 6, "fe80::9c2e:4ff:fe11:2233", 64) in rows
    assert Address("tun0", 4, "10.8.0.1", 32) in rows
    assert Address("docker0", 4, "172.17.0.1", 16) in rows and len(rows) == 7


def test_ip_addr_empty_and_garbage():
    assert ip_addr.parse("") == ()
    assert ip_addr.parse("2: eth0    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff\n") == ()
    with pytest.raises(ParseError):
        ip_addr.parse("2: eth0 inet not-an-ip/24 scope global\n")
    with pytest.raises(ParseError):
        ip_addr.parse("garbage\n")


def test_if_inet6():
    assert proc_net_if_inet6.parse(section("proc_net_if_inet6", "debian12")) == (
        Address("eth0", 6, "fe80::fc:ff:fe00:1", 64), Address("lo", 6, "::1", 128), Address("eth0", 6, "fd00::2", 64))
    rows = proc_net_if_inet6.parse(section("proc_net_if_inet6", "two_nics"))
    assert [r.address for r in rows] == ["::1", "fe80::250:568f:ffe9:a1b2", "2001:db8::15", "fe80::9c2e:4ff:fe11:2233"]
    assert rows[3].interface == "veth1a2b3c"


def test_if_inet6_empty_and_garbage():
    assert proc_net_if_inet6.parse("") == ()
    with pytest.raises(ParseError):
        proc_net_if_inet6.parse("zz 01 80 10 80 lo\n")


def test_fib_trie():
    assert proc_net_fib_trie.parse(section("proc_net_fib_trie", "debian12")) == ("127.0.0.1", "192.0.2.2")
    assert proc_net_fib_trie.parse(section("proc_net_fib_trie", "two_nics")) == ("10.20.0.15", "127.0.0.1", "172.17.0.1")


def test_fib_trie_empty_and_garbage():
    assert proc_net_fib_trie.parse("") == ()
    assert proc_net_fib_trie.parse("/32 host LOCAL\n|-- not.an.ip\n   /32 host LOCAL\n") == ()
