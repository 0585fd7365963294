"""The lab itself: real VMs from namespaces, reachable by real SSH, and gone (and unreachable) after down()."""
from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab import Lab, LabError, VMSpec
from tests.lab.lab import GUARD_METRIC, connect_error as _connect_error, running as pid_exists
from tests.lab.services import Service, register

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRATCH_PREFIX = "mglabt"
SCRATCH_SUBNET = "10.213.67.0/24"


def _pids(lab: Lab) -> list[dict]:
    return [rec for vm in json.loads(lab.state_path.read_text())["vms"] for rec in vm["pids"]]


def _leftovers(prefix: str) -> list[str]:
    links = [n for n in os.listdir("/sys/class/net") if n.startswith(prefix)]
    netns = [n for n in os.listdir("/run/netns") if n.startswith(prefix + "-")] if Path("/run/netns").is_dir() else []
    return links + netns


def test_hosts_and_inventory(lab, tmp_path):
    (host,) = lab.hosts
    assert host["name"] == "app-1"
    assert host["port"] == 22 and host["user"] == "root"
    assert host["address"].startswith(str(lab.subnet.network_address)[:-1])
    assert Path(host["key_path"]).is_file()
    assert host["host_key"].startswith("ssh-ed25519 AAAA") and len(host["host_key"].split()) == 2
    inv = lab.write_inventory(tmp_path / "inventory.json")
    assert json.loads(inv.read_text()) == {"hosts": lab.hosts}


def test_ssh_hostname(lab_ssh):
    assert lab_ssh("hostname").stdout.strip() == "app-1"


def test_ps_shows_only_vm_processes(lab_ssh):
    out = lab_ssh("ps -e -o comm=").stdout.split()
    assert "redis-server" in out and "sshd" in out
    assert len(out) < 20, out


def test_var_lib_is_private(lab_ssh):
    assert lab_ssh("ls /var/lib").stdout.split() == ["dpkg", "redis"]
    aof = lab_ssh("cat /var/lib/redis/appendonlydir/*.incr.aof").stdout
    assert "lab:greeting" in aof


def test_webapp_keeps_redis_connection(lab_ssh, lab_host):
    out = lab_ssh("ss -tnH state established").stdout
    assert f"{lab_host['address']}:6379" in out
    assert lab_ssh("readlink /proc/$(pgrep -u www-data -x python3)/cwd").stdout.strip() == "/opt/webapp"


def test_sudo_user(lab_ssh, lab_host):
    if lab_host["sudo_user"] is None:
        pytest.skip("sudo not installed")
    assert lab_ssh("sudo -n id -u", user=lab_host["sudo_user"]).stdout.strip() == "0"


def test_ports_answer_from_host(lab_host):
    with socket.create_connection((lab_host["address"], 6379), timeout=2) as s:
        s.sendall(b"*2\r\n$3\r\nGET\r\n$12\r\nlab:greeting\r\n")
        assert b"hello from the migrator lab" in s.recv(100)
    with socket.create_connection((lab_host["address"], 8080), timeout=2) as s:
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.0 200")


def test_route_up_goes_to_bridge(lab, lab_host):
    route = subprocess.run(["ip", "route", "get", lab_host["address"]], capture_output=True, text=True).stdout
    assert f"dev {lab.bridge}" in route
    guard = subprocess.run(["ip", "route", "show", str(lab.subnet)], capture_output=True, text=True).stdout
    assert f"unreachable {lab.subnet} metric {GUARD_METRIC}" in guard


@pytest.fixture
def scratch(tmp_path, lab_available) -> Lab:
    """A second lab (own prefix and subnet) for up/down tests; never left up."""
    the_lab = Lab(workdir=tmp_path / "scratch", prefix=SCRATCH_PREFIX, subnet=SCRATCH_SUBNET)
    yield the_lab
    the_lab.down()



def test_down_removes_everything_and_address_becomes_unreachable(scratch):
    scratch.down()  # idempotent on nothing
    # bring it up from ANOTHER process, tear it down from this one (reads the state file)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "tests.lab", "up", "--workdir", str(scratch.workdir),
                           "--prefix", SCRATCH_PREFIX, "--subnet", SCRATCH_SUBNET],
                          cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - t0 < 10
    (host,) = json.loads(proc.stdout)
    address = host["address"]
    procs = _pids(scratch)
    assert len(procs) == 2 and all(pid_exists(r) for r in procs)
    assert _connect_error(address, 6379)[0] is None

    scratch.down()
    assert not any(pid_exists(r) for r in procs), [r for r in procs if pid_exists(r)]
    assert not Path(f"/run/netns/{SCRATCH_PREFIX}-app-1").exists()
    assert not Path(f"/sys/class/net/{SCRATCH_PREFIX}br").exists()
    assert _leftovers(SCRATCH_PREFIX) == []
    assert not scratch.workdir.exists()
    scratch.down()  # idempotent

    route = subprocess.run(["ip", "route", "show", SCRATCH_SUBNET], capture_output=True, text=True).stdout
    assert "unreachable" in route and f"metric {GUARD_METRIC}" in route
    err, elapsed = _connect_error(address)
    assert err in (errno.EHOSTUNREACH, errno.ENETUNREACH), (err, route)
    assert elapsed < 1.0


def test_failed_start_is_cleaned_up(scratch):
    register(Service(name="mglab-test-broken", ports=(9,), start=lambda ctx: "sleep 600 &\n",
                     ready=lambda ctx: "never answers"))
    with pytest.raises(LabError, match="app-1.*mglab-test-broken: never answers"):
        scratch.up([VMSpec(name="app-1", services=("mglab-test-broken",))], timeout=3)
    assert _leftovers(SCRATCH_PREFIX) == []
    assert not scratch.workdir.exists()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(scratch.workdir) not in ps


def test_up_twice_cleans_first(scratch):
    scratch.up([VMSpec(name="app-1")])
    first = _pids(scratch)
    scratch.up([VMSpec(name="app-1", services=("webapp",))])
    assert not any(pid_exists(r) for r in first)
    assert _connect_error(scratch.hosts[0]["address"], 8080)[0] is None


def test_bad_prefix_and_subnet_refused(tmp_path):
    with pytest.raises(LabError, match="prefix"):
        Lab(workdir=tmp_path, prefix="Bad Prefix!")
    with pytest.raises(LabError, match="private"):
        Lab(workdir=tmp_path, subnet="8.8.8.0/24")
