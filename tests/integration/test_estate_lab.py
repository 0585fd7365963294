"""The lab's nine-VM estate (tests/lab/estate.py): every VM reachable by SSH, every service really
working, the truth file matching what `ss` shows inside the VMs, and nothing left after down()."""
from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from tests.lab import ESTATE, ESTATE_TIMEOUT, Lab
from tests.lab.lab import GUARD_METRIC, running
from tests.lab.services import http_get, https_get, pg_query

pytestmark = pytest.mark.integration

# process name in `ss -p` -> software id of the truth file (sshd is plumbing)
SOFTWARE = {"postgres": "postgresql", "redis-server": "redis", "python3": "python-app", "nginx": "nginx",
            "etcd": "etcd", "prometheus-node": "node_exporter"}


def _ssh(lab: Lab, name: str, command: str, user: str = "root") -> subprocess.CompletedProcess:
    return subprocess.run(lab.ssh_command(name, user) + [command], capture_output=True, text=True, timeout=30)


def _scope(local: str) -> str:
    host = local.rsplit(":", 1)[0].strip("[]")
    if host in ("0.0.0.0", "::", "*"):
        return "all"
    return "loopback" if host.startswith("127.") or host == "::1" else "address"


def _sockets(lab: Lab, name: str, listening: bool) -> list[tuple[str, str, str]]:
    """(local, peer, process name) of the VM's TCP sockets, listening or established."""
    argv = ["ss", "-tlnpH"] if listening else ["ss", "-tnpH", "state", "established"]
    out = []
    for line in lab.exec(name, argv).stdout.splitlines():
        cols = line.split()
        local, peer = cols[-3].replace("::ffff:", ""), cols[-2].replace("::ffff:", "")
        proc = cols[-1].split('"')[1] if '"' in cols[-1] else ""
        out.append((local, peer, proc))
    return out


def test_up_time_and_files(lab_available, estate):
    assert estate.last_up_seconds < 180
    assert [h["name"] for h in estate.hosts] == [s.name for s in ESTATE]
    inv = estate.write_inventory(estate.workdir / "inventory.json")
    assert json.loads(inv.read_text()) == {"hosts": estate.hosts}
    truth = estate.truth
    assert truth["version"] == 1
    assert truth["hosts"] == [{"name": h["name"], "address": h["address"]} for h in estate.hosts]


def test_every_vm_answers_ssh(lab_available, estate):
    def check(name):
        return (_ssh(estate, name, "hostname").stdout.strip(),
                _ssh(estate, name, "sudo -n id -u", user="mglab").stdout.strip(),
                _ssh(estate, name, "id -un", user="mgplain").stdout.strip())
    names = [h["name"] for h in estate.hosts]
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        results = dict(zip(names, pool.map(check, names)))
    assert results == {name: (name, "0", "mgplain") for name in names}


def test_postgres_replication_streams(lab_available, estate):
    assert pg_query_(estate, "db-1", "SELECT application_name, state FROM pg_stat_replication") == "db-2|streaming"
    assert pg_query_(estate, "db-2", "SELECT pg_is_in_recovery()") == "t"
    marker = f"lab-{time.time_ns()}"
    pg_query_(estate, "db-1", f"CREATE TABLE IF NOT EXISTS lab_probe (v text); INSERT INTO lab_probe VALUES ('{marker}')",
              "app")
    deadline = time.monotonic() + 10
    while pg_query_(estate, "db-2", f"SELECT count(*) FROM lab_probe WHERE v = '{marker}'", "app", check=False) != "1":
        assert time.monotonic() < deadline, "the row written on db-1 never reached db-2"
        time.sleep(0.1)
    # the web apps hold their connections as user webapp
    rows = pg_query_(estate, "db-1", "SELECT application_name FROM pg_stat_activity WHERE usename = 'webapp' "
                                     "ORDER BY 1").split()
    assert rows == ["app-1", "app-2"]


def pg_query_(lab: Lab, vm: str, sql: str, database: str = "postgres", check: bool = True) -> str:
    class Ctx:   # pg_query only needs ctx.lab
        pass
    ctx = Ctx()
    ctx.lab = lab
    try:
        return pg_query(ctx, vm, sql, database)
    except Exception:
        if check:
            raise
        return ""


def test_etcd_cluster_healthy(lab_available, estate):
    endpoints = ",".join(f"http://{estate.address_of(n)}:2379" for n in ("kv-1", "kv-2", "kv-3"))
    cp = estate.exec("kv-1", ["env", "ETCDCTL_API=3", "etcdctl", f"--endpoints={endpoints}", "endpoint", "health"])
    assert cp.stderr.count("is healthy") == 3, cp
    members = estate.exec("kv-2", ["etcdctl", f"--endpoints=http://{estate.address_of('kv-2')}:2379",
                                   "member", "list"]).stdout
    assert sorted(line.split(", ")[2] for line in members.splitlines()) == ["kv-1", "kv-2", "kv-3"]
    estate.exec("kv-1", ["etcdctl", f"--endpoints=http://{estate.address_of('kv-1')}:2379", "put", "lab/t", "42"])
    got = estate.exec("kv-3", ["etcdctl", f"--endpoints=http://{estate.address_of('kv-3')}:2379", "get",
                               "--print-value-only", "lab/t"]).stdout.strip()
    assert got == "42"


def test_nginx_proxies_to_both_apps_over_tls(lab_available, estate):
    web = estate.address_of("web-1")
    hosts = set()
    for _ in range(6):
        status, body = https_get(web, 443, "/", timeout=5)
        assert status == 200 and body["app"] == "lab webapp", \
            (body, estate.exec("web-1", ["tail", "-5", "/var/log/nginx/error.log"]).stdout)
        hosts.add(body["host"])
    assert hosts == {"app-1", "app-2"}
    status, body = http_get(web, 80, "/healthz", timeout=5)
    assert status == 200 and body["redis"] == "connected" and body["postgres"] == "connected"
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((web, 443), timeout=5) as sock, ctx.wrap_socket(sock) as tls:
        der = tls.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    text = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName"], input=pem,
                          capture_output=True, text=True, check=True).stdout
    assert "CN = web-1" in text and f"IP Address:{web}" in text


def test_webapps_connected(lab_available, estate):
    for name in ("app-1", "app-2"):
        status, body = http_get(estate.address_of(name), 8080, "/healthz", timeout=5)
        assert (status, body["host"], body["redis"], body["postgres"]) == (200, name, "connected", "connected")


def test_units_cron_and_private_etc(lab_available, estate):
    units = {h["name"]: set(estate.exec(h["name"], ["ls", "/etc/systemd/system"]).stdout.split())
             for h in estate.hosts}
    wanted = {"db-1": "postgresql.service", "db-2": "postgresql.service", "cache-1": "redis-server.service",
              "app-1": "webapp.service", "app-2": "webapp.service", "web-1": "nginx.service",
              "kv-1": "etcd.service", "kv-2": "etcd.service", "kv-3": "etcd.service"}
    for name, unit in wanted.items():
        assert {unit, "prometheus-node-exporter.service"} <= units[name], (name, units[name])
    webapp_unit = estate.exec("app-1", ["cat", "/etc/systemd/system/webapp.service"]).stdout
    for key in ("After=", "Wants=", "Requires=", "User=www-data", "ExecStart=/usr/bin/python3 -u /opt/webapp/webapp.py"):
        assert key in webapp_unit
    (job,) = estate.truth["jobs"]
    cron = estate.exec("app-1", ["cat", "/etc/cron.d/webapp-report"]).stdout
    assert f"{job['schedule']} {job['user']} {job['command']}" in cron
    # /etc/<service> is each VM's own: db-1's postgresql.conf is not the host's, web-1's nginx site not the host's
    assert "migrator lab VM db-1" in estate.exec("db-1", ["cat", "/etc/postgresql/15/main/postgresql.conf"]).stdout
    assert "migrator lab VM db-1" not in Path("/etc/postgresql/15/main/postgresql.conf").read_text()
    assert "upstream webapp" in estate.exec("web-1", ["cat", "/etc/nginx/sites-enabled/lab-webapp"]).stdout
    assert not Path("/etc/nginx/sites-enabled/lab-webapp").exists()


def test_truth_matches_sockets(lab_available, estate):
    truth = estate.truth
    names = [h["name"] for h in estate.hosts]
    listen = {n: _sockets(estate, n, True) for n in names}
    conns = {n: _sockets(estate, n, False) for n in names}
    by_address = {estate.address_of(n): n for n in names}

    # ports: every listening socket of an application, and nothing else
    seen_ports = {(n, SOFTWARE[p], int(local.rsplit(":", 1)[1]), _scope(local))
                  for n in names for local, _, p in listen[n] if p != "sshd"}
    truth_ports = {(a["host"], a["software"], p["port"], p["scope"]) for a in truth["applications"] for p in a["ports"]}
    assert seen_ports == truth_ports
    assert {(n, SOFTWARE[p]) for n in names for _, _, p in listen[n] if p != "sshd"} == \
           {(a["host"], a["software"]) for a in truth["applications"]}

    # peers: every established connection from an application to another VM's listening application
    servers = {}
    for n in names:
        for local, _, p in listen[n]:
            port = int(local.rsplit(":", 1)[1])
            servers[(estate.address_of(n), port)] = f"{n}/{SOFTWARE.get(p, p)}"
    seen_peers = set()
    for n in names:
        for local, peer, p in conns[n]:
            addr, port = peer.rsplit(":", 1)
            server = servers.get((addr, int(port)))
            if server is None or p in ("sshd", "") or addr not in by_address:
                continue            # the server side, not between lab applications, or a socket no
                                    # process holds any more (closing as `ss` reads it)
            client = f"{n}/{SOFTWARE[p]}"
            if client != server:    # etcd's gateway talks to its own client port: not a peer
                seen_peers.add((client, server, int(port)))
    assert seen_peers == {(p["client"], p["server"], p["port"]) for p in truth["peers"]}

    # order: server before client for every peer outside the etcd cluster
    assert {(o["before"], o["after"]) for o in truth["order"]} == \
           {(s, c) for c, s, _ in seen_peers if not c.endswith("/etcd")}
    # clusters, daemons, state paths
    assert {c["software"]: c["members"] for c in truth["clusters"]} == {
        "postgresql": {"db-1/postgresql": "primary", "db-2/postgresql": "standby"},
        "etcd": {f"kv-{i}/etcd": "member" for i in (1, 2, 3)}}
    assert truth["daemons"] == [{"software": "node_exporter", "hosts": names}]
    for app in truth["applications"]:
        for path in app["state_paths"]:
            assert estate.exec(app["host"], ["ls", "-A", path]).stdout.strip(), (app["host"], path)


def test_down_leaves_nothing(lab_available, tmp_path):
    """Its own estate (the shared one serves the other tests): up, then down leaves nothing."""
    prefix, subnet = "mgesd", "10.213.70.0/24"
    estate = Lab(workdir=tmp_path / "lab", prefix=prefix, subnet=subnet)
    try:
        estate.up(ESTATE, timeout=ESTATE_TIMEOUT)
    except BaseException:
        estate.down()
        raise
    state = json.loads(estate.state_path.read_text())
    pids = [rec for vm in state["vms"] for rec in vm["pids"]]
    assert pids and all(running(rec) for rec in pids)
    estate.down()
    assert not any(running(rec) for rec in pids)
    assert not [n for n in os.listdir("/sys/class/net") if n.startswith(prefix)]
    if Path("/run/netns").is_dir():
        assert not [n for n in os.listdir("/run/netns") if n.startswith(prefix + "-")]
    assert not estate.workdir.exists()
    routes = json.loads(subprocess.run(["ip", "-j", "route", "show", "exact", subnet], capture_output=True,
                                       text=True, check=True).stdout)
    assert [(r.get("type"), r.get("metric")) for r in routes] == [("unreachable", GUARD_METRIC)]
    # no process of the estate anywhere on the machine
    leftovers = subprocess.run(["pgrep", "-f", str(estate.workdir)], capture_output=True, text=True).stdout.split()
    assert leftovers == []
