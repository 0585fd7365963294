"""The lab estate, hand-built: a PostgreSQL primary and standby, a Redis cache, a Python web app
on two hosts, an nginx front with an outside client, an etcd trio, node_exporter everywhere and
an application cron job.

    db-1  10.0.1.1   postgresql primary            db-2  10.0.1.2   postgresql standby -> db-1:5432
    cache-1 10.0.1.3 redis                          app-1/app-2 10.0.1.4/5  webapp -> db-1:5432, cache-1:6379
    web-1 10.0.1.6   nginx 80/443 -> app-1/app-2:8080, client 203.0.113.7 on 443
    kv-1..3 10.0.1.11..13 etcd (--initial-cluster)  node_exporter :9100 on every host
"""
from __future__ import annotations

from analyzers.base import Evidence
from analyzers.findings import (STATEFUL, STATELESS, Application, Connection, HostFindings, Listener,
                                ScheduledJob, StateLocation)

GIB = 1024 ** 3
ADDRESSES = {"db-1": "10.0.1.1", "db-2": "10.0.1.2", "cache-1": "10.0.1.3", "app-1": "10.0.1.4",
             "app-2": "10.0.1.5", "web-1": "10.0.1.6", "kv-1": "10.0.1.11", "kv-2": "10.0.1.12",
             "kv-3": "10.0.1.13"}
REPORT_JOB = ScheduledJob("*/15 * * * *", "www-data", "/opt/webapp/venv/bin/python /opt/webapp/report.py --daily",
                          "/etc/cron.d/webapp", 3)


def _listen(*ports: int, pid: int = 1) -> tuple[Listener, ...]:
    return tuple(Listener("tcp", "0.0.0.0", p, "all", pid) for p in ports)


def _out(host: str, local_port: int, server: str, port: int) -> Connection:
    return Connection("tcp", ADDRESSES[host], local_port, ADDRESSES[server], port, 1)


def node_exporter(host: str) -> Application:
    return Application(key="prometheus-node-exporter.service", name="node_exporter", software="node_exporter",
                       version="1.5.0-1+b6", category="agent", user="prometheus", uid=110,
                       command=("/usr/bin/prometheus-node-exporter", "--collector.systemd"),
                       exe="/usr/bin/prometheus-node-exporter", unit="prometheus-node-exporter.service",
                       listeners=_listen(9100), verdict=STATELESS, rss_kib=20_000, cpu_percent=0.5)


def postgres(host: str, size: int, standby: bool = False) -> Application:
    connections = (_out(host, 41000, "db-1", 5432),) if standby else ()
    return Application(
        key="postgresql@15-main.service", name="postgresql", software="postgresql", version="15.6-0+deb12u1",
        category="database", user="postgres", uid=105,
        command=("/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main", "-c",
                 "config_file=/etc/postgresql/15/main/postgresql.conf"),
        exe="/usr/lib/postgresql/15/bin/postgres", cwd="/var/lib/postgresql/15/main",
        unit="postgresql@15-main.service", listeners=_listen(5432), connections=connections,
        state=(StateLocation("/var/lib/postgresql", "data", "ext4", "local", size, 1200),),
        verdict=STATEFUL, verdict_reason="writes /var/lib/postgresql/15/main", confidence=0.9,
        evidence=(Evidence("processes", "postgres writes base/", "state:data-dir"),),
        rss_kib=400_000, cpu_percent=8.0)


def redis() -> Application:
    return Application(
        key="redis-server.service", name="redis", software="redis", version="7.0.15", category="cache",
        user="redis", uid=104, command=("/usr/bin/redis-server", "/etc/redis/redis.conf"),
        exe="/usr/bin/redis-server", unit="redis-server.service", listeners=_listen(6379),
        state=(StateLocation("/var/lib/redis", "data", "ext4", "local", 300 * 1024 ** 2, 2),),
        verdict=STATEFUL, verdict_reason="writes /var/lib/redis (dump.rdb)", rss_kib=50_000, cpu_percent=1.0)


def webapp(host: str) -> Application:
    return Application(
        key="webapp.service", name="webapp", software="python-app", category="app", user="www-data", uid=33,
        command=("/opt/webapp/venv/bin/python", "/opt/webapp/app.py", "--port", "8080",
                 "--db", "postgresql://10.0.1.1:5432/shop", "--redis", "10.0.1.3:6379"),
        exe="/usr/bin/python3.11", cwd="/opt/webapp", unit="webapp.service", listeners=_listen(8080),
        connections=(_out(host, 42000, "db-1", 5432), _out(host, 42001, "cache-1", 6379)),
        verdict=STATELESS, verdict_reason="no state written", rss_kib=150_000, cpu_percent=12.0)


def nginx() -> Application:
    return Application(
        key="nginx.service", name="nginx", software="nginx", version="1.22.1-9", category="web", user="root", uid=0,
        command=("nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",),
        exe="/usr/sbin/nginx", unit="nginx.service", listeners=_listen(80, 443),
        connections=(_out("web-1", 43000, "app-1", 8080), _out("web-1", 43001, "app-2", 8080),
                     Connection("tcp", ADDRESSES["web-1"], 443, "203.0.113.7", 51000, 1)),
        verdict=STATELESS, verdict_reason="no state written", rss_kib=10_000, cpu_percent=0.5)


def etcd(host: str) -> Application:
    me = ADDRESSES[host]
    return Application(
        key="etcd.service", name="etcd", software="etcd", version="3.4.23-4+b8", category="database",
        user="etcd", uid=108,
        command=("/usr/bin/etcd", "--name", host, "--data-dir", "/var/lib/etcd/default",
                 "--initial-cluster=kv-1=http://10.0.1.11:2380,kv-2=http://10.0.1.12:2380,kv-3=http://10.0.1.13:2380",
                 f"--initial-advertise-peer-urls=http://{me}:2380", f"--listen-peer-urls=http://{me}:2380",
                 f"--listen-client-urls=http://{me}:2379,http://127.0.0.1:2379",
                 f"--advertise-client-urls=http://{me}:2379", "--initial-cluster-state=new"),
        exe="/usr/bin/etcd", unit="etcd.service", listeners=_listen(2379, 2380),
        state=(StateLocation("/var/lib/etcd", "data", "ext4", "local", 200 * 1024 ** 2, 10),),
        verdict=STATEFUL, verdict_reason="writes /var/lib/etcd/default/member", rss_kib=80_000, cpu_percent=2.0)


def host(name: str, *apps: Application, jobs: tuple[ScheduledJob, ...] = ()) -> tuple[str, HostFindings]:
    return name, HostFindings(hostname=name, os_name="Debian GNU/Linux", os_version="12",
                              addresses=("127.0.0.1", ADDRESSES[name]), applications=(*apps, node_exporter(name)),
                              jobs=jobs)


def lab_estate() -> list[tuple[str, HostFindings]]:
    return [
        host("db-1", postgres("db-1", 2 * GIB)),
        host("db-2", postgres("db-2", 3 * GIB, standby=True)),
        host("cache-1", redis()),
        host("app-1", webapp("app-1"), jobs=(REPORT_JOB,)),
        host("app-2", webapp("app-2")),
        host("web-1", nginx()),
        host("kv-1", etcd("kv-1")),
        host("kv-2", etcd("kv-2")),
        host("kv-3", etcd("kv-3")),
    ]
