"""Estates behind a bastion, on real lab hosts: app-1 (Redis and the web app) and bastion-2 do not
answer this machine (a more specific `unreachable` route to the lab gateway inside their network
namespaces), but the bastion VMs reach them over the lab bridge. Scans go through jump hosts, per
host, per group, and bastion behind bastion; the bastion's key is pinned on its own row, a changed
one is refused, a dead bastion is named.

Own lab: prefix mgj, subnet 10.213.80.0/24 (nothing else is ever scanned).
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from migrator import get_db
from migrator.models import Host
from tests.integration.conftest import require_lab
from tests.integration.test_scan_real_host import assert_findings
from tests.lab import Lab, VMSpec

pytestmark = pytest.mark.integration

PREFIX, SUBNET = "mgj", "10.213.80.0/24"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


@pytest.fixture(scope="module")
def jump_lab(tmp_path_factory):
    require_lab()
    lab = Lab(workdir=tmp_path_factory.mktemp("jumplab") / "lab", prefix=PREFIX, subnet=SUBNET)
    try:
        lab.up([VMSpec("bastion-1"), VMSpec("bastion-2"), VMSpec("app-1", ("redis", "webapp"))])
        for hidden in ("bastion-2", "app-1"):        # no answer to this machine, only to the VMs
            lab.exec(hidden, ["ip", "route", "add", "unreachable", f"{lab.gateway}/32"])
        yield lab
    finally:
        lab.down()


@pytest.fixture
def vms(jump_lab) -> dict[str, dict]:
    return {h["name"]: h for h in jump_lab.hosts}


@pytest.fixture
def jcli(cli, monkeypatch):
    monkeypatch.setenv("MIGRATOR_SSH_CONNECT_TIMEOUT", "3")
    return cli


def _add(cli, vm, *extra, name=None, port=22):
    r = cli("hosts", "add", name or vm["name"], "--address", vm["address"], "--port", str(port), "--user", "root",
            "--key", vm["key_path"], *extra)
    assert r.exit_code == 0, r.output
    return r


def _logins(lab, name: str) -> list[str]:
    """The addresses sshd of VM `name` accepted a login from, oldest first."""
    text = lab.vm_path(name, "/var/log/sshd.log").read_text()
    return [line.split(" from ")[1].split()[0] for line in text.splitlines() if "Accepted publickey" in line]


def _host(app, name) -> Host:
    with get_db(app).session() as s:
        return s.query(Host).filter_by(name=name).one()


def _no_ssh_threads(timeout: float = 3.0) -> list[str]:
    """paramiko's transport threads still running after `timeout` seconds (none expected)."""
    import paramiko
    deadline = time.monotonic() + timeout
    while True:
        left = [t.name for t in threading.enumerate() if isinstance(t, paramiko.Transport) and t.is_alive()]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def test_scan_through_a_bastion_host_group_and_chain(jump_lab, vms, jcli, app, client):
    bastion, bastion2, target = vms["bastion-1"], vms["bastion-2"], vms["app-1"]
    _add(jcli, bastion)
    _add(jcli, target)

    # directly, the target does not answer: a clear error, and nothing was pinned
    r = jcli("scan", "app-1")
    assert r.exit_code == 1 and f"{target['address']}:22: no answer within 3 s" in r.output, r.output
    assert _host(app, "app-1").host_key is None

    # through the bastion: real findings; the target saw the bastion's address; both keys pinned
    r = jcli("hosts", "jump", "app-1", "--via", "bastion-1")
    assert r.exit_code == 0, r.output
    before = _logins(jump_lab, "app-1")
    r = jcli("scan", "app-1")
    assert r.exit_code == 0 and "done" in r.output, r.output
    assert f"connecting {target['address']}:22 via bastion-1" in r.output, r.output
    assert_findings(json.loads(jcli("apps", "--json").output), "app-1")
    new = _logins(jump_lab, "app-1")[len(before):]
    assert new == [bastion["address"]], new            # one connection, from the bastion
    assert gateway_never_logged_in(jump_lab)
    pinned = _host(app, "bastion-1")
    assert pinned.host_key.split()[:2] == bastion["host_key"].split()[:2] and pinned.host_key_pinned_at
    assert _host(app, "app-1").host_key.split()[:2] == target["host_key"].split()[:2]
    listing = jcli("hosts", "list").output
    assert "bastion-1" in listing.splitlines()[2] and "JUMP" in listing.splitlines()[0]
    assert _no_ssh_threads() == []

    # a group's jump host, through the API (scan started and polled there too)
    assert jcli("hosts", "jump", "app-1", "--clear").exit_code == 0
    r = client.post("/api/v1/groups", json={"name": "private", "hosts": ["app-1"], "jump": "bastion-1"})
    assert r.status_code == 201 and r.json["jump"]["name"] == "bastion-1", r.json
    assert client.get(f"/api/v1/hosts/{_host(app, 'app-1').id}").json["effective_jump"]["name"] == "bastion-1"
    before = _logins(jump_lab, "app-1")
    scan = _scan_api(client, ["app-1"])
    assert scan["status"] == "done", scan
    assert _logins(jump_lab, "app-1")[len(before):] == [bastion["address"]]

    # a bastion behind a bastion: bastion-2 answers only bastion-1; its key is pinned on its own row
    _add(jcli, bastion2, "--jump", "bastion-1")
    assert jcli("hosts", "jump", "app-1", "--via", "bastion-2").exit_code == 0
    before, before2 = _logins(jump_lab, "app-1"), _logins(jump_lab, "bastion-2")
    r = jcli("scan", "app-1")
    assert r.exit_code == 0, r.output
    assert f"connecting {target['address']}:22 via bastion-1 → bastion-2" in r.output, r.output
    assert _logins(jump_lab, "app-1")[len(before):] == [bastion2["address"]]
    assert _logins(jump_lab, "bastion-2")[len(before2):] == [bastion["address"]]
    assert _host(app, "bastion-2").host_key.split()[:2] == bastion2["host_key"].split()[:2]
    assert _no_ssh_threads() == []


def gateway_never_logged_in(lab) -> bool:
    return all(address != lab.gateway for address in _logins(lab, "app-1"))


def _scan_api(client, hosts, timeout=90):
    r = client.post("/api/v1/scans", json={"hosts": hosts})
    assert r.status_code == 202, r.json
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(r.headers["Location"]).json
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"scan did not finish: {body}")


def test_changed_or_dead_bastion_stops_the_scan_with_the_hop_named(jump_lab, vms, jcli, app):
    bastion, target = vms["bastion-1"], vms["app-1"]
    _add(jcli, bastion)
    _add(jcli, target, "--jump", "bastion-1")
    assert jcli("scan", "app-1").exit_code == 0
    before = json.loads(jcli("apps", "--json").output)

    # the bastion's key changed (another key pinned on its row): refused, with the way out
    with get_db(app).session() as s:
        s.query(Host).filter_by(name="bastion-1").one().host_key = OTHER_KEY
    logins = _logins(jump_lab, "app-1")
    r = jcli("scan", "app-1")
    assert r.exit_code == 1, r.output
    assert f"jump host bastion-1 ({bastion['address']}:22): HOST KEY CHANGED" in r.output, r.output
    assert "accept it with `migrator hosts accept-key bastion-1`" in r.output
    assert _logins(jump_lab, "app-1") == logins                  # the target was never reached
    assert _host(app, "bastion-1").host_key == OTHER_KEY         # nothing re-pinned behind the user's back
    assert "HOST KEY CHANGED" in jcli("hosts", "list").output
    assert json.loads(jcli("apps", "--json").output) == before   # earlier findings kept
    assert jcli("hosts", "accept-key", "bastion-1").exit_code == 0
    assert jcli("scan", "app-1").exit_code == 0
    assert _host(app, "bastion-1").host_key.split()[:2] == bastion["host_key"].split()[:2]

    # a bastion that refuses connections: the hop is named, the target is not blamed
    _add(jcli, bastion, name="bastion-dead", port=2222)
    assert jcli("hosts", "jump", "app-1", "--via", "bastion-dead").exit_code == 0
    r = jcli("scan", "app-1")
    assert r.exit_code == 1
    assert f"jump host bastion-dead ({bastion['address']}:2222): cannot connect (Connection refused)" in r.output, \
        r.output

    # the bastion is up but the target port is closed: said so, through the bastion
    _add(jcli, target, name="app-1-closed", port=2222)
    assert jcli("hosts", "jump", "app-1-closed", "--via", "bastion-1").exit_code == 0
    r = jcli("scan", "app-1-closed")
    assert r.exit_code == 1
    assert f"through jump host bastion-1: the target {target['address']}:2222 refused the connection" in r.output, \
        r.output
    assert _no_ssh_threads() == []


def test_ansible_inventory_with_proxy_jump_imports_and_scans(jump_lab, vms, jcli, tmp_path):
    bastion, target = vms["bastion-1"], vms["app-1"]
    key = target["key_path"]
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"""\
[private]
app-1 ansible_host={target['address']}

[private:vars]
ansible_user=root
ansible_ssh_private_key_file={key}
ansible_ssh_common_args='-o StrictHostKeyChecking=yes -o ProxyJump=root@{bastion['address']}'

[edge]
bastion-1 ansible_host={bastion['address']} ansible_user=root ansible_ssh_private_key_file={key}
""")
    r = jcli("hosts", "import", str(inventory))
    assert r.exit_code == 0, r.output
    listed = {h["name"]: h for h in json.loads(jcli("hosts", "list", "--json").output)}
    assert listed["app-1"]["jump"]["name"] == "bastion-1" and listed["bastion-1"]["jump"] is None
    r = jcli("scan")
    assert r.exit_code == 0, r.output
    assert_findings(json.loads(jcli("apps", "--json").output), "app-1")
