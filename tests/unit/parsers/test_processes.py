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


# -- the batched format (probe version 2: a few commands for all processes) -------------------
def test_recorded_lab_v2_reads_real_values():
    procs = by_pid(parse(section("processes", "lab-app-v2")))
    assert {1, 30, 31, 32} <= set(procs)
    redis = procs[31]
    assert (redis.ppid, redis.comm, redis.uid, redis.state) == (1, "redis-server", 102, "S")
    assert redis.cmdline == ("/usr/bin/redis-server 0.0.0.0:6379",)   # redis rewrites its argv
    assert redis.cwd == "/var/lib/redis" and redis.exe == "/usr/bin/redis-check-rdb"
    assert (redis.rss_kib, redis.threads, redis.starttime) == (12384, 6, 158974)
    files = {f.fd: f for f in redis.open_files}
    assert files[6].socket_inode == 303957 and files[8].socket_inode == 303985
    assert files[7].target == "/var/lib/redis/appendonlydir/appendonly.aof.1.incr.aof" and files[7].writable
    assert not files[0].writable
    web = procs[32]
    assert web.cmdline == ("/usr/bin/python3", "-u", "/opt/webapp/webapp.py", "--bind", "0.0.0.0",
                           "--port", "8080", "--redis", "10.213.79.10:6379")
    assert (web.uid, web.cwd, web.exe) == (33, "/opt/webapp", "/usr/bin/python3.11")
    assert {f.socket_inode for f in web.open_files} >= {303981, 303982}
    assert procs[30].open_files[-1].target == "socket:[303953]"


def test_recorded_v1_and_v2_of_one_host_read_the_same():
    """The same lab VM probed with the per-process probe and then the batched one: every
    process both saw (not the probes' own shells) reads to the same record."""
    old = by_pid(parse(section("processes", "lab-app-v1")))
    new = by_pid(parse(section("processes", "lab-app-v2")))
    for pid in (1, 30, 31, 32):
        assert old[pid] == new[pid], pid


def test_synthetic_v2_hostile_and_vanished():
    procs = by_pid(parse(section("processes", "synthetic-v2")))
    assert set(procs) == {1, 2, 812, 4300, 4400}
    assert procs[1].cgroup == "/init.scope" and procs[1].cmdline == ("/usr/lib/systemd/systemd", "--system")
    assert [(f.fd, f.target) for f in procs[1].open_files] == [(0, "/dev/null"), (7, "")]
    assert procs[2].cmdline == () and procs[2].exe == "" and procs[2].cwd == "/" and procs[2].open_files == ()
    redis = procs[812]
    assert redis.comm == "redis (main) x" and redis.uid == 108 and redis.threads == 5
    # a newline inside an argument continues on a prefixed line; a forged prefix or marker is content
    assert redis.cmdline == ("/usr/bin/redis-server", "--requirepass", "s3cret-value",
                             "first line\n/proc/1/cmdline:evil", "@@deadbeef@@ f proc_links")
    assert redis.cgroup == "/system.slice/redis-server.service"
    assert (redis.utime, redis.stime, redis.starttime, redis.rss_kib) == (5120, 2310, 1503, 9620)
    files = {f.fd: f for f in redis.open_files}
    assert files[6].socket_inode == 23145 and files[6].writable
    assert files[1].writable and not files[0].writable        # busybox's fdinfo//1 reads too
    assert files[9].target == "/var/lib/redis/temp-812.rdb (deleted)" and files[9].writable
    assert 99 in files                  # a header without its blank line is the name's own content
    assert procs[4300].cmdline == () and procs[4300].uid is None and procs[4300].ppid == 812
    gunicorn = procs[4400]                                    # stat vanished: from status
    assert (gunicorn.comm, gunicorn.ppid, gunicorn.uid, gunicorn.state) == ("gunicorn", 1, 33, "S")
    assert gunicorn.cwd == "/srv/app" and gunicorn.rss_kib == 20480 and gunicorn.threads == 3


def test_v2_long_command_line_is_cut_like_the_old_probe():
    from analyzers.parsers.processes import CMDLINE_CAP
    text = ("\x1eM\x1e f proc_files\n/proc/5/stat:5 (java) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0 0\n"
            "/proc/5/cmdline:java\x00-cp\x00" + "x" * 100000 + "\x00")
    (proc,) = parse(text)
    assert proc.cmdline[:2] == ("java", "-cp") and len("\x00".join(proc.cmdline)) == CMDLINE_CAP


def test_v2_command_lines_are_redacted_per_process():
    from analyzers.base import Section
    from analyzers.secrets import redact_sections
    text = section("processes", "synthetic-v2")
    (redacted,), refs = (lambda out: ((out[0]["processes"],), out[1]))(
        redact_sections({"processes": Section("processes", text, 0, False)}))
    assert "s3cret-value" not in redacted.text
    assert [(r.source, r.key, r.line_no) for r in refs] == [("pid 812", "--requirepass", 2)]
    redis = by_pid(parse(redacted.text))[812]
    assert redis.cmdline[2] == "<redacted>" and redis.cmdline[3] == "first line\n/proc/1/cmdline:evil"
    assert by_pid(parse(redacted.text))[1] == by_pid(parse(text))[1]
    assert redact_sections({"processes": redacted})[0]["processes"].text == redacted.text   # idempotent
