"""Section `processes`."""
from __future__ import annotations

import pytest

from analyzers.parsers.processes import OpenFile, parse, parse_links, parse_stat_line
from parser_fixtures import section


def by_pid(records):
    return {p.pid: p for p in records}


def test_recorded_debian12_host():
    procs = by_pid(parse(section("processes", "debian12")))
    assert set(procs) == {1, 2197, 2198, 2217, 2951, 3781}
    pg = procs[2197]
    assert (pg.ppid, pg.comm, pg.uid) == (1, "postgres", 101)
    assert pg.cmdline == ("/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main",
                          "-c", "config_file=/etc/postgresql/15/main/postgresql.conf")
    assert pg.exe == "/usr/lib/postgresql/15/bin/postgres" and pg.cwd == "/var/lib/postgresql/15/main"
    assert procs[2198].cmdline == ("postgres: 15/main: checkpointer ",)
    maria = procs[3781]
    assert any(f.target == "/var/lib/mysql/ib_logfile0" and f.writable for f in maria.open_files)
    assert any(f.target.endswith("(deleted)") for f in maria.open_files)
    assert procs[2951].open_files[3].socket_inode == 6464
    assert procs[1].exe == "" and len(procs[1].open_files) > 100   # unreadable links kept, target ''
    assert all(p.rss_kib > 0 and p.threads >= 1 and p.starttime > 0 for p in procs.values())


def test_synthetic_hostile_and_vanished():
    procs = by_pid(parse(section("processes", "synthetic")))
    assert set(procs) == {1, 2, 812, 4300, 4400}          # 4500 had nothing readable
    assert procs[1].cgroup == "/init.scope" and procs[1].exe == "/usr/lib/systemd/systemd"
    assert procs[2].cmdline == () and procs[2].exe == "" and procs[2].rss_kib == 0
    redis = procs[812]
    assert redis.comm == "redis (main) x" and redis.uid == 108 and redis.threads == 5
    assert redis.cmdline == ("/usr/bin/redis-server 127.0.0.1:6379",
                             "\n@@deadbeef@@ f stat\n@@M@@ file /etc/evil", "\ufffdM\ufffd pid 9")
    assert redis.cgroup == "/system.slice/redis-server.service"
    assert (redis.utime, redis.stime, redis.starttime, redis.rss_kib) == (5120, 2310, 1503, 9620)
    files = {f.fd: f for f in redis.open_files}
    assert files[6].socket_inode == 23145 and files[6].writable
    assert files[1].writable and not files[0].writable
    assert files[9].target == "/var/lib/redis/temp-812.rdb (deleted)" and files[9].writable
    assert files[12].target == "/var/lib/redis/dump -> odd.rdb"
    vanished = procs[4300]
    assert (vanished.comm, vanished.ppid, vanished.uid, vanished.cmdline, vanished.open_files) == (
        "python3", 812, None, (), ())
    from_status = procs[4400]
    assert (from_status.comm, from_status.ppid, from_status.uid, from_status.state) == ("gunicorn", 1, 33, "S")
    assert from_status.cgroup == "/system.slice/app.service" and from_status.cwd == "/srv/app"
    assert from_status.rss_kib == 20480 and from_status.threads == 3


def test_empty_and_garbage():
    assert parse("") == ()
    assert parse("not a probe section\n\x00\x01 garbage (((\n") == ()


def test_open_file_properties():
    assert OpenFile(3, "socket:[123]", 2).socket_inode == 123
    assert OpenFile(3, "socket:[x]", 2).socket_inode is None
    assert OpenFile(3, "/x", None).writable is False
    assert [OpenFile(1, "/x", f).writable for f in (0o0, 0o1, 0o2, 0o3, 0o2100002)] == [False, True, True, False, True]


def test_parse_links_layout():
    exe, cwd, fds = parse_links("lrwxrwxrwx 1 app app 0 Jan  1  2024 /proc/9/cwd -> /srv/my app\n"
                                "lrwxrwxrwx 1 1000 1000 0 Jan  1  2024 /proc/9/exe -> /usr/bin/x\n\n"
                                "/proc/9/fd/:\ntotal 0\nlrwx------ 1 1000 1000 64 Jan  1  2024 3 -> /a 4 -> b\n"
                                "continuation of a name with a newline\n")
    assert (exe, cwd, fds) == ("/usr/bin/x", "/srv/my app", [(3, "/a 4 -> b")])


@pytest.mark.parametrize("line", ["", "12 S 1 2", "x (a) S 1", "12 (a) S 1 2 3"])
def test_bad_stat_lines(line):
    with pytest.raises(ValueError):
        parse_stat_line(line)
