"""Scale-out: with MIGRATOR_JOBS=celery the service queues scans on Redis (127.0.0.1:6379) and a
real `migrator worker` process, sharing the database, scans the lab host."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from migrator import create_app, get_db, migrate
from tests.conftest import TokenClient, make_token

pytestmark = pytest.mark.integration
BROKER = "redis://127.0.0.1:6379/13"        # a database of its own, emptied before and after


@pytest.fixture
def broker():
    try:
        r = redis.Redis.from_url(BROKER)
        r.flushdb()
    except redis.RedisError as exc:
        if os.environ.get("MIGRATOR_REQUIRE_LAB") == "1":
            pytest.fail(f"Redis on 127.0.0.1:6379 is required: {exc}")
        pytest.skip(f"Redis on 127.0.0.1:6379 not reachable: {exc}")
    yield BROKER
    r.flushdb()


def test_worker_process_runs_the_scan(lab, settings, broker, tmp_path):
    settings = {**settings, "JOBS": "celery", "CELERY_BROKER_URL": broker}
    migrate.upgrade(settings["DATABASE_URL"])
    env = {**os.environ, "MIGRATOR_DATABASE_URL": settings["DATABASE_URL"], "MIGRATOR_JOBS": "celery",
           "MIGRATOR_CELERY_BROKER_URL": broker, "MIGRATOR_INSTANCE_PATH": settings["INSTANCE_PATH"],
           "MIGRATOR_SSH_CONFIG": settings["SSH_CONFIG"], "MIGRATOR_SSH_KNOWN_HOSTS": settings["SSH_KNOWN_HOSTS"]}
    log = open(tmp_path / "worker.log", "wb")
    command = str(Path(sys.executable).parent / "migrator")
    worker = subprocess.Popen([command, "worker", "--concurrency", "1"], env=env,
                              stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])
    app = create_app(settings)
    app.test_client_class = TokenClient
    try:
        client = app.test_client(token=make_token(app, "admin"))
        host = lab.hosts[0]
        r = client.post("/api/v1/hosts", json={"name": host["name"], "address": host["address"],
                                                "username": "root", "key_path": host["key_path"]})
        assert r.status_code == 201, r.json
        r = client.post("/api/v1/scans", json={"hosts": [host["name"]]})
        assert r.status_code == 202
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            scan = client.get(r.headers["Location"]).json
            if scan["status"] not in ("queued", "running"):
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.5)
        assert scan["status"] == "done", (scan, (tmp_path / "worker.log").read_text())
        apps = client.get("/api/v1/applications?verdict=stateful").json["items"]
        assert [a["software"] for a in apps] == ["redis"]
        from migrator.models import Scan
        with get_db(app).session() as s:       # the worker, not this process, ran it
            runner = s.get(Scan, scan["id"]).runner
        pid = int(runner.split()[1])
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert worker.pid in (pid, parent) and pid != os.getpid()       # the worker or its pool process
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
        get_db(app).engine.dispose()
