"""The probe's `configs` and `unit_files` sections on this machine, under sh and busybox sh."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analyzers.parsers import configs, unit_files
from analyzers.probe_output import MARK, split_sections
from migrator.collect.collector import probe_script

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "migrator" / "collect" / "probe.sh"
SHELLS = [pytest.param(["sh"], id="sh"),
          pytest.param(["busybox", "sh"], id="busybox", marks=pytest.mark.skipif(
              shutil.which("busybox") is None, reason="busybox not installed (apt-get install busybox)"))]


def run_probe(shell: list[str], nonce: str = "C0nfigsTest") -> dict:
    data = subprocess.run(shell + ["-s", "--", nonce], input=probe_script(), capture_output=True,
                          timeout=300).stdout
    return split_sections(data, nonce)


@pytest.mark.parametrize("shell", SHELLS)
def test_probe_parses_under_sh_n(shell):
    assert subprocess.run(shell + ["-n", str(PROBE)], capture_output=True).returncode == 0
    sent = probe_script()               # as sent: the comment lines left out, nothing else
    assert subprocess.run(shell + ["-n"], input=sent, capture_output=True).returncode == 0
    assert b"\n#" not in sent and len(sent) < 0.8 * len(PROBE.read_bytes())
    assert [line for line in PROBE.read_bytes().splitlines() if not line.lstrip().startswith(b"#")] == sent.splitlines()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
@pytest.mark.parametrize("shell", SHELLS)
def test_configs_section_is_capped_marked_and_safe(shell):
    sections = run_probe(shell)
    section = sections["configs"]
    assert section.rc == 0 and not section.truncated
    nonce_marker = "@@C0nfigsTest@@ file "
    # until probe_output marks `configs` with MARK, its file lines carry the nonce prefix
    text = section.text.replace(nonce_marker, MARK + "file ")
    files = configs.parse(text)
    paths = [f.path for f in files]
    assert len(paths) == len(set(paths)) <= 300
    for f in files:
        assert not f.path.startswith(("/proc/", "/sys/", "/dev/")), f.path
        assert not re.search(r"\.(key|pem|p12|pfx|jks)$", f.path), f.path
        assert len(f.text.encode("utf-8", "surrogateescape")) <= 65536 + 1
        assert os.path.isfile(f.path)
    assert sections["unit_files"].rc == 0


def _unshare_ok() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


@pytest.mark.skipif(not _unshare_ok(), reason="needs root and unshare (a private mount namespace)")
@pytest.mark.parametrize("shell", SHELLS)
def test_vendor_unit_and_dropins_of_a_running_service(tmp_path, shell):
    """A process whose cgroup says fakesvc.service: its vendor unit and drop-in are read."""
    vendor = tmp_path / "vendor"
    (vendor / "mig-fakesvc.service.d").mkdir(parents=True)
    (vendor / "mig-fakesvc.service").write_text("[Service]\nExecStart=/bin/sleep 30\nUser=root\n")
    (vendor / "mig-fakesvc.service.d" / "10-user.conf").write_text("[Service]\nUser=nobody\n")
    cgroup = tmp_path / "cgroup"
    cgroup.write_text("0::/system.slice/mig-fakesvc.service\n")
    script = tmp_path / "run.sh"
    script.write_text(
        'sleep 30 & p=$!\n'
        f'mount --bind {cgroup} /proc/$p/cgroup && mount --bind {vendor} /usr/lib/systemd/system || exit 3\n'
        f'{" ".join(shell)} -s -- Un1tsTest < {PROBE}\n'
        'kill $p\n')
    if not Path("/usr/lib/systemd/system").is_dir():
        pytest.skip("no /usr/lib/systemd/system to mount over")
    out = subprocess.run(["unshare", "-m", "sh", str(script)], capture_output=True, timeout=300)
    if out.returncode == 3:
        pytest.skip("bind mounts over /proc files are not allowed here")
    sections = split_sections(out.stdout, "Un1tsTest")
    units = {u.name: u for u in unit_files.parse(sections["unit_files"].text)}
    unit = units["mig-fakesvc.service"]
    assert unit.path.endswith("/systemd/system/mig-fakesvc.service")
    assert unit.user == "nobody" and unit.exec_start == ("/bin/sleep 30",)
    assert unit.dropins and unit.dropins[0].endswith("mig-fakesvc.service.d/10-user.conf")


@pytest.mark.skipif(not _unshare_ok(), reason="needs root and unshare (private mount and PID namespaces)")
@pytest.mark.parametrize("shell", SHELLS)
def test_well_known_configs_only_of_running_software(tmp_path, shell):
    """In a PID namespace where only a program called nginx runs: nginx's well-known config and the
    file its command line names are read; redis's, installed but not running, is not (the probe's
    own arguments, which list it, do not count as a command line naming it)."""
    for d in ("/etc/nginx", "/etc/redis"):
        if not Path(d).is_dir():
            pytest.skip(f"{d} does not exist here to mount over (tests/lab/install-deps.sh installs nginx)")
    nginx_dir, redis_dir, bin_dir = tmp_path / "nginx", tmp_path / "redis", tmp_path / "bin"
    for d in (nginx_dir, redis_dir, bin_dir):
        d.mkdir()
    (nginx_dir / "nginx.conf").write_text("worker_processes 1;\n")
    (redis_dir / "redis.conf").write_text("port 6379\n")
    (tmp_path / "custom.conf").write_text("listen 8080;\n")
    program = bin_dir / "nginx"               # its process is called nginx (/proc/PID/comm)
    program.write_text("#!/bin/sh\nexec 0</dev/null; sleep 30\n")
    program.chmod(0o755)
    script = tmp_path / "run.sh"
    script.write_text(
        f"mount --bind {nginx_dir} /etc/nginx && mount --bind {redis_dir} /etc/redis || exit 3\n"
        f"{program} -c {tmp_path}/custom.conf & p=$!\n"
        "sleep 0.2\n"
        f'{" ".join(shell)} -s -- C0nfigsTest < {PROBE}\n'
        "kill $p\n")
    out = subprocess.run(["unshare", "-m", "-p", "-f", "--mount-proc", "sh", str(script)], capture_output=True,
                         timeout=300)
    if out.returncode == 3:
        pytest.skip("bind mounts are not allowed here")
    text = split_sections(out.stdout, "C0nfigsTest")["configs"].text.replace("@@C0nfigsTest@@ file ", MARK + "file ")
    paths = {f.path: f.text for f in configs.parse(text)}
    assert paths[f"{tmp_path}/custom.conf"] == "listen 8080;\n"
    assert paths["/etc/nginx/nginx.conf"] == "worker_processes 1;\n"
    assert "/etc/redis/redis.conf" not in paths
