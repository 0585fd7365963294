"""Per host: ONE SSH connection (counted by the host's own sshd log) and TWO commands."""
from __future__ import annotations

import pytest

from migrator.collect.ssh import SSHTarget
from migrator.services.scans import collect

pytestmark = pytest.mark.integration


def _logins(lab, name: str) -> int:
    return lab.vm_path(name, "/var/log/sshd.log").read_text().count("Accepted publickey for root")


def test_one_connection_two_commands_per_host(lab, settings):
    host = lab.hosts[0]
    before = _logins(lab, host["name"])
    target = SSHTarget(address=host["address"], port=22, username="root", auth_method="key",
                       key_path=host["key_path"], password=None, pinned_host_key=host["host_key"])
    got = collect({**settings, "SSH_MAX_OUTPUT": 64 * 1024 * 1024}, target, "none")
    assert _logins(lab, host["name"]) - before == 1
    assert got.execs == 2                   # the probe, then sizes and certificates
    assert got.bytes_out < 32 * 1024 and got.bytes_in > 1000
    assert "processes" in got.sections and "path_usage" in got.sections
