"""The audit log: who scanned, changed and exported what, through the API, the web UI and the CLI."""
from __future__ import annotations

import json

from migrator import get_db
from migrator.models import AuditEvent
from migrator.services import audit
from tests.conftest import make_token
from tests.web.helpers import import_recorded, login, make_user

SECRET = "hunter2-audit-secret"


def _events(app) -> list[AuditEvent]:
    with get_db(app).session() as s:
        rows = s.query(AuditEvent).order_by(AuditEvent.id).all()
        s.expunge_all()
        return rows


def test_api_changes_are_logged_with_the_token_and_address(app, client):
    r = client.post("/api/v1/hosts", json={"name": "db-1", "address": "10.213.66.11", "auth_method": "password",
                                           "password": SECRET})
    assert r.status_code == 201, r.json
    host_id = r.json["id"]
    assert client.patch(f"/api/v1/hosts/{host_id}", json={"port": 2222}).status_code == 200
    assert client.post("/api/v1/credentials", json={"name": "ops", "kind": "password", "username": "ops",
                                                     "password": SECRET}).status_code == 201
    assert client.delete(f"/api/v1/hosts/{host_id}").status_code == 204
    events = [e for e in _events(app) if e.action.startswith(("host.", "credential."))]
    assert [(e.actor, e.source, e.action, e.target) for e in events] == [
        ("token:test-admin", "127.0.0.1", "host.create", "db-1"),
        ("token:test-admin", "127.0.0.1", "host.update", "db-1"),
        ("token:test-admin", "127.0.0.1", "credential.create", "ops"),
        ("token:test-admin", "127.0.0.1", "host.delete", "db-1"),
    ]
    assert events[1].detail["fields"] == ["port"]
    body = client.get("/api/v1/audit").get_data(as_text=True)
    assert SECRET not in body and SECRET not in repr([e.detail for e in _events(app)])


def test_failed_changes_leave_no_event(app, client):
    assert client.post("/api/v1/hosts", json={"address": "10.213.66.11", "port": 0}).status_code == 422
    assert not [e for e in _events(app) if e.action.startswith("host.")]


def test_plans_made_and_exported_are_logged(app, client):
    import_recorded(app)
    plan = client.post("/api/v1/plans", json={}).json
    assert client.get(f"/api/v1/plans/{plan['id']}/yaml").status_code == 200
    assert client.get(f"/api/v1/plans/{plan['id']}/kustomize.zip").status_code == 200
    assert client.get(f"/api/v1/plans/{plan['id']}/files/NOTES.md").status_code == 200
    assert client.get(f"/api/v1/plans/{plan['id']}/files/nope").status_code == 404
    exports = [e.detail["format"] for e in _events(app) if e.action == "plan.export"]
    assert exports == ["yaml", "kustomize", "NOTES.md"]      # the missing file exported nothing
    made = [e for e in _events(app) if e.action == "plan.create"]
    assert len(made) == 1 and made[0].detail["plan_id"] == plan["id"] and made[0].detail["hosts"] == 1


def test_listing_is_admin_only_newest_first_filtered_and_paged(app, client, viewer_client, planner_client):
    assert viewer_client.get("/api/v1/audit").status_code == 403
    assert planner_client.get("/api/v1/audit").status_code == 403
    for i in range(5):
        assert client.post("/api/v1/groups", json={"name": f"g{i}"}).status_code == 201
    page = client.get("/api/v1/audit?action=group.&limit=2").json
    assert [e["target"] for e in page["items"]] == ["g4", "g3"]
    page = client.get(page["next"]).json
    assert [e["target"] for e in page["items"]] == ["g2", "g1"]
    page = client.get(page["next"]).json
    assert [e["target"] for e in page["items"]] == ["g0"] and page["next"] is None
    assert client.get("/api/v1/audit?actor=token:nobody").json["items"] == []
    assert client.get("/api/v1/audit?limit=0").status_code == 422
    assert client.get("/api/v1/audit?before=x").status_code == 422


def test_web_logins_and_scans_are_logged(app):
    make_user(app, "alice", "admin")
    ui = app.test_client(token=None)
    assert login(ui, "alice", "wrong password").status_code == 401
    assert login(ui, "S3cret-typed-as-name").status_code == 401
    assert login(ui, "alice").status_code == 302
    events = _events(app)
    assert [(e.actor, e.action, e.target) for e in events if e.action.startswith("user.login")] == [
        ("anonymous", "user.login_failed", "alice"), ("anonymous", "user.login_failed", "(unknown user)"),
        ("user:alice", "user.login", "alice")]
    assert not any("S3cret" in repr((e.target, e.detail)) for e in events)
    token = make_token(app, "planner", "ci")
    host_id = import_recorded(app)
    r = app.test_client(token=token).post("/api/v1/scans", json={"hosts": [host_id]})
    assert r.status_code == 202, r.json
    started = [e for e in _events(app) if e.action == "scan.start"]
    assert started[-1].actor == "token:ci" and started[-1].detail["hosts"] == ["app-1"]


def test_cli_actions_are_logged_and_listed(cli, monkeypatch):
    monkeypatch.setenv("USER", "ops-person")
    monkeypatch.setenv("LOGNAME", "ops-person")
    assert cli("hosts", "add", "app-1", "--address", "10.213.66.10").exit_code == 0
    assert cli("tokens", "create", "deploy", "--role", "viewer").exit_code == 0
    rows = json.loads(cli("audit", "--json").output)
    assert [(r["actor"], r["source"], r["action"], r["target"]) for r in rows] == [
        ("cli:ops-person", "cli", "token.create", "deploy"), ("cli:ops-person", "cli", "host.create", "app-1")]
    text = cli("audit", "--action", "host.").output
    assert "cli:ops-person" in text and "host.create" in text and "token.create" not in text
    assert "no audit events match" in cli("audit", "--actor", "user:nobody").output
    assert cli("hosts", "add", "bastion-1", "--address", "10.213.66.11").exit_code == 0
    assert cli("hosts", "jump", "app-1", "--via", "bastion-1").exit_code == 0
    lines = cli("audit", "--action", "host.update").output.splitlines()
    assert len(lines) == 1 and lines[0].split()[2:] == ["host.update", "app-1", "host_id=1", "fields=jump"], lines


def test_cli_audit_lines_cannot_be_forged(cli, app):
    """A target or detail holding a newline or an ANSI escape stays on its own line, escaped."""
    cli("audit")                                   # the database exists
    with get_db(app).session() as s:
        audit.record(s, "override.set", "rh/app\n2099-01-01T00:00:00  user:admin  user.delete  root\x1b[2J",
                     fields=["replicas\nx"])
    lines = cli("audit").output.splitlines()
    assert [line.split()[2] for line in lines] == ["override.set", "token.create"], lines   # no forged line
    assert "\x1b" not in lines[0] and "rh/app 2099-01-01T00:00:00" in lines[0], lines


def test_filters_holding_a_nul_are_refused_not_a_server_error(client):
    for path in ("/api/v1/audit?action=host.%00x", "/api/v1/audit?actor=a%00", "/api/v1/applications?software=r%00"):
        r = client.get(path)
        assert r.status_code == 422 and r.mimetype == "application/problem+json", (path, r.status_code)
        assert "NUL" in r.json["detail"]
