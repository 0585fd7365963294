"""Benchmark (c): analysis and planning of many synthetic hosts. Goal: 10,000 hosts in under
60 s and 2 GiB, whole process.

Each synthetic host is the recorded lab VM (tests/fixtures/hosts/lab-app-1: Redis with AOF and a
Python web app holding a connection to it) under its own address and name, so every host goes
through the real parsers and analyzers. Phases: per-host analysis (a process per core), the
estate analysis (peers, clusters, order, daemons), the plan (objects, YAML, no schema check; the
YAML of a large plan is rendered by forked processes, export_plan's default).
The reference, measured in the same run, is the same pipeline on a small estate: the ratio of the
per-host times says whether the cost grows linearly. Memory: each process's own peak (getrusage)
and the peak of the whole process tree sampled every 50 ms (proportional set size, so pages a
forked process shares with the main one count once).

    .venv/bin/python bench/analysis_scale.py [--hosts 10000] [--reference 200] [--workers N]
        [--render-workers N]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analyzers.base import Section  # noqa: E402
from analyzers.estate import analyze_estate  # noqa: E402
from analyzers.host import analyze_host  # noqa: E402
from migrator.collect.replay import read_case  # noqa: E402
from migrator.planner.builder import build_plan  # noqa: E402
from migrator.planner.export import export_plan  # noqa: E402

CASE = ROOT / "tests" / "fixtures" / "hosts" / "lab-app-1"
ADDRESS, HEX = "10.213.66.10", "0A42D50A"
_TEMPLATE: dict[str, Section] = {}


def _address(i: int) -> tuple[str, str]:
    a, b, c = 10, 100 + (i >> 16) % 100, (i >> 8) & 255
    d = i & 255
    return f"{a}.{b}.{c}.{d}", f"{d:02X}{c:02X}{b:02X}{a:02X}"


def synthetic(i: int) -> dict[str, Section]:
    """The recorded host as host number i: its address (text and /proc hex) and name replaced."""
    address, hexaddr = _address(i)
    out = {}
    for name, sec in _TEMPLATE.items():
        text = sec.text.replace(ADDRESS, address).replace(HEX, hexaddr)
        if name == "hostname":
            text = f"vm-{i}\n"
        out[name] = Section(name, text, sec.rc, sec.truncated)
    return out


def _init() -> None:
    _TEMPLATE.update(read_case(CASE))


def _analyze(i: int):
    return f"vm-{i}", analyze_host(synthetic(i))


# Sampled in a process of its own: a thread here would make export_plan render serially.
_SAMPLER = r"""
import json, os, select, sys
root, peak_pss, peak_rss = int(sys.argv[1]), 0, 0
def field(pid, name):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return sum(int(line.split()[1]) for line in f if line.startswith(name + ":"))
    except OSError:
        return 0
while not select.select([sys.stdin], [], [], 0.05)[0]:
    parent = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            pass
    tree, grew = {root}, True
    while grew:
        more = {p for p, pp in parent.items() if pp in tree and p not in tree and p != os.getpid()}
        tree |= more
        grew = bool(more)
    peak_pss = max(peak_pss, sum(field(p, "Pss") for p in tree))
    peak_rss = max(peak_rss, sum(field(p, "Rss") for p in tree))
print(json.dumps({"pss": peak_pss / 1024, "rss": peak_rss / 1024}))
"""


def run(hosts: int, workers: int, render_workers: int | None) -> dict[str, float]:
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, initializer=_init) as pool:
        found = list(pool.map(_analyze, range(hosts), chunksize=max(1, hosts // (workers * 8))))
    t1 = time.perf_counter()
    estate = analyze_estate(found)
    t2 = time.perf_counter()
    plan = build_plan(found, namespace="bench")
    text = export_plan(plan, workers=render_workers)
    t3 = time.perf_counter()
    assert len(estate.apps) == 2 * hosts and len(estate.peers) == hosts, (len(estate.apps), len(estate.peers))
    return {"hosts": hosts, "analysis": t1 - t0, "estate": t2 - t1, "plan": t3 - t2, "total": t3 - t0,
            "yaml_mb": len(text) / 1e6, "workloads": len(plan.workloads)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=10_000)
    ap.add_argument("--reference", type=int, default=200)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--render-workers", type=int, default=None,
                    help="processes rendering the YAML (default: export_plan's choice; 1 = serial)")
    args = ap.parse_args()
    sampler = subprocess.Popen([sys.executable, "-c", _SAMPLER, str(os.getpid())], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    ref = run(args.reference, args.workers, args.render_workers)
    big = run(args.hosts, args.workers, args.render_workers)
    tree = json.loads(sampler.communicate("")[0])
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"workers: {args.workers} (analysis), render workers: "
          f"{args.render_workers or 'export_plan default'}")
    for r in (ref, big):
        print(f"{r['hosts']:>6} hosts: total {r['total']:7.2f} s = analysis {r['analysis']:6.2f} + estate "
              f"{r['estate']:6.2f} + plan {r['plan']:6.2f}; {r['workloads']} workloads, {r['yaml_mb']:.1f} MB YAML; "
              f"{r['total'] / r['hosts'] * 1000:.2f} ms/host")
    print(f"per-host cost ratio {big['hosts']} vs {ref['hosts']} hosts: "
          f"{(big['total'] / big['hosts']) / (ref['total'] / ref['hosts']):.2f} (1.00 = linear)")
    print(f"peak memory: main process {peak_self:.0f} MiB, largest child {peak_child:.0f} MiB (own RSS, "
          f"shared pages included); whole process tree {tree['pss']:.0f} MiB PSS ({tree['rss']:.0f} MiB RSS "
          f"summed) (goal < 2048 MiB: {'met' if tree['pss'] < 2048 else 'NOT met'})")
    print(f"time goal < 60 s: {'met' if big['total'] < 60 else 'NOT met'} ({big['total'] / 60:.2f} of the budget)")


if __name__ == "__main__":
    main()
