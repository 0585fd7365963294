"""Jump hosts through the API, its OpenAPI document and the CLI."""
from __future__ import annotations

import json


def _host(client, name, address, **extra):
    r = client.post("/api/v1/hosts", json={"name": name, "address": address, **extra})
    assert r.status_code == 201, r.json
    return r.json


def test_host_jump_set_shown_cleared_and_refused_loops(client):
    bastion = _host(client, "bastion-1", "10.213.80.5")
    db1 = _host(client, "db-1", "10.213.81.7", jump="bastion-1")
    assert db1["jump"] == {"id": bastion["id"], "name": "bastion-1"} == db1["effective_jump"]
    assert client.get(f"/api/v1/hosts/{db1['id']}").json["jump"]["name"] == "bastion-1"
    assert [h["jump"] for h in client.get("/api/v1/hosts").json["items"]] == [None, db1["jump"]]

    r = client.patch(f"/api/v1/hosts/{bastion['id']}", json={"jump": "db-1"})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert "loop: bastion-1 → db-1 → bastion-1" in r.json["detail"] and "jump" in r.json["errors"]
    r = client.patch(f"/api/v1/hosts/{bastion['id']}", json={"jump": bastion["id"]})
    assert r.status_code == 422 and "cannot be its own jump host" in r.json["errors"]["jump"]
    r = client.post("/api/v1/hosts", json={"name": "db-2", "address": "10.213.81.8", "jump": "ghost"})
    assert r.status_code == 404 and "jump: no host with id or name 'ghost'" in r.json["detail"]
    r = client.post("/api/v1/hosts", json={"name": "db-2", "address": "10.213.81.8", "jump": {"id": 1}})
    assert r.status_code == 422 and "jump" in r.json["errors"]
    assert client.get(f"/api/v1/hosts/{bastion['id']}").json["jump"] is None      # nothing stayed

    r = client.patch(f"/api/v1/hosts/{db1['id']}", json={"jump": None})
    assert r.status_code == 200 and r.json["jump"] is None and r.json["effective_jump"] is None


def test_a_bastion_in_use_is_not_deleted(client, cli):
    b1, b2 = _host(client, "bastion-1", "10.213.80.5"), _host(client, "bastion-2", "10.213.80.6")
    _host(client, "db-1", "10.213.81.7", jump="bastion-1")
    _host(client, "db-2", "10.213.81.8", jump="bastion-2")
    r = client.delete(f"/api/v1/hosts/{b1['id']}")
    assert r.status_code == 409 and r.json["title"] == "Conflict", r.json
    assert r.json["detail"].startswith("host 'bastion-1' is the jump host of hosts db-1: give them another jump host")
    assert client.get(f"/api/v1/hosts/{b1['id']}").status_code == 200
    r = cli("hosts", "remove", "bastion-1", "bastion-2", "--yes")        # every refusal is named
    assert r.exit_code == 1 and "host 'bastion-1' is the jump host of hosts db-1; host 'bastion-2' is the jump " \
                                "host of hosts db-2:" in r.output, r.output
    assert cli("hosts", "remove", "bastion-2", "db-2", "--yes").exit_code == 0
    assert client.get(f"/api/v1/hosts/{b2['id']}").status_code == 404


def test_group_jump_host(client):
    bastion = _host(client, "bastion-1", "10.213.80.5")
    db1 = _host(client, "db-1", "10.213.81.7")
    r = client.post("/api/v1/groups", json={"name": "private", "hosts": ["db-1"], "jump": "bastion-1"})
    assert r.status_code == 201 and r.json["jump"] == {"id": bastion["id"], "name": "bastion-1"}
    group = r.json
    host = client.get(f"/api/v1/hosts/{db1['id']}").json
    assert host["jump"] is None and host["effective_jump"]["name"] == "bastion-1"
    r = client.patch(f"/api/v1/hosts/{bastion['id']}", json={"jump": "db-1"})
    assert r.status_code == 422 and "loop: bastion-1 → db-1 → bastion-1" in r.json["detail"]
    # a member that is the group's own jump host connects directly
    r = client.patch(f"/api/v1/groups/{group['id']}", json={"hosts": ["db-1", "bastion-1"]})
    assert r.status_code == 200 and client.get(f"/api/v1/hosts/{bastion['id']}").json["effective_jump"] is None
    _host(client, "bastion-2", "10.213.80.6", jump="db-1")
    r = client.patch(f"/api/v1/groups/{group['id']}", json={"jump": "bastion-2"})
    assert r.status_code == 422 and "loop: bastion-2 → db-1 → bastion-2" in r.json["detail"] and "jump" in r.json["errors"]
    assert client.get(f"/api/v1/groups/{group['id']}").json["jump"]["name"] == "bastion-1"
    r = client.patch(f"/api/v1/groups/{group['id']}", json={"jump": None})
    assert r.status_code == 200 and r.json["jump"] is None
    assert client.get(f"/api/v1/hosts/{db1['id']}").json["effective_jump"] is None


def test_import_ansible_proxy_jump(client):
    inventory = ("[private]\ndb-1 ansible_host=10.213.81.7 ansible_ssh_common_args='-o ProxyJump=bastion-1'\n"
                 "[edge]\nbastion-1 ansible_host=10.213.80.5\n")
    r = client.post("/api/v1/hosts/import", data=inventory, content_type="text/plain")
    assert r.status_code == 201, r.json
    by_name = {h["name"]: h for h in r.json["hosts"]}
    assert by_name["db-1"]["jump"]["name"] == "bastion-1"
    r = client.post("/api/v1/hosts/import", data="[x]\ndb-2 ansible_ssh_common_args='-J ops@10.9.9.9:2222'\n",
                    content_type="text/plain")
    assert r.status_code == 422 and "add the bastion as a host first" in r.json["detail"]


def test_openapi_documents_jump(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    for name in ("HostInput", "HostPatch", "GroupInput", "GroupPatch"):
        assert "jump" in schemas[name]["properties"], name
    assert {"jump", "effective_jump"} <= set(schemas["Host"]["properties"])
    assert "jump" in schemas["Group"]["properties"]


def test_cli_add_jump_list_and_group_jump(cli):
    assert cli("hosts", "add", "bastion-1", "--address", "10.213.80.5").exit_code == 0
    r = cli("hosts", "add", "db-1", "--address", "10.213.81.7", "--jump", "bastion-1")
    assert r.exit_code == 0 and "through jump host bastion-1" in r.output, r.output
    r = cli("hosts", "add", "db-2", "--address", "10.213.81.8", "--jump", "nosuch")
    assert r.exit_code == 1 and "no host with id or name 'nosuch'" in r.output
    lines = cli("hosts", "list").output.splitlines()
    assert lines[0].split() == ["ID", "NAME", "ADDRESS", "JUMP", "LAST", "SCAN"]
    assert lines[2].split()[1:4] == ["db-1", "10.213.81.7:22", "bastion-1"]
    assert lines[1].split()[3] == "-"
    listed = {h["name"]: h for h in json.loads(cli("hosts", "list", "--json").output)}
    assert listed["db-1"]["jump"]["name"] == "bastion-1"

    r = cli("hosts", "jump", "db-1", "--clear")
    assert r.exit_code == 0 and "connect directly" in r.output
    assert cli("hosts", "add", "db-3", "--address", "10.213.81.9").exit_code == 0
    r = cli("hosts", "jump", "bastion-1", "--via", "db-3")
    assert r.exit_code == 0, r.output
    r = cli("hosts", "jump", "db-3", "--via", "bastion-1")
    assert r.exit_code == 1 and "loop: db-3 → bastion-1 → db-3" in r.output
    assert cli("hosts", "jump", "bastion-1", "--clear").exit_code == 0

    from migrator import get_db  # noqa: F401 - the group through the service, then the CLI
    r = cli("hosts", "jump", "--group", "private", "--via", "bastion-1")
    assert r.exit_code == 1 and "no group with id or name 'private'" in r.output


def test_cli_group_jump(cli, app):
    from migrator import get_db
    from migrator.services import groups
    assert cli("hosts", "add", "bastion-1", "--address", "10.213.80.5").exit_code == 0
    assert cli("hosts", "add", "db-1", "--address", "10.213.81.7").exit_code == 0
    with get_db(app).session() as s:
        groups.create_group(s, {"name": "private", "hosts": ["db-1"]})
    r = cli("hosts", "jump", "--group", "private", "--via", "bastion-1")
    assert r.exit_code == 0 and "group private: through jump host bastion-1" in r.output, r.output
    lines = cli("hosts", "list").output.splitlines()
    assert "bastion-1 (group)" in lines[2]
    assert cli("hosts", "jump", "--via", "bastion-1").exit_code == 1
