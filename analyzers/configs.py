"""What the config files of an application say: its data directories, the addresses and ports
it listens on, and the TLS certificates and keys it references — each with its evidence
(file path and line number).

    files = facts.get("configs")                          # tuple[ConfigFile, ...]
    mine = files_for("redis", proc.cmdline, files)        # the files of this application
    found = config_facts("redis", mine)                   # ConfigFacts

Only what a config sets is reported; defaults stay with the caller, with one exception: a
listen address set without a port takes the software's well-known port (its evidence says
so). A `ConfigListen.address` of "" means the config sets a port but not the address.
Certificates and keys are found for every software by the name of the setting (ssl_cert_file,
tls-cert-file, cert_file, certificateKeyFile, keystore.path, ...) plus the directives of nginx,
Apache and HAProxy; values that do not look like a file path are ignored.

Cluster members (`ConfigFacts.members`, see analyzers.findings.DeclaredMember) are read from
the settings in MEMBER_RULES: ZooKeeper `server.N`, Kafka `controller.quorum.voters` and
`zookeeper.connect`, Cassandra `seeds`, Elasticsearch/OpenSearch `discovery.seed_hosts` and
`cluster.initial_master_nodes`, Galera `wsrep_cluster_address`, Redis `replicaof`/`slaveof`,
PostgreSQL `primary_conninfo`, RabbitMQ `cluster_formation.classic_config.nodes.N` (and
`cluster_nodes` in an Erlang-term config), Consul `retry_join`/`start_join`, etcd
`initial-cluster` / ETCD_INITIAL_CLUSTER. A member without a port gets the software's peer
port (MEMBER_PORTS). Pure: no IO.
"""
from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from typing import Iterable, Sequence

from analyzers.base import Evidence
from analyzers.findings import DeclaredMember
from analyzers.parsers.configs import ConfigFile, Setting, settings


@dataclass(frozen=True)
class ConfigListen:
    address: str          # "" when the config sets only the port; "*", "0.0.0.0", "::" for all
    port: int | None      # None for a unix socket path in `address`


@dataclass(frozen=True)
class ConfigFacts:
    software: str
    files: tuple[str, ...] = ()
    data_dirs: tuple[tuple[str, Evidence], ...] = ()
    ports: tuple[tuple[ConfigListen, Evidence], ...] = ()
    certificates: tuple[tuple[str, Evidence], ...] = ()    # certificates and CA bundles
    keys: tuple[tuple[str, Evidence], ...] = ()            # private key files (paths only)
    members: tuple[DeclaredMember, ...] = ()               # cluster members the config names


DEFAULT_PORTS = {"postgresql": 5432, "redis": 6379, "valkey": 6379, "mysql": 3306, "mariadb": 3306,
                 "mongodb": 27017, "memcached": 11211, "elasticsearch": 9200, "opensearch": 9200,
                 "grafana": 3000, "cassandra": 9042, "zookeeper": 2181, "kafka": 9092, "rabbitmq": 5672}
_MYSQL = r"(?:mysqld|mariadb|mariadbd|server|galera|mysqld_safe|mariadb_\d+\.\d+)\."
# software -> rules (kind, normalized-key regex). Kinds: data (paths), port, address (list),
# url (listen URLs), hostport ("addr:port", ":port", "port"). Keys are lowercased with '-'
# turned into '_'; an env file's ETCD_/RABBITMQ_ prefix and an ARGS/OPTS flag's dashes are kept.
RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "postgresql": (("data", r"data_directory"), ("port", r"port"), ("address", r"listen_addresses")),
    "redis": (("data", r"dir"), ("port", r"(tls_)?port"), ("address", r"bind")),
    "mysql": (("data", _MYSQL + r"datadir"), ("port", _MYSQL + r"port"), ("address", _MYSQL + r"bind_address")),
    "mongodb": (("data", r"storage\.dbpath"), ("port", r"net\.port"), ("address", r"net\.bindip")),
    "memcached": (("port", r"_p|__port|port"), ("address", r"_l|__listen|listen")),
    "etcd": (("data", r"(etcd_)?(data_dir|wal_dir)"), ("url", r"(etcd_)?listen_(client|peer)_urls")),
    "elasticsearch": (("data", r"path\.data"), ("port", r"(http|transport)\.port"),
                      ("address", r"(network|http)\.host")),
    "kafka": (("data", r"log\.dirs?"), ("url", r"listeners"), ("port", r"port")),
    "zookeeper": (("data", r"datadir|datalogdir"), ("port", r"(secure)?clientport"),
                  ("address", r"clientportaddress")),
    "rabbitmq": (("data", r"(rabbitmq_)?mnesia_(base|dir)"), ("hostport", r"listeners\.(tcp|ssl)\.\w+"),
                 ("port", r"management\.(tcp|ssl|listener)\.port|(rabbitmq_)?node_port")),
    "prometheus": (("data", r"__storage\.tsdb\.path"), ("hostport", r"__web\.listen_address")),
    "node_exporter": (("hostport", r"__web\.listen_address"),),
    "grafana": (("data", r"paths\.data"), ("port", r"server\.http_port"), ("address", r"server\.http_addr")),
    "consul": (("data", r"data_dir"), ("port", r"ports\.\w+"), ("address", r"client_addr")),
    "vault": (("data", r"storage\.path"), ("hostport", r"listener\.address")),
    "minio": (("data", r"minio_volumes"), ("hostport", r"__(console_)?address")),
    "cassandra": (("data", r"data_file_directories|commitlog_directory|saved_caches_directory|hints_directory"),
                  ("port", r"native_transport_port|(ssl_)?storage_port"), ("address", r"listen_address|rpc_address")),
    "php-fpm": (("hostport", r"([\w.-]+\.)?listen"),),
    "filebeat": (("data", r"path\.data"),),
    "nginx": (("hostport", r"listen"),),
    "apache-httpd": (("hostport", r"listen"),),
    "haproxy": (("hostport", r"bind"),),
}
RULES["valkey"] = RULES["redis"]
RULES["mariadb"] = RULES["mysql"]
RULES["opensearch"] = RULES["elasticsearch"]

# The port a cluster member listens on for its peers, when the config names a member without one.
MEMBER_PORTS = {"zookeeper": 3888, "kafka": 9093, "cassandra": 7000, "elasticsearch": 9300, "opensearch": 9300,
                "mysql": 4567, "mariadb": 4567, "redis": 6379, "valkey": 6379, "postgresql": 5432,
                "rabbitmq": 25672, "consul": 8301, "etcd": 2380}
# software -> (reader, normalized-key regex). Readers (see _MEMBER_READERS): urls (etcd
# "name=URL,..."), zk ("host:quorum:election[:role][;client]"), voters ("id@host:port,..."),
# hosts ("host[:port],..."), group (a shared coordination string), gcomm ("gcomm://a,b:port"),
# replicaof ("host port"), conninfo (libpq "host=... port=..." or a URI), node ("rabbit@host").
MEMBER_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "etcd": (("urls", r"(etcd_|__)?initial_cluster"),),
    "zookeeper": (("zk", r"server\.\d+"),),
    "kafka": (("voters", r"controller\.quorum\.voters"), ("hosts", r"controller\.quorum\.bootstrap\.servers"),
              ("group", r"zookeeper\.connect")),
    "cassandra": (("hosts", r"(seed_provider\.(\d+\.)?parameters\.(\d+\.)?)?seeds"),),
    "elasticsearch": (("hosts", r"discovery\.seed_hosts|discovery\.zen\.ping\.unicast\.hosts"
                                r"|cluster\.initial_(master|cluster_manager)_nodes"),),
    "mysql": (("gcomm", rf"({_MYSQL})?wsrep_cluster_address"),),
    "redis": (("replicaof", r"replicaof|slaveof"),),
    "postgresql": (("conninfo", r"primary_conninfo"),),
    "rabbitmq": (("node", r"cluster_formation\.classic_config\.nodes\.\w+"),),
    "consul": (("hosts", r"(__)?(retry_join|start_join|join)"),),
}
MEMBER_RULES["valkey"] = MEMBER_RULES["redis"]
MEMBER_RULES["mariadb"] = MEMBER_RULES["mysql"]
MEMBER_RULES["opensearch"] = MEMBER_RULES["elasticsearch"]

# Which files belong to a software when its command line names none (path regexes).
WELL_KNOWN: dict[str, str] = {
    "postgresql": r"/postgresql(\.auto)?\.conf$|/postgresql/.+/conf\.d/[^/]+\.conf$",
    "redis": r"/redis[^/]*\.conf$|^/etc/redis/", "valkey": r"/valkey[^/]*\.conf$|^/etc/valkey/",
    "mysql": r"^/etc/(mysql/|my\.cnf)", "mariadb": r"^/etc/(mysql/|my\.cnf)",
    "mongodb": r"^/etc/mongod(b)?\.conf$", "memcached": r"^/etc/(memcached\.conf|sysconfig/memcached)$",
    "etcd": r"^/etc/(default/etcd|etcd/|sysconfig/etcd)", "elasticsearch": r"^/etc/elasticsearch/",
    "opensearch": r"^/etc/opensearch/", "kafka": r"/kafka[^/]*/(config/)?server\.properties$",
    "zookeeper": r"/zoo\.cfg$", "rabbitmq": r"^/etc/rabbitmq/", "prometheus": r"^/etc/(prometheus/|default/prometheus$)",
    "node_exporter": r"^/etc/default/prometheus-node-exporter$", "grafana": r"^/etc/grafana/",
    "consul": r"^/etc/consul\.d/", "vault": r"^/etc/vault\.d/", "minio": r"^/etc/default/minio$",
    "cassandra": r"^/etc/cassandra/", "nginx": r"^/etc/nginx/", "apache-httpd": r"^/etc/(apache2|httpd)/",
    "haproxy": r"^/etc/haproxy/", "tomcat": r"^/etc/tomcat[^/]*/server\.xml$",
    "php-fpm": r"^/etc/php(/[^/]+/fpm/|-fpm\.d/)", "filebeat": r"^/etc/filebeat/",
    "fluent-bit": r"^/etc/(fluent-bit|td-agent-bit)/", "fluentd": r"^/etc/(td-agent|fluent)/",
}

_PATHLIKE = re.compile(r"[^\s,;'\"]*/[^\s,;'\"]*|[\w.-]+\.(pem|crt|cer|key|p12|pfx|jks|keystore|der)")
_KEY_FILE = re.compile(r"(^|[._])(ssl_|tls_|client_|peer_|private_)*(key_?file|cert_?key|certificate_?key(_?file)?"
                       r"|key|pemkeyfile)$")
_CERT_FILE = re.compile(r"(^|[._])(ssl_|tls_|client_|peer_|trusted_|http_)*(cert(ificate)?(_?chain)?(_?file)?|ca(cert)?_?file"
                        r"|ca_?cert(_?file)?|cacertfile|certificatekeyfile|certificate_authorities"
                        r"|(key|trust)store(\.path|\.location|_path|_file)?|ssl_?ca|crl_?file)$")
_DIRECTIVE_CERTS = {"ssl_certificate": "cert", "ssl_trusted_certificate": "cert", "ssl_client_certificate": "cert",
                    "ssl_certificate_key": "key", "sslcertificatefile": "cert", "sslcacertificatefile": "cert",
                    "sslcertificatechainfile": "cert", "sslcertificatekeyfile": "key"}
_COMBINED = re.compile(r"(^|[._])(certificatekeyfile|pemkeyfile)$")
_FLAG_CARRIERS = re.compile(r"(^|_)(args|opts|options|extra_args|daemon_opts)$")


def _norm(key: str) -> str:
    return key.strip().lower().replace("-", "_")


def _expanded(found: Iterable[Setting]) -> list[Setting]:
    """Settings, plus the --flags inside ARGS="..." / *_OPTS="..." values as their own
    settings (key "__flag.name" after normalizing, value the flag's argument)."""
    out = []
    for s in found:
        out.append(s)
        if not _FLAG_CARRIERS.search(_norm(s.key)):
            continue
        try:
            words = shlex.split(s.value)
        except ValueError:
            words = s.value.split()
        for i, word in enumerate(words):
            if not word.startswith("-"):
                continue
            flag, eq, value = word.partition("=")
            if not eq and i + 1 < len(words) and not words[i + 1].startswith("-"):
                value = words[i + 1]
            out.append(Setting(flag, value, s.line_no))
    return out


def _evidence(config: ConfigFile, setting: Setting, rule: str) -> Evidence:
    return Evidence(f"{config.path}:{setting.line_no}", f"{setting.key} = {setting.value}"[:300], rule)


def _port(text: str) -> int | None:
    text = text.strip().strip("'\"").split("-")[0]
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def _hostport(text: str) -> ConfigListen | None:
    """'80', ':80', '*:80', '127.0.0.1:80', '[::]:443', 'unix:/x' / '/run/x.sock'."""
    text = text.strip().strip("'\"")
    if text.startswith("unix:") or text.startswith("/"):
        return ConfigListen(text.removeprefix("unix:"), None)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return ConfigListen(host, _port(rest.lstrip(":"))) if _port(rest.lstrip(":")) else None
    if text.count(":") > 1:                                  # bare IPv6 without a port
        return None
    host, sep, port = text.rpartition(":")
    if _port(port) is None:
        return None
    return ConfigListen(host if sep else "", _port(port))


def _url(text: str) -> list[ConfigListen]:
    out = []
    for part in re.split(r"[,\s]+", text.strip().strip("'\"")):
        match = re.match(r"^[A-Za-z][\w+.-]*://(\[[^\]]*\]|[^/:]*)(?::(\d+))?", part)
        if match and match.group(2) and _port(match.group(2)):
            out.append(ConfigListen(match.group(1).strip("[]"), _port(match.group(2))))
    return out


def _directive_listens(value: str, software: str) -> list[ConfigListen]:
    words = value.replace(",", " ").split()
    if software == "haproxy":
        return [hp for w in words if (hp := _hostport(w)) and hp.port and re.match(r"^[\w.*:\[\]-]*$", w)]
    return [hp for hp in [_hostport(words[0])] if hp] if words else []


def split_host_port(text: str, default: int | None) -> tuple[str, int | None] | None:
    """'host', 'host:port', '10.0.0.1:9300', '[::1]:9300', '::1' -> (host, port); None when empty."""
    text = text.strip().strip("'\"").rstrip("/")
    if not text:
        return None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return (host, _port(rest.lstrip(":")) or default) if host else None
    if text.count(":") > 1:                                  # a bare IPv6 address
        return text, default
    host, sep, port = text.partition(":")
    if sep and _port(port) is None:
        return None
    return (host, _port(port) if sep else default) if host else None


def _member_urls(value: str, default: int | None) -> list[tuple[str, int | None]]:
    """etcd's 'name=http://host:2380,name2=https://host2:2380'."""
    out = []
    for item in filter(None, re.split(r"[,\s]+", value)):
        url = item.split("=", 1)[-1]
        match = re.match(r"^[A-Za-z][\w+.-]*://(\[[^\]]*\]|[^/:]*)(?::(\d+))?", url)
        if match and match.group(1):
            out.append((match.group(1).strip("[]"), _port(match.group(2) or "") or default))
    return out


def _member_hosts(value: str, default: int | None) -> list[tuple[str, int | None]]:
    return [hp for item in re.split(r"[,\s]+", value) if (hp := split_host_port(item, default))]


def _member_zk(value: str, default: int | None) -> list[tuple[str, int | None]]:
    """'zk-1:2888:3888[:participant][;0.0.0.0:2181]' -> (zk-1, 3888): every member listens on the
    election port (only the leader on the quorum port)."""
    value = value.split(";")[0].strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        ports = rest.lstrip(":").split(":")
    else:
        host, *ports = value.split(":")
    numbers = [p for p in (_port(x) for x in ports) if p]
    return [(host, numbers[1] if len(numbers) > 1 else (numbers[0] if numbers else default))] if host else []


def _member_voters(value: str, default: int | None) -> list[tuple[str, int | None]]:
    """Kafka's '1@kafka-1:9093,2@[::1]:9093'."""
    return [hp for item in value.split(",") if (hp := split_host_port(item.split("@", 1)[-1], default))]


def _member_gcomm(value: str, default: int | None) -> list[tuple[str, int | None]]:
    """Galera's 'gcomm://a,b:4567,c?pc.wait_prim=no'; an empty list ('gcomm://') bootstraps."""
    value = value.strip().strip("'\"")
    if not value.startswith("gcomm://"):
        return []
    return _member_hosts(value[len("gcomm://"):].split("?")[0], default)


def _member_replicaof(value: str, default: int | None) -> list[tuple[str, int | None]]:
    """Redis' 'host port' ('no one' says this server is a primary)."""
    words = value.split()
    if not words or words[0].lower() == "no":
        return []
    port = _port(words[1]) if len(words) > 1 else default
    return [(words[0].strip("[]"), port or default)]


def _member_conninfo(value: str, default: int | None) -> list[tuple[str, int | None]]:
    """libpq 'host=a port=5433 user=x' or 'postgresql://user@a:5433/db'; host may be a list."""
    value = value.strip().strip("'\"")
    if re.match(r"^postgres(ql)?://", value):
        netloc = value.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
        return _member_hosts(netloc, default)
    pairs = dict((m.group(1).lower(), m.group(2).strip("'")) for m in
                 re.finditer(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", value))
    hosts = [h for h in (pairs.get("host") or pairs.get("hostaddr") or "").split(",") if h and not h.startswith("/")]
    ports = [_port(p) for p in pairs.get("port", "").split(",")] if pairs.get("port") else []
    return [(h, (ports[i] if i < len(ports) else (ports[0] if len(ports) == 1 else None)) or default)
            for i, h in enumerate(hosts)]


def _member_node(value: str, default: int | None) -> list[tuple[str, int | None]]:
    """RabbitMQ's 'rabbit@host'."""
    _, at, host = value.strip().strip("'\"").partition("@")
    return [(host, default)] if at and host else []


_MEMBER_READERS = {"urls": _member_urls, "hosts": _member_hosts, "zk": _member_zk, "voters": _member_voters,
                   "gcomm": _member_gcomm, "replicaof": _member_replicaof, "conninfo": _member_conninfo,
                   "node": _member_node}
_RELATION = {"replicaof": "primary", "conninfo": "primary", "group": "group"}
_ERLANG_NODES = re.compile(r"\{\s*cluster_nodes\s*,\s*\{\s*\[([^\]]*)\]", re.S)


def declared_members(software: str, reader: str, value: str) -> list[tuple[str, int | None, str]]:
    """(address, port, relation) of each member one setting's value names (reader: MEMBER_RULES)."""
    if reader == "group":                               # 'zk2:2181,zk1:2181/kafka' -> 'zk1:2181,zk2:2181/kafka'
        hosts, slash, chroot = value.strip().strip("'\"").partition("/")
        parts = sorted(p.strip().lower() for p in hosts.split(",") if p.strip())
        return [(",".join(parts) + (f"/{chroot.strip('/')}" if chroot.strip("/") else ""), None, "group")] \
            if parts else []
    if reader == "hosts" and ("=" in value or value.strip().startswith("provider")):
        return []                                       # cloud auto-join ("provider=aws tag_key=...")
    found = _MEMBER_READERS[reader](value, MEMBER_PORTS.get(software))
    return [(host, port, _RELATION.get(reader, "member")) for host, port in found]


def _erlang_members(software: str, config: ConfigFile) -> list[DeclaredMember]:
    """RabbitMQ's classic rabbitmq.config / advanced.config: {cluster_nodes, {['rabbit@a', ...], disc}}."""
    out = []
    for match in _ERLANG_NODES.finditer(config.text):
        line_no = config.text.count("\n", 0, match.start()) + 1
        ev = Evidence(f"{config.path}:{line_no}", " ".join(match.group(0).split())[:300], f"{software}:member")
        for atom in re.findall(r"'?([\w.-]+@[\w.-]+)'?", match.group(1)):
            out += [DeclaredMember(h, p, "member", ev) for h, p in _member_node(atom, MEMBER_PORTS.get(software))]
    return out


def config_facts(software: str, files: Sequence[ConfigFile]) -> ConfigFacts:
    """The data directories, listeners, TLS files and cluster members that `files` set for `software`."""
    rules = [(kind, re.compile(rf"(?:{pattern})")) for kind, pattern in RULES.get(software, ())]
    member_rules = [(reader, re.compile(rf"(?:{pattern})")) for reader, pattern in MEMBER_RULES.get(software, ())]
    data, listens, certs, keys, members = [], [], [], [], []
    for config in files:
        addresses: list[tuple[str, Evidence]] = []
        ports: list[tuple[int, Evidence]] = []
        if software == "rabbitmq" and config.format not in ("properties", "keyvalue"):
            members += _erlang_members(software, config)
        for s in _expanded(settings(config)):
            key = _norm(s.key)
            for reader, pattern in member_rules:
                if pattern.fullmatch(key):
                    for address, port, relation in declared_members(software, reader, s.value):
                        members.append(DeclaredMember(address, port, relation,
                                                      _evidence(config, s, f"{software}:{relation}")))
                    break
            for kind, pattern in rules:
                if not pattern.fullmatch(key):
                    continue
                ev = _evidence(config, s, f"{software}:{kind}")
                if kind == "data":
                    data += [(p, ev) for p in re.split(r"[,\s]+", s.value.strip("'\"")) if p.startswith("/")]
                elif kind == "port" and _port(s.value):
                    ports.append((_port(s.value), ev))
                elif kind == "address":
                    addresses += [(a.lstrip("-"), ev) for a in re.split(r"[,\s]+", s.value) if a.strip("-")]
                elif kind == "url":
                    listens += [(hp, ev) for hp in _url(s.value)]
                elif kind == "hostport":
                    listens += [(hp, ev) for hp in _directive_listens(s.value, software)]
                break
            _tls(config, s, key, certs, keys)
        if software == "tomcat" and config.format == "xml":
            for no, line in enumerate(config.text.splitlines(), 1):
                for m in re.finditer(r"<Connector\b[^>]*?\bport=\"(\d+)\"", line):
                    listens.append((ConfigListen("", int(m.group(1))),
                                    Evidence(f"{config.path}:{no}", m.group(0)[:300], "tomcat:Connector")))
        if addresses:
            use = ports or [(DEFAULT_PORTS.get(software), None)]
            for address, ev in addresses:
                for port, port_ev in use:
                    rule = ev.rule if port_ev else f"{ev.rule} (default port)"
                    listens.append((ConfigListen(address, port), Evidence(ev.source, ev.detail, rule)))
        else:
            listens += [(ConfigListen("", port), ev) for port, ev in ports]
    unique_members: dict[tuple, DeclaredMember] = {}
    for m in members:
        unique_members.setdefault((m.address.lower(), m.port, m.relation), m)
    return ConfigFacts(software, tuple(c.path for c in files), _unique(data), _unique(listens),
                       _unique(certs), _unique(keys), tuple(unique_members.values()))


def _tls(config: ConfigFile, s: Setting, key: str, certs: list, keys: list) -> None:
    value = s.value.strip().strip("'\"")
    ev = _evidence(config, s, f"tls:{s.key}")
    directive = _DIRECTIVE_CERTS.get(key)
    if directive:
        if value:
            (keys if directive == "key" else certs).append((value.split()[0], ev))
        return
    if config.format == "haproxy" and key == "bind":
        words = value.split()
        certs += [(path, ev) for flag, path in zip(words, words[1:])
                  if flag in ("crt", "ca-file") and path.startswith("/")]
        return
    if config.format in ("nginx", "apache", "haproxy") or not _PATHLIKE.fullmatch(value):
        return
    if _COMBINED.search(key):                       # one PEM with the certificate and its key
        certs.append((value, ev))
        keys.append((value, ev))
    elif _KEY_FILE.search(key):
        keys.append((value, ev))
    elif _CERT_FILE.search(key):
        certs.append((value, ev))


def _unique(items: list) -> tuple:
    seen, out = set(), []
    for value, ev in items:
        if value not in seen:
            seen.add(value)
            out.append((value, ev))
    return tuple(out)


def files_for(software: str, cmdline: Sequence[str], files: Sequence[ConfigFile],
              cwd: str = "") -> tuple[ConfigFile, ...]:
    """The config files of one application: those its command line names (a whole argument,
    the value of --flag=PATH or key=PATH, or a name relative to `cwd`), plus the well-known
    files of its software that sit in the same directory tree as a named one or under a
    directory the command line names (postgresql.auto.conf in `-D DATADIR`); when the
    command line names none, every well-known file of its software."""
    by_path = {c.path: c for c in files}
    named: list[str] = []
    dirs: set[str] = set()
    for arg in cmdline:
        value = arg.split("=", 1)[1] if "=" in arg and not arg.startswith("/") else arg
        candidates = [value] + ([os.path.join(cwd, value)] if cwd and not value.startswith("/") else [])
        named += [c for c in candidates if c in by_path and c not in named]
        if value.startswith("/") and value.strip("/").count("/") >= 1 and value not in by_path:
            dirs.add(value.rstrip("/"))
    pattern = re.compile(WELL_KNOWN.get(software, r"(?!)"))
    known = [c.path for c in files if pattern.search(c.path)]
    if named:
        roots = {os.path.dirname(p) for p in named} | dirs
        known = [p for p in known if any(p.startswith(r + "/") for r in roots)]
    return tuple(by_path[p] for p in dict.fromkeys(named + known))
