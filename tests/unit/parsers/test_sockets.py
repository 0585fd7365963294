"""Sections proc_net_tcp/tcp6/udp/udp6 and ss."""
from __future__ import annotations

import pytest

from analyzers.base import ParseError
from analyzers.parsers import proc_net, ss
from parser_fixtures import section


def test_tcp_recorded():
    rows = proc_net.parse_tcp(section("proc_net_tcp", "debian12"))
    assert len(rows) == 13
    first = rows[0]
    assert (first.protocol, first.family, first.local_address, first.local_port, first.state, first.uid,
            first.inode) == ("tcp", 4, "127.0.0.1", 6379, "LISTEN", 0, 5141)
    assert rows[7].local_address == "0.0.0.0" and rows[7].local_port == 2024
    assert rows[9].state == "TIME_WAIT" and rows[9].inode == 0
    assert rows[10].state == "ESTABLISHED" and rows[10].remote_port == 43288


def test_tcp_established():
    rows = proc_net.parse_tcp(section("proc_net_tcp", "established"))
    assert [r.state for r in rows] == ["LISTEN", "ESTABLISHED", "ESTABLISHED", "TIME_WAIT", "CLOSE_WAIT"]
    assert (rows[1].local_address, rows[1].local_port, rows[1].remote_address, rows[1].remote_port) == (
        "10.20.0.15", 22, "10.20.0.99", 50712)
    assert rows[3].remote_address == "34.216.184.93" and rows[3].remote_port == 443


def test_tcp6_recorded_and_mapped():
    rows = proc_net.parse_tcp6(section("proc_net_tcp6", "debian12"))
    assert [(r.local_address, r.local_port, r.family) for r in rows] == [("::1", 6379, 6), ("::1", 4369, 6)]
    rows = proc_net.parse_tcp6(section("proc_net_tcp6", "mapped"))
    assert rows[0].local_address == "::" and not rows[0].ipv4_mapped
    assert (rows[1].local_address, rows[1].ipv4_mapped, rows[1].family) == ("127.0.0.1", True, 6)
    assert (rows[2].remote_address, rows[2].remote_port) == ("10.20.0.99", 54000)
    assert rows[3].local_address == "fe80::5054:ff:fe12:3456" and rows[3].remote_address == "fe80::a00:27ff:fe4e:66a1"


def test_udp():
    rows = proc_net.parse_udp(section("proc_net_udp", "resolved"))
    assert [(r.protocol, r.local_address, r.local_port, r.state) for r in rows] == [
        ("udp", "127.0.0.54", 53, "UNCONN"), ("udp", "127.0.0.53", 53, "UNCONN"), ("udp", "10.20.0.15", 68, "ESTABLISHED")]
    assert proc_net.parse_udp(section("proc_net_udp", "empty_table")) == ()
    rows = proc_net.parse_udp6(section("proc_net_udp6", "dhcp6"))
    assert [(r.local_address, r.local_port, r.state, r.uid) for r in rows] == [
        ("fe80::5054:ff:fe12:3456", 546, "UNCONN", 0), ("::", 5353, "UNCONN", 107)]
    assert proc_net.parse_udp6(section("proc_net_udp6", "empty_table")) == ()


@pytest.mark.parametrize("func", [proc_net.parse_tcp, proc_net.parse_tcp6, proc_net.parse_udp, proc_net.parse_udp6])
def test_proc_net_empty_and_garbage(func):
    assert func("") == ()
    with pytest.raises(ParseError) as err:
        func("  sl  local_address\n   0: 0100007F:ZZZZ 00000000:0000 0A x\n")
    assert err.value.line_no == 2
    with pytest.raises(ParseError):
        func("   0: 0100007F:0016 00000000:0000 0A\n")


def test_ss_recorded():
    rows = ss.parse(section("ss", "debian12"))
    assert len(rows) == 15
    assert rows[0].netid == "tcp" and rows[0].processes == (ss.SsProcess("redis-server", 2217, 6),)
    assert rows[7].processes == () and rows[7].local_port == 2024
    assert rows[9].state == "TIME-WAIT" and rows[9].peer_port == 59158
    assert (rows[13].local_address, rows[13].peer_address, rows[13].peer_port) == ("::1", "::", None)


def test_ss_ubuntu():
    rows = ss.parse(section("ss", "ubuntu2204"))
    assert rows[1].interface == "eth0" and rows[1].local_address == "10.20.0.15"
    assert [p.pid for p in rows[4].processes] == [1402, 1330] and rows[4].send_q == 36
    assert (rows[5].local_address, rows[5].peer_address, rows[5].peer_port) == ("*", "*", None)
    assert (rows[7].local_address, rows[7].peer_address, rows[7].ipv4_mapped) == ("10.20.0.15", "10.20.0.7", True)
    assert rows[8].state == "TIME-WAIT" and rows[8].processes == ()


def test_ss_names_with_spaces_and_no_netid():
    rows = ss.parse('LISTEN 0 5 0.0.0.0:5000 0.0.0.0:* users:(("tmux: server",pid=7,fd=3))\n')
    assert rows[0].netid is None and rows[0].processes == (ss.SsProcess("tmux: server", 7, 3),)


def test_ss_empty_and_garbage():
    assert ss.parse("") == ()
    assert ss.parse("Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n") == ()
    with pytest.raises(ParseError):
        ss.parse("tcp LISTEN x y 1.2.3.4:5 0.0.0.0:*\n")
    with pytest.raises(ParseError):
        ss.parse("tcp LISTEN 0 0 nonsense\n")
    with pytest.raises(ParseError):
        ss.parse("tcp LISTEN 0 0 1.2.3.4:5 0.0.0.0:* users:(garbage)\n")
