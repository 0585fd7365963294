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
