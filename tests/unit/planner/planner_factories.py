"""Factories (gen_*) of hand-made findings for the planner tests: a Redis, a Python web app, a Java app."""
from __future__ import annotations

from analyzers.base import Evidence
from analyzers.findings import STATEFUL, STATELESS, Application, HostFindings, Listener, StateLocation

MIB = 1024 ** 2
GIB = 1024 ** 3


def gen_redis(size_bytes: int | None = 300 * MIB, **changes) -> Application:
    fields = dict(
        key="redis-server.service", name="redis", software="redis", version="7.0.15", category="cache",
        pids=(812,), user="redis", uid=104, command=("/usr/bin/redis-server", "/etc/redis/redis.conf"),
        exe="/usr/bin/redis-server", cwd="/", unit="redis-server.service",
        listeners=(Listener("tcp", "0.0.0.0", 6379, "all", 812), Listener("tcp6", "::", 6379, "all", 812)),
        state=(StateLocation("/var/lib/redis", "data", "ext4", "local", size_bytes, 3),
               StateLocation("/etc/redis", "config", "ext4", "local", 4096, 1)),
        verdict=STATEFUL, verdict_reason="writes /var/lib/redis (dump.rdb)", confidence=0.9,
        evidence=(Evidence("open_files", "/var/lib/redis/dump.rdb", "state:data-dir"),),
        rss_kib=20_000, cpu_percent=1.5)
    fields.update(changes)
    return Application(**fields)


def gen_webapp(**changes) -> Application:
    fields = dict(
        key="webapp.service", name="webapp", software="python-app", category="app", pids=(901,),
        user="www-data", uid=33, command=("/usr/bin/python3", "/opt/webapp/app.py", "--port", "8080"),
        exe="/usr/bin/python3.11", cwd="/opt/webapp", unit="webapp.service",
        listeners=(Listener("tcp", "0.0.0.0", 8080, "all", 901), Listener("tcp", "127.0.0.1", 9000, "loopback", 901)),
        verdict=STATELESS, verdict_reason="no state written", rss_kib=150_000, cpu_percent=12.0)
    fields.update(changes)
    return Application(**fields)


def gen_java(**changes) -> Application:
    fields = dict(
        key="java-app:7070", name="billing", software="java-app", version="", uid=1000,
        command=("/usr/bin/java", "-Xmx512m", "-jar", "/opt/billing/billing.jar"), cwd="/opt/billing",
        listeners=(Listener("tcp", "10.0.0.5", 7070, "address", 1001),), verdict="unknown",
        rss_kib=1000, cpu_percent=0.0)
    fields.update(changes)
    return Application(**fields)


def gen_host(hostname: str, *apps: Application, **changes) -> tuple[str, HostFindings]:
    return hostname, HostFindings(hostname=hostname, os_name="Debian GNU/Linux", os_version="12",
                                  applications=apps, **changes)


