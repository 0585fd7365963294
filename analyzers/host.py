"""One host's sections in, its findings out: the entry point of the analysis."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Mapping

from analyzers.apps import group_processes, identify, identity_evidence, program_names, unit_of
from analyzers.base import Evidence, Section
from analyzers.configs import config_facts, files_for
from analyzers.facts import HostFacts, parse_sections
from analyzers.findings import CONFIG_TEXT_MAX, Application, HostFindings
from analyzers.jobs import scheduled_jobs
from analyzers.network import sockets_by_pid
from analyzers.parsers.configs import ConfigFile, settings
from analyzers.secrets import REDACTED, redact_file, redact_sections
from analyzers.state import config_locations, find_state, verdict, with_usage
from analyzers.units import match_unit, template_of, unit_dependencies

# software -> package names that carry its version
PACKAGES = {"redis": ("redis-server", "redis", "redis7"), "postgresql": ("postgresql", "postgresql-server"),
            "mysql": ("mysql-server", "mysql-community-server", "mysql-server-core-8.0"),
            "mariadb": ("mariadb-server", "mariadb-server-core"), "etcd": ("etcd-server", "etcd"),
            "nginx": ("nginx", "nginx-core", "nginx-light", "nginx-full"), "memcached": ("memcached",),
            "mongodb": ("mongodb-org-server", "mongodb-server"), "valkey": ("valkey-server", "valkey"),
            "consul": ("consul",), "minio": ("minio",), "elasticsearch": ("elasticsearch",),
            "opensearch": ("opensearch",), "cassandra": ("cassandra",), "kafka": ("kafka", "confluent-kafka"),
            "zookeeper": ("zookeeper", "zookeeperd"), "tomcat": ("tomcat10", "tomcat9", "tomcat"),
            "rabbitmq": ("rabbitmq-server",), "apache-httpd": ("apache2", "httpd"), "haproxy": ("haproxy",),
            "prometheus": ("prometheus",), "grafana": ("grafana", "grafana-enterprise"),
            "node_exporter": ("prometheus-node-exporter", "node_exporter", "golang-github-prometheus-node-exporter"),
            "fluent-bit": ("fluent-bit", "td-agent-bit"), "fluentd": ("fluentd", "td-agent", "fluent-package"),
            "filebeat": ("filebeat",)}


def upstream_version(version: str) -> str:
    """'5:7.0.15-1~deb12u1' -> '7.0.15' (epoch and distribution revision dropped)."""
    version = version.split(":", 1)[-1]
    match = re.match(r"[0-9]+(?:\.[0-9]+)*", version)
    return match.group(0) if match else ""


def package_versions(facts: HostFacts) -> dict[str, str]:
    versions: dict[str, str] = {}
    for section in ("packages_dpkg", "packages_rpm", "packages_apk"):
        for pkg in facts.get(section):
            versions.setdefault(pkg.name, pkg.version)
    return versions


def _version(software: str, packages: Mapping[str, str]) -> str:
    for name in PACKAGES.get(software, ()):
        if name in packages:
            return upstream_version(packages[name])
    if software == "postgresql":
        majors = sorted((n for n in packages if re.fullmatch(r"postgresql-[0-9]+", n)), reverse=True)
        if majors:
            return upstream_version(packages[majors[0]])
    return ""


def _cpu_percent(group: list, facts: HostFacts) -> float:
    uptime = facts.get("uptime", 0.0) or 0.0
    ticks = facts.clock_ticks
    total = 0.0
    for p in group:
        alive = uptime - p.starttime / ticks
        if alive > 1:
            total += (p.utime + p.stime) / ticks / alive * 100
    return round(total, 2)


def _key(software: str, name: str, unit: str, listeners, used: set[str]) -> str:
    if unit:
        key = unit
    elif software in ("python-app", "java-app", "node-app", "unknown"):
        key = f"{software}:{name}"
    else:
        key = software
    if key in used:
        port = next((l.port for l in listeners), None)
        key = f"{key}:{port}" if port is not None and f"{key}:{port}" not in used else key
        n = 2
        while key in used:
            key, n = f"{key.rsplit('#', 1)[0]}#{n}", n + 1
    used.add(key)
    return key


def analyze_host(sections: Mapping[str, Section], usage: Mapping[str, object] | None = None) -> HostFindings:
    """Group, name and judge every application of one host. Never raises on odd input.

    The sizes of state paths come from `usage` when given, else from the `path_usage` section
    (the collector's second command)."""
    facts = parse_sections(sections)
    if usage is None:
        usage = {u.path: u for u in facts.get("path_usage")}
    users = facts.get("passwd", {})
    packages = package_versions(facts)
    mounts = facts.get("mounts")
    listeners, connections = sockets_by_pid(facts)
    groups, _aside = group_processes(facts.get("processes"))
    apps: list[Application] = []
    plumbing: list[str] = []
    used_keys: set[str] = set()
    unit_files = {u.name: u for u in facts.get("unit_files")}
    taken_units: set[str] = set()
    configs = facts.get("configs")
    secret_refs = redact_sections(sections)[1]
    for group in groups:
        ident = identify(group)
        leader = group[0]
        if ident.category == "plumbing":
            plumbing.append(f"{ident.name}: {' '.join(program_names(leader)[:1])} (pid {leader.pid})")
            continue
        unit = unit_of(leader)
        unit_file, unit_evidence = (unit_files.get(unit) or unit_files.get(template_of(unit)), None) if unit \
            else match_unit(unit_files.values(), leader, taken_units)
        if unit_file is not None:
            unit = unit or unit_file.name
            taken_units.add(unit_file.name)
        pids = tuple(p.pid for p in group)
        app_listeners = tuple(l for p in pids for l in listeners.get(p, ()))
        app_connections = tuple(c for p in pids for c in connections.get(p, ()))
        config = config_facts(ident.software, files_for(ident.software, leader.cmdline, configs, cwd=leader.cwd))
        env_files = environment_files(unit_file, configs) if unit_file is not None else ()
        config_files = tuple(dict.fromkeys((*config.files, *env_files)))
        locations, ignored = find_state(ident.software, group, mounts, config.data_dirs)
        locations += config_locations(config_files, mounts)
        locations = with_usage(locations, usage or {})
        decided, reason, confidence = verdict(ident.software, locations, ignored)
        evidence = [identity_evidence(ident, leader), Evidence("rule", reason, "verdict")]
        if unit_evidence:
            evidence.append(unit_evidence)
        evidence += [Evidence("proc_net", f"listens on {l.protocol} {l.address}:{l.port} ({l.scope})",
                              "listening-socket") for l in app_listeners[:10]]
        sources = {*config_files, *(f"pid {p}" for p in pids), *((unit_file.path,) if unit_file is not None else ())}
        secrets = tuple(dict.fromkeys(f"{r.source}: {r.key}" for r in secret_refs if r.source in sources))
        apps.append(Application(
            key=_key(ident.software, ident.name, unit, app_listeners, used_keys),
            name=ident.name, software=ident.software, version=_version(ident.software, packages),
            category=ident.category, pids=pids, user=users.get(leader.uid, str(leader.uid) if leader.uid is not None else ""),
            uid=leader.uid, command=tuple(leader.cmdline), exe=leader.exe, cwd=leader.cwd, unit=unit,
            unit_after=unit_dependencies(unit_file) if unit_file is not None else (),
            listeners=app_listeners, connections=app_connections, state=tuple(locations),
            config_files=config_files, certificates=tuple(dict.fromkeys(p for p, _ in (*config.certificates,
                                                                                       *config.keys))),
            secrets=secrets,
            verdict=decided, verdict_reason=reason, confidence=confidence, evidence=tuple(evidence),
            rss_kib=sum(p.rss_kib for p in group), cpu_percent=_cpu_percent(group, facts),
            declared_members=config.members,
            environment=unit_environment(unit_file, configs) if unit_file is not None else ()))
    os_release = facts.get("os_release", {})
    cpu = facts.get("cpuinfo", None)
    return HostFindings(
        hostname=facts.get("hostname", "") or "", os_name=os_release.get("PRETTY_NAME", os_release.get("NAME", "")),
        os_version=os_release.get("VERSION_ID", ""), timezone=facts.get("timezone", "") or "", cpu_count=getattr(cpu, "count", 0) or 0,
        mem_total_kib=facts.get("meminfo", {}).get("MemTotal", 0), addresses=facts.addresses(),
        applications=tuple(sorted(apps, key=lambda a: a.key)), plumbing=tuple(plumbing),
        jobs=scheduled_jobs(facts.get("crontabs"), facts.get("unit_files")),
        certificates=tuple(facts.get("certificates")), missing=tuple(facts.notes),
        config_texts=config_texts(apps, configs), scanned_at=_scanned_at(facts))


def environment_files(unit_file, configs) -> tuple[str, ...]:
    """The EnvironmentFile= files of a unit that the probe could read."""
    read = {c.path for c in configs}
    paths = [word.lstrip("-") for value in unit_file.get("Service", "EnvironmentFile") for word in value.split()]
    return tuple(p for p in paths if p in read)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_value(name: str, value: str) -> str:
    """The value as it may be kept: "<redacted>" for a secret variable, else redacted inside
    (a URL's password)."""
    line, found = redact_file(f"{name}={value}")
    return REDACTED if any(key == name for key, _ in found) else line.partition("=")[2]


def unit_environment(unit_file, configs) -> tuple[tuple[str, str, str], ...]:
    """(name, value, source) of the variables a unit sets with Environment= (source: the unit
    file) and EnvironmentFile= (source: that file; read files only), secrets redacted. A
    variable set twice keeps its last value, an EnvironmentFile='s over Environment='s. A variable
    that ExecStart expands ($DAEMON_ARGS, ${OPTS}) is left out: systemd put its value into the
    command line the scan read, so it is in the workload's arguments already (where addresses are
    rewritten), and as a variable it would carry one host's addresses to every pod."""
    expanded = set(_EXPANDED.findall(" ".join(unit_file.exec_start)))
    env = {name: (name, _env_value(name, val), unit_file.path)
           for name, val in unit_file.environment.items() if _ENV_NAME.fullmatch(name) and name not in expanded}
    by_path = {c.path: c for c in configs}
    for path in environment_files(unit_file, configs):
        for setting in settings(ConfigFile(path, by_path[path].text, "keyvalue")):
            if _ENV_NAME.fullmatch(setting.key) and setting.key not in expanded:
                env.pop(setting.key, None)
                env[setting.key] = (setting.key, _env_value(setting.key, setting.value), path)
    return tuple(env.values())


_EXPANDED = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def config_texts(apps, configs) -> tuple[tuple[str, str], ...]:
    """(path, text) of the config files the apps use: redacted, cut at CONFIG_TEXT_MAX bytes."""
    used = {path for app in apps for path in app.config_files}
    texts = {c.path: redact_file(c.text)[0] for c in configs if c.path in used}
    return tuple((path, text.encode("utf-8", "surrogatepass")[:CONFIG_TEXT_MAX].decode("utf-8", "ignore"))
                 for path, text in sorted(texts.items()))


def _scanned_at(facts: HostFacts) -> str:
    try:
        seconds = int(facts.get("probe_info", {}).get("time", ""))
        return datetime.fromtimestamp(seconds, timezone.utc).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def state_paths(findings: HostFindings) -> list[str]:
    """The paths whose size the collector measures in its second round trip."""
    return sorted({loc.path for app in findings.applications for loc in app.state})


def certificate_paths(findings: HostFindings) -> list[str]:
    """The TLS files the apps' configs name, whose certificates the second round trip reads."""
    return sorted({path for app in findings.applications for path in app.certificates})

