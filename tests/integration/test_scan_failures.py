"""Bad hosts end their own scan with a clear error; what is already stored stays."""
from __future__ import annotations

import json
import socket
import threading

import paramiko

from migrator import get_db
from migrator.models import Host, Snapshot


def _add(cli, name, address, key, port=22):
    r = cli("hosts", "add", name, "--address", address, "--user", "root", "--key", key, "--port", str(port))
    assert r.exit_code == 0, r.output


def _apps(cli):
    return json.loads(cli("apps", "--json").output)


def test_unreachable_changed_key_and_refused_login(lab, cli, app, tmp_path):
    host = lab.hosts[0]
    _add(cli, "good", host["address"], host["key_path"])
    assert cli("scan", "good").exit_code == 0
    before = _apps(cli)
    assert before

    # an address of the lab range that no VM holds: fails at once (unreachable route / no answer)
    unused = host["address"].rsplit(".", 1)[0] + ".250"
    _add(cli, "ghost", unused, host["key_path"])
    r = cli("scan", "ghost")
    assert r.exit_code == 1 and ("cannot connect" in r.output or "no answer" in r.output), r.output

    # a login that is refused: a key the host does not know
    other_key = tmp_path / "other_key"
    paramiko.RSAKey.generate(2048).write_private_key_file(str(other_key))
    _add(cli, "stranger", host["address"], str(other_key))
    r = cli("scan", "stranger")
    assert r.exit_code == 1 and "login as 'root' refused" in r.output, r.output

    # a changed host key: pin a different key on the good host, then rescan
    with get_db(app).session() as s:
        good = s.query(Host).filter_by(name="good").one()
        good.host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    r = cli("scan", "good")
    assert r.exit_code == 1 and "HOST KEY CHANGED" in r.output, r.output

    # every failure kept the earlier findings
    assert _apps(cli) == before
    with get_db(app).session() as s:
        assert s.query(Snapshot).count() == 1
    r = cli("hosts", "list")
    assert "HOST KEY CHANGED" in r.output and "refused" in r.output


def test_host_that_hangs_after_connect(cli, tmp_path, monkeypatch, caplog):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    accepted = []
    t = threading.Thread(target=lambda: accepted.append(srv.accept()[0]), daemon=True)
    t.start()
    monkeypatch.setenv("MIGRATOR_SSH_CONNECT_TIMEOUT", "1.5")
    key = tmp_path / "k"
    key.write_text("unused")
    _add(cli, "hangs", "127.0.0.1", str(key), port=srv.getsockname()[1])
    r = cli("scan", "hangs")
    assert r.exit_code == 1 and "no SSH answer within 1.5 s" in r.output, r.output
    assert "Traceback" not in r.output
    assert [rec.getMessage()[:80] for rec in caplog.records if rec.name.startswith("paramiko")] == []
    srv.close()
    for c in accepted:
        c.close()
