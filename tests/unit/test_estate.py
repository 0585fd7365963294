"""Estate analysis on hand-built findings: peers, external ends, clusters, order, daemons, jobs."""
from __future__ import annotations

import pytest

from analyzers.base import Evidence
from analyzers.estate import Cluster, Route, analyze_estate, normalize_address
from analyzers.findings import (STATEFUL, Application, Connection, HostFindings, Listener, ScheduledJob,
                                StateLocation)


def app(key, software, listen=(), connect=(), category="app", stateful=False, unit="", after=(), address="0.0.0.0"):
    """listen: ports (scope all); connect: (local_addr, local_port, remote_addr, remote_port)."""
    return Application(
        key=key, name=key, software=software, category=category, unit=unit, unit_after=tuple(after),
        listeners=tuple(Listener("tcp", address, p, "all" if address == "0.0.0.0" else "address") for p in listen),
        connections=tuple(Connection("tcp", la, lp, ra, rp, 1) for la, lp, ra, rp in connect),
        state=(StateLocation("/var/lib/x"),) if stateful else (), verdict=STATEFUL if stateful else "stateless")


def host(addresses, *apps, jobs=()):
    return HostFindings(addresses=tuple(addresses), applications=tuple(apps), jobs=tuple(jobs))


def estate():
    agent = lambda: app("agent", "node_exporter", listen=[9100], category="agent")  # noqa: E731
    return analyze_estate([
        ("db-1", host(["10.0.0.1", "fe80::1"],
                      app("postgresql", "postgresql", listen=[5432], category="database", stateful=True,
                          connect=[("10.0.0.1", 5432, "::ffff:10.0.0.2", 40001),      # the standby's, seen here
                                   ("10.0.0.1", 5432, "10.0.0.3", 40002),             # app-1's, seen here
                                   ("10.0.0.1", 5432, "192.0.2.50", 40003)]),         # a client outside
                      agent())),
        ("db-2", host(["10.0.0.2"],
                      app("postgresql", "postgresql", listen=[5432], category="database", stateful=True,
                          connect=[("10.0.0.2", 40001, "10.0.0.1", 5432)]),
                      agent())),
        ("app-1", host(["10.0.0.3", "127.0.0.1"],
                       app("web", "python-app", listen=[8080], unit="web.service", after=["cache.service"],
                           connect=[("::ffff:10.0.0.3", 40002, "::ffff:10.0.0.1", 5432),
                                    ("127.0.0.1", 40100, "127.0.0.1", 6379),
                                    ("10.0.0.3", 40200, "203.0.113.9", 443)]),
                       app("cache", "redis", listen=[6379], category="cache", unit="cache.service", stateful=True),
                       agent(),
                       jobs=[ScheduledJob("*/5 * * * *", "www-data", "/opt/web/report", "/etc/cron.d/web", 1),
                             ScheduledJob("10 3 * * *", "root", "/sbin/e2scrub_all -A -r", "/etc/cron.d/e2scrub_all",
                                          1, system=True)])),
    ])


def test_normalize_address():
    assert normalize_address("::ffff:10.1.2.3") == "10.1.2.3"
    assert normalize_address("fe80::1%eth0") == "fe80::1"
    assert normalize_address("not-an-ip") == "not-an-ip"


def test_peers_across_hosts_loopback_and_mapped_addresses():
    peers = {(p.client, p.server, p.port) for p in estate().peers}
    assert peers == {("db-2/postgresql", "db-1/postgresql", 5432), ("app-1/web", "db-1/postgresql", 5432),
                     ("app-1/web", "app-1/cache", 6379)}


def test_external_endpoints_both_directions():
    ext = {(e.app, e.direction, e.address, e.port) for e in estate().external}
    assert ext == {("db-1/postgresql", "in", "192.0.2.50", 5432), ("app-1/web", "out", "203.0.113.9", 443)}


def test_primary_and_standby_form_one_cluster():
    (cluster,) = estate().clusters
    assert cluster.software == "postgresql"
    assert cluster.members == (("db-1/postgresql", "primary"), ("db-2/postgresql", "standby"))
    assert "db-2/postgresql -> db-1/postgresql" in cluster.evidence[0].detail


def test_order_and_waves():
    e = estate()
    edges = {(o.before, o.after) for o in e.order}
    assert edges == {("db-1/postgresql", "app-1/web"), ("app-1/cache", "app-1/web"),
                     ("db-1/postgresql", "db-2/postgresql")}
    assert e.waves[0] == ("app-1/agent", "app-1/cache", "db-1/agent", "db-1/postgresql", "db-2/agent")
    assert e.waves[1] == ("app-1/web", "db-2/postgresql")
    assert e.cycles == ()


def test_cycles_are_condensed_into_one_wave():
    e = analyze_estate([
        ("a", host(["10.0.0.1"], app("x", "python-app", listen=[80], connect=[("10.0.0.1", 5000, "10.0.0.2", 81)]))),
        ("b", host(["10.0.0.2"], app("y", "python-app", listen=[81], connect=[("10.0.0.2", 5001, "10.0.0.1", 80)]))),
    ])
    assert e.cycles == (("a/x", "b/y"),)
    assert e.waves == (("a/x", "b/y"),)


def test_node_daemon_on_every_host_but_not_a_database_or_a_two_host_app():
    (daemon,) = estate().daemons
    assert daemon.software == "node_exporter" and daemon.hosts == ("app-1", "db-1", "db-2")


def test_daemon_needs_most_hosts():
    hosts = [(f"h{i}", host([f"10.0.0.{i}"], *( [app("agent", "node_exporter", listen=[9100])] if i < 2 else []),
                            app("other", "python-app"))) for i in range(5)]
    assert [d.software for d in analyze_estate(hosts).daemons] == ["python-app"]


def test_application_jobs_only():
    assert [(h, j.command) for h, j in estate().jobs] == [("app-1", "/opt/web/report")]


def test_routes_external_internal_local_unseen():
    e = analyze_estate([
        ("a", host(["10.0.0.1"],
                   app("db", "postgresql", listen=[5432], category="database",
                       connect=[("10.0.0.1", 5432, "198.51.100.7", 50000)]),
                   Application(key="cache", name="cache", software="redis",
                               listeners=(Listener("tcp", "127.0.0.1", 6379, "loopback"),)),
                   app("web", "nginx", listen=[80, 443], connect=[("10.0.0.1", 40000, "10.0.0.2", 8080)]))),
        ("b", host(["10.0.0.2"], app("api", "python-app", listen=[8080]))),
    ])
    routes = {(r.app, r.port): (r.route, r.clients) for r in e.routes}
    assert routes == {("a/db", 5432): ("external", ("198.51.100.7",)), ("a/cache", 6379): ("local", ()),
                      ("a/web", 80): ("unseen", ()), ("a/web", 443): ("unseen", ()),
                      ("b/api", 8080): ("internal", ("a/web",))}


def test_etcd_members_declared_on_the_command_line_form_a_cluster():
    initial = "kv-1=http://10.0.1.1:2380,kv-2=http://10.0.1.2:2380,kv-3=http://10.0.1.3:2380"

    def etcd(i):
        return Application(key="etcd", name="etcd", software="etcd", category="database",
                           command=("/usr/bin/etcd", "--name", f"kv-{i}", "--initial-cluster", initial),
                           listeners=(Listener("tcp", f"10.0.1.{i}", 2380, "address"),
                                      Listener("tcp", f"10.0.1.{i}", 2379, "address")))
    e = analyze_estate([(f"kv-{i}", host([f"10.0.1.{i}"], etcd(i))) for i in (1, 2, 3)])
    (cluster,) = e.clusters
    assert cluster.members == (("kv-1/etcd", "member"), ("kv-2/etcd", "member"), ("kv-3/etcd", "member"))
    assert all(ev.rule == "declared-member" for ev in cluster.evidence)
    assert e.order == ()


def test_confidence_of_peers_external_ends_and_routes():
    e = estate()
    assert {p.confidence for p in e.peers} == {0.95}
    assert {x.confidence for x in e.external} == {0.9}
    by_route = {r.route: r.confidence for r in e.routes}
    assert by_route == {"external": 0.9, "internal": 0.9, "unseen": 0.5}
    assert Route("a/x", 6379, "tcp", "loopback", "local").confidence == 1.0


def test_confidence_of_clusters_order_daemons_and_jobs():
    e = estate()
    assert [c.confidence for c in e.clusters] == [0.9]                      # seen in connections only
    order = {(o.before, o.after): o.confidence for o in e.order}
    assert order == {("db-1/postgresql", "app-1/web"): 0.9,                 # a client after its server
                     ("app-1/cache", "app-1/web"): 0.95,                    # After= in a unit file
                     ("db-1/postgresql", "db-2/postgresql"): 0.8}           # a standby after its primary
    assert [d.confidence for d in e.daemons] == [1.0]
    assert [j.confidence for _, j in e.jobs] == [1.0]


def test_daemon_confidence_is_the_share_of_hosts():
    hosts = [(f"h{i}", host([f"10.0.0.{i}"], *([app("agent", "node_exporter", listen=[9100])] if i < 3 else [])))
             for i in range(4)]
    (daemon,) = analyze_estate(hosts).daemons
    assert daemon.confidence == 0.75


def test_sockets_are_seen_directly():
    assert Listener("tcp", "0.0.0.0", 80, "all").confidence == 1.0
    assert Connection("tcp", "10.0.0.1", 5000, "10.0.0.2", 80).confidence == 1.0


@pytest.mark.parametrize("rules, confidence", [
    (("data-dir-flag",), 0.95), (("postgresql:data",), 0.9), (("open-for-write",), 0.85), (("database-cwd",), 0.7),
    (("database-default-dir",), 0.6), (("database-default-dir", "open-for-write"), 0.85), ((), 0.6),
])
def test_state_location_confidence_is_its_strongest_evidence(rules, confidence):
    loc = StateLocation("/var/lib/x", evidence=tuple(Evidence("s", "d", r) for r in rules))
    assert loc.confidence == confidence
    assert StateLocation("/x", confidence=0.3).confidence == 0.3


def test_cluster_confidence_from_its_evidence():
    seen, said = Evidence("a:proc_net", "x", "established-connection"), Evidence("a:/f:1", "y", "declared-member")
    assert Cluster("etcd", (), (seen,)).confidence == 0.9
    assert Cluster("etcd", (), (said,)).confidence == 0.8
    assert Cluster("etcd", (), (seen, said)).confidence == 0.95


def test_as_dict_carries_every_confidence():
    data = estate().as_dict()
    for kind in ("peers", "external", "routes", "clusters", "daemons", "order"):
        assert data[kind] and all(0 < item["confidence"] <= 1 for item in data[kind]), kind
    assert all(job["confidence"] == 1.0 for _host, job in data["jobs"])
    assert data["apps"]["db-1/postgresql"]["confidence"] == 0.5
