"""Benchmark (d): API latency of the list endpoints with 10,000 hosts in PostgreSQL under 20
concurrent clients.

A fresh PostgreSQL database (127.0.0.1:5432, user postgres; dropped at the end) is migrated, filled
by bulk SQL with 10,000 hosts and an admin API token (with --scan-hosts N also one finished scan
over N of them, a scan_hosts row each, so the hosts list has a last scan to show and the scans
list counts progress).
The real service (`.venv/bin/migrator serve`, waitress, its default threads unless --threads) then
takes 20 client threads, each on its own keep-alive connection, each going round
/api/v1/hosts?limit=100 (following the `next` cursor through all pages, then from the start again),
/api/v1/applications, /api/v1/scans, /api/v1/plans and /api/v1/health for --seconds (after a
--warmup that is not counted). Printed: p50 and p99 per endpoint, requests/s, and the reference
measured under the same load: /api/v1/health (no database, no token), as the ratio list p50 /
health p50.

    .venv/bin/python bench/api_latency.py [--hosts 10000] [--clients 20] [--seconds 20] [--threads N]

Figures measured on 2026-12-04 (this machine, defaults; waitress with the service's 8 threads; the
2,000-host run with --scan-hosts 2000 showed GET /api/v1/scans alone at 6.3 s for one scan of 2,000
hosts, 0.21 s for 200: it grows faster than linearly with a scan's hosts):

    database mgbench_api_9453: migrated in 0.3 s, 10000 hosts (and a scan over 0) inserted in 0.5 s
      alone (one request each, no load): hosts 147.3 ms, applications 13.4 ms, scans 4.4 ms, plans 4.6 ms, health 0.9 ms
    20 clients for 20 s (after 2 s warm-up), server threads: default; 1193 requests, 60 requests/s, 0 errors; 268 host pages read
      endpoint                     requests   req/s   p50 ms   p99 ms
      /api/v1/hosts?limit=100 (paged)      241      12    764.5   1344.7
      /api/v1/applications              241      12    212.4    542.1
      /api/v1/scans                     239      12    212.1    544.8
      /api/v1/plans                     234      12    196.1    537.9
      /api/v1/health                    238      12    200.4    536.7
      ratio p50 / health p50 (same load): hosts 3.8, applications 1.1, scans 1.1, plans 1.0
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from migrator import migrate, models  # noqa: E402
from migrator.services.tokens import create_token  # noqa: E402

MIGRATOR = ROOT / ".venv" / "bin" / "migrator"
ENDPOINTS = ("hosts", "applications", "scans", "plans", "health")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(url: str, hosts: int, scan_hosts: int) -> tuple[str, float]:
    """Bulk-insert the hosts and one scan over the first `scan_hosts` of them; return an admin token's secret and the seconds."""
    t0 = time.perf_counter()
    now = datetime.now(timezone.utc)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            batch = 2000
            for start in range(0, hosts, batch):
                conn.execute(models.Host.__table__.insert(), [
                    {"name": f"host-{i:05d}", "address": f"10.{100 + i // 65536}.{i // 256 % 256}.{i % 256}",
                     "port": 22, "username": "root", "auth_method": "key", "key_path": "/root/.ssh/id_ed25519",
                     "become": "none", "created_at": now, "updated_at": now}
                    for i in range(start, min(hosts, start + batch))])
            if scan_hosts:
                scan_id = conn.execute(models.Scan.__table__.insert().returning(models.Scan.__table__.c.id),
                                       {"status": "failed", "created_at": now, "started_at": now, "finished_at": now,
                                        "error": "benchmark data: not scanned"}).scalar_one()
                host_ids = [row[0] for row in conn.execute(text("SELECT id FROM hosts ORDER BY id LIMIT :n"),
                                                           {"n": scan_hosts})]
                for start in range(0, len(host_ids), batch):
                    conn.execute(models.ScanHost.__table__.insert(), [
                        {"scan_id": scan_id, "host_id": h, "status": "failed", "stage": "connecting",
                         "started_at": now, "finished_at": now, "error": "benchmark data: not scanned",
                         "error_kind": "unreachable"} for h in host_ids[start:start + batch]])
        with Session(engine) as session:
            _token, secret = create_token(session, "bench", "admin")
            session.commit()
    finally:
        engine.dispose()
    return secret, time.perf_counter() - t0


class Client(threading.Thread):
    def __init__(self, port: int, secret: str, stop_at: float, count_from: float, offset: int):
        super().__init__(daemon=True)
        self.port, self.secret, self.stop_at, self.count_from = port, secret, stop_at, count_from
        self.offset = offset
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.pages = 0

    def _get(self, conn: http.client.HTTPConnection, path: str, auth: bool) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.secret}"} if auth else {}
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        next_hosts = "/api/v1/hosts?limit=100"
        i = self.offset
        while True:
            now = time.perf_counter()
            if now >= self.stop_at:
                break
            endpoint = ENDPOINTS[i % len(ENDPOINTS)]
            i += 1
            path = next_hosts if endpoint == "hosts" else f"/api/v1/{endpoint}"
            t0 = time.perf_counter()
            try:
                status, body = self._get(conn, path, auth=endpoint != "health")
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{path}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                continue
            took = time.perf_counter() - t0
            if status != 200:
                self.errors.append(f"{path}: HTTP {status} {body[:200]!r}")
                continue
            if endpoint == "hosts":
                nxt = json.loads(body).get("next")
                if nxt:
                    parts = urlsplit(nxt)
                    next_hosts = parts.path + (f"?{parts.query}" if parts.query else "")
                else:
                    next_hosts = "/api/v1/hosts?limit=100"
                self.pages += 1
            if t0 >= self.count_from:
                self.latencies[endpoint].append(took)
        conn.close()


def _alone(client: Client, conn: http.client.HTTPConnection, endpoint: str) -> float:
    t0 = time.perf_counter()
    status, body = client._get(conn, "/api/v1/hosts?limit=100" if endpoint == "hosts" else f"/api/v1/{endpoint}",
                               auth=endpoint != "health")
    if status != 200:
        raise SystemExit(f"{endpoint}: HTTP {status} {body[:300]!r}")
    return time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--scan-hosts", type=int, default=0,
                    help="also one finished scan over this many of the hosts (a scan_hosts row each)")
    ap.add_argument("--threads", type=int, help="`migrator serve --threads` (default: the service's own)")
    ap.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432",
                    help="PostgreSQL server URL without a database")
    args = ap.parse_args()

    dbname = f"mgbench_api_{os.getpid()}"
    admin = create_engine(f"{args.server}/postgres", isolation_level="AUTOCOMMIT")
    url = f"{args.server}/{dbname}"
    tmp = Path(tempfile.mkdtemp(prefix="mgbench-api-"))
    server = None
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
        t0 = time.perf_counter()
        migrate.upgrade(url)
        t_migrate = time.perf_counter() - t0
        secret, t_fill = fill(url, args.hosts, args.scan_hosts)
        print(f"database {dbname}: migrated in {t_migrate:.1f} s, {args.hosts} hosts (and a scan over {args.scan_hosts}) "
              f"inserted in {t_fill:.1f} s")

        port = free_port()
        argv = [str(MIGRATOR), "serve", "--port", str(port)] + (["--threads", str(args.threads)] if args.threads else [])
        env = {**os.environ, "MIGRATOR_DATABASE_URL": url, "MIGRATOR_INSTANCE_PATH": str(tmp / "instance")}
        log = open(tmp / "serve.log", "wb")
        server = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/api/v1/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the service did not start:\n{(tmp / 'serve.log').read_text()[-3000:]}")
            time.sleep(0.2)

        # One request per endpoint alone first: the latency without load.
        alone = Client(port, secret, 0, 0, 0)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        print("  alone (one request each, no load): " + ", ".join(
            f"{e} {_alone(alone, conn, e) * 1000:.1f} ms" for e in ENDPOINTS))
        conn.close()

        start = time.perf_counter()
        count_from = start + args.warmup
        stop_at = count_from + args.seconds
        clients = [Client(port, secret, stop_at, count_from, offset=i) for i in range(args.clients)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        lat: dict[str, list[float]] = defaultdict(list)
        for c in clients:
            for k, v in c.latencies.items():
                lat[k] += v
        errors = [e for c in clients for e in c.errors]
        total = sum(len(v) for v in lat.values())
        print(f"{args.clients} clients for {args.seconds:.0f} s (after {args.warmup:.0f} s warm-up), "
              f"server threads: {args.threads or 'default'}; {total} requests, {total / args.seconds:.0f} requests/s, "
              f"{len(errors)} errors; {sum(c.pages for c in clients)} host pages read")
        for e in errors[:5]:
            print(f"  error: {e}")
        print(f"  {'endpoint':<28} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
        health_p50 = pct(lat["health"], 0.5)
        for endpoint in ENDPOINTS:
            v = lat[endpoint]
            label = "/api/v1/hosts?limit=100 (paged)" if endpoint == "hosts" else f"/api/v1/{endpoint}"
            print(f"  {label:<28} {len(v):>8} {len(v) / args.seconds:>7.0f} {pct(v, 0.5) * 1000:>8.1f} "
                  f"{pct(v, 0.99) * 1000:>8.1f}")
        print("  ratio p50 / health p50 (same load): " + ", ".join(
            f"{e} {pct(lat[e], 0.5) / health_p50:.1f}" for e in ENDPOINTS if e != "health"))
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
