"""The small rules the combiners are built from: scope, flags, path kinds, mounts, versions, names."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from analyzers.apps import group_processes, identify
from analyzers.host import upstream_version
from analyzers.network import scope_of
from analyzers.state import data_root, find_state, flag_value, mount_of, path_kind, verdict


def proc(pid, ppid, cmdline, exe="", comm=None, cwd="/", cgroup="0::/", files=()):
    return SimpleNamespace(pid=pid, ppid=ppid, cmdline=tuple(cmdline), exe=exe, comm=comm or exe.rsplit("/", 1)[-1],
                           cwd=cwd, cgroup=cgroup, uid=0, open_files=tuple(files), rss_kib=0,
                           utime=0, stime=0, starttime=0)


def wfile(fd, target):
    return SimpleNamespace(fd=fd, target=target, flags=0o102001, writable=True, socket_inode=None)


MOUNTS = (SimpleNamespace(target="/", fstype="ext4"), SimpleNamespace(target="/run", fstype="tmpfs"),
          SimpleNamespace(target="/mnt/nfs", fstype="nfs4"), SimpleNamespace(target="/tmp", fstype="tmpfs"))


@pytest.mark.parametrize("address,scope", [
    ("127.0.0.1", "loopback"), ("127.0.0.53", "loopback"), ("::1", "loopback"), ("0.0.0.0", "all"),
    ("::", "all"), ("*", "all"), ("10.1.2.3", "address"), ("fe80::1%eth0", "address")])
def test_scope(address, scope):
    assert scope_of(address) == scope


@pytest.mark.parametrize("args,flags,value", [
    (["redis-server", "--dir", "/data"], ("--dir",), "/data"),
    (["etcd", "--data-dir=/var/lib/etcd/x"], ("--data-dir",), "/var/lib/etcd/x"),
    (["postgres", "-D/pg"], ("-D",), "/pg"),
    (["postgres", "-D", "/pg"], ("-D",), "/pg"),
    (["redis-server", "--dir"], ("--dir",), None),
    (["postgres", "--debug"], ("-D",), None)])
def test_flag_value(args, flags, value):
    assert flag_value(args, flags) == value


@pytest.mark.parametrize("path,kind", [
    ("/var/log/nginx/access.log", "log"), ("/srv/app/app.log", "log"), ("/run/nginx.pid", "pid"),
    ("/var/lib/redis/dump.rdb", "data"), ("/tmp/x", "temp"), ("/var/run/app.sock", "socket"),
    ("/var/cache/apt/pkgcache.bin", "cache")])
def test_path_kind(path, kind):
    assert path_kind(path) == kind


def test_mount_of_longest_prefix():
    assert mount_of("/var/lib/x", MOUNTS) == ("ext4", "local")
    assert mount_of("/run/lock/a", MOUNTS) == ("tmpfs", "tmpfs")
    assert mount_of("/mnt/nfs/share/f", MOUNTS) == ("nfs4", "network")
    assert mount_of("/runner/x", MOUNTS) == ("ext4", "local")


def test_data_root_collapses_var_lib():
    assert data_root("/var/lib/redis/appendonlydir/appendonly.aof.1.incr.aof") == "/var/lib/redis"
    assert data_root("/srv/app/data/db.sqlite") == "/srv/app/data"


@pytest.mark.parametrize("raw,version", [("5:7.0.15-1~deb12u1", "7.0.15"), ("1.22.1-9", "1.22.1"),
                                         ("15+248", "15"), ("garbage", "")])
def test_upstream_version(raw, version):
    assert upstream_version(raw) == version


def test_groups_follow_the_process_tree_and_units():
    procs = [proc(1, 0, ["/sbin/init"], "/sbin/init"),
             proc(10, 1, ["/usr/sbin/nginx", "-g", "daemon off;"], "/usr/sbin/nginx"),
             proc(11, 10, ["nginx: worker process"], "/usr/sbin/nginx"),
             proc(20, 1, ["/usr/sbin/sshd", "-D"], "/usr/sbin/sshd"),
             proc(21, 20, ["sh", "-s", "--", "nonce"], "/bin/dash"),
             proc(30, 1, ["/usr/bin/python3", "/srv/app/web.py"], "/usr/bin/python3.11",
                  cgroup="0::/system.slice/web.service"),
             proc(31, 1, ["/usr/bin/python3", "/srv/app/worker.py"], "/usr/bin/python3.11",
                  cgroup="0::/system.slice/web.service")]
    groups, aside = group_processes(procs)
    assert sorted([p.pid for p in g] for g in groups) == [[10, 11], [20, 21], [30, 31]]
    assert [p.pid for p in aside] == [1]
    names = {identify(g).software for g in groups}
    assert names == {"nginx", "plumbing", "python-app"}


@pytest.mark.parametrize("cmdline,exe,software,name", [
    (["/usr/bin/redis-server", "*:6379"], "/usr/bin/redis-server", "redis", "redis"),
    (["postgres: 15/main: checkpointer"], "/usr/lib/postgresql/15/bin/postgres", "postgresql", "postgresql"),
    (["/usr/sbin/mariadbd"], "/usr/sbin/mariadbd", "mariadb", "mariadb"),
    (["/usr/bin/etcd", "--name", "kv-1"], "/usr/bin/etcd", "etcd", "etcd"),
    (["java", "-Xmx1g", "-jar", "/opt/shop/shop-api.jar"], "/usr/lib/jvm/bin/java", "java-app", "shop-api"),
    (["node", "/srv/site/server.js"], "/usr/bin/node", "node-app", "server"),
    (["python3", "-m", "orders.main"], "/usr/bin/python3.11", "python-app", "orders.main"),
    (["/opt/vendor/bin/thing"], "/opt/vendor/bin/thing", "unknown", "thing")])
def test_identify(cmdline, exe, software, name):
    ident = identify([proc(5, 1, cmdline, exe)])
    assert (ident.software, ident.name) == (software, name)


def test_redis_state_from_cwd_and_aof_and_logs_kept_apart():
    redis = proc(7, 1, ["/usr/bin/redis-server", "0.0.0.0:6379"], "/usr/bin/redis-server", cwd="/var/lib/redis",
                 files=[wfile(3, "/var/lib/redis/appendonlydir/appendonly.aof.1.incr.aof"),
                        wfile(4, "/var/log/redis/redis.log"), wfile(5, "/run/redis/redis.pid")])
    locations, ignored = find_state("redis", [redis], MOUNTS)
    assert [(l.path, l.kind, l.filesystem) for l in locations] == [
        ("/var/lib/redis", "data", "local"), ("/var/log/redis", "log", "local"), ("/run/redis/redis.pid", "pid", "tmpfs")]
    assert {e.rule for e in locations[0].evidence} == {"database-cwd", "open-for-write"}
    assert len(ignored) == 2
    assert verdict("redis", locations, ignored)[0] == "stateful"


def test_logs_and_tmpfs_alone_are_stateless():
    app = proc(8, 1, ["python3", "app.py"], "/usr/bin/python3",
               files=[wfile(3, "/var/log/app/app.log"), wfile(4, "/run/app/state.db"), wfile(5, "/tmp/upload.part")])
    locations, ignored = find_state("python-app", [app], MOUNTS)
    assert [(l.path, l.kind) for l in locations] == [("/var/log/app", "log"), ("/run/app", "temp"), ("/tmp", "temp")]
    decided, reason, _ = verdict("python-app", locations, ignored)
    assert decided == "stateless" and "logs" in reason


def test_idle_database_is_stateful_by_default_dir():
    locations, ignored = find_state("postgresql", [proc(9, 1, ["postgres"], "/usr/bin/postgres")], MOUNTS)
    assert [l.path for l in locations] == ["/var/lib/postgresql"]
    assert verdict("postgresql", locations, ignored)[0] == "stateful"


@pytest.mark.parametrize("cmdline,exe,software", [
    (["/usr/bin/memcached", "-m", "64", "-p", "11211"], "/usr/bin/memcached", "memcached"),
    (["/usr/bin/mongod", "--config", "/etc/mongod.conf"], "/usr/bin/mongod", "mongodb"),
    (["/usr/bin/consul", "agent", "-data-dir=/opt/consul"], "/usr/bin/consul", "consul"),
    (["minio", "server", "/srv/minio"], "/usr/local/bin/minio", "minio"),
    (["/usr/share/elasticsearch/jdk/bin/java", "-Xms1g", "org.elasticsearch.bootstrap.Elasticsearch"],
     "/usr/share/elasticsearch/jdk/bin/java", "elasticsearch"),
    (["java", "-cp", "/opt/os/lib/*", "org.opensearch.bootstrap.OpenSearch"], "/usr/bin/java", "opensearch"),
    (["java", "-ea", "org.apache.cassandra.service.CassandraDaemon"], "/usr/bin/java", "cassandra"),
    (["java", "-Xmx1G", "kafka.Kafka", "/etc/kafka/server.properties"], "/usr/bin/java", "kafka"),
    (["java", "-cp", "zk.jar", "org.apache.zookeeper.server.quorum.QuorumPeerMain", "/etc/zk/zoo.cfg"],
     "/usr/bin/java", "zookeeper"),
    (["/usr/bin/java", "-Dcatalina.base=/var/lib/tomcat9", "org.apache.catalina.startup.Bootstrap", "start"],
     "/usr/bin/java", "tomcat"),
    (["java", "-jar", "/opt/shop/shop.jar"], "/usr/bin/java", "java-app"),
    (["/usr/lib/erlang/erts-13.1/bin/beam.smp", "-W", "w", "--", "-s", "rabbit", "boot"],
     "/usr/lib/erlang/erts-13.1/bin/beam.smp", "rabbitmq"),
    (["/usr/sbin/apache2", "-k", "start"], "/usr/sbin/apache2", "apache-httpd"),
    (["/usr/sbin/haproxy", "-Ws", "-f", "/etc/haproxy/haproxy.cfg"], "/usr/sbin/haproxy", "haproxy"),
    (["/usr/bin/prometheus", "--storage.tsdb.path=/var/lib/prometheus/metrics2/"], "/usr/bin/prometheus", "prometheus"),
    (["/usr/share/grafana/bin/grafana", "server", "--config=/etc/grafana/grafana.ini"],
     "/usr/share/grafana/bin/grafana", "grafana"),
    (["/usr/bin/prometheus-node-exporter"], "/usr/bin/prometheus-node-exporter", "node_exporter"),
    (["/opt/fluent-bit/bin/fluent-bit", "-c", "/etc/fluent-bit/fluent-bit.conf"], "/opt/fluent-bit/bin/fluent-bit",
     "fluent-bit"),
    (["/opt/fluent/bin/ruby", "/opt/fluent/bin/fluentd", "--log", "/var/log/fluent/fluentd.log"],
     "/opt/fluent/bin/ruby", "fluentd"),
    (["/usr/share/filebeat/bin/filebeat", "--environment", "systemd"], "/usr/share/filebeat/bin/filebeat", "filebeat"),
    (["php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"], "/usr/sbin/php-fpm8.2", "php-fpm"),
    (["/srv/venv/bin/python3", "/srv/venv/bin/gunicorn", "app:app"], "/usr/bin/python3.11", "python-app"),
    (["/usr/bin/uwsgi", "--ini", "/etc/uwsgi/app.ini"], "/usr/bin/uwsgi", "python-app"),
    (["node", "/srv/api/server.js"], "/usr/bin/node", "node-app"),
    (["/usr/bin/ruby", "/opt/app/script.rb"], "/usr/bin/ruby", "unknown"),
])
def test_identify_known_servers(cmdline, exe, software):
    assert identify([proc(10, 1, cmdline, exe=exe)]).software == software


@pytest.mark.parametrize("software,cmdline,path", [
    ("minio", ["minio", "server", "/srv/minio"], "/srv/minio"),
    ("mongodb", ["/usr/bin/mongod", "--dbpath", "/data/db"], "/data/db"),
    ("prometheus", ["/usr/bin/prometheus", "--storage.tsdb.path=/var/lib/prometheus/metrics2/"],
     "/var/lib/prometheus/metrics2/"),
    ("zookeeper", ["java", "org.apache.zookeeper.server.quorum.QuorumPeerMain"], "/var/lib/zookeeper"),
])
def test_data_dirs_of_more_servers(software, cmdline, path):
    locations, _ = find_state(software, [proc(10, 1, cmdline, exe="/usr/bin/x")], MOUNTS)
    assert [loc.path for loc in locations] == [path]


def test_config_data_dir_counts_after_flag_and_before_default():
    from analyzers.base import Evidence
    conf = (("/srv/pg/main", Evidence("/etc/postgresql/15/main/postgresql.conf:41", "data_directory", "postgresql:data")),)
    with_flag = proc(10, 1, ["/usr/lib/postgresql/15/bin/postgres", "-D", "/pg"], exe="/usr/lib/postgresql/15/bin/postgres")
    by_config = proc(10, 1, ["/usr/lib/postgresql/15/bin/postgres", "-c",
                             "config_file=/etc/postgresql/15/main/postgresql.conf"], exe="/usr/lib/postgresql/15/bin/postgres")
    assert [l.path for l in find_state("postgresql", [with_flag], MOUNTS, conf)[0]] == ["/pg"]
    (loc,), _ = find_state("postgresql", [by_config], MOUNTS, conf)
    assert loc.path == "/srv/pg/main" and loc.evidence[0].rule == "postgresql:data"
    assert [l.path for l in find_state("postgresql", [by_config], MOUNTS)[0]] == ["/var/lib/postgresql"]


def test_busybox_timeout_watchers_of_the_probe_are_set_aside():
    """busybox's timeout leaves a watcher per probe command; a host's own `timeout` under GNU
    coreutils, or another busybox applet, is still the host's."""
    procs = [proc(1, 0, ["/sbin/init"], "/sbin/init"),
             proc(40, 1, ["timeout", "-s", "KILL", "20", "cat", "/proc/mounts"], "/bin/busybox"),
             proc(41, 1, ["timeout", "-s", "KILL", "300", "backup.sh"], "/usr/bin/timeout"),
             proc(42, 1, ["httpd", "-f", "-p", "8088"], "/bin/busybox")]
    groups, aside = group_processes(procs)
    assert sorted(p.pid for p in aside) == [1, 40]
    assert sorted(g[0].pid for g in groups) == [41, 42]
