"""Secrets planted on a lab host are redacted before anything is stored: a real scan, then every
database row (raw probe output decompressed), `migrator apps --json` and the exported plan are
searched for the planted values. None may be found; the secret references say where they were.
The same scan run by a real `migrator serve` with every logger at DEBUG: its whole log, every API
answer and every row are searched for the planted values and for the SSH passwords it was given.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
import urllib.error
import zlib

import pytest
from sqlalchemy import inspect, text

from analyzers.probe_output import split_sections
from analyzers.secrets import redact_sections
from migrator import get_db
from migrator.models import Snapshot
from tests.conftest import make_token
from tests.integration.service_process import Service

PLANTED = ["Pl4ntedUnitEnv-7f3a", "Pl4ntedCronPg-91b2", "Pl4ntedArgv-c0d4", "Pl4ntedYaml-55e1",
           "Pl4ntedPemBody-a9", "Pl4ntedUrl-3c7d", "Pl4ntedMysql-e2f0"]
PEM = f"-----BEGIN RSA PRIVATE KEY-----\nMIIEow{PLANTED[4]}AAKCAQEA\n-----END RSA PRIVATE KEY-----\n"


@pytest.fixture
def planted(lab):
    vm = "app-1"
    files = {
        "/etc/systemd/system/mig-secret.service":
            f"[Service]\nEnvironment=\"DB_PASSWORD={PLANTED[0]}\" LOG=info\n"
            f"ExecStart=/opt/migsecret/run --db postgres://app:{PLANTED[5]}@db/app\n",
        "/etc/cron.d/mig-secret":
            f"PGPASSWORD={PLANTED[1]}\n15 3 * * * root mysqldump -uroot -p{PLANTED[6]} app >/dev/null\n",
        "/opt/migsecret/app.yml": f"db:\n  host: db\n  password: \"{PLANTED[3]}\"\ntls:\n  key: |\n"
                                  + "".join(f"    {line}\n" for line in PEM.splitlines()) + "data_dir: /var/lib/migsecret\n",
        "/opt/migsecret/key.conf": PEM,
    }
    made = []
    for path, body in files.items():
        host_path = lab.vm_path(vm, path)
        host_path.parent.mkdir(parents=True, exist_ok=True)
        host_path.write_text(body)
        made.append(host_path)
    started = lab.exec(vm, ["sh", "-c", "python3 -c 'import time; time.sleep(600)' --config=/opt/migsecret/app.yml "
                                        f"--extra /opt/migsecret/key.conf --password {PLANTED[2]} "
                                        ">/dev/null 2>&1 </dev/null & echo $!"])
    pid = started.stdout.strip()
    assert pid.isdigit(), started
    yield
    lab.exec(vm, ["kill", pid], check=False)
    for path in made:
        path.unlink(missing_ok=True)
    shutil.rmtree(lab.vm_path(vm, "/opt/migsecret"), ignore_errors=True)


def _leaks(blob: str, needles=PLANTED) -> list[str]:
    return [p for p in needles if p in blob]


def _stored_leaks(app, needles=PLANTED) -> list[tuple[str, str]]:
    """(table, needle) for every needle found in any column of any row (compressed blobs opened)."""
    engine = get_db(app).engine
    found = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    blob = value
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        data = bytes(value)
                        try:
                            data = zlib.decompress(data)
                        except zlib.error:
                            pass
                        blob = data.decode("utf-8", "replace")
                    found += [(table, p) for p in _leaks(str(blob), needles)]
    return found


def test_planted_secrets_are_nowhere(lab, planted, cli, app, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)                      # every logger of this process, paramiko's too
    caplog.set_level(logging.DEBUG, logger="paramiko")
    host = lab.hosts[0]
    r = cli("hosts", "add", host["name"], "--address", host["address"], "--user", "root", "--key", host["key_path"])
    assert r.exit_code == 0, r.output
    r = cli("scan")
    assert r.exit_code == 0 and "done" in r.output, r.output
    assert not _leaks(r.output)

    with get_db(app).session() as s:
        (snap,) = s.query(Snapshot).all()
        raw = zlib.decompress(snap.probe_output)
        sections = split_sections(raw, snap.nonce)
        # the planted files and the process were collected, redacted
        assert "/opt/migsecret/app.yml" in sections["configs"].text
        assert "--password\x00<redacted>" in sections["processes"].text
        refs = {(r.section, r.source.split()[0], r.key) for r in redact_sections(sections, snap.nonce)[1]}
        assert {("unit_files", "/etc/systemd/system/mig-secret.service", "DB_PASSWORD"),
                ("crontabs", "/etc/cron.d/mig-secret", "PGPASSWORD"), ("crontabs", "/etc/cron.d/mig-secret", "-p"),
                ("configs", "/opt/migsecret/app.yml", "password"),
                ("configs", "/opt/migsecret/key.conf", "private-key")} <= refs
        assert ("processes", "pid", "--password") in refs
    # every column of every row of every table, compressed blobs opened
    assert _stored_leaks(app) == []

    r = cli("apps", "--json")
    assert r.exit_code == 0, r.output
    json.loads(r.output)
    assert not _leaks(r.output)
    out = tmp_path / "plan.yaml"
    r = cli("plan", "export", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert not _leaks(out.read_text()) and not _leaks(r.output)
    assert any(rec.name.startswith("paramiko") for rec in caplog.records)   # the capture saw DEBUG records
    assert not _leaks(caplog.text) and not _leaks("\n".join(str(rec.args) for rec in caplog.records))


HOST_PASSWORD = "Pl4ntedHostPw-71ad"
CRED_PASSWORD = "Pl4ntedCredPw-08be"


def test_service_logs_hold_no_secret_and_no_password(lab, planted, app, settings, tmp_path):
    """A real `migrator serve`, every logger at DEBUG (SQL statements and their parameters, paramiko's
    transport, waitress), scans the planted host and two hosts that log in with a password; its log,
    its API answers and the database hold neither the planted values nor the passwords."""
    host = lab.hosts[0]
    needles = PLANTED + [HOST_PASSWORD, CRED_PASSWORD]
    service = Service(settings, tmp_path, make_token(app, "admin", "log-test"), debug_logging=True)
    answers = []
    try:
        def call(method, path, body=None):
            answer = service.call(method, path, body)
            answers.append(json.dumps(answer))
            return answer
        call("POST", "/api/v1/hosts", {"name": "app-1", "address": host["address"], "username": "root",
                                       "key_path": host["key_path"]})
        # the lab's sshd takes keys only: these logins are refused after the password was sent
        call("POST", "/api/v1/hosts", {"name": "pw-host", "address": host["address"], "username": "root",
                                       "auth_method": "password", "password": HOST_PASSWORD})
        call("POST", "/api/v1/credentials", {"name": "pw-cred", "kind": "password", "username": "root",
                                             "password": CRED_PASSWORD})
        call("POST", "/api/v1/hosts", {"name": "cred-host", "address": host["address"], "credential": "pw-cred"})
        scan = call("POST", "/api/v1/scans")
        deadline = time.monotonic() + 60
        while scan["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, scan
            time.sleep(0.2)
            scan = call("GET", f"/api/v1/scans/{scan['id']}")
        by = {h["host"]: h for h in scan["hosts"]}
        assert by["app-1"]["status"] == "done", scan
        assert by["pw-host"]["error_kind"] == "auth" and by["cred-host"]["error_kind"] == "auth", scan
        plan = call("POST", "/api/v1/plans", {})
        for path in ("/api/v1/hosts", "/api/v1/credentials", "/api/v1/scans", "/api/v1/snapshots",
                     "/api/v1/applications?limit=500", "/api/v1/graph", "/api/v1/plans", f"/api/v1/plans/{plan['id']}",
                     "/api/v1/audit"):
            call("GET", path)
        try:
            call("GET", "/api/v1/hosts/999999")      # an error answer too
        except urllib.error.HTTPError as exc:
            answers.append(exc.read().decode("utf-8", "replace"))
    finally:
        service.stop()
    log = service.output()
    assert " DEBUG paramiko.transport " in log and "INSERT INTO snapshots" in log, log[-2000:]
    assert "'pw-cred'" in log                     # SQL parameters are in the log: the search can see values
    assert log.count("Authentication type (password) not permitted") == 2   # both passwords were sent
    assert [n for n in needles if n in log] == []
    assert [n for n in needles if any(n in a for a in answers)] == []
    assert _stored_leaks(app, needles) == []
