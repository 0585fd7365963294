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
