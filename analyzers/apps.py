"""Processes to applications: group them, then name each group with an ordered rule table.

Grouping: by systemd unit when the cgroup names one, else by process tree (a direct child
of the host's init and all its descendants). Naming: the first rule that matches any
process of the group, group leader first, decides the software.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from analyzers.base import Evidence

_UNIT_RE = re.compile(r"/([^/]+\.service)(?:/|$)")


@dataclass(frozen=True)
class Identity:
    software: str          # stable software id: redis, postgresql, nginx, python-app, ...
    name: str              # human name of this instance (script, jar, unit)
    category: str          # database | cache | web | app | plumbing
    rule: str
    detail: str


def base(path: str) -> str:
    """Basename of a program path; '' for links that are no path ('memfd:...', titles with ':')."""
    path = path.removesuffix(" (deleted)")
    if (not path.startswith("/") and ":" in path) or path.startswith("/memfd:"):
        return ""
    return os.path.basename(path)


def program_names(proc) -> list[str]:
    """Names a process goes by: exe basename, argv[0] basename, comm."""
    names = [base(proc.exe), base(proc.cmdline[0]) if proc.cmdline else "", proc.comm]
    # postgres children and nginx workers rewrite argv: "postgres: checkpointer", "nginx: worker"
    if proc.cmdline:
        names.append(proc.cmdline[0].split(":")[0].strip())
    return [n for n in dict.fromkeys(names) if n]


def unit_of(proc) -> str:
    match = _UNIT_RE.search(proc.cgroup or "")
    return match.group(1) if match else ""


# -- group -----------------------------------------------------------------------------------
def is_kernel_thread(proc) -> bool:
    return proc.pid == 2 or proc.ppid == 2 or (not proc.cmdline and not proc.exe)


def is_probe_leftover(proc) -> bool:
    """busybox's `timeout`, as the probe runs it ("timeout -s KILL N CMD"), leaves a watcher process
    for up to a second after each command: the probe's own, not the host's."""
    return list(proc.cmdline[:3]) == ["timeout", "-s", "KILL"] and (proc.exe or "").endswith("/busybox")


def _set_aside(proc) -> bool:
    return is_kernel_thread(proc) or is_probe_leftover(proc)


SUPERVISORS = ("runsvdir", "runsv", "supervisord", "s6-svscan", "s6-supervise", "tini", "dumb-init")


def group_processes(processes: Iterable) -> tuple[list[list], list]:
    """Return (groups, init_and_kernel_threads); each group's first member is its leader.

    Init and process supervisors are set aside: their children each start a group.
    """
    procs = {p.pid: p for p in processes}
    init_pids = {p.pid for p in procs.values()
                 if not _set_aside(p) and (p.ppid == 0 or set(program_names(p)) & set(SUPERVISORS))}
    aside = [p for p in procs.values() if p.pid in init_pids or _set_aside(p)]
    groups: dict[str, list] = {}
    for proc in sorted(procs.values(), key=lambda p: p.pid):
        if proc.pid in init_pids or _set_aside(proc):
            continue
        unit = unit_of(proc)
        if unit and unit not in ("init.scope",):
            key = "unit:" + unit
        else:
            top, hops = proc, 0
            while top.ppid in procs and top.ppid not in init_pids and hops < 256:
                top, hops = procs[top.ppid], hops + 1
            key = f"tree:{top.pid}"
        groups.setdefault(key, []).append(proc)
    ordered = []
    for members in groups.values():
        pids = {m.pid for m in members}
        leader = min((m for m in members if m.ppid not in pids), key=lambda m: m.pid, default=members[0])
        ordered.append([leader] + [m for m in members if m is not leader])
    return ordered, aside


# -- identify --------------------------------------------------------------------------------
def _named(names: set[str], *candidates: str) -> str | None:
    for c in candidates:
        if c in names:
            return c
    return None


def _script_name(proc, interpreters: tuple[str, ...]) -> str:
    """The script or module an interpreter runs: 'app.py', '-m mod', 'server.js'."""
    args = list(proc.cmdline[1:])
    while args:
        arg = args.pop(0)
        if arg == "-m" and args:
            return args[0]
        if arg in ("-c",):
            return "inline"
        if arg.startswith("-"):
            continue
        return base(arg)
    return base(proc.cmdline[0]) if proc.cmdline else proc.comm


def _jar_name(proc) -> str:
    args = list(proc.cmdline)
    for i, arg in enumerate(args):
        if arg == "-jar" and i + 1 < len(args):
            return base(args[i + 1])
    for arg in reversed(args[1:]):
        if not arg.startswith("-") and "." in arg and "/" not in arg:
            return arg.rsplit(".", 1)[-1]
    return "java"


Rule = Callable[[object, set[str]], "Identity | None"]


def _plain(software: str, category: str, *programs: str) -> Rule:
    def rule(proc, names):
        hit = _named(names, *programs)
        if hit:
            return Identity(software, software, category, f"program:{software}", f"program {hit!r}")
        return None
    rule.__name__ = f"program_{software}"
    return rule


def _python(proc, names):
    if any(re.fullmatch(r"python[0-9.]*", n) for n in names):
        script = _script_name(proc, ("python",))
        name = script[:-3] if script.endswith(".py") else script
    elif _named(names, "gunicorn", "uwsgi"):
        name = _named(names, "gunicorn", "uwsgi")
    else:
        return None
    return Identity("python-app", name or "python", "app", "interpreter:python", " ".join(proc.cmdline)[:200])


def _java(proc, names):
    if _named(names, "java"):
        return Identity("java-app", os.path.splitext(_jar_name(proc))[0], "app", "interpreter:java",
                        " ".join(proc.cmdline)[:200])
    return None


def _node(proc, names):
    if _named(names, "node", "nodejs"):
        return Identity("node-app", os.path.splitext(_script_name(proc, ("node",)))[0], "app",
                        "interpreter:node", " ".join(proc.cmdline)[:200])
    return None


def _java_main(software: str, category: str, *markers: str) -> Rule:
    """A Java server known by its main class or jar (any argument containing a marker)."""
    def rule(proc, names):
        if not _named(names, "java"):
            return None
        for arg in proc.cmdline[1:]:
            for marker in markers:
                if marker in arg:
                    return Identity(software, software, category, f"java-main:{software}", f"java runs {marker}")
        return None
    rule.__name__ = f"java_{software}"
    return rule


def _args_mention(software: str, category: str, programs: tuple[str, ...], *markers: str) -> Rule:
    """A server run by a generic runtime (beam.smp, ruby) known by a word in its arguments."""
    def rule(proc, names):
        if not _named(names, *programs):
            return None
        args = " ".join(proc.cmdline[1:])
        hit = next((m for m in markers if m in args), None)
        if hit:
            return Identity(software, software, category, f"args:{software}", f"{sorted(names)[0]} runs {hit}")
        return None
    rule.__name__ = f"args_{software}"
    return rule


def _php_fpm(proc, names):
    if any(re.fullmatch(r"php-fpm[0-9.]*", n) for n in names) or any(n.startswith("php-fpm") for n in names):
        return Identity("php-fpm", "php-fpm", "app", "program:php-fpm", " ".join(proc.cmdline)[:200])
    return None


PLUMBING_PROGRAMS = SUPERVISORS + ("sshd", "sshd-session", "cron", "crond", "atd", "systemd", "systemd-journald",
                     "systemd-logind", "systemd-udevd", "systemd-resolved", "systemd-networkd",
                     "systemd-timesyncd", "dbus-daemon", "dbus-broker", "agetty", "getty", "login",
                     "rsyslogd", "syslog-ng", "polkitd", "unattended-upgr", "chronyd", "ntpd",
                     "dhclient", "init", "containerd-shim", "multipathd", "irqbalance", "udevadm", "snapd",
                     "qemu-ga", "networkd-dispatcher", "packagekitd", "accounts-daemon", "udisksd")

# Order matters: specific servers before interpreters (a Python-based server stays itself),
# plumbing first so the scan's own shell under sshd never becomes an application.
RULES: tuple[Rule, ...] = (
    _plain("plumbing", "plumbing", *PLUMBING_PROGRAMS),
    _plain("redis", "cache", "redis-server"),
    _plain("valkey", "cache", "valkey-server"),
    _plain("memcached", "cache", "memcached"),
    _plain("postgresql", "database", "postgres", "postmaster"),
    _plain("mariadb", "database", "mariadbd"),
    _plain("mysql", "database", "mysqld", "mysqld_safe"),
    _plain("mongodb", "database", "mongod"),
    _plain("etcd", "database", "etcd"),
    _plain("consul", "database", "consul"),
    _plain("minio", "database", "minio"),
    _java_main("elasticsearch", "database", "org.elasticsearch.bootstrap.Elasticsearch"),
    _java_main("opensearch", "database", "org.opensearch.bootstrap.OpenSearch"),
    _java_main("cassandra", "database", "org.apache.cassandra.service.CassandraDaemon"),
    _java_main("kafka", "queue", "kafka.Kafka"),
    _java_main("zookeeper", "database", "org.apache.zookeeper.server.quorum.QuorumPeerMain",
               "org.apache.zookeeper.server.ZooKeeperServerMain"),
    _java_main("tomcat", "web", "org.apache.catalina.startup.Bootstrap"),
    _args_mention("rabbitmq", "queue", ("beam.smp", "beam", "erl"), "rabbit"),
    _plain("nginx", "web", "nginx"),
    _plain("apache-httpd", "web", "apache2", "httpd"),
    _plain("haproxy", "web", "haproxy"),
    _plain("prometheus", "monitoring", "prometheus"),
    _plain("grafana", "monitoring", "grafana-server", "grafana"),
    _plain("node_exporter", "agent", "node_exporter", "prometheus-node-exporter"),
    _plain("fluent-bit", "agent", "fluent-bit", "td-agent-bit"),
    _args_mention("fluentd", "agent", ("ruby", "fluentd", "td-agent"), "fluentd", "td-agent"),
    _plain("filebeat", "agent", "filebeat"),
    _php_fpm,
    _python,
    _java,
    _node,
)


def identify(group: list) -> Identity:
    """The software a process group runs; 'unknown' with the leader's name when no rule fits.

    Plumbing is judged on the leader alone (a shell under sshd is still sshd's); the other
    rules on every member, leader first.
    """
    plumbing = RULES[0](group[0], set(program_names(group[0])))
    if plumbing:
        return plumbing
    for rule in RULES[1:]:
        for proc in group:
            found = rule(proc, set(program_names(proc)))
            if found:
                return found
    leader = group[0]
    name = base(leader.exe) or leader.comm or f"pid-{leader.pid}"
    return Identity("unknown", name, "app", "unknown", f"no rule matched program {name!r}")


def identity_evidence(identity: Identity, proc) -> Evidence:
    return Evidence("processes", f"pid {proc.pid}: {identity.detail}", identity.rule)
