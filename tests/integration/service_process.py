"""A real `migrator serve` process on a test's database, for tests that kill it or read its log."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Every logger at DEBUG, to stdout, then the CLI: paramiko's too (migrator.collect.ssh quiets it) and
# SQLAlchemy's (it holds itself at WARNING unless told), which logs each SQL statement with its parameters.
DEBUG_LOGGING = ("import logging, sys; "
                 "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, "
                 "format='%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s'); "
                 "import sqlalchemy, migrator.collect.ssh; "
                 "[logging.getLogger(n).setLevel(logging.DEBUG) for n in ('paramiko', 'sqlalchemy')]; ")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """A real `migrator serve` process on the test database."""

    def __init__(self, settings, tmp_path, token, extra_env=None, debug_logging=False):
        self.port = _free_port()
        self.log = tmp_path / f"serve-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_")}
        env.update({"MIGRATOR_DATABASE_URL": settings["DATABASE_URL"],
                    "MIGRATOR_INSTANCE_PATH": settings["INSTANCE_PATH"],
                    "MIGRATOR_SSH_CONFIG": settings["SSH_CONFIG"], "MIGRATOR_SSH_KNOWN_HOSTS": settings["SSH_KNOWN_HOSTS"],
                    "MIGRATOR_SCAN_RETRY_BACKOFF": "0.05", "PYTHONUNBUFFERED": "1", **(extra_env or {})})
        self.token = token
        with open(self.log, "wb") as out:
            code = (DEBUG_LOGGING if debug_logging else "") + "from migrator.cli import main; main(prog_name='migrator')"
            self.proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(self.port)],
                                         cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.call("GET", "/api/v1/health")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"migrator serve did not start: {self.output()}")
                time.sleep(0.1)

    def call(self, method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
