"""Configuration and certificates: config files as ConfigMaps at their paths, the unit's environment,
placeholder Secrets for redacted secrets, TLS Secrets for the certificates a config names."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime, timezone

import pytest
import yaml
from config_factories import (APP_INI, APP_INI_TEXT, CERT, ENV_FILE, KEY, LOGGING, LOGGING_TEXT, REDIS_CONF, UNIT,
                              configured_estate, configured_redis_host, configured_web_host, soon_certificate)
from estate_factories import etcd, host
from planner_factories import gen_host, gen_webapp

from migrator.planner.builder import build_plan
from migrator.planner.export import export_kustomize, export_plan
from migrator.planner.objects import to_objects
from migrator.planner.render import to_data
from migrator.planner.validate import validate_yaml

SOURCE = {"migrator.io/source-host": "web1", "migrator.io/source-app": "webapp.service", "migrator.io/wave": "1"}
LABELS = {"app.kubernetes.io/name": "python-app", "app.kubernetes.io/instance": "webapp-web1",
          "app.kubernetes.io/managed-by": "migrator"}


def docs_of(hosts, **kwargs):
    return [to_data(o) for o in to_objects(build_plan(hosts, namespace="shop", **kwargs))]


def find(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def container(doc):
    return doc["spec"]["template"]["spec"]["containers"][0]


def test_config_files_are_a_configmap_mounted_at_their_original_paths():
    docs = docs_of([configured_web_host()])
    assert find(docs, "ConfigMap", "webapp-web1-config") == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": "webapp-web1-config", "namespace": "shop", "labels": LABELS,
            "annotations": {
                **SOURCE,
                "migrator.io/evidence": f"config files of web1/webapp.service: {APP_INI}, {LOGGING}",
                "migrator.io/config-files": json.dumps({"app.ini": APP_INI, "logging.yaml": LOGGING}),
                "migrator.io/notes": (
                    f"{APP_INI}: the value of password (key password) is <redacted> here; the real one goes in "
                    "Secret webapp-web1-secrets. Render the file when the pod starts (an initContainer that "
                    "substitutes the Secret's keys into it), or mount the Secret's key as a file and point the "
                    "setting at that file\n"
                    "files mounted with subPath: a change to the ConfigMap reaches the pod when it restarts")}},
        "data": {"app.ini": APP_INI_TEXT, "logging.yaml": LOGGING_TEXT}}
    deploy = find(docs, "Deployment", "webapp-web1")
    assert container(deploy)["volumeMounts"] == [
        {"name": "config", "mountPath": APP_INI, "subPath": "app.ini", "readOnly": True},
        {"name": "config", "mountPath": LOGGING, "subPath": "logging.yaml", "readOnly": True},
        {"name": "tls", "mountPath": CERT, "subPath": "tls.crt", "readOnly": True},
        {"name": "tls", "mountPath": KEY, "subPath": "tls.key", "readOnly": True}]
    assert deploy["spec"]["template"]["spec"]["volumes"] == [
        {"name": "config", "configMap": {"name": "webapp-web1-config"}},
        {"name": "tls", "secret": {"secretName": "webapp-web1-tls-server", "items": [
            {"key": "tls.crt", "path": "tls.crt", "mode": 0o644},
            {"key": "tls.key", "path": "tls.key", "mode": 0o640}]}}]
    notes = deploy["metadata"]["annotations"]["migrator.io/notes"]
    assert f"config files at their original paths from ConfigMap webapp-web1-config: {APP_INI}, {LOGGING}" in notes


def test_secrets_are_placeholders_named_by_their_source_and_the_environment_refers_to_them():
    docs = docs_of([configured_web_host()])
    assert find(docs, "Secret", "webapp-web1-secrets") == {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {
            "name": "webapp-web1-secrets", "namespace": "shop", "labels": LABELS,
            "annotations": {
                **SOURCE,
                "migrator.io/evidence": f"secrets the scan found in {UNIT}, {ENV_FILE}, {APP_INI} (values redacted)",
                "migrator.io/secret-sources": json.dumps({
                    "DATABASE_URL_SECRET": f"{ENV_FILE}: url-password", "DB_PASSWORD": f"{UNIT}: DB_PASSWORD",
                    "password": f"{APP_INI}: password"}),
                "migrator.io/notes": (
                    "placeholder values '<set-me>': set the real ones, never commit them\n"
                    "each key replaces the secret named in migrator.io/secret-sources (file: setting)")}},
        "stringData": {"DB_PASSWORD": "<set-me>", "DATABASE_URL_SECRET": "<set-me>", "password": "<set-me>"}}
    secret_ref = lambda key: {"secretKeyRef": {"name": "webapp-web1-secrets", "key": key}}  # noqa: E731
    assert container(find(docs, "Deployment", "webapp-web1"))["env"] == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "DB_PASSWORD", "valueFrom": secret_ref("DB_PASSWORD")},
        {"name": "DATABASE_URL_SECRET", "valueFrom": secret_ref("DATABASE_URL_SECRET")},
        {"name": "DATABASE_URL", "value": "postgres://shop:$(DATABASE_URL_SECRET)@db1:5432/shop"},
        {"name": "WORKERS", "value": "4"}]


def test_environment_file_becomes_variables_not_a_mounted_file():
    docs = docs_of([configured_web_host()])
    paths = [m["mountPath"] for m in container(find(docs, "Deployment", "webapp-web1"))["volumeMounts"]]
    assert ENV_FILE not in paths
    assert ENV_FILE not in json.dumps(find(docs, "ConfigMap", "webapp-web1-config")["data"])


def test_tls_secret_of_a_certificate_that_expires_soon():
    docs = docs_of([configured_web_host()])
    assert find(docs, "Secret", "webapp-web1-tls-server") == {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {
            "name": "webapp-web1-tls-server", "namespace": "shop", "labels": LABELS,
            "annotations": {
                **SOURCE,
                "migrator.io/evidence": f"TLS files {CERT}, {KEY} named by the config of webapp.service",
                "migrator.io/tls-files": f"tls.crt: {CERT}; tls.key: {KEY}",
                "migrator.io/certificate": "subject CN=shop.example.com; SANs shop.example.com, www.shop.example.com; "
                                           "expires 2025-01-10T00:00:00+00:00; issuer CN=Example CA; sha256 "
                                           + "ab" * 32,
                "migrator.io/notes": (
                    "placeholder values '<set-me>': set the real ones, never commit them\n"
                    f"put the host's certificate and key here ({CERT}, {KEY}); the plan never holds the key\n"
                    f"the certificate {CERT} expires on 2025-01-10, 9 days after the scan of web1 (2024-12-31): "
                    "renew it before or soon after migrating")}},
        "stringData": {"tls.crt": "<set-me>", "tls.key": "<set-me>"}}
    notes = find(docs, "Deployment", "webapp-web1")["metadata"]["annotations"]["migrator.io/notes"]
    assert f"the certificate {CERT} expires on 2025-01-10, 9 days after the scan of web1" in notes


def test_certificate_expiry_is_judged_against_now_when_given():
    expired = docs_of([configured_web_host(soon_certificate("2024-12-01T00:00:00+00:00"))])
    notes = find(expired, "Secret", "webapp-web1-tls-server")["metadata"]["annotations"]["migrator.io/notes"]
    assert f"the certificate {CERT} expired on 2024-12-01, before the scan of web1 (2024-12-31): renew it" in notes
    later = docs_of([configured_web_host()], now=datetime(2024, 11, 1, tzinfo=timezone.utc))
    notes = find(later, "Secret", "webapp-web1-tls-server")["metadata"]["annotations"]["migrator.io/notes"]
    assert "expire" not in notes
    soon = docs_of([configured_web_host()], now=datetime(2025, 1, 1, tzinfo=timezone.utc))
    notes = find(soon, "Secret", "webapp-web1-tls-server")["metadata"]["annotations"]["migrator.io/notes"]
    assert "expires on 2025-01-10, 9 days after planning (2025-01-01)" in notes


def test_certificates_pair_with_their_keys_and_lone_files_are_noted():
    le = "/etc/letsencrypt/live/shop"
    app = gen_webapp(certificates=(f"{le}/fullchain.pem", "/etc/ssl/ca.crt", f"{le}/privkey.pem"))
    docs = docs_of([gen_host("web1", app)])
    tls = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    assert sorted(tls) == ["webapp-web1-tls-ca", "webapp-web1-tls-tls"]
    assert tls["webapp-web1-tls-tls"]["metadata"]["annotations"]["migrator.io/tls-files"] == \
        f"tls.crt: {le}/fullchain.pem; tls.key: {le}/privkey.pem"
    ca = tls["webapp-web1-tls-ca"]["metadata"]["annotations"]
    assert ca["migrator.io/tls-files"] == "tls.crt: /etc/ssl/ca.crt"
    assert "no private key is named with /etc/ssl/ca.crt (a CA bundle?)" in ca["migrator.io/notes"]
    assert "certificate /etc/ssl/ca.crt: not read by the scan" in ca["migrator.io/notes"]
    mounts = container(find(docs, "Deployment", "webapp-web1"))["volumeMounts"]
    assert [(m["name"], m["mountPath"], m["subPath"]) for m in mounts] == [
        ("tls", f"{le}/fullchain.pem", "tls.crt"), ("tls", f"{le}/privkey.pem", "tls.key"),
        ("tls-2", "/etc/ssl/ca.crt", "tls.crt")]


def test_secret_arguments_of_the_command_line_come_from_the_secret():
    docs = docs_of([configured_redis_host()])
    sts = find(docs, "StatefulSet", "redis-db1")
    assert container(sts)["args"] == ["/etc/redis/redis.conf", "--masterauth", "$(SECRET_MASTERAUTH)"]
    assert container(sts)["env"] == [{"name": "SECRET_MASTERAUTH", "valueFrom": {
        "secretKeyRef": {"name": "redis-db1-secrets", "key": "masterauth"}}}]
    secret = find(docs, "Secret", "redis-db1-secrets")
    assert secret["stringData"] == {"requirepass": "<set-me>", "masterauth": "<set-me>"}
    assert json.loads(secret["metadata"]["annotations"]["migrator.io/secret-sources"]) == {
        "masterauth": "pid 812: --masterauth", "requirepass": "/etc/redis/redis.conf: requirepass"}
    assert find(docs, "ConfigMap", "redis-db1-config")["data"] == {"redis.conf": REDIS_CONF}
    notes = sts["metadata"]["annotations"]["migrator.io/notes"]
    assert "arguments refer to configuration files under /etc" not in notes    # they are mounted now


def test_config_file_inside_a_data_volume_moves_with_the_data():
    redis_host = configured_redis_host()
    redis = replace(redis_host[1].applications[0], config_files=("/etc/redis/redis.conf", "/var/lib/redis/x.conf"))
    findings = replace(redis_host[1], applications=(redis,),
                       config_texts=redis_host[1].config_texts + (("/var/lib/redis/x.conf", "a 1\n"),))
    docs = docs_of([("db1", findings)])
    assert find(docs, "ConfigMap", "redis-db1-config")["data"] == {"redis.conf": REDIS_CONF}
    notes = find(docs, "StatefulSet", "redis-db1")["metadata"]["annotations"]["migrator.io/notes"]
    assert "config file /var/lib/redis/x.conf is inside the volume at /var/lib/redis: it moves with the data" in notes


def test_unread_config_file_is_noted():
    docs = docs_of([gen_host("web1", gen_webapp(config_files=("/etc/webapp/app.ini",)))])
    assert not [d for d in docs if d["kind"] == "ConfigMap"]
    notes = find(docs, "Deployment", "webapp-web1")["metadata"]["annotations"]["migrator.io/notes"]
    assert "config file /etc/webapp/app.ini was not read by the scan: add it to a ConfigMap" in notes


def test_keys_and_names_stay_valid_for_odd_and_colliding_file_names():
    paths = ("/etc/a/config.yaml", "/etc/b/config.yaml", "/etc/x/we ird@name.conf", "/etc/c/..", "/opt/é/ü.ini")
    app = gen_webapp(name="W" * 80, config_files=paths)
    findings = gen_host("web1", app, config_texts=tuple((p, f"k = {i}\n") for i, p in enumerate(paths)))
    text = export_plan(build_plan([findings], namespace="shop"))
    assert validate_yaml(text) == []
    (cm,) = [d for d in yaml.safe_load_all(text) if d and d["kind"] == "ConfigMap"]
    keys = list(cm["data"])
    assert keys == ["config.yaml", "etc-b-config.yaml", "we_ird_name.conf", "file", "_.ini"]
    assert all(re.fullmatch(r"[-._a-zA-Z0-9]+", k) and k.strip(".") for k in keys)
    assert sorted(json.loads(cm["metadata"]["annotations"]["migrator.io/config-files"]).values()) == sorted(paths)


def test_large_config_files_are_split_over_several_configmaps():
    big = "x" * 60_000 + "\n"
    paths = tuple(f"/etc/big/part{i:02d}.conf" for i in range(20))
    findings = gen_host("web1", gen_webapp(config_files=paths), config_texts=tuple((p, big) for p in paths))
    plan = build_plan([findings], namespace="shop")
    text = export_plan(plan)
    assert validate_yaml(text) == []
    maps = [d for d in yaml.safe_load_all(text) if d and d["kind"] == "ConfigMap"]
    assert [m["metadata"]["name"] for m in maps] == ["webapp-web1-config", "webapp-web1-config-2"]
    assert all(len(json.dumps(m["data"])) < 1024 * 1024 for m in maps)
    assert sum(len(m["data"]) for m in maps) == 20


def test_cluster_takes_ordinal_0s_files_and_notes_that_members_differ():
    conf = "/etc/default/etcd-extra.conf"
    hosts = []
    for name in ("kv-1", "kv-2", "kv-3"):
        h = host(name, replace(etcd(name), config_files=(conf,)))
        hosts.append((name, replace(h[1], config_texts=((conf, f"name = {name}\n"),))))
    docs = docs_of(hosts)
    assert find(docs, "ConfigMap", "etcd-config")["data"] == {"etcd-extra.conf": "name = kv-1\n"}
    notes = find(docs, "StatefulSet", "etcd")["metadata"]["annotations"]["migrator.io/notes"]
    assert f"config files differ between the members ({conf}): the ConfigMap holds those of kv-1/etcd.service" in notes


def test_configured_estate_validates_and_is_deterministic():
    text = export_plan(build_plan(configured_estate(), namespace="shop"))
    assert validate_yaml(text) == []
    assert text == export_plan(build_plan(list(reversed(configured_estate())), namespace="shop"))


def test_no_secret_value_of_the_inputs_reaches_the_yaml():
    """Raw config files and a raw unit with real secret values, through the analyzers' helpers and the
    planner to the YAML and the Kustomize tree: no value survives, only the placeholders."""
    from analyzers.host import config_texts, unit_environment
    from analyzers.parsers.configs import parse as parse_configs
    from analyzers.parsers.unit_files import parse_unit
    from analyzers.probe_output import MARK

    planted = ["s3cr3t-requirepass", "hunter2-db", "pw-in-url", "tok-api", "BEGINKEYMATERIAL"]
    configs = parse_configs(
        f"{MARK}file /etc/webapp/app.conf\nport 6379\nrequirepass {planted[0]}\n"
        f"{MARK}file {ENV_FILE}\nDATABASE_URL=postgres://u:{planted[2]}@db/x\nAPI_TOKEN={planted[3]}\n"
        f"{MARK}file /etc/webapp/inline.pem\n-----BEGIN PRIVATE KEY-----\n{planted[4]}\n-----END PRIVATE KEY-----\n")
    unit = parse_unit(UNIT, f'[Service]\nEnvironment="DB_PASSWORD={planted[1]}" LOG_LEVEL=info\n'
                            f"EnvironmentFile=-{ENV_FILE}\nExecStart=/usr/bin/python3 /opt/webapp/app.py\n")
    environment = unit_environment(unit, configs)
    assert environment == (("DB_PASSWORD", "<redacted>", UNIT), ("LOG_LEVEL", "info", UNIT),
                           ("DATABASE_URL", "postgres://u:<redacted>@db/x", ENV_FILE),
                           ("API_TOKEN", "<redacted>", ENV_FILE))
    app = gen_webapp(config_files=tuple(c.path for c in configs), environment=environment,
                     secrets=("/etc/webapp/app.conf: requirepass", f"{UNIT}: DB_PASSWORD",
                              f"{ENV_FILE}: url-password", f"{ENV_FILE}: API_TOKEN",
                              "/etc/webapp/inline.pem: private-key"))
    plan = build_plan([gen_host("web1", app, config_texts=config_texts([app], configs))], namespace="shop")
    outputs = [export_plan(plan), *export_kustomize(plan).values()]
    assert "requirepass <redacted>" in outputs[0] and "<set-me>" in outputs[0]
    assert validate_yaml(outputs[0]) == []
    for text in outputs:
        for value in planted:
            assert value not in text


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_kustomize_builds_configmaps_and_secrets_in_their_wave(tmp_path):
    plan = build_plan(configured_estate(), namespace="shop")
    files = export_kustomize(plan)
    assert "kind: ConfigMap" in files["wave-1/webapp-web1.yaml"]
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    built = subprocess.run(["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    assert validate_yaml(built.stdout) == []
    names = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(built.stdout) if d}
    assert {("ConfigMap", "webapp-web1-config"), ("ConfigMap", "redis-db1-config"), ("Secret", "webapp-web1-secrets"),
            ("Secret", "webapp-web1-tls-server"), ("Secret", "redis-db1-secrets")} <= names


def test_server_addresses_in_config_files_become_service_names():
    from estate_factories import lab_estate, nginx
    site = "/etc/nginx/sites-enabled/shop"
    text = "upstream app {\n    server 10.0.1.4:8080;\n    server 10.0.1.5:8080;\n}\nserver { listen 80; }\n"
    hosts = [(name, replace(f, applications=tuple(replace(a, config_files=(site,)) if a.software == "nginx" else a
                                                  for a in f.applications), config_texts=((site, text),)))
             if name == "web-1" else (name, f) for name, f in lab_estate()]
    docs = docs_of(hosts)
    assert find(docs, "ConfigMap", "nginx-web-1-config")["data"] == {
        "shop": "upstream app {\n    server webapp:8080;\n    server webapp:8080;\n}\nserver { listen 80; }\n"}
    notes = find(docs, "Deployment", "nginx-web-1")["metadata"]["annotations"]["migrator.io/notes"]
    assert f"config file {site}: server addresses now name their Service (webapp:8080)" in notes
    assert nginx().key == "nginx.service"
