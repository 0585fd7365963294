"""The lab's estate: nine VMs that look like a small real deployment (issue 3).

    db-1     PostgreSQL 15 primary                 db-2     its streaming-replication standby
    cache-1  Redis with append-only persistence
    app-1    the web app (connections to db-1 and cache-1; a cron job in /etc/cron.d)
    app-2    the web app (connections to db-1 and cache-1)
    web-1    nginx, TLS on 443 and plain 80, proxying to app-1 and app-2 (keep-alive upstream)
    kv-1..3  a three-member etcd cluster
and on every VM sshd plus prometheus-node-exporter (:9100), the monitoring agent.

    from tests.lab import ESTATE, Lab
    lab = Lab(...); lab.up(ESTATE, timeout=ESTATE_TIMEOUT); lab.truth   # WORKDIR/truth.json
"""
from __future__ import annotations

from .lab import VMSpec

AGENT = "node_exporter"
REPORT_SCHEDULE = "*/5 * * * *"
ESTATE_TIMEOUT = 170.0          # seconds for Lab.up(ESTATE); it takes far less

_WEBAPP = {"postgres": "db-1", "redis": "cache-1"}

ESTATE: list[VMSpec] = [
    VMSpec("db-1", ("postgresql", AGENT)),
    VMSpec("db-2", ("postgresql", AGENT), options={"postgresql": {"primary": "db-1"}}),
    VMSpec("cache-1", ("redis", AGENT)),
    VMSpec("app-1", ("webapp", AGENT), options={"webapp": {**_WEBAPP, "cron": REPORT_SCHEDULE}}),
    VMSpec("app-2", ("webapp", AGENT), options={"webapp": dict(_WEBAPP)}),
    VMSpec("web-1", ("nginx", AGENT), options={"nginx": {"upstreams": ["app-1", "app-2"]}}),
    VMSpec("kv-1", ("etcd", AGENT)),
    VMSpec("kv-2", ("etcd", AGENT)),
    VMSpec("kv-3", ("etcd", AGENT)),
]
