"""analyzers.configs: data directories, listeners and TLS files from config files, with evidence."""
from __future__ import annotations

import pytest

from analyzers.configs import ConfigListen, config_facts, files_for
from analyzers.parsers import configs
from analyzers.parsers.configs import ConfigFile, guess_format
from tests.unit.parsers.parser_fixtures import section


def cf(path: str, text: str) -> ConfigFile:
    return ConfigFile(path, text, guess_format(path, text))


@pytest.fixture(scope="module")
def files():
    return configs.parse(section("configs", "debian12")) + configs.parse(section("configs", "rhel9_mixed"))


def facts(software, files, cmdline=()):
    return config_facts(software, files_for(software, list(cmdline), files))


def listens(found):
    return [(l.address, l.port) for l, _ in found.ports]


def test_postgresql_with_conf_d_from_the_command_line(files):
    found = facts("postgresql", files, ["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main",
                                        "-c", "config_file=/etc/postgresql/15/main/postgresql.conf"])
    assert found.files == ("/etc/postgresql/15/main/postgresql.conf", "/etc/postgresql/15/main/conf.d/90-listen.conf")
    (path, ev), = found.data_dirs
    assert path == "/var/lib/postgresql/15/main"
    assert ev.source == "/etc/postgresql/15/main/postgresql.conf:4" and ev.rule == "postgresql:data"
    assert listens(found) == [("", 5432), ("*", 5432)]
    assert [p for p, _ in found.certificates] == ["/etc/ssl/certs/ssl-cert-snakeoil.pem"]
    assert [p for p, _ in found.keys] == ["/etc/ssl/private/ssl-cert-snakeoil.key"]


def test_redis_comment_lines_are_not_settings(files):
    found = facts("redis", files, ["/usr/bin/redis-server", "127.0.0.1:6379"])
    assert found.files == ("/etc/redis/redis.conf",)
    assert [p for p, _ in found.data_dirs] == ["/var/lib/redis"]
    assert listens(found) == [("127.0.0.1", 6379), ("::1", 6379)]
    assert found.certificates == () and found.keys == ()


def test_mariadb_default_port_is_marked(files):
    found = facts("mariadb", files)
    assert [p for p, _ in found.data_dirs] == ["/var/lib/mysql"]
    (listen, ev), = found.ports
    assert listen == ConfigListen("127.0.0.1", 3306) and ev.rule.endswith("(default port)")


@pytest.mark.parametrize("software, data, ports", [
    ("etcd", ["/var/lib/etcd/default", "/var/lib/etcd/default.etcd"],
     [("127.0.0.1", 2379), ("10.0.0.11", 2380), ("0.0.0.0", 2379)]),
    ("mongodb", ["/var/lib/mongo"], [("127.0.0.1", 27017)]),
    ("kafka", ["/var/lib/kafka/data"], [("", 9092)]),
    ("zookeeper", ["/var/lib/zookeeper"], [("", 2181)]),
    ("elasticsearch", ["/srv/es/data1", "/srv/es/data2"], [("0.0.0.0", 9200)]),
    ("grafana", ["/var/lib/grafana"], [("", 3000)]),
    ("consul", ["/opt/consul"], [("0.0.0.0", 8500)]),
    ("rabbitmq", [], [("", 5672), ("", 15672)]),
    ("memcached", [], [("127.0.0.1", 11211)]),
    ("haproxy", [], [("*", 5000), ("", 443)]),
    ("nginx", [], [("", 80), ("::", 80), ("", 443)]),
])
def test_software(files, software, data, ports):
    found = facts(software, files)
    assert [p for p, _ in found.data_dirs] == data
    assert sorted(listens(found)) == sorted(dict.fromkeys(ports))


def test_tls_files_by_setting_name(files):
    assert [p for p, _ in facts("nginx", files).certificates] == ["/etc/ssl/certs/site.crt"]
    assert [p for p, _ in facts("nginx", files).keys] == ["/etc/ssl/private/site.key"]
    assert [p for p, _ in facts("etcd", files).keys] == ["/etc/etcd/server.key"]
    assert [p for p, _ in facts("grafana", files).certificates] == ["/etc/grafana/grafana.crt"]
    assert [p for p, _ in facts("haproxy", files).certificates] == ["/etc/haproxy/site.pem"]
    mongo = config_facts("mongodb", [cf("/etc/mongod.conf", "net:\n  tls:\n    certificateKeyFile: /etc/ssl/m.pem\n"
                                                           "    CAFile: /etc/ssl/ca.pem\n")])
    assert [p for p, _ in mongo.certificates] == ["/etc/ssl/m.pem", "/etc/ssl/ca.pem"]
    assert [p for p, _ in mongo.keys] == ["/etc/ssl/m.pem"]
    redis = config_facts("redis", [cf("/etc/redis/r.conf", "tls-cert-file /r.crt\ntls-key-file /r.key\n"
                                                          "tls-ca-cert-file /ca.crt\ntls-auth-clients no\n")])
    assert ([p for p, _ in redis.certificates], [p for p, _ in redis.keys]) == (["/r.crt", "/ca.crt"], ["/r.key"])


def test_flags_inside_args_files():
    found = config_facts("prometheus", [cf("/etc/default/prometheus",
                                           'ARGS="--storage.tsdb.path /srv/prom --web.listen-address=127.0.0.1:9091"\n')])
    assert [p for p, _ in found.data_dirs] == ["/srv/prom"] and listens(found) == [("127.0.0.1", 9091)]


def test_files_for_named_relative_and_unknown(files):
    extra = (cf("/srv/app/app.yml", "a: 1\n"),)
    assert [f.path for f in files_for("python-app", ["python", "app.py", "--config", "app.yml"], extra, cwd="/srv/app")] == \
        ["/srv/app/app.yml"]
    assert files_for("unknown", ["x"], files) == ()
    assert config_facts("unknown", files).data_dirs == ()


def members(found):
    return [(m.address, m.port, m.relation) for m in found.members]


@pytest.mark.parametrize("software, path, text, expected, source", [
    ("zookeeper", "/etc/zookeeper/conf/zoo.cfg",
     "clientPort=2181\nserver.1=zk-1:2888:3888\nserver.2=10.0.2.2:2888:3888:participant;0.0.0.0:2181\n"
     "server.3=[fd00::3]:2888:3888\n",
     [("zk-1", 3888, "member"), ("10.0.2.2", 3888, "member"), ("fd00::3", 3888, "member")],
     "/etc/zookeeper/conf/zoo.cfg:2"),
    ("kafka", "/opt/kafka/config/server.properties",
     "controller.quorum.voters=1@kafka-1:9093,2@[fd00::2]:9093,3@10.0.3.3:19093\n",
     [("kafka-1", 9093, "member"), ("fd00::2", 9093, "member"), ("10.0.3.3", 19093, "member")],
     "/opt/kafka/config/server.properties:1"),
    ("kafka", "/etc/kafka/server.properties", "zookeeper.connect=ZK-2:2181, zk-1:2181/kafka\n",
     [("zk-1:2181,zk-2:2181/kafka", None, "group")], "/etc/kafka/server.properties:1"),
    ("cassandra", "/etc/cassandra/cassandra.yaml",
     "seed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n    parameters:\n"
     '      - seeds: "10.0.4.1:7001, cass-2"\n',
     [("10.0.4.1", 7001, "member"), ("cass-2", 7000, "member")], "/etc/cassandra/cassandra.yaml:4"),
    ("elasticsearch", "/etc/elasticsearch/elasticsearch.yml",
     'discovery.seed_hosts: ["es-1", "es-2:9301"]\ncluster.initial_master_nodes: es-1,es-3\n',
     [("es-1", 9300, "member"), ("es-2", 9301, "member"), ("es-3", 9300, "member")],
     "/etc/elasticsearch/elasticsearch.yml:1"),
    ("opensearch", "/etc/opensearch/opensearch.yml",
     "discovery:\n  seed_hosts:\n    - os-1\n    - os-2\ncluster.initial_cluster_manager_nodes: [os-1]\n",
     [("os-1", 9300, "member"), ("os-2", 9300, "member")], "/etc/opensearch/opensearch.yml:3"),
    ("mariadb", "/etc/mysql/mariadb.conf.d/60-galera.cnf",
     '[galera]\nwsrep_on = ON\nwsrep_cluster_address = "gcomm://10.0.6.1,10.0.6.2:4567,db-3?pc.wait_prim=no"\n',
     [("10.0.6.1", 4567, "member"), ("10.0.6.2", 4567, "member"), ("db-3", 4567, "member")],
     "/etc/mysql/mariadb.conf.d/60-galera.cnf:3"),
    ("mysql", "/etc/my.cnf.d/galera.cnf", "[mysqld]\nwsrep-cluster-address=gcomm://db-1,db-2\n",
     [("db-1", 4567, "member"), ("db-2", 4567, "member")], "/etc/my.cnf.d/galera.cnf:2"),
    ("redis", "/etc/redis/redis.conf", "port 6380\nreplicaof 10.0.8.1 6379\n",
     [("10.0.8.1", 6379, "primary")], "/etc/redis/redis.conf:2"),
    ("redis", "/etc/redis.conf", "slaveof cache-1 6390\n", [("cache-1", 6390, "primary")], "/etc/redis.conf:1"),
    ("postgresql", "/etc/postgresql/15/main/postgresql.conf",
     "primary_conninfo = 'host=pg-1 port=5433 user=replicator password=<redacted>'  # standby\n",
     [("pg-1", 5433, "primary")], "/etc/postgresql/15/main/postgresql.conf:1"),
    ("postgresql", "/var/lib/pgsql/data/postgresql.auto.conf",
     "# Do not edit this file manually!\nprimary_conninfo = 'user=replicator hostaddr=10.0.9.1'\n",
     [("10.0.9.1", 5432, "primary")], "/var/lib/pgsql/data/postgresql.auto.conf:2"),
    ("rabbitmq", "/etc/rabbitmq/rabbitmq.conf",
     "cluster_formation.peer_discovery_backend = classic_config\n"
     "cluster_formation.classic_config.nodes.1 = rabbit@mq-1\ncluster_formation.classic_config.nodes.2 = rabbit@mq-2\n",
     [("mq-1", 25672, "member"), ("mq-2", 25672, "member")], "/etc/rabbitmq/rabbitmq.conf:2"),
    ("rabbitmq", "/etc/rabbitmq/advanced.config",
     "[{rabbit, [\n  {cluster_nodes, {['rabbit@mq-1', 'rabbit@mq-2'], disc}}\n]}].\n",
     [("mq-1", 25672, "member"), ("mq-2", 25672, "member")], "/etc/rabbitmq/advanced.config:2"),
    ("consul", "/etc/consul.d/consul.hcl",
     'server = true\nretry_join = ["10.0.11.1", "consul-2", "provider=aws tag_key=consul"]\n',
     [("10.0.11.1", 8301, "member"), ("consul-2", 8301, "member")], "/etc/consul.d/consul.hcl:2"),
    ("consul", "/etc/consul.d/consul.json", '{\n  "server": true,\n  "retry_join": ["consul-1", "consul-2:8302"]\n}\n',
     [("consul-1", 8301, "member"), ("consul-2", 8302, "member")], "/etc/consul.d/consul.json:3"),
    ("etcd", "/etc/default/etcd",
     'ETCD_NAME="kv-1"\nETCD_INITIAL_CLUSTER="kv-1=http://10.0.1.1:2380,kv-2=https://kv-2:2380"\n',
     [("10.0.1.1", 2380, "member"), ("kv-2", 2380, "member")], "/etc/default/etcd:2"),
    ("etcd", "/etc/etcd/etcd.conf.yml",
     "name: kv-1\ninitial-cluster: kv-1=http://10.0.1.1:2380,kv-2=http://[fd00::2]:2380\n",
     [("10.0.1.1", 2380, "member"), ("fd00::2", 2380, "member")], "/etc/etcd/etcd.conf.yml:2"),
    ("etcd", "/etc/sysconfig/etcd", 'ETCD_OPTS="--initial-cluster kv-1=http://10.0.1.1:2380"\n',
     [("10.0.1.1", 2380, "member")], "/etc/sysconfig/etcd:1"),
])
def test_cluster_members(software, path, text, expected, source):
    found = config_facts(software, [cf(path, text)])
    assert members(found) == expected
    assert found.members[0].evidence.source == source
    assert found.members[0].evidence.rule == f"{software}:{expected[0][2]}"


@pytest.mark.parametrize("software, path, text", [
    ("redis", "/etc/redis/redis.conf", "replicaof no one\n"),
    ("redis", "/etc/redis/redis.conf", "# replicaof 10.0.0.1 6379\n"),
    ("mariadb", "/etc/mysql/mariadb.conf.d/60-galera.cnf", "[galera]\nwsrep_cluster_address = gcomm://\n"),
    ("postgresql", "/etc/postgresql/15/main/postgresql.conf", "primary_conninfo = ''\n"),
    ("postgresql", "/etc/postgresql/15/main/postgresql.conf", "primary_conninfo = 'host=/var/run/postgresql'\n"),
    ("consul", "/etc/consul.d/consul.hcl", 'retry_join = ["provider=aws tag_key=consul tag_value=x"]\n'),
    ("zookeeper", "/etc/zookeeper/conf/zoo.cfg", "clientPort=2181\n"),
    ("nginx", "/etc/nginx/nginx.conf", "server.1 x:1:2;\n"),
])
def test_no_cluster_members(software, path, text):
    assert config_facts(software, [cf(path, text)]).members == ()


def test_postgresql_auto_conf_in_the_data_directory_belongs_to_the_app():
    files = (cf("/etc/postgresql/15/main/postgresql.conf", "port = 5432\n"),
             cf("/var/lib/postgresql/15/main/postgresql.auto.conf", "primary_conninfo = 'host=pg-1'\n"),
             cf("/var/lib/postgresql/16/main/postgresql.auto.conf", "primary_conninfo = 'host=other'\n"))
    found = facts("postgresql", files, ["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main",
                                        "-c", "config_file=/etc/postgresql/15/main/postgresql.conf"])
    assert found.files == ("/etc/postgresql/15/main/postgresql.conf",
                           "/var/lib/postgresql/15/main/postgresql.auto.conf")
    assert members(found) == [("pg-1", 5432, "primary")]
