"""The floor of benchmark (a): the least any agentless scanner over SSH can do. For every host, in
parallel (P threads): one paramiko connection (key login, host key checked against a known_hosts
file), one exec that reads the /proc files migrator's probe reads, the bytes brought back. Nothing
is parsed or stored. bench/scan_speed.py runs this as its own process and times the whole process
(interpreter start and the paramiko import included, as for the other two contenders).

    .venv/bin/python bench/scan_floor.py INVENTORY.json KNOWN_HOSTS [--parallel 10]

INVENTORY.json is the lab's (`{"hosts": [{"name", "address", "port", "user", "key_path"}]}`).
Prints one JSON line: hosts, ok, failed, bytes_in, seconds.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import paramiko

# The same /proc files as migrator/collect/probe.sh: per process stat, status, cmdline, cgroup, the
# exe/cwd/fd links and fd flags; the socket tables, addresses, routes, mounts and the machine.
COMMAND = (
    "cat /proc/[0-9]*/stat /proc/[0-9]*/status /proc/[0-9]*/cmdline /proc/[0-9]*/cgroup 2>/dev/null; "
    "ls -l /proc/[0-9]*/exe /proc/[0-9]*/cwd /proc/[0-9]*/fd/ 2>/dev/null; "
    "grep -H '^flags' /proc/[0-9]*/fdinfo/* 2>/dev/null; "
    "cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 /proc/net/if_inet6 /proc/net/fib_trie "
    "/proc/mounts /proc/meminfo /proc/cpuinfo /proc/uptime /proc/sys/kernel/hostname 2>/dev/null; :"
)


def read_host(host: dict, known_hosts: str) -> int:
    client = paramiko.SSHClient()
    client.load_host_keys(known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(host["address"], port=host.get("port") or 22, username=host.get("user") or "root",
                       key_filename=host["key_path"], look_for_keys=False, allow_agent=False, timeout=10)
        _stdin, stdout, _stderr = client.exec_command(COMMAND)
        data = stdout.read()
        if stdout.channel.recv_exit_status() != 0:
            raise RuntimeError(f"{host['name']}: exit {stdout.channel.recv_exit_status()}")
        return len(data)
    finally:
        client.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inventory")
    ap.add_argument("known_hosts")
    ap.add_argument("--parallel", type=int, default=10)
    args = ap.parse_args()
    with open(args.inventory) as f:
        hosts = json.load(f)["hosts"]
    t0 = time.perf_counter()
    ok, failed, total = 0, [], 0
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        futures = {pool.submit(read_host, h, args.known_hosts): h["name"] for h in hosts}
        for fut, name in futures.items():
            try:
                total += fut.result()
                ok += 1
            except Exception as exc:  # noqa: BLE001 - reported, counted
                failed.append(f"{name}: {exc}")
    print(json.dumps({"hosts": len(hosts), "ok": ok, "failed": failed, "bytes_in": total,
                      "seconds": round(time.perf_counter() - t0, 3)}))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
