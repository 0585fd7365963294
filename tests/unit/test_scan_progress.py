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


@pytest.fixture
def queued(app):
    db = get_db(app)
    with db.session() as s:
        added = [hosts.add_host(s, CredentialCipher(app.config), {"name": n, "address": "10.213.66.10"})
                 for n in ("a", "b", "c")]
        scan = scans.create_scan(s, added)
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


def test_starts_are_written_unless_the_host_is_no_longer_queued(queued):
    from migrator.models import utcnow
    db, scan_id, (a, b, c) = queued
    tracker = ScanProgress(db, scan_id)
    at = utcnow()
    for sid in (a, b, c):
        tracker.start(sid, at)
    tracker.stage(a, "probing")
    with db.session() as s:
        s.get(ScanHost, b).status = "cancelled"              # cancelled before the tick
    tracker.forget(c)                                        # c finished before the tick
    tracker.flush()
    with db.session() as s:
        rows = {i: s.get(ScanHost, i) for i in (a, b, c)}
        assert (rows[a].status, rows[a].stage, rows[a].started_at is not None) == ("running", "probing", True)
        assert (rows[b].status, rows[b].started_at) == ("cancelled", None)
        assert (rows[c].status, rows[c].started_at) == ("queued", None)
