#!/usr/bin/python3
"""The lab's stateless web app: a tiny HTTP service that keeps nothing on disk.

    webapp.py [--bind 0.0.0.0] [--port 8080] [--redis HOST:PORT] [--postgres DSN] [--ping-interval 5]
    webapp.py --report [--port 8080]        (one line about the running app, for a cron job)

GET / and GET /healthz answer 200 (JSON), over HTTP/1.1 keep-alive (so a proxy can hold its
connections). With --redis it holds ONE long-lived TCP connection to that Redis (PING every
--ping-interval seconds, reconnecting when it drops), so a scanner sees a real established client
connection; /healthz reports it as "redis": "connected" (or why not). With --postgres (a libpq
DSN; the password comes from PGPASSWORD or a pgpass file) it does the same with one PostgreSQL
connection (SELECT 1), through the Debian python3-psycopg2 module: "postgres": "connected".
Standard library otherwise; runs under the system /usr/bin/python3 inside a lab VM.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Link(threading.Thread):
    """One persistent connection to a peer, kept alive by a periodic request."""

    def __init__(self, name: str, target: str, interval: float):
        super().__init__(name=f"link-{name}", daemon=True)
        self.target = target
        self.interval = interval
        self.status = "connecting"

    def connect(self):
        host, _, port = self.target.rpartition(":")
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock

    def ping(self, conn) -> None:
        raise NotImplementedError

    def run(self) -> None:
        backoff = 0.1
        while True:
            conn = None
            try:
                conn = self.connect()
                backoff = 0.1
                while True:
                    self.ping(conn)
                    self.status = "connected"
                    time.sleep(self.interval)
            except Exception as exc:  # noqa: BLE001 - any failure: report, back off, reconnect
                self.status = f"error: {str(exc).strip()}"
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()


class RedisLink(Link):
    def ping(self, sock: socket.socket) -> None:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(64)
            if not chunk:
                raise OSError("redis closed the connection")
            reply += chunk
        if not reply.startswith(b"+PONG"):
            raise ValueError(f"unexpected reply {reply!r}")


class PostgresLink(Link):
    def connect(self):
        import psycopg2  # Debian python3-psycopg2; only needed with --postgres

        conn = psycopg2.connect(self.target, connect_timeout=5, keepalives=1, keepalives_idle=30)
        conn.autocommit = True
        return conn

    def ping(self, conn) -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()


LINKS: dict[str, Link] = {}


class Handler(BaseHTTPRequestHandler):
    server_version = "lab-webapp/1"
    protocol_version = "HTTP/1.1"     # keep-alive: a proxy in front keeps its upstream connections

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        path = self.path.split("?", 1)[0]
        if path not in ("/", "/healthz"):
            self.answer(404, {"error": "not found", "path": path})
            return
        body = {"status": "ok", "host": socket.gethostname()}
        body.update({name: link.status for name, link in LINKS.items()})
        if path == "/":
            body["app"] = "lab webapp"
        self.answer(200, body)

    def answer(self, code: int, body: dict) -> None:
        if self.request_version != "HTTP/1.1":     # answer an HTTP/1.0 client in its version (and close)
            self.protocol_version = "HTTP/1.0"
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args) -> None:
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def report(port: int) -> None:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            body = json.loads(resp.read())
    except (OSError, ValueError) as exc:
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} webapp: DOWN ({exc})")
        sys.exit(1)
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} webapp: " + " ".join(f"{k}={v}" for k, v in sorted(body.items())))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--redis", metavar="HOST:PORT", help="hold one connection to this Redis")
    parser.add_argument("--postgres", metavar="DSN", help="hold one connection to this PostgreSQL")
    parser.add_argument("--ping-interval", type=float, default=5.0)
    parser.add_argument("--report", action="store_true", help="print the running app's health and exit")
    args = parser.parse_args(argv)
    if args.report:
        report(args.port)
        return
    if args.redis:
        LINKS["redis"] = RedisLink("redis", args.redis, args.ping_interval)
    if args.postgres:
        LINKS["postgres"] = PostgresLink("postgres", args.postgres, args.ping_interval)
    for link in LINKS.values():
        link.start()
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    print(f"webapp listening on {args.bind}:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
