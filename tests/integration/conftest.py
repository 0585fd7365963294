"""Integration fixtures: a real lab of namespace VMs (see tests/lab).

Skipped (with the reason) when the machine cannot host the lab; set MIGRATOR_REQUIRE_LAB=1 to make that a failure.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.lab import ESTATE, ESTATE_TIMEOUT, SINGLE_VM, Lab  # noqa: E402

ESTATE_PREFIX = "mgest"
ESTATE_SUBNET = "10.213.68.0/24"


def lab_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, bridges, mounts)"
    for tool, path in (("unshare", shutil.which("unshare")), ("ip", shutil.which("ip")),
                       ("ssh-keygen", shutil.which("ssh-keygen")), ("ssh", shutil.which("ssh"))):
        if not path:
            return f"{tool} not found (run tests/lab/install-deps.sh)"
    if not os.access("/usr/sbin/sshd", os.X_OK):
        return "/usr/sbin/sshd not found (run tests/lab/install-deps.sh)"
    if not Path("/proc/self/ns/net").exists():
        return "kernel without network namespaces"
    return None


def require_lab() -> None:
    reason = lab_unavailable_reason()
    if reason:
        if os.environ.get("MIGRATOR_REQUIRE_LAB") == "1":
            pytest.fail(f"lab required (MIGRATOR_REQUIRE_LAB=1) but unavailable: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def lab_available() -> None:
    """For tests that build their own Lab: skip (or fail under MIGRATOR_REQUIRE_LAB=1) when impossible."""
    require_lab()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """One VM app-1 running sshd, redis and webapp; torn down at the end of the session."""
    require_lab()
    the_lab = Lab(workdir=tmp_path_factory.mktemp("lab") / "lab")
    try:
        the_lab.up(SINGLE_VM)
        yield the_lab
    finally:
        the_lab.down()


@pytest.fixture(scope="session")
def lab_host(lab) -> dict:
    return lab.hosts[0]


@pytest.fixture(scope="session")
def lab_known_hosts(lab, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ssh") / "known_hosts"
    path.write_text("".join(f"{h['address']} {h['host_key']}\n" for h in lab.hosts))
    return path


@pytest.fixture(scope="session")
def lab_ssh(lab_host, lab_known_hosts):
    """lab_ssh(command, user=None) -> CompletedProcess, via the real OpenSSH client."""
    import subprocess

    def run(command: str, user: str | None = None, check: bool = True):
        argv = ["ssh", "-i", lab_host["key_path"], "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", f"UserKnownHostsFile={lab_known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5", "-F", "/dev/null",
                "-p", str(lab_host["port"]), f"{user or lab_host['user']}@{lab_host['address']}", command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=check)
    return run


@pytest.fixture(scope="session")
def estate(tmp_path_factory):
    """The nine-VM estate of tests/lab/estate.py (own prefix and subnet), up once per session."""
    require_lab()
    problems = Lab.missing_requirements(ESTATE)
    if problems:
        if os.environ.get("MIGRATOR_REQUIRE_LAB") == "1":
            pytest.fail(f"lab required (MIGRATOR_REQUIRE_LAB=1) but unavailable: {'; '.join(problems)}", pytrace=False)
        pytest.skip("; ".join(problems))
    lab = Lab(workdir=tmp_path_factory.mktemp("estate") / "lab", prefix=ESTATE_PREFIX, subnet=ESTATE_SUBNET)
    try:
        lab.up(ESTATE, timeout=ESTATE_TIMEOUT)
        print(f"\nestate up in {lab.last_up_seconds:.1f}s")
        yield lab
    finally:
        lab.down()
