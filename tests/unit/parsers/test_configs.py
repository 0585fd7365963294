"""Section `configs` (ConfigFile, format guess, settings readers); unit_files precedence and drop-ins."""
from __future__ import annotations

import pytest

from analyzers.parsers import configs, unit_files
from analyzers.parsers.configs import ConfigFile, guess_format, settings
from analyzers.probe_output import MARK
from parser_fixtures import section


def test_recorded_debian():
    files = {f.path: f for f in configs.parse(section("configs", "debian12"))}
    assert {p: f.format for p, f in files.items()} == {
        "/etc/redis/redis.conf": "redis", "/etc/postgresql/15/main/postgresql.conf": "postgresql",
        "/etc/postgresql/15/main/conf.d/90-listen.conf": "postgresql",
        "/etc/mysql/mariadb.conf.d/50-server.cnf": "ini", "/etc/nginx/sites-enabled/default": "nginx",
        "/etc/default/etcd": "keyvalue"}
    assert files["/etc/redis/redis.conf"].lines()[3] == "port 6379"


def test_recorded_rhel_formats():
    files = {f.path: f.format for f in configs.parse(section("configs", "rhel9_mixed"))}
    assert files["/etc/mongod.conf"] == "yaml" and files["/etc/etcd/etcd.conf"] == "keyvalue"
    assert files["/etc/haproxy/haproxy.cfg"] == "haproxy" and files["/etc/kafka/server.properties"] == "properties"
    assert files["/etc/zookeeper/conf/zoo.cfg"] == "properties" and files["/etc/consul.d/consul.hcl"] == "hcl"
    assert files["/etc/memcached.conf"] == "flags" and files["/etc/grafana/grafana.ini"] == "ini"
    assert files["/var/lib/pgsql/15/data/postgresql.conf"] == "postgresql"


def test_empty_and_garbage():
    assert configs.parse("") == ()
    assert configs.parse("no markers\nkey = value\n") == ()
    (only,) = configs.parse(f"\n{MARK}file \n{MARK}file /x.conf\n\x00\ufffd garbage ===\n")
    assert only.path == "/x.conf" and settings(only) == ()


@pytest.mark.parametrize("path, text, fmt", [
    ("/opt/app/config.json", "", "json"), ("/opt/app/app.toml", "", "toml"), ("/etc/vault.d/v.hcl", "", "hcl"),
    ("/etc/tomcat9/server.xml", "", "xml"), ("/etc/sysconfig/memcached", "", "keyvalue"),
    ("/srv/x.conf", '{"a": 1}', "json"), ("/srv/x.conf", "[main]\na=1\n", "ini"),
    ("/srv/x.conf", "# c\nA_B=1\n", "keyvalue"), ("/srv/x.conf", "a:\n  b: 1\n", "yaml"),
    ("/srv/x.conf", "a.b = 1\n", "properties"), ("/srv/x.conf", "", "unknown"), ("/srv/x.conf", "\x00\x01", "unknown"),
])
def test_guess_format(path, text, fmt):
    assert guess_format(path, text) == fmt


def read(path: str, text: str) -> list[tuple[str, str, int]]:
    return [(s.key, s.value, s.line_no) for s in settings(ConfigFile(path, text, guess_format(path, text)))]


def test_yaml_nesting_lists_and_comments():
    assert read("/etc/x.yml", "storage:\n  dbPath: /d  # c\n  j:\n    on: 'yes'\npath:\n  data:\n    - /a\n    - /b\nl: [x, 'y']\n") == [
        ("storage.dbPath", "/d", 2), ("storage.j.on", "yes", 4), ("path.data", "/a", 7), ("path.data", "/b", 8),
        ("l", "x", 9), ("l", "y", 9)]


def test_json_flattened_with_line_numbers_and_cut_json():
    assert read("/x.json", '{\n "data_dir": "/opt/c",\n "ports": {"http": 8500}\n}') == [
        ("data_dir", "/opt/c", 2), ("ports.http", "8500", 3)]
    assert read("/x.json", '{\n "data_dir": "/opt/c",\n "cut": "aaa') == [("data_dir", "/opt/c", 2)]


def test_ini_sections_bare_keys_includes():
    assert read("/etc/my.cnf", "[mysqld]\ndatadir = /v # c\nskip-networking\n!includedir /etc/x\n[client]\nport=1\n") == [
        ("mysqld.datadir", "/v", 2), ("mysqld.skip-networking", "", 3), ("client.port", "1", 6)]


def test_directives_hcl_flags_keyvalue():
    assert read("/etc/nginx/nginx.conf", "http {\n  listen 80;\n}\n")[1] == ("listen", "80", 2)
    assert read("/etc/consul.d/c.hcl", 'ports {\n  http = 8500 # x\n}\n') == [("ports.http", "8500", 2)]
    assert read("/etc/memcached.conf", "-p 11211\n--listen=127.0.0.1\n") == [("-p", "11211", 1), ("--listen", "127.0.0.1", 2)]
    assert read("/etc/default/etcd", 'export ETCD_DATA_DIR="/v" # c\n') == [("ETCD_DATA_DIR", "/v", 1)]


def test_very_long_line_and_equals_in_values():
    long = "x" * 200_000
    assert read("/etc/default/app", f"A={long}\nB='a=b=c'\n") == [("A", long, 1), ("B", "a=b=c", 2)]


def test_unit_files_vendor_units_and_dropins():
    units = {u.name: u for u in unit_files.parse(section("unit_files", "vendor_dropins"))}
    assert set(units) == {"redis-server.service", "postgresql@.service", "postgresql@15-main.service"}
    redis = units["redis-server.service"]
    assert redis.path == "/lib/systemd/system/redis-server.service"      # /lib before /usr/lib
    assert redis.user == "redis"                                           # the /usr/lib copy is hidden
    assert redis.exec_start == ("/usr/bin/redis-server /etc/redis/redis-6380.conf",)   # reset, then set
    assert redis.get("Service", "LimitNOFILE") == ("10032", "65536")       # last one wins for users
    assert redis.dropins == ("/lib/systemd/system/redis-server.service.d/00-vendor.conf",
                             "/etc/systemd/system/redis-server.service.d/override.conf")
    instance = units["postgresql@15-main.service"]
    assert instance.path == "/lib/systemd/system/postgresql@.service"
    assert instance.environment == {"PGTZ": "UTC"} and instance.after == ("network-online.target",)
    assert units["postgresql@.service"].environment == {}
