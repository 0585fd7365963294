"""Probe version 3's bundles (analyzers/probe_bundle.py) read back as the sections earlier
probes printed one command each."""
from analyzers.parsers import packages, unit_files
from analyzers.probe_output import MARK, split_sections

NONCE = "B0ndleTest"
P = f"@@{NONCE}@@"


def _framed(name: str, body: str, rc: int | None = 0) -> str:
    out = f"\n{P} begin {name}\n{body}"
    if rc is not None:
        out += f"\n{P} rc {name} {rc}\n"
    return out + f"\n{P} end {name}\n"


PROCS = (
    f"{P} f proc_files\n/proc/7/stat:7 (redis-server) S 1 7 7 0 -1 0 0 0 0 0 1 1 0 0 20 0 4 0 100 0 0\n"
    "/proc/7/cmdline:/usr/bin/redis-server\x00127.0.0.1:6379\x00\n/proc/7/status:Uid:\t101\t101\t101\t101\n"
    f"\n{P} f proc_links\n\n{P} f proc_fdflags\n"
    f"\n{P} f dpkg\nPackage: redis-server\nStatus: install ok installed\nVersion: 5:7.0.15-1\n"
    "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n"
    "Package: held\nStatus: hold ok installed\nVersion: 2.0\n"
    f"\n{P} f bundle\n/proc/net/tcp\n/proc/mounts\n/etc/passwd\n/etc/cron.d/a\n/etc/cron.d/a:b\n"
    "/etc/systemd/system/x.service\n/lib/systemd/system/redis-server.service\n"
    f"\n{P} f files\n"
    "/proc/net/tcp:  sl  local_address rem_address\n"
    "/proc/net/tcp:   0: 0100007F:18EB 00000000:0000 0A\n"
    "/proc/mounts:/dev/sda1 / ext4 rw 0 0\n"
    "/etc/passwd:redis:x:101:101::/var/lib/redis:/usr/sbin/nologin\n"
    "/etc/cron.d/a:b:c 1 * * * root /bin/a\n"          # a line of /etc/cron.d/a that starts "b:c"
    "/etc/cron.d/a:b:2 * * * * root /bin/ab\n"          # ... and this one too: /etc/cron.d/a comes first
    "/etc/systemd/system/x.service:[Service]\n"
    "/etc/systemd/system/x.service:ExecStart=/bin/x\n"
    "/lib/systemd/system/redis-server.service:[Service]\n"
    "/lib/systemd/system/redis-server.service:ExecStart=/usr/bin/redis-server /etc/redis/redis.conf\n"
    "/lib/systemd/system/redis-server.service:User=redis\n"
)


def test_processes_bundle_becomes_the_earlier_sections():
    sections = split_sections(_framed("processes", PROCS).encode(), NONCE)
    procs = sections["processes"].text
    assert "f bundle" not in procs and "f dpkg" not in procs and "/proc/net/tcp" not in procs
    assert procs.startswith(MARK + "f proc_files\n/proc/7/stat:") and procs.endswith(MARK + "f proc_fdflags\n")
    assert sections["proc_net_tcp"].text == "  sl  local_address rem_address\n   0: 0100007F:18EB 00000000:0000 0A\n"
    assert (sections["proc_net_tcp"].rc, sections["proc_net_tcp"].truncated) == (0, False)
    assert sections["mounts"].text == "/dev/sda1 / ext4 rw 0 0\n"
    assert sections["passwd"].text == "redis:x:101:101::/var/lib/redis:/usr/sbin/nologin\n"
    # files listed but absent read as their command failing, as when each was its own `cat`
    assert (sections["proc_net_udp6"].text, sections["proc_net_udp6"].rc) == ("", 1)
    # dpkg's status lines in dpkg-query's format; installed and held packages count
    assert sections["packages_dpkg"].text == ("redis-server\t5:7.0.15-1\tii \ngone\t1.0\trc \nheld\t2.0\thi \n")
    assert packages.parse_dpkg(sections["packages_dpkg"].text) == (
        packages.Package("redis-server", "5:7.0.15-1"), packages.Package("held", "2.0"))
    assert sections["crontabs"].text == (f"\n{MARK}file /etc/cron.d/a\nb:c 1 * * * root /bin/a\nb:2 * * * * root /bin/ab\n"
                                         f"\n{MARK}file /etc/cron.d/a:b\n")
    units = {u.name: u for u in unit_files.parse(sections["unit_files"].text)}
    assert set(units) == {"x.service", "redis-server.service"}
    assert units["redis-server.service"].user == "redis"
    assert units["redis-server.service"].exec_start == ("/usr/bin/redis-server /etc/redis/redis.conf",)


def test_a_section_the_probe_printed_itself_wins_and_a_cut_bundle_reads_as_truncated():
    passwd = _framed("passwd", "root:x:0:0:root:/root:/bin/sh\n")    # NSS's answer (getent)
    cut = PROCS[:PROCS.index("/etc/systemd/system/x.service:ExecStart")]
    sections = split_sections((passwd + _framed("processes", cut, rc=None)).encode(), NONCE)
    assert sections["passwd"].text == "root:x:0:0:root:/root:/bin/sh\n"
    assert sections["processes"].truncated and sections["processes"].rc is None
    assert (sections["unit_files"].rc, sections["unit_files"].truncated) == (None, True)
    assert (sections["mounts"].rc, sections["mounts"].truncated) == (None, True)
    assert "proc_net_udp6" not in sections        # never read: missing, not empty


def test_configs_bundle_keeps_64_kib_of_each_file_and_forged_markers_stay_content():
    big = "x" * 70000
    body = (f"{P} f bundle\n/etc/app/a.yml\n/etc/app/b.conf\n\n{P} f files\n"
            f"/etc/app/a.yml:{big}\n/etc/app/b.conf:port=1\n/etc/app/b.conf:@@other@@ file /etc/shadow\n")
    sections = split_sections(_framed("configs", body).encode(), NONCE)
    text = sections["configs"].text
    assert text.count(MARK) == 2
    first, second = text.split(MARK)[1:]
    # 64 KiB of the file, then the newline before the next marker
    assert first == "file /etc/app/a.yml\n" + "x" * 65536 + "\n"
    assert second == "file /etc/app/b.conf\nport=1\n@@other@@ file /etc/shadow\n"


def test_earlier_versions_read_unchanged():
    v2 = _framed("processes", f"{P} f proc_files\n/proc/7/stat:7 (x) S 1\n") + _framed("proc_net_tcp", "  sl\n")
    sections = split_sections(v2.encode(), NONCE)
    assert set(sections) == {"processes", "proc_net_tcp"}
    assert sections["proc_net_tcp"].text == "  sl\n"
