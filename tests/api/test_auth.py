"""Bearer tokens: every operation but health and the docs needs one; roles viewer < planner < admin;
secrets are shown once and stored hashed; revoked tokens stop working at once."""
from __future__ import annotations

import hashlib

import pytest

from migrator import get_db
from migrator.models import ApiToken


def test_no_token_is_401_with_a_bearer_challenge(anon_client):
    r = anon_client.get("/api/v1/hosts")
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in r.json["detail"]


@pytest.mark.parametrize("header", ["Bearer nope", "Basic dXNlcjpwdw==", "Bearer", "bearer  ", "Token x"])
def test_bad_tokens_are_401(anon_client, header):
    r = anon_client.get("/api/v1/hosts", headers={"Authorization": header})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


def test_health_and_docs_are_open(anon_client):
    assert anon_client.get("/api/v1/health").status_code == 200
    spec = anon_client.get("/api/v1/openapi.json")
    assert spec.status_code == 200 and spec.json["openapi"].startswith("3.")
    page = anon_client.get("/api/v1/docs")
    assert page.status_code == 200 and b"swagger-ui-bundle.js" in page.data
    assert anon_client.get("/api/v1/docs/swagger-ui-bundle.js").status_code == 200
    assert anon_client.get("/api/v1/docs/init.js").status_code == 200
    assert anon_client.get("/api/v1/docs/../../etc/passwd").status_code == 404


def test_viewer_reads_but_cannot_write(viewer_client):
    assert viewer_client.get("/api/v1/hosts").status_code == 200
    assert viewer_client.get("/api/v1/plans").status_code == 200
    for method, path, body in (("post", "/api/v1/hosts", {"address": "10.0.0.1"}),
                               ("post", "/api/v1/scans", None), ("post", "/api/v1/plans", {}),
                               ("post", "/api/v1/overrides", {"workload": "a/b", "changes": {}}),
                               ("get", "/api/v1/tokens", None), ("delete", "/api/v1/hosts/1", None)):
        r = getattr(viewer_client, method)(path, json=body) if body is not None else getattr(viewer_client, method)(path)
        assert r.status_code == 403, (method, path)
        assert r.mimetype == "application/problem+json" and "role" in r.json["detail"]


def test_planner_scans_plans_and_overrides_but_not_hosts(planner_client, client):
    client.post("/api/v1/hosts", json={"name": "a", "address": "127.0.0.1", "port": 9})
    assert planner_client.post("/api/v1/hosts", json={"address": "10.0.0.1"}).status_code == 403
    assert planner_client.post("/api/v1/credentials", json={"name": "c", "kind": "agent"}).status_code == 403
    assert planner_client.post("/api/v1/tokens", json={"name": "x", "role": "admin"}).status_code == 403
    r = planner_client.post("/api/v1/overrides", json={"workload": "a/redis", "changes": {"replicas": 2}})
    assert r.status_code == 201
    assert planner_client.post("/api/v1/plans", json={}).status_code == 422   # nothing scanned yet: not 403
    # the scan of a closed loopback port fails at once and never leaves the machine
    assert planner_client.post("/api/v1/scans", json={"hosts": ["a"]}).status_code == 202


def test_token_lifecycle_over_the_api(client, anon_client, app):
    r = client.post("/api/v1/tokens", json={"name": "ci", "role": "viewer"})
    assert r.status_code == 201
    secret, token_id = r.json["secret"], r.json["id"]
    assert secret.startswith("mgr_") and r.json["prefix"] == secret[:12]
    assert r.headers["Location"].endswith(f"/api/v1/tokens/{token_id}")
    dup = client.post("/api/v1/tokens", json={"name": "ci", "role": "admin"})
    assert dup.status_code == 409 and dup.json["errors"] == {"name": dup.json["detail"]}
    with get_db(app).session() as s:
        row = s.get(ApiToken, token_id)
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.token_hash, row.prefix)
    listed = client.get("/api/v1/tokens")
    assert secret.encode() not in listed.data and b"token_hash" not in listed.data
    assert client.get(f"/api/v1/tokens/{token_id}").json["revoked"] is False
    auth = {"Authorization": f"Bearer {secret}"}
    assert anon_client.get("/api/v1/hosts", headers=auth).status_code == 200
    assert client.get(f"/api/v1/tokens/{token_id}").json["last_used_at"] is not None
    r = client.delete(f"/api/v1/tokens/{token_id}")
    assert r.status_code == 200 and r.json["revoked"] is True
    r = anon_client.get("/api/v1/hosts", headers=auth)
    assert r.status_code == 401 and "revoked" in r.json["detail"]


@pytest.mark.parametrize("body,field", [({"name": "", "role": "admin"}, "name"), ({"name": "x", "role": "root"}, "role"),
                                        ({"name": "x"}, "role"), ({"name": "x", "role": "viewer", "ttl": 3}, "ttl")])
def test_token_input_is_checked(client, body, field):
    r = client.post("/api/v1/tokens", json=body)
    assert r.status_code == 422 and field in r.json["errors"]


def test_cli_tokens_need_no_token(cli):
    r = cli("tokens", "create", "deploy-bot", "--role", "planner")
    again = cli("tokens", "create", "deploy-bot", "--role", "viewer")        # one live token per name
    assert again.exit_code == 1 and "a token named 'deploy-bot' is in use: revoke it first" in again.output
    assert r.exit_code == 0, r.output
    secret = r.stdout.strip().splitlines()[-1]
    assert secret.startswith("mgr_")
    listed = cli("tokens", "list")
    assert "deploy-bot" in listed.output and "planner" in listed.output and secret not in listed.output
    token_id = [line.split()[0] for line in listed.output.splitlines() if "deploy-bot" in line][0]
    r = cli("tokens", "revoke", token_id)
    assert r.exit_code == 0 and "revoked" in r.output
    assert "revoked" in cli("tokens", "list").output
    r = cli("tokens", "create", "x", "--role", "root")
    assert r.exit_code != 0
    r = cli("tokens", "revoke", "999")
    assert r.exit_code == 1 and "does not exist" in r.output


def test_secrets_never_reach_the_log(client, caplog):
    import logging
    caplog.set_level(logging.DEBUG)
    secret = client.post("/api/v1/tokens", json={"name": "log", "role": "viewer"}).json["secret"]
    client.get("/api/v1/hosts", headers={"Authorization": f"Bearer {secret}"})
    client.post("/api/v1/hosts", json={"name": "p", "address": "10.0.0.1", "auth_method": "password",
                                       "password": "pw-in-log?"})
    assert secret not in caplog.text and "pw-in-log?" not in caplog.text


def test_names_with_a_trailing_newline_or_space_are_refused(client):
    """A regex `$` matches before a final newline: names must end where they seem to."""
    assert client.post("/api/v1/tokens", json={"name": "ops\n", "role": "viewer"}).status_code == 422
    assert client.post("/api/v1/tokens", json={"name": "ops ", "role": "viewer"}).status_code == 422
    assert client.post("/api/v1/hosts", json={"name": "db-1\n", "address": "10.213.66.5"}).status_code == 422
    assert client.post("/api/v1/groups", json={"name": "g\n"}).status_code == 422
    assert client.post("/api/v1/credentials", json={"name": "c\n", "kind": "agent"}).status_code == 422
