"""Clusters in the estate, per software: members declared in config files (read by
analyzers.configs from fixture strings) and members seen talking to each other, with roles,
evidence and confidence."""
from __future__ import annotations

import pytest

from analyzers.configs import config_facts
from analyzers.estate import analyze_estate
from analyzers.findings import Application, Connection, HostFindings, Listener
from analyzers.parsers.configs import ConfigFile, guess_format


def declared(software, path, text):
    """The members a config file names, as analyzers.host stores them on the Application."""
    return config_facts(software, [ConfigFile(path, text, guess_format(path, text))]).members


def app(software, listen=(), members=(), connect=(), key=None, category="database"):
    """listen: ports (all addresses); connect: (local addr, local port, remote addr, remote port)."""
    return Application(key=key or software, name=software, software=software, category=category,
                       listeners=tuple(Listener("tcp", "0.0.0.0", p, "all") for p in listen),
                       connections=tuple(Connection("tcp", *c, pid=1) for c in connect),
                       declared_members=tuple(members))


def host(name, address, *apps, hostname=""):
    return name, HostFindings(hostname=hostname, addresses=(address,), applications=tuple(apps))


def only_cluster(hosts):
    (cluster,) = analyze_estate(hosts).clusters
    return cluster


# ZooKeeper: server.N lines name every member, here by FQDN, short name and address.
ZOO_CFG = """tickTime=2000
dataDir=/var/lib/zookeeper
clientPort=2181
server.1=zk-1.example.com:2888:3888
server.2=zk-2:2888:3888
server.3=10.0.2.3:2888:3888;2181
"""


def test_zookeeper_members_by_fqdn_short_name_and_address():
    members = declared("zookeeper", "/etc/zookeeper/conf/zoo.cfg", ZOO_CFG)
    cluster = only_cluster([
        host("zk-1", "10.0.2.1", app("zookeeper", [2181, 3888], members), hostname="zk-1.example.com"),
        host("zk-2.example.com", "10.0.2.2", app("zookeeper", [2181, 3888], members)),
        host("zk-3", "10.0.2.3", app("zookeeper", [2181, 3888], members), hostname="zk-3"),
    ])
    assert cluster.software == "zookeeper"
    assert cluster.members == (("zk-1/zookeeper", "member"), ("zk-2.example.com/zookeeper", "member"),
                               ("zk-3/zookeeper", "member"))
    assert {ev.rule for ev in cluster.evidence} == {"declared-member"}
    sources = {ev.source for ev in cluster.evidence}
    assert {"zk-1:/etc/zookeeper/conf/zoo.cfg:5", "zk-2.example.com:/etc/zookeeper/conf/zoo.cfg:6"} <= sources
    first = next(ev for ev in cluster.evidence if ev.source == "zk-1:/etc/zookeeper/conf/zoo.cfg:5")
    assert first.detail == ("zk-1/zookeeper -> zk-2.example.com/zookeeper: zookeeper lists member zk-2:3888 "
                            "(server.2 = zk-2:2888:3888)")
    assert cluster.confidence == 0.8


def test_kafka_kraft_quorum_voters():
    members = declared("kafka", "/opt/kafka/config/server.properties",
                       "process.roles=broker,controller\nnode.id=1\n"
                       "controller.quorum.voters=1@kafka-1:9093,2@kafka-2:9093,3@10.0.3.3:9093\n")
    cluster = only_cluster([host(f"kafka-{i}", f"10.0.3.{i}", app("kafka", [9092, 9093], members))
                            for i in (1, 2, 3)])
    assert cluster.members == (("kafka-1/kafka", "member"), ("kafka-2/kafka", "member"), ("kafka-3/kafka", "member"))
    assert {ev.source for ev in cluster.evidence} == {f"kafka-{i}:/opt/kafka/config/server.properties:3"
                                                      for i in (1, 2, 3)}


def test_kafka_brokers_sharing_one_zookeeper_connect_form_one_cluster():
    def broker(connect):
        return app("kafka", [9092], declared("kafka", "/etc/kafka/server.properties",
                                             f"broker.id=1\nzookeeper.connect={connect}\n"))
    e = analyze_estate([
        host("zk-1", "10.0.2.1", app("zookeeper", [2181])),
        host("zk-2", "10.0.2.2", app("zookeeper", [2181])),
        host("kafka-1", "10.0.3.1", broker("zk-1:2181,zk-2:2181/kafka")),
        host("kafka-2", "10.0.3.2", broker("10.0.2.2:2181,10.0.2.1:2181/kafka")),   # same ensemble, other spelling
        host("kafka-3", "10.0.3.3", broker("zk-1:2181,zk-2:2181/other")),           # another cluster's chroot
    ])
    (cluster,) = e.clusters
    assert cluster.software == "kafka"
    assert cluster.members == (("kafka-1/kafka", "member"), ("kafka-2/kafka", "member"))
    (ev,) = cluster.evidence
    assert ev.rule == "declared-member" and ev.source == "kafka-2:/etc/kafka/server.properties:2"
    assert "shares 10.0.2.1:2181,10.0.2.2:2181/kafka" in ev.detail


CASSANDRA_YAML = """cluster_name: 'Orders'
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "10.0.4.1:7000,cass-2"
listen_address: 10.0.4.{i}
"""


def test_cassandra_seeds_make_every_node_a_member():
    hosts = [host(f"cass-{i}", f"10.0.4.{i}",
                  app("cassandra", [7000, 9042], declared("cassandra", "/etc/cassandra/cassandra.yaml",
                                                          CASSANDRA_YAML.format(i=i))))
             for i in (1, 2, 3)]
    cluster = only_cluster(hosts)
    assert cluster.members == (("cass-1/cassandra", "member"), ("cass-2/cassandra", "member"),
                               ("cass-3/cassandra", "member"))
    assert ("cass-3:/etc/cassandra/cassandra.yaml:5", "declared-member") in {(e.source, e.rule)
                                                                             for e in cluster.evidence}


@pytest.mark.parametrize("software, path", [("elasticsearch", "/etc/elasticsearch/elasticsearch.yml"),
                                            ("opensearch", "/etc/opensearch/opensearch.yml")])
def test_elasticsearch_seed_hosts_and_initial_master_nodes(software, path):
    yml = ('cluster.name: logs\nnode.name: {name}\ndiscovery.seed_hosts: ["es-1.corp", "10.0.5.2:9300"]\n'
           "cluster.initial_master_nodes:\n  - es-1\n  - es-2\n  - es-3\n")
    hosts = [host(f"es-{i}", f"10.0.5.{i}", app(software, [9200, 9300], declared(software, path, yml.format(
        name=f"es-{i}"))), hostname=f"es-{i}.corp") for i in (1, 2, 3)]
    cluster = only_cluster(hosts)
    assert cluster.software == software
    assert cluster.members == tuple((f"es-{i}/{software}", "member") for i in (1, 2, 3))
    assert f"es-3:{path}:6" in {e.source for e in cluster.evidence}      # es-3 only in initial_master_nodes


GALERA_CNF = """[mysqld]
binlog_format=ROW
[galera]
wsrep_on = ON
wsrep_provider = /usr/lib/galera/libgalera_smm.so
wsrep_cluster_address = "gcomm://10.0.6.1,10.0.6.2,10.0.6.3"
"""


def test_galera_members_from_wsrep_cluster_address():
    members = declared("mariadb", "/etc/mysql/mariadb.conf.d/60-galera.cnf", GALERA_CNF)
    cluster = only_cluster([host(f"db-{i}", f"10.0.6.{i}", app("mariadb", [3306, 4567], members))
                            for i in (1, 2, 3)])
    assert cluster.members == (("db-1/mariadb", "member"), ("db-2/mariadb", "member"), ("db-3/mariadb", "member"))
    assert {e.source for e in cluster.evidence} == {f"db-{i}:/etc/mysql/mariadb.conf.d/60-galera.cnf:6"
                                                    for i in (1, 2, 3)}


def test_galera_by_group_communication_connections_only_has_members():
    cluster = only_cluster([
        host("db-1", "10.0.6.1", app("mysql", [3306, 4567])),
        host("db-2", "10.0.6.2", app("mariadb", [3306, 4567], connect=[("10.0.6.2", 41000, "10.0.6.1", 4567)])),
    ])
    assert cluster.members == (("db-1/mysql", "member"), ("db-2/mariadb", "member"))
    assert cluster.confidence == 0.9


def test_mysql_async_replication_by_connection():
    e = analyze_estate([
        host("db-1", "10.0.7.1", app("mysql", [3306])),
        host("db-2", "10.0.7.2", app("mysql", [3306], connect=[("10.0.7.2", 50000, "10.0.7.1", 3306)])),
        host("db-3", "10.0.7.3", app("mysql", [3306], connect=[("10.0.7.3", 50001, "10.0.7.1", 3306)])),
    ])
    (cluster,) = e.clusters
    assert cluster.members == (("db-1/mysql", "primary"), ("db-2/mysql", "replica"), ("db-3/mysql", "replica"))
    assert {e.rule for e in cluster.evidence} == {"established-connection"}
    assert cluster.confidence == 0.9
    assert {(o.before, o.after, o.confidence) for o in e.order} == {("db-1/mysql", "db-2/mysql", 0.8),
                                                                    ("db-1/mysql", "db-3/mysql", 0.8)}


def test_mysql_replication_ring_has_no_single_primary():
    cluster = only_cluster([
        host("db-1", "10.0.7.1", app("mysql", [3306], connect=[("10.0.7.1", 50000, "10.0.7.2", 3306)])),
        host("db-2", "10.0.7.2", app("mysql", [3306], connect=[("10.0.7.2", 50001, "10.0.7.1", 3306)])),
    ])
    assert cluster.members == (("db-1/mysql", "member"), ("db-2/mysql", "member"))


def test_redis_replicaof_in_config():
    replica = declared("redis", "/etc/redis/redis.conf", "bind 0.0.0.0\nport 6379\nreplicaof cache-1 6379\n")
    e = analyze_estate([host("cache-1", "10.0.8.1", app("redis", [6379], category="cache")),
                        host("cache-2", "10.0.8.2", app("redis", [6379], replica, category="cache"))])
    (cluster,) = e.clusters
    assert cluster.members == (("cache-1/redis", "primary"), ("cache-2/redis", "replica"))
    (ev,) = cluster.evidence
    assert (ev.source, ev.rule) == ("cache-2:/etc/redis/redis.conf:3", "declared-member")
    assert ev.detail == "cache-2/redis -> cache-1/redis: redis replicates from cache-1:6379 (replicaof = cache-1 6379)"
    assert cluster.confidence == 0.8


def test_redis_replication_by_connection_and_config_together():
    replica = declared("redis", "/etc/redis/redis.conf", "slaveof 10.0.8.1 6379\n")
    e = analyze_estate([
        host("cache-1", "10.0.8.1", app("redis", [6379], category="cache")),
        host("cache-2", "10.0.8.2", app("redis", [6379], category="cache",
                                        connect=[("10.0.8.2", 40000, "10.0.8.1", 6379)])),
        host("cache-3", "10.0.8.3", app("redis", [6379], replica, category="cache",
                                        connect=[("10.0.8.3", 40001, "10.0.8.1", 6379)])),
    ])
    (cluster,) = e.clusters
    assert cluster.members == (("cache-1/redis", "primary"), ("cache-2/redis", "replica"), ("cache-3/redis", "replica"))
    assert {e.rule for e in cluster.evidence} == {"established-connection", "declared-member"}
    assert cluster.confidence == 0.95


def test_postgresql_standby_from_primary_conninfo():
    conf = ("data_directory = '/var/lib/postgresql/15/main'\n"
            "primary_conninfo = 'host=10.0.9.1 port=5432 user=replicator password=<redacted> application_name=pg-2'\n")
    e = analyze_estate([
        host("pg-1", "10.0.9.1", app("postgresql", [5432])),
        host("pg-2", "10.0.9.2", app("postgresql", [5432], declared("postgresql",
                                                                  "/etc/postgresql/15/main/postgresql.conf", conf))),
    ])
    (cluster,) = e.clusters
    assert cluster.members == (("pg-1/postgresql", "primary"), ("pg-2/postgresql", "standby"))
    assert [(ev.source, ev.rule) for ev in cluster.evidence] == [("pg-2:/etc/postgresql/15/main/postgresql.conf:2",
                                                                  "declared-member")]
    (edge,) = e.order
    assert (edge.before, edge.after, edge.confidence) == ("pg-1/postgresql", "pg-2/postgresql", 0.8)


def test_postgresql_auto_conf_uri_form():
    members = declared("postgresql", "/var/lib/postgresql/15/main/postgresql.auto.conf",
                       "primary_conninfo = 'postgresql://replicator@pg-1.db.internal:5433/postgres'\n")
    cluster = only_cluster([host("pg-1.db.internal", "10.0.9.1", app("postgresql", [5433])),
                            host("pg-2", "10.0.9.2", app("postgresql", [5432], members))])
    assert cluster.members == (("pg-1.db.internal/postgresql", "primary"), ("pg-2/postgresql", "standby"))


def test_rabbitmq_classic_config_nodes():
    conf = ("cluster_formation.peer_discovery_backend = classic_config\n"
            "cluster_formation.classic_config.nodes.1 = rabbit@mq-1\n"
            "cluster_formation.classic_config.nodes.2 = rabbit@mq-2.corp.example\n")
    members = declared("rabbitmq", "/etc/rabbitmq/rabbitmq.conf", conf)
    cluster = only_cluster([host("mq-1", "10.0.10.1", app("rabbitmq", [5672, 25672], members)),
                            host("mq-2", "10.0.10.2", app("rabbitmq", [5672, 25672], members),
                                 hostname="mq-2.corp.example")])
    assert cluster.members == (("mq-1/rabbitmq", "member"), ("mq-2/rabbitmq", "member"))
    assert {e.source for e in cluster.evidence} == {"mq-1:/etc/rabbitmq/rabbitmq.conf:3",
                                                    "mq-2:/etc/rabbitmq/rabbitmq.conf:2"}


def test_consul_retry_join():
    members = declared("consul", "/etc/consul.d/consul.hcl",
                       'server = true\nretry_join = ["10.0.11.1", "consul-2", "provider=aws tag_key=consul"]\n')
    cluster = only_cluster([host(f"consul-{i}", f"10.0.11.{i}", app("consul", [8300, 8301, 8500], members))
                            for i in (1, 2, 3)])
    assert cluster.members == tuple((f"consul-{i}/consul", "member") for i in (1, 2, 3))


@pytest.mark.parametrize("path, text", [
    ("/etc/default/etcd", 'ETCD_NAME="kv-{i}"\nETCD_INITIAL_CLUSTER="kv-1=http://10.0.1.1:2380,'
                          'kv-2=http://10.0.1.2:2380,kv-3=http://kv-3:2380"\n'),
    ("/etc/etcd/etcd.conf.yml", "name: kv-{i}\ninitial-cluster: kv-1=http://10.0.1.1:2380,"
                                "kv-2=http://10.0.1.2:2380,kv-3=http://kv-3:2380\n"),
])
def test_etcd_initial_cluster_in_config_files(path, text):
    cluster = only_cluster([host(f"kv-{i}", f"10.0.1.{i}", app("etcd", [2379, 2380],
                                                                  declared("etcd", path, text.format(i=i))))
                            for i in (1, 2, 3)])
    assert cluster.members == tuple((f"kv-{i}/etcd", "member") for i in (1, 2, 3))
    assert {e.source for e in cluster.evidence} == {f"kv-{i}:{path}:2" for i in (1, 2, 3)}


@pytest.mark.parametrize("software, port", [("zookeeper", 3888), ("kafka", 9093), ("cassandra", 7000),
                                            ("elasticsearch", 9300), ("rabbitmq", 25672), ("consul", 8301),
                                            ("etcd", 2380), ("mongodb", 27017)])
def test_member_software_by_connection(software, port):
    cluster = only_cluster([
        host("a", "10.0.12.1", app(software, [port])),
        host("b", "10.0.12.2", app(software, [port], connect=[("10.0.12.2", 45000, "10.0.12.1", port)])),
    ])
    assert cluster.members == (("a/" + software, "member"), ("b/" + software, "member"))
    assert cluster.confidence == 0.9


def test_members_outside_the_inventory_or_ambiguous_names_are_left_out():
    members = declared("zookeeper", "/etc/zookeeper/conf/zoo.cfg",
                       "server.1=localhost:2888:3888\nserver.2=zk-9:2888:3888\nserver.3=twin:2888:3888\n"
                       "server.4=192.0.2.4:2888:3888\n")
    e = analyze_estate([host("zk-1", "10.0.2.1", app("zookeeper", [3888], members)),
                        host("twin.a", "10.0.2.2", app("zookeeper", [3888])),
                        host("twin.b", "10.0.2.3", app("zookeeper", [3888]))])
    assert e.clusters == ()


def test_declared_member_of_other_software_is_no_link():
    members = declared("redis", "/etc/redis/redis.conf", "replicaof 10.0.8.1 6379\n")
    e = analyze_estate([host("a", "10.0.8.1", app("memcached", [6379], category="cache")),
                        host("b", "10.0.8.2", app("redis", [6379], members, category="cache"))])
    assert e.clusters == ()


def test_member_chosen_by_port_among_two_instances():
    members = declared("redis", "/etc/redis/redis.conf", "replicaof 10.0.8.1 6380\n")
    cluster = only_cluster([
        host("a", "10.0.8.1", app("redis", [6379], key="redis-a", category="cache"),
             app("redis", [6380], key="redis-b", category="cache")),
        host("b", "10.0.8.2", app("redis", [6379], members, category="cache")),
    ])
    assert cluster.members == (("a/redis-b", "primary"), ("b/redis", "replica"))
