"""Recorded real hosts (`migrator record`) replayed through the analyzers and the planner.

tests/fixtures/hosts/lab-app-1 is the lab VM of tests/integration (Redis with AOF, a stateless
Python web app) as one scan saw it; these tests need no lab and pin the same conclusions.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from analyzers.host import analyze_host
from analyzers.parsers.path_usage import parse as parse_usage
from migrator.collect.replay import read_case
from migrator.planner.builder import build_plan
from migrator.planner.export import export_plan
from migrator.planner.validate import validate_yaml

HOSTS = Path(__file__).resolve().parents[1] / "fixtures" / "hosts"


def _replay(name: str):
    sections = read_case(HOSTS / name)
    usage_section = sections.pop("path_usage", None)
    usage = {u.path: u for u in parse_usage(usage_section.text)} if usage_section else {}
    return analyze_host(sections, usage)


def test_lab_vm_findings():
    findings = _replay("lab-app-1")
    assert findings.hostname == "app-1"
    assert "10.213.66.10" in findings.addresses
    apps = {a.software: a for a in findings.applications}
    assert set(apps) == {"redis", "python-app"}
    redis, web = apps["redis"], apps["python-app"]
    assert redis.stateful and redis.user == "redis"
    assert [(s.path, s.kind, s.filesystem) for s in redis.state if s.kind == "data"] == \
        [("/var/lib/redis", "data", "local")]
    assert ("/var/log/redis", "log") in [(s.path, s.kind) for s in redis.state]
    assert redis.state[0].size_bytes > 0 and redis.state[0].file_count >= 3   # base, incr, manifest
    assert {(l.port, l.scope) for l in redis.listeners} == {(6379, "all")}
    assert not web.stateful and web.name == "webapp" and web.user == "www-data" and web.cwd == "/opt/webapp"
    assert {(l.port, l.scope) for l in web.listeners} == {(8080, "all")}
    assert any(c.remote_port == 6379 for c in web.connections)
    assert "sshd" in " ".join(findings.plumbing)
    assert any(m.startswith("systemctl:") for m in findings.missing)   # no systemd in the VM: said, not hidden


def test_lab_vm_plan_validates():
    plan = build_plan([("app-1", _replay("lab-app-1"))], namespace="shop")
    text = export_plan(plan)
    assert validate_yaml(text) == []
    docs = [d for d in yaml.safe_load_all(text) if d]
    (sts,) = [d for d in docs if d["kind"] == "StatefulSet"]
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"].startswith("redis:7.0")
    assert deploy["metadata"]["annotations"]["migrator.io/source-app"] == "python-app:webapp"


def test_config_files_certificates_and_secrets_are_attached_to_their_app():
    from analyzers.base import Section
    from analyzers.probe_output import MARK
    sections = read_case(HOSTS / "lab-app-1")
    usage_section = sections.pop("path_usage")
    conf = (f"{MARK}file /etc/redis/redis.conf\nport 6379\ndir /var/lib/redis\nrequirepass s3cr3t-planted\n"
            "tls-cert-file /etc/redis/tls/redis.crt\ntls-key-file /etc/redis/tls/redis.key\n")
    sections["configs"] = Section("configs", conf, 0, False)
    findings = analyze_host(sections, {u.path: u for u in parse_usage(usage_section.text)})
    redis = next(a for a in findings.applications if a.software == "redis")
    assert redis.config_files == ("/etc/redis/redis.conf",)
    assert redis.certificates == ("/etc/redis/tls/redis.crt", "/etc/redis/tls/redis.key")
    assert redis.secrets == ("/etc/redis/redis.conf: requirepass",)
    assert "s3cr3t-planted" not in repr(findings)
    web = next(a for a in findings.applications if a.software == "python-app")
    assert web.config_files == () and web.secrets == ()


def test_config_texts_and_environment_of_the_lab_vm_are_redacted_and_planned():
    """The lab VM with a unit for its web app (Environment= with a password, an EnvironmentFile=) and
    a Redis config with a secret: findings keep only redacted texts, the plan mounts and refers."""
    from analyzers.base import Section
    from analyzers.probe_output import MARK
    sections = read_case(HOSTS / "lab-app-1")
    usage_section = sections.pop("path_usage")
    sections["configs"] = Section("configs", (
        f"{MARK}file /etc/redis/redis.conf\nport 6379\ndir /var/lib/redis\nrequirepass s3cr3t-planted\n"
        f"{MARK}file /etc/default/webapp\nDATABASE_URL=postgres://shop:url-pw-planted@db/shop\nWORKERS=4\n"
        f"{MARK}file /etc/unused.conf\npassword = unused-planted\n"), 0, False)
    sections["unit_files"] = Section("unit_files", (
        f"{MARK}file /etc/systemd/system/webapp.service\n[Service]\nUser=www-data\n"
        'Environment="DB_PASSWORD=hunter2-planted" LOG_LEVEL=info\nEnvironmentFile=-/etc/default/webapp\n'
        "ExecStart=/usr/bin/python3 -u /opt/webapp/webapp.py --bind 0.0.0.0 --port 8080 --redis 10.213.66.10:6379\n"),
        0, False)
    findings = analyze_host(sections, {u.path: u for u in parse_usage(usage_section.text)})
    assert findings.scanned_at == "2026-12-04T06:19:21+00:00"
    assert findings.config_texts == (
        ("/etc/default/webapp", "DATABASE_URL=postgres://shop:<redacted>@db/shop\nWORKERS=4"),
        ("/etc/redis/redis.conf", "port 6379\ndir /var/lib/redis\nrequirepass <redacted>"))
    web = next(a for a in findings.applications if a.software == "python-app")
    unit = "/etc/systemd/system/webapp.service"
    assert web.environment == (("DB_PASSWORD", "<redacted>", unit), ("LOG_LEVEL", "info", unit),
                               ("DATABASE_URL", "postgres://shop:<redacted>@db/shop", "/etc/default/webapp"),
                               ("WORKERS", "4", "/etc/default/webapp"))
    assert web.secrets == (f"{unit}: DB_PASSWORD", "/etc/default/webapp: url-password")
    assert "planted" not in repr(findings)

    text = export_plan(build_plan([("app-1", findings)], namespace="shop"))
    assert validate_yaml(text) == []
    assert "planted" not in text
    docs = [d for d in yaml.safe_load_all(text) if d]
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    env = {e["name"]: e for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == deploy["metadata"]["name"] + "-secrets"
    assert env["DATABASE_URL"]["value"] == "postgres://shop:$(DATABASE_URL_SECRET)@db/shop"
    (redis_map,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert redis_map["data"] == {"redis.conf": "port 6379\ndir /var/lib/redis\nrequirepass <redacted>"}
    (sts,) = [d for d in docs if d["kind"] == "StatefulSet"]
    mounts = sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "config", "mountPath": "/etc/redis/redis.conf", "subPath": "redis.conf",
            "readOnly": True} in mounts


def test_variables_expanded_into_execstart_are_the_command_line_not_the_environment():
    """Debian's `ExecStart=/usr/bin/etcd $DAEMON_ARGS`: the value is in the command line already
    (rewritten there for the pods); as a variable it would hand one host's addresses to every pod."""
    from analyzers.host import unit_environment
    from analyzers.parsers.configs import ConfigFile
    from analyzers.parsers.unit_files import parse_unit
    unit = parse_unit("/lib/systemd/system/etcd.service",
                      "[Service]\nEnvironment=ETCD_UNSUPPORTED_ARCH=arm64 OPTS=-v\nEnvironmentFile=-/etc/default/etcd\n"
                      "ExecStart=/usr/bin/etcd $DAEMON_ARGS ${OPTS}\n")
    configs = [ConfigFile("/etc/default/etcd", 'DAEMON_ARGS="--name kv-1 --listen-peer-urls http://10.0.0.1:2380"\n'
                                               "ETCD_NAME=kv-1\n", "keyvalue")]
    assert unit_environment(unit, configs) == (
        ("ETCD_UNSUPPORTED_ARCH", "arm64", "/lib/systemd/system/etcd.service"),
        ("ETCD_NAME", "kv-1", "/etc/default/etcd"))
