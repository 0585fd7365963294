"""A second service or a restart never marks the scans of a live process as interrupted."""
from __future__ import annotations

import socket

from migrator import get_db
from migrator.models import Host, Scan, ScanHost
from migrator.services import scans


def _scan(session, host, runner):
    scan = Scan(status="running", runner=runner)
    scan.hosts = [ScanHost(host_id=host.id, status="running")]
    session.add(scan)
    session.flush()
    return scan.id


def test_only_scans_of_dead_processes_are_marked(app):
    db = get_db(app)
    with db.session() as s:
        host = Host(name="h", address="127.0.0.1", port=22, auth_method="key", become="none")
        s.add(host)
        s.flush()
        mine = _scan(s, host, scans.runner_id())
        dead = _scan(s, host, f"{socket.gethostname()} 4194303 1")
        elsewhere = _scan(s, host, "other-machine 1 1")
        legacy = _scan(s, host, None)
    assert scans.mark_interrupted(db) == 2
    with db.session() as s:
        status = {i: s.get(Scan, i).status for i in (mine, dead, elsewhere, legacy)}
        assert status == {mine: "running", dead: "failed", elsewhere: "running", legacy: "failed"}
        assert s.get(Scan, dead).hosts[0].error_kind == "interrupted"


def test_serve_on_a_busy_port_is_one_line_and_marks_nothing(cli, app):
    with get_db(app).session() as s:
        host = Host(name="h", address="127.0.0.1", port=22, auth_method="key", become="none")
        s.add(host)
        s.flush()
        dead = _scan(s, host, f"{socket.gethostname()} 4194303 1")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        r = cli("serve", "--port", str(busy.getsockname()[1]))
    finally:
        busy.close()
    assert r.exit_code == 1 and "cannot listen on 127.0.0.1:" in r.output and "Traceback" not in r.output
    with get_db(app).session() as s:
        assert s.get(Scan, dead).status == "running"
    r = cli("serve", "--port", "99999")
    assert r.exit_code == 2 and "99999" in r.output


def test_transient_failures_are_retried_with_backoff_and_answers_are_not(cli, monkeypatch):
    import threading
    import time
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()                          # nothing listens there: refused, an answer
    monkeypatch.setenv("MIGRATOR_SSH_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv("MIGRATOR_SCAN_RETRIES", "2")
    assert cli("hosts", "add", "silent", "--address", "127.0.0.1", "--port", str(silent.getsockname()[1])).exit_code == 0
    assert cli("hosts", "add", "refused", "--address", "127.0.0.1", "--port", str(closed_port)).exit_code == 0
    started = time.monotonic()
    r = cli("scan", "silent")
    assert r.exit_code == 1 and r.output.count("retrying") == 2 and "again in 0.1 s" in r.output, r.output
    time.sleep(0.2)
    assert len(accepted) == 3 and time.monotonic() - started < 10
    r = cli("scan", "refused")
    assert r.exit_code == 1 and "retrying" not in r.output and "Connection refused" in r.output
    silent.close()
    for c in accepted:
        c.close()
