"""A hostile lab VM's workload: process names, arguments, sockets and files made to break parsers,
pages, YAML and terminals. Started by the lab's `hostile` service; every child sleeps.

    python3 hostile.py --processes N --sockets M
"""
from __future__ import annotations

import argparse
import ctypes
import socket
import subprocess
import time

NAMES = ["<script>alert(1)</script>", "\x1b[31mred\x1b]0;title\x07", "a: b\n- c", '{"json": [1, 2]}',
         "' OR 1=1 --", "${jndi:ldap://x}", "{{7*7}}", "\u202eevil", "---\n!!python/object:os.system"]
HUGE = "x" * 120_000                      # an argument near Linux's 128 KiB limit per argument


def weird_args(i: int) -> list[bytes]:
    name = NAMES[i % len(NAMES)]
    return [name.encode(), b"-c", b"sleep 1000000; exit 0", f"{name}#{i}".encode(),
            b"\xff\xfe invalid utf-8 \xc3\x28", b"--password=hostile-planted-secret", HUGE.encode() if i % 50 == 0 else b"x"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--processes", type=int, default=1000)
    ap.add_argument("--sockets", type=int, default=1000)
    ap.add_argument("--config", help="a configuration file (read by the scan, not by this program)")
    args = ap.parse_args()
    libc = ctypes.CDLL(None)
    libc.prctl(15, b"<img src=x>\x1b[0m", 0, 0, 0)         # PR_SET_NAME: comm of this process
    children = [subprocess.Popen(weird_args(i), executable="/bin/sh", stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for i in range(args.processes)]
    held = []
    for i in range(args.sockets):              # listeners on loopback and on all addresses
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1" if i % 2 else "0.0.0.0", 20000 + i))
        s.listen(1)
        held.append(s)
    with open("/run/hostile.ready", "w") as fh:
        fh.write(str(len(children)))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
