"""Each resource of the API: pagination, hosts PATCH and bulk import (JSON, YAML, CSV, Ansible INI and
YAML), groups, write-only credentials, scans of groups and cancel, findings, overrides and plan versions."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from migrator import get_db
from migrator.credentials import CredentialCipher
from migrator.models import Host, Scan, ScanHost
from migrator.services import hosts as host_service
from migrator.services import scans

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "hosts" / "lab-app-1"


def _imported(cli):
    assert cli("hosts", "add", "app-1", "--address", "10.213.66.10").exit_code == 0
    assert cli("import", "app-1", str(CASE)).exit_code == 0


# --- pagination ----------------------------------------------------------------------------------

def test_lists_are_paginated_by_id_with_next_links(client):
    for i in range(5):
        assert client.post("/api/v1/hosts", json={"name": f"h{i}", "address": f"10.213.66.{i + 1}"}).status_code == 201
    seen, url = [], "/api/v1/hosts?limit=2"
    while url:
        r = client.get(url)
        assert r.status_code == 200 and len(r.json["items"]) <= 2
        seen += [h["name"] for h in r.json["items"]]
        url = r.json["next"]
        if url:
            assert r.headers["Link"] == f'<{url}>; rel="next"'
    assert seen == [f"h{i}" for i in range(5)]
    assert client.get("/api/v1/hosts").json["next"] is None


@pytest.mark.parametrize("query,param", [("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"),
                                         ("cursor=-1", "cursor"), ("cursor=1.5", "cursor"),
                                         ("limit=\u0662", "limit")])
@pytest.mark.parametrize("path", ["/api/v1/hosts", "/api/v1/scans", "/api/v1/applications", "/api/v1/plans",
                                  "/api/v1/snapshots", "/api/v1/groups", "/api/v1/credentials",
                                  "/api/v1/overrides", "/api/v1/tokens"])
def test_bad_page_parameters_are_422_naming_them(client, path, query, param):
    r = client.get(f"{path}?{query}")
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert param in r.json["errors"]


def test_filters_carry_over_to_the_next_page(cli, client):
    _imported(cli)
    r = client.get("/api/v1/applications?limit=1&verdict=stateful&colour=red")
    assert r.status_code == 200 and len(r.json["items"]) == 1
    if r.json["next"]:
        assert "verdict=stateful" in r.json["next"] and "colour" not in r.json["next"]


# --- hosts ---------------------------------------------------------------------------------------

def test_patch_host_fields_and_password_rules(client):
    host_id = client.post("/api/v1/hosts", json={"name": "a", "address": "10.213.66.1"}).json["id"]
    r = client.patch(f"/api/v1/hosts/{host_id}", json={"port": 2222, "username": "deploy", "become": "sudo"})
    assert r.status_code == 200 and (r.json["port"], r.json["username"], r.json["become"]) == (2222, "deploy", "sudo")
    r = client.patch(f"/api/v1/hosts/{host_id}", json={"auth_method": "password"})
    assert r.status_code == 422 and "password" in r.json["errors"]
    r = client.patch(f"/api/v1/hosts/{host_id}", json={"auth_method": "password", "password": "pw-secret-1"})
    assert r.status_code == 200 and r.json["has_password"] is True and b"pw-secret-1" not in r.data
    r = client.patch(f"/api/v1/hosts/{host_id}", json={"auth_method": "agent"})
    assert r.json["has_password"] is False
    r = client.patch(f"/api/v1/hosts/{host_id}", json={"username": None, "port": 0, "colour": "red"})
    assert r.status_code == 422 and set(r.json["errors"]) == {"port", "colour"}
    client.post("/api/v1/hosts", json={"name": "b", "address": "10.213.66.2"})
    r = client.patch(f"/api/v1/hosts/{host_id}", json={"name": "b"})
    assert r.status_code == 422 and "already exists" in r.json["errors"]["name"]
    assert client.patch("/api/v1/hosts/999", json={"port": 22}).status_code == 404
    assert client.patch(f"/api/v1/hosts/{host_id}", data="x", content_type="text/plain").status_code == 415


INI = """
# an Ansible inventory
[web]
web[1:2] ansible_host=10.213.66.2{n} ansible_user=deploy

[db]
db-1 ansible_host=10.213.66.30 ansible_port=2222 ansible_become=true

[prod:children]
web
db

[db:vars]
ansible_user=postgres
"""

ANSIBLE_YAML = """
all:
  vars:
    ansible_user: ops
  children:
    cache:
      hosts:
        redis-1:
          ansible_host: 10.213.66.40
        redis-2:
          ansible_host: 10.213.66.41
          ansible_user: root
"""


def test_import_ansible_ini_with_groups_and_vars(client):
    text = INI.replace("10.213.66.2{n}", "10.213.66.2")   # ranges share one address here: fine for import
    r = client.post("/api/v1/hosts/import", data=text, content_type="text/plain")
    assert r.status_code == 201, r.json
    by_name = {h["name"]: h for h in r.json["hosts"]}
    assert set(by_name) == {"web1", "web2", "db-1"}
    assert by_name["web1"]["username"] == "deploy" and sorted(by_name["web1"]["groups"]) == ["prod", "web"]
    assert by_name["db-1"]["port"] == 2222 and by_name["db-1"]["username"] == "postgres"
    assert by_name["db-1"]["become"] == "sudo"
    groups = {g["name"]: g for g in client.get("/api/v1/groups").json["items"]}
    assert {h["name"] for h in groups["prod"]["hosts"]} == {"web1", "web2", "db-1"}
    assert [h["name"] for h in client.get("/api/v1/hosts?group=db").json["items"]] == ["db-1"]


def test_import_ansible_yaml_json_yaml_and_csv(client):
    r = client.post("/api/v1/hosts/import", data=ANSIBLE_YAML, content_type="application/yaml")
    assert r.status_code == 201, r.json
    users = {h["name"]: (h["username"], h["address"], h["groups"]) for h in r.json["hosts"]}
    assert users == {"redis-1": ("ops", "10.213.66.40", ["cache"]), "redis-2": ("root", "10.213.66.41", ["cache"])}
    r = client.post("/api/v1/hosts/import", json={"hosts": [{"name": "j", "address": "10.213.66.50", "groups": ["cache"]}]})
    assert r.status_code == 201 and r.json["hosts"][0]["groups"] == ["cache"]
    r = client.post("/api/v1/hosts/import", data="- name: y\n  address: 10.213.66.51\n", content_type="text/yaml")
    assert r.status_code == 201 and r.json["imported"] == 1
    csv = "name,address,port,user,groups\nc1,10.213.66.60,2200,deploy,web;edge\n"
    r = client.post("/api/v1/hosts/import", data=csv, content_type="text/csv")
    assert r.status_code == 201 and r.json["hosts"][0]["groups"] == ["web", "edge"]
    assert r.json["hosts"][0]["port"] == 2200


@pytest.mark.parametrize("data,ctype,field", [
    ("[web\nx", "text/plain", "file"),
    ("", "text/csv", "file"),
    ("{", "application/json", "file"),
    ("name,address\nz,not a host!\n", "text/csv", "host 1 (z)"),
    ("[g]\nh ansible_port=99999\n", "text/plain", "host 1 (h)"),
])
def test_bad_imports_name_the_problem_and_import_nothing(client, data, ctype, field):
    r = client.post("/api/v1/hosts/import", data=data, content_type=ctype)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]
    assert client.get("/api/v1/hosts").json["items"] == []


def test_import_format_and_media_type(client):
    assert client.post("/api/v1/hosts/import", data="x", content_type="image/png").status_code == 415
    r = client.post("/api/v1/hosts/import?format=ansible-ini", data="[g]\nh1 ansible_host=10.213.66.9\n",
                    content_type="application/octet-stream")
    assert r.status_code == 201
    r = client.post("/api/v1/hosts/import?format=xml", data="x", content_type="text/plain")
    assert r.status_code == 422 and "format" in r.json["errors"]


def test_cli_imports_ansible_files(cli, tmp_path):
    (tmp_path / "hosts.ini").write_text("[db]\npg-1 ansible_host=10.213.66.70 ansible_user=postgres\n")
    r = cli("hosts", "import", str(tmp_path / "hosts.ini"))
    assert r.exit_code == 0 and "pg-1" in r.output
    (tmp_path / "inventory.yml").write_text(ANSIBLE_YAML)
    r = cli("hosts", "import", str(tmp_path / "inventory.yml"))
    assert r.exit_code == 0 and "redis-1" in r.output
    (tmp_path / "inventory").write_text("web-9 ansible_host=10.213.66.71\n")
    assert cli("hosts", "import", str(tmp_path / "inventory")).exit_code == 0
    listed = cli("hosts", "list", "--json").output
    assert '"db"' in listed and '"cache"' in listed


# --- groups and credentials ----------------------------------------------------------------------

def test_groups_crud(client):
    client.post("/api/v1/hosts", json={"name": "a", "address": "10.213.66.1"})
    r = client.post("/api/v1/groups", json={"name": "web", "description": "front", "hosts": ["a"]})
    assert r.status_code == 201 and r.json["hosts"][0]["name"] == "a"
    group_id = r.json["id"]
    assert client.get("/api/v1/hosts").json["items"][0]["groups"] == ["web"]
    assert client.post("/api/v1/groups", json={"name": "web"}).status_code == 422
    assert client.post("/api/v1/groups", json={"name": "x", "hosts": ["ghost"]}).status_code == 404
    r = client.patch(f"/api/v1/groups/{group_id}", json={"name": "front", "hosts": []})
    assert r.status_code == 200 and r.json["name"] == "front" and r.json["hosts"] == []
    assert client.delete(f"/api/v1/groups/{group_id}").status_code == 204
    assert client.get(f"/api/v1/groups/{group_id}").status_code == 404
    assert client.get("/api/v1/hosts").json["items"][0]["name"] == "a"       # the host stays


def test_credentials_are_write_only_and_used_by_scans(client, app, tmp_path):
    key = tmp_path / "id_test"
    key.write_text("not really a key")
    r = client.post("/api/v1/credentials", json={"name": "ops-pw", "kind": "password", "username": "ops",
                                                 "password": "cred-secret-9"})
    assert r.status_code == 201 and r.json["has_password"] is True
    cred_id = r.json["id"]
    for body in (r.data, client.get("/api/v1/credentials").data, client.get(f"/api/v1/credentials/{cred_id}").data):
        assert b"cred-secret-9" not in body and b"password_encrypted" not in body
    r = client.post("/api/v1/credentials", json={"name": "keyed", "kind": "key", "key_path": str(key)})
    assert r.status_code == 201 and r.json["key_path"] == str(key)
    assert client.post("/api/v1/credentials", json={"name": "k2", "kind": "key"}).status_code == 422
    assert client.post("/api/v1/credentials", json={"name": "p2", "kind": "password"}).status_code == 422
    host = client.post("/api/v1/hosts", json={"name": "a", "address": "10.213.66.1", "username": "root"}).json
    client.post("/api/v1/groups", json={"name": "g", "hosts": ["a"], "credential": "keyed"})
    with get_db(app).session() as s:
        target = scans._target(s.get(Host, host["id"]), CredentialCipher(app.config))
        assert (target.auth_method, target.key_path, target.username) == ("key", str(key), "root")
    r = client.patch(f"/api/v1/hosts/{host['id']}", json={"credential": "ops-pw"})
    assert r.json["credential"] == {"id": cred_id, "name": "ops-pw"}
    with get_db(app).session() as s:
        target = scans._target(s.get(Host, host["id"]), CredentialCipher(app.config))
        assert (target.auth_method, target.password, target.username) == ("password", "cred-secret-9", "ops")
    assert client.get(f"/api/v1/credentials/{cred_id}").json["hosts"] == ["a"]
    assert client.delete(f"/api/v1/credentials/{cred_id}").status_code == 204
    assert client.get(f"/api/v1/hosts/{host['id']}").json["credential"] is None


# --- scans ---------------------------------------------------------------------------------------

def test_scan_of_a_group_and_cancel(client, app, monkeypatch):
    submitted = []
    monkeypatch.setattr(app.extensions["migrator.jobs"], "start_scan", lambda db, cfg, scan_id: submitted.append(scan_id))
    client.post("/api/v1/hosts", json={"name": "a", "address": "127.0.0.1", "port": 9})
    client.post("/api/v1/hosts", json={"name": "b", "address": "127.0.0.1", "port": 9})
    client.post("/api/v1/groups", json={"name": "g", "hosts": ["b"]})
    r = client.post("/api/v1/scans", json={"groups": ["g"], "hosts": ["a"]})
    assert r.status_code == 202 and [h["host"] for h in r.json["hosts"]] == ["a", "b"]
    scan_id = r.json["id"]
    assert r.json["progress"] == {"total": 2, "queued": 2, "running": 0, "done": 0, "failed": 0, "cancelled": 0}
    r = client.post(f"/api/v1/scans/{scan_id}/cancel")
    assert r.status_code == 202 and r.json["status"] == "cancelled"
    assert {h["status"] for h in r.json["hosts"]} == {"cancelled"}
    # the runner, started late, scans nothing
    assert scans.run_scan(get_db(app), dict(app.config), scan_id) == "cancelled"
    assert client.get(f"/api/v1/scans/{scan_id}").json["status"] == "cancelled"
    assert client.post("/api/v1/scans/999/cancel").status_code == 404
    assert client.post("/api/v1/scans", json={"groups": ["nope"]}).status_code == 404
    assert [s["id"] for s in client.get("/api/v1/scans").json["items"]] == [scan_id]


def test_a_running_host_stops_at_its_next_stage(app):
    with get_db(app).session() as s:
        host = host_service.add_host(s, CredentialCipher(app.config), {"name": "a", "address": "127.0.0.1", "port": 9})
        scan = scans.create_scan(s, [host])
        row_id, scan_id = scan.hosts[0].id, scan.id
        s.get(ScanHost, row_id).status = "running"
        scans.cancel_scan(s, s.get(Scan, scan_id))
        assert s.get(Scan, scan_id).status == "queued"       # a host is running: not yet over
    with pytest.raises(scans.ScanCancelled):
        scans.enter_stage(get_db(app), row_id, "probing")
    with get_db(app).session() as s:
        assert s.get(ScanHost, row_id).stage is None


# --- findings ------------------------------------------------------------------------------------

def test_snapshots_applications_graph_and_waves(cli, client):
    _imported(cli)
    snaps = client.get("/api/v1/snapshots?host=app-1").json["items"]
    assert len(snaps) == 1 and snaps[0]["host"] == "app-1" and snaps[0]["applications"] >= 2
    assert client.get(f"/api/v1/snapshots/{snaps[0]['id']}").json["id"] == snaps[0]["id"]
    apps = client.get("/api/v1/applications").json["items"]
    assert [a["id"] for a in apps] == sorted(a["id"] for a in apps)
    redis = next(a for a in apps if a["software"] == "redis")
    assert client.get(f"/api/v1/applications/{redis['id']}").json["key"] == redis["key"]
    assert client.get("/api/v1/applications/99999").status_code == 404
    only = client.get(f"/api/v1/applications?category={redis['category']}&software=redis").json["items"]
    assert [a["id"] for a in only] == [redis["id"]]
    graph = client.get("/api/v1/graph").json
    assert set(graph) >= {"nodes", "edges", "clusters", "external"}
    node_ids = {n["id"] for n in graph["nodes"]}
    assert f"app-1/{redis['key']}" in node_ids
    assert all(e["source"] in node_ids and e["target"] in node_ids for e in graph["edges"])
    waves = client.get("/api/v1/waves?hosts=app-1").json
    assert waves["waves"] and any(f"app-1/{redis['key']}" in w for w in waves["waves"])
    assert client.get("/api/v1/graph?groups=nope").status_code == 404


# --- overrides and plans -------------------------------------------------------------------------

def test_stored_overrides_apply_to_every_new_plan(cli, client):
    _imported(cli)
    r = client.post("/api/v1/overrides", json={"workload": "app-1/redis", "changes": {"storage_size": "20Gi"}})
    assert r.status_code == 201
    override_id = r.json["id"]
    assert client.post("/api/v1/overrides", json={"workload": "app-1/redis", "changes": {}}).status_code == 422
    r = client.post("/api/v1/overrides", json={"workload": "app-1/x", "changes": {"colour": "blue"}})
    assert r.status_code == 422 and "colour" in r.json["errors"]["changes"]
    first = client.post("/api/v1/plans", json={"namespace": "shop"}).json
    assert first["overrides"] == {"app-1/redis": {"storage_size": "20Gi"}}
    assert "storage: 20Gi" in client.get(f"/api/v1/plans/{first['id']}/yaml").get_data(as_text=True)
    r = client.patch(f"/api/v1/overrides/{override_id}", json={"changes": {"storage_size": "30Gi"}})
    assert r.status_code == 200
    # a rescan (a new import of the recording) does not lose the override
    assert cli("import", "app-1", str(CASE)).exit_code == 0
    second = client.post("/api/v1/plans", json={"namespace": "shop",
                                                "overrides": {"app-1/redis": {"replicas": 1}}}).json
    assert second["overrides"] == {"app-1/redis": {"storage_size": "30Gi", "replicas": 1}}
    assert second["version"] > first["version"]
    diff = client.get(f"/api/v1/plans/{second['id']}/diff?against={first['id']}")
    assert diff.status_code == 200 and diff.mimetype == "text/x-diff"
    text = diff.get_data(as_text=True)
    assert "-      storage: 20Gi" in text.replace("  ", " ") or "20Gi" in text and "30Gi" in text
    assert client.get(f"/api/v1/plans/{second['id']}/diff").get_data(as_text=True) == text   # default: previous
    assert client.get(f"/api/v1/plans/{first['id']}/diff").status_code == 422
    assert client.get(f"/api/v1/plans/{first['id']}/diff?against=999").status_code == 404
    assert [p["id"] for p in client.get("/api/v1/plans").json["items"]] == [first["id"], second["id"]]
    assert client.delete(f"/api/v1/overrides/{override_id}").status_code == 204
    assert client.post("/api/v1/plans", json={}).json["overrides"] == {}


def test_plan_validate_and_kustomize_zip(cli, client):
    _imported(cli)
    plan_id = client.post("/api/v1/plans", json={"namespace": "shop"}).json["id"]
    r = client.post(f"/api/v1/plans/{plan_id}/validate")
    assert r.status_code == 200 and r.json["valid"] is True and r.json["problems"] == []
    r = client.post(f"/api/v1/plans/{plan_id}/validate", json={"kubernetes_version": "0.1"})
    assert r.status_code == 422 and "kubernetes_version" in r.json["errors"]
    r = client.get(f"/api/v1/plans/{plan_id}/kustomize.zip")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.data)).namelist()
    assert f"plan-{plan_id}/kustomization.yaml" in names
    assert f"plan-{plan_id}/dockerfiles/webapp-app-1/Dockerfile" in names


def test_plan_of_a_group(cli, client):
    _imported(cli)
    client.post("/api/v1/groups", json={"name": "g", "hosts": ["app-1"]})
    r = client.post("/api/v1/plans", json={"groups": ["g"]})
    assert r.status_code == 201 and r.json["summary"]["hosts"] == 1
    client.post("/api/v1/groups", json={"name": "empty"})
    assert client.post("/api/v1/plans", json={"groups": ["empty"]}).status_code == 422
