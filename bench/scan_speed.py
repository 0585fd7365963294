"""Benchmarks (a) and (b): scanning lab hosts with migrator, against Ansible and against a floor.

(a) Wall time, whole process, at the same parallelism P on the same N lab hosts (default 50 hosts,
P = 10), each contender in its own process(es):
  migrator  `migrator scan` (MIGRATOR_SCAN_WORKERS=P) of every host, host keys checked against a
            known_hosts file, in a fresh SQLite database the lab inventory was imported into just
            before (`migrator hosts import`, timed apart: the inventory exists before the run, as
            Ansible's inventory file does; the sum is printed too);
  ansible   `ansible all -m setup -f P` (ansible-core==2.19.14 from PyPI, in its own venv under
            /tmp, installed on first use), same key, same known_hosts with host key checking on,
            Ansible's default SSH settings otherwise (ControlMaster/ControlPersist, no pipelining),
            ansible_python_interpreter=/usr/bin/python3 (no interpreter discovery), output to /dev/null;
  floor     bench/scan_floor.py: per host one paramiko connection and one exec reading the /proc
            files the probe reads, all hosts in parallel (P threads), nothing parsed or stored.
Goals: ansible / migrator >= 5 and migrator / floor <= 1.5. Each contender runs --rounds times
(interleaved); the best round counts, all rounds are printed.

(b) Per host, during the migrator scan: SSH connections (counted as "Accepted publickey" lines in
each VM's own sshd log; goal 1), exec round trips (sshd at LogLevel INFO does not log sessions, so
they are counted by migrator.services.scans.collect() on --sample hosts: Collected.execs; goal <= 2)
and bytes moved (Collected.bytes_in / bytes_out on the sample; bytes_in of every host's snapshot
from the scan's database). The connections Ansible and the floor open are counted the same way.

The lab VMs (tests/lab) are Linux namespaces on this machine running only sshd: root is needed.

    .venv/bin/python bench/scan_speed.py [--hosts 50] [--parallel 10] [--rounds 2] [--sample 3]

"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lab import Lab, VMSpec  # noqa: E402

ANSIBLE_VERSION = "2.19.14"
MIGRATOR = ROOT / ".venv" / "bin" / "migrator"
PYTHON = ROOT / ".venv" / "bin" / "python"
FLOOR = ROOT / "bench" / "scan_floor.py"


def ensure_ansible(venv: Path) -> Path:
    """The `ansible` command of a venv holding ansible-core==ANSIBLE_VERSION (made if missing)."""
    ansible = venv / "bin" / "ansible"
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import ansible.release as r; print(r.__version__)"],
                           capture_output=True, text=True) if ansible.exists() else None
    if probe is None or probe.stdout.strip() != ANSIBLE_VERSION:
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"ansible-core=={ANSIBLE_VERSION}"], check=True)
    return ansible


def logins(lab: Lab, names: list[str]) -> dict[str, int]:
    out = {}
    for name in names:
        path = lab.vm_path(name, "/var/log/sshd.log")
        out[name] = path.read_text(errors="replace").count("Accepted publickey for root") if path.exists() else 0
    return out


def timed(argv: list[str], env: dict[str, str], stdout=subprocess.DEVNULL) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - t0, proc


def check(proc: subprocess.CompletedProcess, what: str) -> None:
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or "").splitlines()[-15:])
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{tail}")


class Bench:
    def __init__(self, lab: Lab, tmp: Path, parallel: int, ansible: Path):
        self.lab, self.tmp, self.parallel, self.ansible = lab, tmp, parallel, ansible
        self.hosts = lab.hosts
        self.names = [h["name"] for h in self.hosts]
        self.inventory = lab.write_inventory(tmp / "inventory.json")
        self.known_hosts = tmp / "known_hosts"
        self.known_hosts.write_text("".join(f"{h['address']} {h['host_key']}\n" for h in self.hosts))
        self.ansible_inventory = tmp / "hosts.ini"
        self.ansible_inventory.write_text("[lab]\n" + "".join(
            f"{h['name']} ansible_host={h['address']} ansible_port={h['port']} ansible_user=root "
            f"ansible_ssh_private_key_file={h['key_path']} ansible_python_interpreter=/usr/bin/python3\n"
            for h in self.hosts))
        self.round = 0
        self.connections: dict[str, list[int]] = {}

    def _count(self, what: str, before: dict[str, int]) -> None:
        after = logins(self.lab, self.names)
        self.connections[what] = [after[n] - before[n] for n in self.names]

    def migrator(self) -> tuple[float, float, Path]:
        self.round += 1
        work = self.tmp / f"migrator-{self.round}"
        work.mkdir()
        db = work / "migrator.db"
        env = {**os.environ, "MIGRATOR_DATABASE_URL": f"sqlite:///{db}", "MIGRATOR_INSTANCE_PATH": str(work / "instance"),
               "MIGRATOR_SCAN_WORKERS": str(self.parallel), "MIGRATOR_SSH_KNOWN_HOSTS": str(self.known_hosts),
               "MIGRATOR_SSH_CONFIG": "/dev/null"}
        t_import, proc = timed([str(MIGRATOR), "hosts", "import", str(self.inventory)], env)
        check(proc, "migrator hosts import")
        before = logins(self.lab, self.names)
        t_scan, proc = timed([str(MIGRATOR), "scan"], env)
        check(proc, "migrator scan")
        self._count("migrator", before)
        return t_import, t_scan, db

    def ansible_setup(self) -> float:
        control = Path(tempfile.mkdtemp(prefix="cp-", dir=self.tmp))
        config = self.tmp / "ansible.cfg"       # empty: Ansible's defaults, no stray config file
        config.write_text("[defaults]\n")
        env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_CONFIG": str(config),
               "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control), "ANSIBLE_LOCAL_TEMP": str(self.tmp / "ansible-tmp"),
               "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=60s -F /dev/null "
                                   f"-o UserKnownHostsFile={self.known_hosts} -o GlobalKnownHostsFile=/dev/null",
               "ANSIBLE_NOCOLOR": "1"}
        before = logins(self.lab, self.names)
        seconds, proc = timed([str(self.ansible), "all", "-i", str(self.ansible_inventory), "-m", "setup",
                               "-f", str(self.parallel)], env)
        check(proc, "ansible all -m setup")
        self._count("ansible", before)
        return seconds

    def floor(self) -> tuple[float, dict]:
        before = logins(self.lab, self.names)
        seconds, proc = timed([str(PYTHON), str(FLOOR), str(self.inventory), str(self.known_hosts),
                               "--parallel", str(self.parallel)], dict(os.environ), stdout=subprocess.PIPE)
        check(proc, "floor")
        self._count("floor", before)
        return seconds, json.loads(proc.stdout)

    def sample(self, count: int) -> list[tuple[str, object, int]]:
        """collect() (the scan's own collection step) on a few hosts: execs and bytes per host."""
        from migrator.collect.ssh import SSHTarget
        from migrator.services.scans import collect
        settings = {"SSH_CONNECT_TIMEOUT": 10.0, "SSH_COMMAND_TIMEOUT": 300.0, "SSH_MAX_OUTPUT": 64 * 1024 * 1024,
                    "SSH_CONFIG": "/dev/null", "SSH_KNOWN_HOSTS": str(self.known_hosts)}
        out = []
        for host in self.hosts[:count]:
            before = logins(self.lab, [host["name"]])[host["name"]]
            target = SSHTarget(address=host["address"], port=host["port"], username="root", auth_method="key",
                               key_path=host["key_path"], password=None, pinned_host_key=host["host_key"])
            got = collect(settings, target, "none")
            out.append((host["name"], got, logins(self.lab, [host["name"]])[host["name"]] - before))
        return out


def snapshot_bytes(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [row[0] or 0 for row in conn.execute("SELECT bytes_in FROM snapshots")]


def spread(values: list[int | float]) -> str:
    if not values:
        return "none"
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}..{hi} (median {statistics.median(values)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--parallel", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2, help="runs of each contender; the best counts")
    ap.add_argument("--sample", type=int, default=3, help="hosts collected directly to count execs and bytes")
    ap.add_argument("--ansible-venv", default="/tmp/mgbench-ansible")
    ap.add_argument("--prefix", default="mgbench")
    ap.add_argument("--subnet", default="10.213.75.0/24")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the lab needs root")
    ansible = ensure_ansible(Path(args.ansible_venv))
    tmp = Path(tempfile.mkdtemp(prefix="mgbench-scan-"))
    lab = Lab(workdir=tmp / "lab", prefix=args.prefix, subnet=args.subnet)
    try:
        t0 = time.perf_counter()
        lab.up([VMSpec(name=f"vm-{i}") for i in range(args.hosts)], timeout=max(60, 3 * args.hosts))
        print(f"lab: {args.hosts} VMs (sshd only) up in {time.perf_counter() - t0:.1f} s; parallelism {args.parallel}; "
              f"ansible-core {ANSIBLE_VERSION}")
        bench = Bench(lab, tmp, args.parallel, ansible)
        runs: dict[str, list[float]] = {"migrator": [], "migrator scan": [], "ansible": [], "floor": []}
        floor_info, db = {}, None
        for r in range(args.rounds):
            floor_s, floor_info = bench.floor()
            t_import, t_scan, db = bench.migrator()
            ansible_s = bench.ansible_setup()
            runs["floor"].append(floor_s)
            runs["migrator"].append(t_import + t_scan)
            runs["migrator scan"].append(t_scan)
            runs["ansible"].append(ansible_s)
            print(f"round {r + 1}: floor {floor_s:.2f} s, migrator {t_import + t_scan:.2f} s (import {t_import:.2f} + "
                  f"scan {t_scan:.2f}), ansible {ansible_s:.2f} s")
        best = {k: min(v) for k, v in runs.items()}
        print(f"\n(a) wall time, whole process, {args.hosts} hosts at parallelism {args.parallel} (best of {args.rounds}):")
        print(f"  floor     {best['floor']:7.2f} s  ({floor_info.get('bytes_in', 0) / args.hosts / 1024:.0f} KiB/host read)")
        print(f"  migrator  {best['migrator scan']:7.2f} s  (scan; with the hosts import before it "
              f"{best['migrator']:.2f} s)")
        print(f"  ansible   {best['ansible']:7.2f} s")
        r_ansible = best["ansible"] / best["migrator scan"]
        r_floor = best["migrator scan"] / best["floor"]
        print(f"  ansible / migrator scan = {r_ansible:.2f}  (goal >= 5: {'met' if r_ansible >= 5 else 'NOT met'}; "
              f"with the import: {best['ansible'] / best['migrator']:.2f})")
        print(f"  migrator scan / floor   = {r_floor:.2f}  (goal <= 1.5: {'met' if r_floor <= 1.5 else 'NOT met'}; "
              f"with the import: {best['migrator'] / best['floor']:.2f})")

        print("\n(b) per host:")
        for what in ("migrator", "ansible", "floor"):
            goal = "  (goal 1)" if what == "migrator" else ""
            print(f"  SSH connections, {what:<8} (last round, sshd logs): {spread(bench.connections[what])}{goal}")
        sample = bench.sample(args.sample)
        for name, got, conns in sample:
            print(f"  {name}: collect(): {conns} connection(s), {got.execs} exec round trip(s) (goal <= 2), "
                  f"{got.bytes_in / 1024:.1f} KiB in, {got.bytes_out / 1024:.1f} KiB out")
        if db is not None:
            sizes = snapshot_bytes(db)
            print(f"  bytes in per host (the scan's snapshots, {len(sizes)} hosts): "
                  f"median {statistics.median(sizes) / 1024:.1f} KiB, max {max(sizes) / 1024:.1f} KiB, "
                  f"total {sum(sizes) / 1e6:.2f} MB")
    finally:
        lab.down()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
