"""A scan's progress written in batches: stages reach the database within a tick, a finished
host never gets a stale stage back, and a cancel is seen by every worker at its next stage."""
from __future__ import annotations

import time

import pytest

from migrator import get_db
from migrator.credentials import CredentialCipher
from migrator.models import ScanHost
from migrator.services import hosts, scans
from migrator.services.scan_progress import ScanProgress


@pytest.fixture
def scan(app):
    db = get_db(app)
    with db.session() as s:
        added = [hosts.add_host(s, CredentialCipher(app.config), {"name": n, "address": "10.213.66.10"})
                 for n in ("a", "b")]
        scan = scans.create_scan(s, added)
        for row in scan.hosts:
            row.status = "running"
        return db, scan.id, [row.id for row in scan.hosts]


def _stages(db, ids):
    with db.session() as s:
        return [(s.get(ScanHost, i).status, s.get(ScanHost, i).stage) for i in ids]


def test_stages_are_written_within_a_tick(scan):
    db, scan_id, (a, b) = scan
    with ScanProgress(db, scan_id, interval=0.05) as tracker:
        tracker.stage(a, "probing")
        tracker.stage(b, "probing")
        tracker.stage(b, "measuring")                       # only the newest is written
        deadline = time.monotonic() + 5
        while _stages(db, [a, b]) != [("running", "probing"), ("running", "measuring")]:
            assert time.monotonic() < deadline, _stages(db, [a, b])
            time.sleep(0.02)


def test_a_finished_host_keeps_its_final_status(scan):
    db, scan_id, (a, b) = scan
    tracker = ScanProgress(db, scan_id)
    tracker.stage(a, "analyzing")
    tracker.stage(b, "analyzing")
    with db.session() as s:                                 # a finished before the tick
        row = s.get(ScanHost, a)
        row.status, row.stage = "done", None
    tracker.forget(b)
    tracker.flush()
    assert _stages(db, [a, b]) == [("done", None), ("running", None)]


def test_a_cancel_stops_each_host_at_its_next_stage(scan, app):
    db, scan_id, (a, b) = scan
    with ScanProgress(db, scan_id, interval=0.05) as tracker:
        tracker.stage(a, "probing")
        with db.session() as s:
            scans.cancel_scan(s, s.get(scans.Scan, scan_id))
        deadline = time.monotonic() + 5
        while not tracker.cancelled.is_set():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with pytest.raises(scans.ScanCancelled):
            tracker.stage(b, "measuring")
