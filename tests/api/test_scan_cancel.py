"""A scan's hosts end in exactly one final state whatever happens meanwhile: a cancel right after
the start, a cancel during retries, a host removed during its scan, a process that died (even one
not yet reaped). Hosts are fakes here (collection replaced); the lab tests scan real ones."""
from __future__ import annotations

import subprocess
import threading
import time

from migrator import get_db
from migrator.credentials import CredentialCipher
from migrator.errors import ConnectError
from migrator.models import Scan, ScanHost, utcnow
from migrator.services import hosts, scans


def _scan(app, count: int, prefix: str = "h") -> tuple[int, list[int]]:
    with get_db(app).session() as s:
        added = [hosts.add_host(s, CredentialCipher(app.config), {"name": f"{prefix}{i}", "address": "10.213.66.10"})
                 for i in range(count)]
        scan = scans.create_scan(s, added)
        return scan.id, [row.id for row in scan.hosts]


def _rows(app, scan_id):
    with get_db(app).session() as s:
        scan = s.get(Scan, scan_id)
        return scan.status, scan.finished_at, {r.id: (r.status, r.stage, r.started_at) for r in scan.hosts}


def test_a_host_reported_cancelled_is_never_scanned(app, monkeypatch):
    scan_id, ids = _scan(app, 12)
    scanned = []

    def fake(settings, target, become, stage):
        scanned.append(target.name)
        time.sleep(0.05)
        raise ConnectError("cannot connect (Connection refused)")
    monkeypatch.setattr(scans, "_collect_with_retries", fake)
    settings = {**app.config, "SCAN_WORKERS": 2}
    runner = threading.Thread(target=scans.run_scan, args=(get_db(app), settings, scan_id))
    runner.start()
    time.sleep(0.08)
    with get_db(app).session() as s:
        scan = scans.cancel_scan(s, s.get(Scan, scan_id))
        reported = {r.id for r in scan.hosts if r.status == "cancelled"}
        over = scan.status == "cancelled"
    runner.join(30)
    status, finished_at, rows = _rows(app, scan_id)
    assert status == "cancelled" and finished_at is not None
    assert reported and all(rows[i][0] == "cancelled" and rows[i][2] is None for i in reported)
    assert len(scanned) == len(ids) - len(reported)
    assert not over or not [i for i in ids if rows[i][0] == "running"]     # reported over: nothing ran on
    assert {r[0] for r in rows.values()} <= {"failed", "cancelled"} and all(r[1] is None for r in rows.values())


def test_a_cancel_stops_a_host_that_is_retrying(app, monkeypatch):
    scan_id, _ = _scan(app, 1)
    attempts = []

    def timed_out(settings, target, become, stage):
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            with get_db(app).session() as s:
                scans.cancel_scan(s, s.get(Scan, scan_id))
        raise ConnectError("cannot connect: timed out")
    monkeypatch.setattr(scans, "collect", timed_out)
    settings = {**app.config, "SCAN_RETRIES": 5, "SCAN_RETRY_BACKOFF": 0.2}
    assert scans.run_scan(get_db(app), settings, scan_id) == "cancelled"
    assert len(attempts) < 4, attempts                         # not all six attempts, 12 s of waiting
    _, _, rows = _rows(app, scan_id)
    assert [r[0] for r in rows.values()] == ["cancelled"]


def test_a_host_removed_during_its_scan_ends_the_scan_cleanly(app, monkeypatch):
    scan_id, ids = _scan(app, 3)

    def remove_h1(settings, target, become, stage):
        if target.name == "h1":
            with get_db(app).session() as s:
                hosts.remove_host(s, hosts.find_hosts(s, ["h1"])[0])
        raise ConnectError("cannot connect (Connection refused)")
    monkeypatch.setattr(scans, "_collect_with_retries", remove_h1)
    assert scans.run_scan(get_db(app), {**app.config, "SCAN_WORKERS": 1}, scan_id) == "failed"
    status, finished_at, rows = _rows(app, scan_id)
    assert status == "failed" and finished_at is not None and len(rows) == 2
    assert {r[0] for r in rows.values()} == {"failed"}


def test_interrupted_hosts_lose_their_stage_and_a_dead_runner_cannot_block_a_cancel(app):
    scan_id, ids = _scan(app, 2)
    dead = subprocess.Popen(["sleep", "0"])                     # exits at once; not reaped yet: a zombie
    time.sleep(0.3)
    assert scans._start_time(dead.pid) == "?"
    with get_db(app).session() as s:
        scan = s.get(Scan, scan_id)
        scan.status, scan.runner = "running", f"{scans.socket.gethostname()} {dead.pid} 12345"
        for row in scan.hosts:
            row.status, row.stage, row.started_at = "running", "probing", utcnow()
    with get_db(app).session() as s:                            # a cancel ends it: nobody else will
        scan = scans.cancel_scan(s, s.get(Scan, scan_id))
        assert scan.status == "cancelled" and {r.status for r in scan.hosts} == {"cancelled"}
        assert {r.stage for r in scan.hosts} == {None}
    dead.wait()

    scan_id, ids = _scan(app, 1, prefix="late")
    with get_db(app).session() as s:
        scan = s.get(Scan, scan_id)
        scan.status, scan.runner = "running", f"{scans.socket.gethostname()} 999999 1"
        scan.hosts[0].status, scan.hosts[0].stage = "running", "measuring"
    assert scans.mark_interrupted(get_db(app)) == 1
    _, _, rows = _rows(app, scan_id)
    assert [(r[0], r[1]) for r in rows.values()] == [("failed", None)]
    with get_db(app).session() as s:
        assert s.get(ScanHost, ids[0]).error_kind == "interrupted"
