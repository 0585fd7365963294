"""Faults and crash safety (issue 9), on real lab hosts built to fail (tests/lab/faults.py):

  bbox     busybox only (no ss, systemctl, dpkg-query, getent; /bin/sh is busybox ash)
  notools  a normal host without dpkg-query and systemctl
  drop     its sshd session is killed after 20000 bytes of the probe's output
  stall    20000 bytes of output arrive, then the command never ends
  slow     `uname` hangs (as a tool reading a dead network mount would): the probe runs past
           the per-command time limit
  ok-1     a plain host with Redis

Each fault ends as a per-host error in plain words or a snapshot that says what it could not see,
the other hosts of the same scan finish, nothing stored before is lost, and a `migrator serve`
killed in the middle of a scan comes back with its data, marking exactly the unfinished hosts.
"""
from __future__ import annotations

import json
import os
import time

import pytest
from sqlalchemy import inspect, text

from migrator import get_db
from migrator.models import Host, Scan, Snapshot
from tests.conftest import make_token
from tests.integration.service_process import Service
from tests.lab import Lab, VMSpec
from tests.web.helpers import _ui

pytestmark = pytest.mark.integration

PREFIX, SUBNET = "mgf", "10.213.81.0/24"
FAULT_VMS = [
    VMSpec("ok-1", ("redis",)),
    VMSpec("bbox", ("busybox",)),
    VMSpec("notools", ("redis", "tools"), options={"tools": {"hide": ["dpkg-query", "systemctl"]}}),
    VMSpec("drop", ("sshfault",), options={"sshfault": {"mode": "drop", "bytes": 20000}}),
    VMSpec("stall", ("sshfault",), options={"sshfault": {"mode": "stall", "bytes": 20000}}),
    VMSpec("slow", ("tools",), options={"tools": {"slow": {"uname": 600}}}),
]
NO_PKG = "packages: no dpkg, rpm or apk; versions come from binaries only"
NO_SYSTEMCTL = "systemctl: not available or systemd not running; unit files read from disk"


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    from tests.integration.conftest import require_lab
    require_lab()
    problems = Lab.missing_requirements(FAULT_VMS)
    if problems:
        if os.environ.get("MIGRATOR_REQUIRE_LAB") == "1":
            pytest.fail(f"lab required (MIGRATOR_REQUIRE_LAB=1) but unavailable: {'; '.join(problems)}", pytrace=False)
        pytest.skip("; ".join(problems))
    lab = Lab(workdir=tmp_path_factory.mktemp("faults") / "lab", prefix=PREFIX, subnet=SUBNET)
    try:
        lab.up(FAULT_VMS, timeout=60)
        yield lab
    finally:
        lab.down()


def _add(cli, lab, *names):
    for host in lab.hosts:
        if host["name"] in names:
            r = cli("hosts", "add", host["name"], "--address", host["address"], "--user", "root",
                    "--key", host["key_path"])
            assert r.exit_code == 0, r.output


def _rows(app, scan_id=None):
    """{host name: (status, error_kind, error)} of a scan's hosts (the newest scan by default)."""
    with get_db(app).session() as s:
        scan = s.get(Scan, scan_id) if scan_id else s.query(Scan).order_by(Scan.id.desc()).first()
        return {row.host.name: (row.status, row.error_kind, row.error) for row in scan.hosts}


def _latest_snapshot(app, name):
    with get_db(app).session() as s:
        snap = (s.query(Snapshot).join(Host).filter(Host.name == name).order_by(Snapshot.id.desc()).first())
        return {"id": snap.id, "missing": list(snap.missing), "sections": dict(snap.sections)}


# ------------------------------------------------------------------------------ missing tools

def test_busybox_and_missing_tools_give_partial_snapshots_that_say_what_is_missing(faults, cli, app, client):
    _add(cli, faults, "ok-1", "bbox", "notools")
    r = cli("scan")
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output
    lines = {line.split()[0]: line for line in r.output.splitlines() if " done " in line}
    # busybox has an rpm applet that knows no database: its packages section failed, and says so
    assert "packages_rpm: the command failed" in lines["bbox"] and NO_SYSTEMCTL in lines["bbox"], r.output
    assert NO_PKG in lines["notools"] and NO_SYSTEMCTL in lines["notools"], r.output
    assert NO_PKG not in lines["ok-1"], r.output
    assert _rows(app) == {"ok-1": ("done", None, None), "bbox": ("done", None, None), "notools": ("done", None, None)}

    # the snapshots record what was not seen; what busybox and /proc give is still there
    bbox = _latest_snapshot(app, "bbox")
    assert NO_SYSTEMCTL in bbox["missing"]
    assert any(m.startswith("packages") for m in bbox["missing"]), bbox["missing"]   # no dpkg-query
    assert "packages_dpkg" not in bbox["sections"]
    assert {"processes", "proc_net_tcp", "proc_net_tcp6", "mounts"} <= set(bbox["sections"])
    notools = _latest_snapshot(app, "notools")
    assert NO_PKG in notools["missing"] and NO_SYSTEMCTL in notools["missing"]
    assert "packages_dpkg" not in notools["sections"] and "systemctl_units" not in notools["sections"]

    apps = json.loads(cli("apps", "--json").output)
    ports = {(a["host"], a["software"]): {p["port"] for p in a["ports"]} for a in apps}
    assert ports[("bbox", "apache-httpd")] == {8088}         # busybox httpd, its socket from /proc/net
    assert ports[("notools", "redis")] == {6379}             # redis and its port from /proc
    assert ports[("ok-1", "redis")] == {6379}
    (redis,) = [a for a in apps if a["host"] == "notools" and a["software"] == "redis"]
    assert redis["verdict"] == "stateful"

    # the API says it: the snapshot, and each host of the scan
    body = client.get("/api/v1/snapshots?host=notools").get_json()
    assert NO_PKG in body["items"][-1]["missing"]
    scan_id = client.get("/api/v1/scans").get_json()["items"][-1]["id"]
    hosts = {h["host"]: h for h in client.get(f"/api/v1/scans/{scan_id}").get_json()["hosts"]}
    assert NO_SYSTEMCTL in hosts["bbox"]["missing"] and NO_PKG in hosts["notools"]["missing"]
    assert NO_PKG not in hosts["ok-1"]["missing"]
    # and the web UI's scan page
    page = _ui(app, "viewer").get(f"/scans/{scan_id}").get_data(as_text=True)
    assert "Not seen on this host:" in page and NO_PKG in page


def test_busybox_probe_leaves_no_processes_of_its_own(faults, cli, app):
    _add(cli, faults, "bbox")
    assert cli("scan", "bbox").exit_code == 0
    apps = json.loads(cli("apps", "--json").output)
    assert [a["name"] for a in apps] == ["apache-httpd"], [(a["name"], a["command"][:4]) for a in apps]


# --------------------------------------------------------------------- dropped and slow hosts

def test_dropped_connection_and_timeouts_fail_their_host_only(faults, cli, app, monkeypatch):
    _add(cli, faults, "ok-1", "drop", "stall", "slow")
    r = cli("scan", "ok-1")
    assert r.exit_code == 0, r.output
    before = json.loads(cli("apps", "--json").output)
    assert before

    monkeypatch.setenv("MIGRATOR_SSH_COMMAND_TIMEOUT", "3")
    started = time.monotonic()
    r = cli("scan")
    took = time.monotonic() - started
    assert r.exit_code == 2 and "scan 2 partial" in r.output and "Traceback" not in r.output, r.output
    rows = _rows(app)
    assert rows["ok-1"] == ("done", None, None)
    status, kind, error = rows["drop"]
    assert (status, kind) == ("failed", "probe")
    assert error == "the connection dropped after 20000 bytes of output, before the command finished"
    assert r.output.count("retrying   the connection dropped") == 2      # a dropped connection is tried again
    for name in ("stall", "slow"):
        status, kind, error = rows[name]
        assert (status, kind) == ("failed", "probe"), rows[name]
        assert error.startswith("timed out: the command did not finish within 3 s (the per-command limit, "
                                "MIGRATOR_SSH_COMMAND_TIMEOUT)"), error
        assert "retrying" not in [line.split()[1] for line in r.output.splitlines() if line.split()[:1] == [name]]
    assert took < 20, took                                  # the time limit ends the hosts, not the scan

    # nothing stored before is lost: ok-1's first snapshot and the findings are there, the failed
    # hosts have no snapshot (their partial output is not passed off as a scan)
    with get_db(app).session() as s:
        counts = dict(s.execute(text("SELECT h.name, count(*) FROM snapshots sn JOIN hosts h ON h.id = sn.host_id "
                                     "GROUP BY h.name")).all())
    assert counts == {"ok-1": 2}
    after = json.loads(cli("apps", "--json").output)
    assert [(a["host"], a["name"], a["ports"]) for a in after] == [(a["host"], a["name"], a["ports"]) for a in before]
    listing = cli("hosts", "list").output
    assert "connection dropped" in listing and "timed out" in listing


# ----------------------------------------------------------------------- killed mid-scan

def _dump(app) -> dict[str, dict]:
    """Every row of every table, by primary key (api_tokens' last use left out: using a token changes it)."""
    engine = get_db(app).engine
    out: dict[str, dict] = {}
    with engine.connect() as conn:
        insp = inspect(engine)
        for table in insp.get_table_names():
            keys = insp.get_pk_constraint(table)["constrained_columns"] or None
            rows = {}
            for row in conn.execute(text(f'SELECT * FROM "{table}"')).mappings():
                row = {k: (bytes(v) if isinstance(v, memoryview) else v) for k, v in row.items()
                       if (table, k) != ("api_tokens", "last_used_at")}
                rows[tuple(row[k] for k in keys) if keys else tuple(row.values())] = row
            out[table] = rows
    return out


def _wait(service, scan_id, until, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        scan = service.call("GET", f"/api/v1/scans/{scan_id}")
        if until(scan):
            return scan
        assert time.monotonic() < deadline, scan
        time.sleep(0.1)


def test_service_killed_mid_scan_restarts_with_its_data(faults, cli, app, client, settings, tmp_path):
    _add(cli, faults, "ok-1", "bbox", "notools", "stall")
    # what is stored before: hosts, two earlier scans with snapshots and findings, a plan, an override
    assert cli("scan", "ok-1", "notools").exit_code == 0
    assert cli("scan", "ok-1", "bbox").exit_code == 0
    r = client.post("/api/v1/plans", json={"namespace": "faults"})
    assert r.status_code == 201, r.get_json()
    r = client.post("/api/v1/overrides", json={"workload": "ok-1/redis", "changes": {"replicas": 1}})
    assert r.status_code == 201, r.get_json()
    token = make_token(app, "planner", "fault-test")
    before = _dump(app)
    assert before["snapshots"] and before["applications"] and before["plans"]

    ids = {h["name"]: h["id"] for h in client.get("/api/v1/hosts").get_json()["items"]}
    first = Service(settings, tmp_path, token, {"MIGRATOR_SSH_COMMAND_TIMEOUT": "300"})
    second = None
    try:
        scan = first.call("POST", "/api/v1/scans", {"hosts": ["ok-1", "bbox", "notools", "stall"]})
        scan_id = scan["id"]
        finished = ("done", "failed", "cancelled")

        def three_done_stall_probing(s):
            by = {h["host"]: h for h in s["hosts"]}
            return all(by[n]["status"] in finished for n in ("ok-1", "bbox", "notools")) \
                and by["stall"]["stage"] == "probing"
        scan = _wait(first, scan_id, three_done_stall_probing)
        assert scan["status"] == "running"
        first.kill()                                   # kill -9 while stall's probe runs

        with get_db(app).session() as s:               # nothing marks it before a service starts again
            assert s.get(Scan, scan_id).status == "running"
        second = Service(settings, tmp_path, token)
        assert "1 host scan(s) left unfinished by a stopped process were marked failed" in second.output()

        scan = second.call("GET", f"/api/v1/scans/{scan_id}")
        assert scan["status"] == "failed" and scan["error"] == "interrupted: the process running it stopped"
        by = {h["host"]: h for h in scan["hosts"]}
        assert {n: (h["status"], h["error_kind"]) for n, h in by.items()} == {
            "ok-1": ("done", None), "bbox": ("done", None), "notools": ("done", None),
            "stall": ("failed", "interrupted")}
        assert by["stall"]["error"] == "the service stopped before this host's scan finished"
        assert all(by[n]["snapshot_id"] for n in ("ok-1", "bbox", "notools")) and by["stall"]["snapshot_id"] is None
        assert scan["progress"] == {"total": 4, "queued": 0, "running": 0, "done": 3, "failed": 1, "cancelled": 0}

        # every row stored before the kill is there, unchanged
        after = _dump(app)
        for table, rows in before.items():
            for key, row in rows.items():
                assert after[table].get(key) == row, (table, key)

        # a new scan works, on the restarted service
        scan = second.call("POST", "/api/v1/scans", {"hosts": [ids["ok-1"]]})
        scan = _wait(second, scan["id"], lambda s: s["status"] not in ("queued", "running"))
        assert scan["status"] == "done", scan
        apps = second.call("GET", "/api/v1/applications?host=ok-1")["items"]
        assert [a["software"] for a in apps] == ["redis"]
        plans = second.call("GET", "/api/v1/plans")["items"]
        assert [p["id"] for p in plans] == [p["id"] for p in before["plans"].values()]
        assert "Traceback" not in first.output() + second.output()
    finally:
        first.stop()
        if second is not None:
            second.stop()
