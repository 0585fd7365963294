"""Secrets planted on a lab host are redacted before anything is stored: a real scan, then every
database row (raw probe output decompressed), `migrator apps --json` and the exported plan are
searched for the planted values. None may be found; the secret references say where they were.
"""
from __future__ import annotations

import json
import shutil
import zlib

import pytest
from sqlalchemy import inspect, text

from analyzers.probe_output import split_sections
from analyzers.secrets import redact_sections
from migrator import get_db
from migrator.models import Snapshot

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


def _leaks(blob: str) -> list[str]:
    return [p for p in PLANTED if p in blob]


def test_planted_secrets_are_nowhere(lab, planted, cli, app, tmp_path):
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
                        found += [(table, p) for p in _leaks(str(blob))]
        assert found == []

    r = cli("apps", "--json")
    assert r.exit_code == 0, r.output
    json.loads(r.output)
    assert not _leaks(r.output)
    out = tmp_path / "plan.yaml"
    r = cli("plan", "export", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert not _leaks(out.read_text()) and not _leaks(r.output)
