#!/usr/bin/python3
"""The lab's stateless web app: a tiny HTTP service that keeps nothing on disk.

    webapp.py [--bind 0.0.0.0] [--port 8080] [--redis HOST:PORT] [--ping-interval 5]

GET / and GET /healthz answer 200 (JSON). With --redis it holds ONE long-lived TCP connection
to that Redis (PING every --ping-interval seconds, reconnecting when it drops), so a scanner sees
a real established client connection; /healthz reports it as "redis": "connected" (or why not).
Standard library only; runs under the system /usr/bin/python3 inside a lab VM.
"""
from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Link(threading.Thread):
    """One persistent TCP connection to a peer, kept alive by a periodic request."""

    def __init__(self, name: str, target: str, interval: float):
        super().__init__(name=f"link-{name}", daemon=True)
        host, _, port = target.rpartition(":")
        self.peer = (host, int(port))
        self.interval = interval
        self.status = "connecting"

    def ping(self, sock: socket.socket) -> None:
        raise NotImplementedError

    def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                with socket.create_connection(self.peer, timeout=5) as sock:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                    backoff = 0.1
                    while True:
                        self.ping(sock)
                        self.status = "connected"
                        time.sleep(self.interval)
            except (OSError, ValueError) as exc:
                self.status = f"error: {exc}"
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)


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


LINKS: dict[str, Link] = {}


class Handler(BaseHTTPRequestHandler):
    server_version = "lab-webapp/1"

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
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args) -> None:
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--redis", metavar="HOST:PORT", help="hold one connection to this Redis")
    parser.add_argument("--ping-interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.redis:
        LINKS["redis"] = RedisLink("redis", args.redis, args.ping_interval)
    for link in LINKS.values():
        link.start()
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    print(f"webapp listening on {args.bind}:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
