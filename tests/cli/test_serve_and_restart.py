"""A second service or a restart never marks the scans of a live process as interrupted."""
from __future__ import annotations

import json
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


def test_serve_killed_mid_scan_marks_exactly_its_unfinished_host(app, client, settings, tmp_path):
    """kill -9 of a real `migrator serve` while one host hangs after connecting: after a restart the
    scan is failed, the hanging host (and only it) interrupted, the other host keeps its own error,
    every earlier row is unchanged, and the service scans again. No lab needed: the hosts are local."""
    import threading
    import time

    from sqlalchemy import inspect, text

    from tests.conftest import make_token
    from tests.integration.service_process import Service

    silent = socket.socket()                 # accepts, never says a word: the scan waits in "connecting"
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
    closed.close()                           # nothing listens: refused at once
    for name, port in (("hangs", silent.getsockname()[1]), ("refused", closed_port)):
        r = client.post("/api/v1/hosts", json={"name": name, "address": "127.0.0.1", "port": port})
        assert r.status_code == 201, r.get_json()
    with get_db(app).session() as s:         # an earlier, finished scan
        host = s.query(Host).filter_by(name="refused").one()
        earlier = Scan(status="failed", runner=scans.runner_id())
        earlier.hosts = [ScanHost(host_id=host.id, status="failed", error="earlier", error_kind="unreachable")]
        s.add(earlier)
    token = make_token(app, "planner", "restart-test")

    def dump():
        engine = get_db(app).engine
        with engine.connect() as conn:
            return {t: {json.dumps([bytes(v).hex() if isinstance(v, (bytes, memoryview)) else v for v in row],
                                   default=str, sort_keys=True)
                        for row in conn.execute(text(f'SELECT * FROM "{t}"'))}
                    for t in inspect(engine).get_table_names() if t != "api_tokens"}
    before = dump()

    first = Service(settings, tmp_path, token, {"MIGRATOR_SSH_CONNECT_TIMEOUT": "60"})
    second = None
    try:
        scan_id = first.call("POST", "/api/v1/scans", {"hosts": ["hangs", "refused"]})["id"]
        deadline = time.monotonic() + 20
        while True:
            by = {h["host"]: h for h in first.call("GET", f"/api/v1/scans/{scan_id}")["hosts"]}
            if by["refused"]["status"] == "failed" and by["hangs"]["status"] == "running" and accepted:
                break
            assert time.monotonic() < deadline, by
            time.sleep(0.05)
        first.kill()
        second = Service(settings, tmp_path, token)
        assert "1 host scan(s) left unfinished by a stopped process were marked failed" in second.output()
        scan = second.call("GET", f"/api/v1/scans/{scan_id}")
        assert scan["status"] == "failed" and scan["error"] == "interrupted: the process running it stopped"
        by = {h["host"]: h for h in scan["hosts"]}
        assert (by["hangs"]["status"], by["hangs"]["error_kind"], by["hangs"]["error"]) == \
            ("failed", "interrupted", "the service stopped before this host's scan finished")
        assert by["refused"]["error_kind"] == "unreachable" and "Connection refused" in by["refused"]["error"]
        after = dump()
        assert all(set(rows) <= set(after[t]) for t, rows in before.items())
        again = second.call("POST", "/api/v1/scans", {"hosts": ["refused"]})["id"]
        deadline = time.monotonic() + 20
        while second.call("GET", f"/api/v1/scans/{again}")["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert second.call("GET", f"/api/v1/scans/{again}")["status"] == "failed"   # it ran, to its own answer
    finally:
        first.stop()
        if second is not None:
            second.stop()
        silent.close()
        for c in accepted:
            c.close()
