"""End to end on a real host: a namespace VM with OpenSSH, Redis (AOF) and a stateless HTTP app.

Scanned through the CLI and through the API; the plan must put Redis in a StatefulSet whose
volume covers its data directory, the HTTP app in a Deployment, and validate.
"""
from __future__ import annotations

import json
import time

import yaml

from migrator import get_db
from migrator.models import Host
from migrator.planner.validate import validate_yaml


def _add(cli, host, *extra):
    r = cli("hosts", "add", host["name"], "--address", host["address"], "--user", "root",
            "--key", host["key_path"], *extra)
    assert r.exit_code == 0, r.output


def _docs(text):
    return [d for d in yaml.safe_load_all(text) if d]


def _by(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def assert_findings(apps, host_name):
    by_software = {a["software"]: a for a in apps if a["host"] == host_name}
    redis, web = by_software["redis"], by_software["python-app"]
    assert redis["verdict"] == "stateful"
    redis["state"] = [s for s in redis["state"] if s["kind"] == "data"]       # logs and configs listed apart
    assert [s["path"] for s in redis["state"]] == ["/var/lib/redis"]
    assert redis["state"][0]["size_bytes"] > 0 and redis["state"][0]["file_count"] >= 1
    assert {(p["port"], p["scope"]) for p in redis["ports"]} == {(6379, "all")}
    assert any(e["rule"] == "open-for-write" and "appendonly" in e["detail"] for e in redis["state"][0]["evidence"])
    assert web["verdict"] == "stateless" and web["name"] == "webapp"
    assert {(p["port"], p["scope"]) for p in web["ports"]} == {(8080, "all")}
    assert [(s["path"], s["kind"]) for s in web["state"]] == [("/var/log/webapp", "log")]
    # host plumbing (sshd, the scan's own shell, init) is not an application
    assert set(by_software) <= {"redis", "python-app"}, set(by_software)
    return redis


def assert_plan(text, redis_size):
    assert validate_yaml(text) == []
    docs = _docs(text)
    (sts,) = _by(docs, "StatefulSet")
    (deploy,) = _by(docs, "Deployment")
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"].startswith("redis:")
    headless = [s for s in _by(docs, "Service") if s["spec"].get("clusterIP") == "None"]
    assert [s["metadata"]["name"] for s in headless] == [sts["spec"]["serviceName"]]
    (vct,) = sts["spec"]["volumeClaimTemplates"]
    mounts = sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": vct["metadata"]["name"], "mountPath": "/var/lib/redis"}.items() <= mounts[0].items()
    size = vct["spec"]["resources"]["requests"]["storage"]
    assert size.endswith("Gi") and int(size[:-2]) * 2**30 >= redis_size
    assert "volumeClaimTemplates" not in deploy["spec"]
    ports = sorted(p["port"] for s in _by(docs, "Service") if s["spec"].get("clusterIP") != "None"
                   for p in s["spec"]["ports"])
    assert ports == [6379, 8080]


def test_cli_scans_real_host_and_exports_valid_plan(lab, cli, app, tmp_path):
    host = lab.hosts[0]
    _add(cli, host)
    r = cli("scan")
    assert r.exit_code == 0, r.output
    assert f"{host['name']}" in r.output and "probing" in r.output and "done" in r.output
    r = cli("apps", "--json")
    assert r.exit_code == 0, r.output
    redis = assert_findings(json.loads(r.output), host["name"])
    out = tmp_path / "plan.yaml"
    r = cli("plan", "export", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert_plan(out.read_text(), redis["state"][0]["size_bytes"])
    with get_db(app).session() as s:  # the host key was pinned on first use
        assert s.query(Host).one().host_key.split()[:2] == host["host_key"].split()[:2]
    r = cli("apps")
    assert "STATEFUL: keeps data in /var/lib/redis" in r.output


def _wait(client, location, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(location).json
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"scan did not finish: {body}")


def test_api_scans_real_host_and_serves_plan(lab, client):
    host = lab.hosts[0]
    r = client.post("/api/v1/hosts", json={"name": host["name"], "address": host["address"],
                                            "username": "root", "key_path": host["key_path"]})
    assert r.status_code == 201, r.json
    r = client.post("/api/v1/scans", json={"hosts": [host["name"]]})
    assert r.status_code == 202
    scan = _wait(client, r.headers["Location"])
    assert scan["status"] == "done", scan
    assert scan["hosts"][0]["snapshot_id"] is not None
    apps = client.get("/api/v1/applications").json["items"]
    redis = assert_findings(apps, host["name"])
    assert client.get("/api/v1/applications?verdict=stateless").json["items"][0]["software"] == "python-app"
    r = client.post("/api/v1/plans", json={"namespace": "shop"})
    assert r.status_code == 201 and r.json["valid"] is True, r.json
    text = client.get(r.headers["Location"] + "/yaml").get_data(as_text=True)
    assert_plan(text, redis["state"][0]["size_bytes"])
    docs = _docs(text)
    assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["name"] == "shop"
    assert {d["metadata"]["namespace"] for d in docs[1:]} == {"shop"}
    files = client.get(r.headers["Location"]).json["summary"]["files"]
    assert "NOTES.md" in files
    notes = client.get(r.headers["Location"] + "/files/NOTES.md")
    assert notes.status_code == 200 and b"redis" in notes.data
    assert client.get(r.headers["Location"] + "/files/nope").status_code == 404


def test_sudo_login_finds_the_same(lab, cli):
    """A non-root login with `--sudo` sees every process, so the findings equal root's."""
    host = lab.hosts[0]
    r = cli("hosts", "add", "via-sudo", "--address", host["address"], "--user", host["sudo_user"],
            "--key", host["key_path"], "--sudo")
    assert r.exit_code == 0, r.output
    r = cli("scan", "via-sudo")
    assert r.exit_code == 0, r.output
    assert_findings(json.loads(cli("apps", "--json").output), "via-sudo")


def test_sudo_refused_is_a_clear_error(lab, cli):
    host = lab.hosts[0]
    r = cli("hosts", "add", "no-sudo", "--address", host["address"], "--user", host["plain_user"],
            "--key", host["key_path"], "--sudo")
    assert r.exit_code == 0, r.output
    r = cli("scan", "no-sudo")
    assert r.exit_code == 1
    assert "sudo refused to run the probe without a password" in r.output, r.output
    assert "Traceback" not in r.output


def test_record_a_real_host_then_import_it_elsewhere(lab, cli, tmp_path):
    host = lab.hosts[0]
    _add(cli, host)
    case = tmp_path / "case"
    r = cli("record", host["name"], str(case))
    assert r.exit_code == 0 and f"sections of {host['name']} in {case}" in r.output, r.output
    assert (case / "processes.txt").stat().st_size > 0 and (case / "meta.json").is_file()
    assert cli("hosts", "add", "replayed", "--address", "10.213.66.99").exit_code == 0
    assert cli("import", "replayed", str(case)).exit_code == 0
    assert_findings(json.loads(cli("apps", "--json", "--host", "replayed").output), "replayed")
