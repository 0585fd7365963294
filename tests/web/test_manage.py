"""Inventory management (hosts, groups, credentials), users and the audit log, for admins only:
roles, CSRF, plain-words errors that keep what was typed, passwords never shown, escaping, no
lockout of the last admin, audit filters and paging."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from migrator import get_db
from migrator.models import Application, Credential, Host, HostGroup, ScanHost
from migrator.services import audit, users
from tests.web.helpers import HOSTILE, PASSWORD, UI, import_recorded, login, make_user

SECRET = "hunter2-very-secret"
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


def _ids(app, model, name):
    with get_db(app).session() as s:
        return s.scalar(select(model.id).where(model.name == name))


def _password_inputs_are_empty(html: str) -> None:
    for tag in re.findall(r"<input[^>]*type=\"password\"[^>]*>", html):
        assert "value=" not in tag, tag


# --- hosts ---------------------------------------------------------------------------------------

def test_edit_host_changes_fields_groups_and_credential(app, admin_ui):
    admin_ui.post("/inventory/hosts", {"name": "db-1", "address": "10.0.0.5", "auth_method": "password",
                                       "password": SECRET, "groups": "db, prod"})
    admin_ui.post("/inventory/credentials", {"name": "ops", "kind": "agent", "username": "ops"})
    host_id, prod = _ids(app, Host, "db-1"), _ids(app, HostGroup, "prod")
    page = admin_ui.get(f"/inventory/hosts/{host_id}/edit").get_data(as_text=True)
    assert 'value="db-1"' in page and "one is stored; leave empty to keep it" in page and SECRET not in page
    _password_inputs_are_empty(page)
    assert 'href="/inventory/hosts/%d/edit"' % host_id in admin_ui.get("/inventory").get_data(as_text=True)
    cred = _ids(app, Credential, "ops")
    r = admin_ui.post(f"/inventory/hosts/{host_id}/edit", {
        "name": "db-main", "address": "10.0.0.6", "port": "2222", "username": "deploy", "auth_method": "password",
        "become": "sudo", "groups": [str(prod)], "credential": str(cred)})
    assert r.status_code == 302
    page = admin_ui.get("/inventory").get_data(as_text=True)
    assert "Host db-main changed" in page and "10.0.0.6:2222" in page and "credential ops" in page
    with get_db(app).session() as s:
        host = s.get(Host, host_id)
        assert [g.name for g in host.groups] == ["prod"] and host.password_encrypted is not None   # kept
        assert host.become == "sudo" and host.username == "deploy"
    # back to the host's own fields, no groups, agent login: the password goes
    r = admin_ui.post(f"/inventory/hosts/{host_id}/edit", {"name": "db-main", "address": "10.0.0.6", "port": "2222",
                                                           "auth_method": "agent", "become": "none", "credential": ""})
    assert r.status_code == 302
    with get_db(app).session() as s:
        host = s.get(Host, host_id)
        assert host.groups == [] and host.credential is None and host.password_encrypted is None
        assert host.username is None


def test_edit_host_errors_keep_the_input_and_never_the_password(app, admin_ui):
    admin_ui.post("/inventory/hosts", {"name": "db-1", "address": "10.0.0.5"})
    admin_ui.post("/inventory/hosts", {"name": "db-2", "address": "10.0.0.7"})
    host_id = _ids(app, Host, "db-1")
    r = admin_ui.post(f"/inventory/hosts/{host_id}/edit", {
        "name": "db-2", "address": "not an address!", "port": "99999", "auth_method": "password",
        "password": SECRET, "become": "none"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Nothing was changed" in html
    assert "already exists" in html or "neither an IP address" in html
    assert 'value="not an address!"' in html and 'value="99999"' in html and SECRET not in html
    _password_inputs_are_empty(html)
    r = admin_ui.post(f"/inventory/hosts/{host_id}/edit", {"name": HOSTILE, "address": "10.0.0.5", "port": "22",
                                                           "auth_method": "key", "become": "none"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and HOSTILE not in html and ESCAPED in html and "name must be" in html
    assert admin_ui.get("/inventory/hosts/999/edit").status_code == 404


def test_remove_host_asks_first_and_says_what_goes(app, admin_ui):
    host_id = import_recorded(app)
    page = admin_ui.get(f"/inventory/hosts/{host_id}/remove").get_data(as_text=True)
    assert "Remove host app-1?" in page and "scan result(s)" in page and "application(s) found go with it" in page
    assert "cannot be undone" in page and 'action="/inventory/hosts/%d/remove"' % host_id in page
    with get_db(app).session() as s:
        assert s.scalar(select(func.count()).select_from(Application)) > 0
    r = admin_ui.post(f"/inventory/hosts/{host_id}/remove")
    assert r.status_code == 302
    assert "Host app-1 removed, with its scans and findings" in admin_ui.get("/inventory").get_data(as_text=True)
    with get_db(app).session() as s:
        assert s.get(Host, host_id) is None
        assert s.scalar(select(func.count()).select_from(Application)) == 0
        assert s.scalar(select(func.count()).select_from(ScanHost)) == 0


def test_a_jump_host_in_use_is_not_removed(app, admin_ui):
    from migrator.credentials import CredentialCipher
    from migrator.services import hosts
    with get_db(app).session() as s:
        bastion = hosts.add_host(s, CredentialCipher(app.config), {"name": "bastion-1", "address": "10.213.80.5"})
        hosts.add_host(s, CredentialCipher(app.config), {"name": "db-1", "address": "10.213.80.6", "jump": "bastion-1"})
        bastion_id = bastion.id
    page = admin_ui.get(f"/inventory/hosts/{bastion_id}/remove").get_data(as_text=True)
    assert "It cannot go yet: it is the jump host of db-1" in page and "Remove the host</button>" not in page
    assert admin_ui.post(f"/inventory/hosts/{bastion_id}/remove").status_code == 302
    inventory = admin_ui.get("/inventory").get_data(as_text=True)
    assert "Host bastion-1 was not removed: host &#39;bastion-1&#39; is the jump host of hosts db-1" in inventory
    with get_db(app).session() as s:
        assert s.get(Host, bastion_id) is not None
        for i in range(12):              # many long names: the message stays short enough for a cookie
            hosts.add_host(s, CredentialCipher(app.config), {"name": f"{'x' * 250}-{i}", "address": "10.213.80.7",
                                                             "jump": "bastion-1"})
    r = admin_ui.post(f"/inventory/hosts/{bastion_id}/remove")
    assert r.status_code == 302 and len(r.headers.get("Set-Cookie", "")) < 4000
    assert "and 8 more" in admin_ui.get("/inventory").get_data(as_text=True)


# --- groups --------------------------------------------------------------------------------------

def test_groups_create_rename_describe_members_credential_delete(app, admin_ui):
    for name, address in (("web-1", "10.0.0.11"), ("web-2", "10.0.0.12")):
        admin_ui.post("/inventory/hosts", {"name": name, "address": address})
    admin_ui.post("/inventory/credentials", {"name": "deploy", "kind": "agent"})
    web1, web2 = _ids(app, Host, "web-1"), _ids(app, Host, "web-2")
    cred = _ids(app, Credential, "deploy")
    assert "New group" in admin_ui.get("/inventory").get_data(as_text=True)
    assert admin_ui.get("/inventory/groups/new").status_code == 200
    r = admin_ui.post("/inventory/groups", {"name": "web", "description": "the " + HOSTILE + " tier",
                                            "hosts": [str(web1)], "credential": str(cred)})
    assert r.status_code == 302
    page = admin_ui.get("/inventory").get_data(as_text=True)
    assert "Group web created" in page and HOSTILE not in page and ESCAPED in page
    group_id = _ids(app, HostGroup, "web")
    edit = admin_ui.get(f"/inventory/groups/{group_id}/edit").get_data(as_text=True)
    assert f'value="{web1}" checked' in edit and HOSTILE not in edit
    r = admin_ui.post(f"/inventory/groups/{group_id}/edit", {"name": "frontend", "description": "public",
                                                             "hosts": [str(web1), str(web2)], "credential": ""})
    assert r.status_code == 302
    with get_db(app).session() as s:
        group = s.get(HostGroup, group_id)
        assert group.name == "frontend" and group.description == "public" and group.credential is None
        assert sorted(h.name for h in group.hosts) == ["web-1", "web-2"]
    # a duplicate name: said in plain words, what was typed stays
    admin_ui.post("/inventory/groups", {"name": "backend"})
    r = admin_ui.post(f"/inventory/groups/{group_id}/edit", {"name": "backend", "description": "kept text",
                                                             "hosts": [str(web2)]})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "already exists" in html and 'value="kept text"' in html
    assert f'value="{web2}" checked' in html and f'value="{web1}" checked' not in html
    r = admin_ui.post("/inventory/groups", {"name": "bad name!", "description": "typed"})
    assert r.status_code == 422 and "name must be" in r.get_data(as_text=True)
    assert 'value="typed"' in r.get_data(as_text=True)
    confirm = admin_ui.get(f"/inventory/groups/{group_id}/remove").get_data(as_text=True)
    assert "Delete group frontend?" in confirm and "2 host(s) stay" in confirm
    assert admin_ui.post(f"/inventory/groups/{group_id}/remove").status_code == 302
    with get_db(app).session() as s:
        assert s.get(HostGroup, group_id) is None and s.get(Host, web1) is not None


# --- credentials ---------------------------------------------------------------------------------

def test_credentials_change_keep_and_delete_never_showing_the_password(app, admin_ui):
    admin_ui.post("/inventory/credentials", {"name": "ops", "username": "ops", "kind": "password",
                                             "password": SECRET})
    admin_ui.post("/inventory/hosts", {"name": "db-1", "address": "10.0.0.5"})
    cred_id, host_id = _ids(app, Credential, "ops"), _ids(app, Host, "db-1")
    admin_ui.post(f"/inventory/hosts/{host_id}/edit", {"name": "db-1", "address": "10.0.0.5", "port": "22",
                                                       "auth_method": "key", "become": "none",
                                                       "credential": str(cred_id)})
    page = admin_ui.get(f"/inventory/credentials/{cred_id}/edit").get_data(as_text=True)
    assert "A password is stored" in page and SECRET not in page and "db-1" in page
    _password_inputs_are_empty(page)
    r = admin_ui.post(f"/inventory/credentials/{cred_id}/edit", {"name": "ops-2", "username": "admin",
                                                                 "kind": "password", "password": ""})
    assert r.status_code == 302
    with get_db(app).session() as s:
        cred = s.get(Credential, cred_id)
        assert cred.name == "ops-2" and cred.username == "admin" and cred.password_encrypted is not None
    r = admin_ui.post(f"/inventory/credentials/{cred_id}/edit", {"name": "ops-2", "kind": "key",
                                                                 "password": SECRET})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "key_path" in html and SECRET not in html and 'value="ops-2"' in html
    confirm = admin_ui.get(f"/inventory/credentials/{cred_id}/remove").get_data(as_text=True)
    assert "Delete credential ops-2?" in confirm and "db-1" in confirm
    assert admin_ui.post(f"/inventory/credentials/{cred_id}/remove").status_code == 302
    with get_db(app).session() as s:
        assert s.get(Credential, cred_id) is None and s.get(Host, host_id).credential is None
    for path in ("/inventory", f"/inventory/hosts/{host_id}/edit"):
        assert SECRET not in admin_ui.get(path).get_data(as_text=True)


# --- roles and CSRF ------------------------------------------------------------------------------

ADMIN_POSTS = [
    ("/inventory/hosts/1/edit", {"name": "x", "address": "10.0.0.1"}),
    ("/inventory/hosts/1/remove", {}),
    ("/inventory/groups", {"name": "g2"}),
    ("/inventory/groups/1/edit", {"name": "g3"}),
    ("/inventory/groups/1/remove", {}),
    ("/inventory/credentials/1/edit", {"name": "c2", "kind": "agent"}),
    ("/inventory/credentials/1/remove", {}),
    ("/users", {"username": "mallory", "role": "admin", "password": PASSWORD, "password2": PASSWORD}),
    ("/users/1/role", {"role": "viewer"}),
    ("/users/1/password", {"password": "x" * 12, "password2": "x" * 12}),
    ("/users/1/disable", {}),
    ("/users/1/enable", {}),
]
ADMIN_PAGES = ["/inventory/hosts/1/edit", "/inventory/hosts/1/remove", "/inventory/groups/new",
               "/inventory/groups/1/edit", "/inventory/groups/1/remove", "/inventory/credentials/1/edit",
               "/inventory/credentials/1/remove", "/users", "/audit"]


@pytest.fixture
def inventory(app):
    with get_db(app).session() as s:
        from migrator.credentials import CredentialCipher
        from migrator.services import credentials, groups, hosts
        hosts.add_host(s, CredentialCipher(app.config), {"name": "h1", "address": "10.0.0.1"})
        groups.create_group(s, {"name": "g1"})
        credentials.create_credential(s, CredentialCipher(app.config), {"name": "c1", "kind": "agent"})


def test_only_admins_manage(app, inventory, viewer_ui, planner_ui):
    for path, data in ADMIN_POSTS:
        for ui in (viewer_ui, planner_ui):
            r = ui.post(path, data)
            assert r.status_code == 403 and b"needs the admin role" in r.data, path
    with get_db(app).session() as s:
        assert s.scalar(select(Host.name)) == "h1" and s.scalar(select(HostGroup.name)) == "g1"
        assert users.find_user(s, "mallory") is None


def test_admin_pages_refuse_others(app, inventory, viewer_ui, planner_ui, admin_ui):
    for path in ADMIN_PAGES:
        assert viewer_ui.get(path).status_code == 403 and planner_ui.get(path).status_code == 403, path
        assert admin_ui.get(path).status_code == 200, path


def test_viewer_sees_no_management_links(app, inventory, viewer_ui):
    page = viewer_ui.get("/inventory").get_data(as_text=True)
    assert "/edit" not in page and "/remove" not in page and "New group" not in page
    assert 'href="/users"' not in page and 'href="/audit"' not in page


def test_posts_without_csrf_are_refused(app, inventory, admin_ui):
    for path, data in ADMIN_POSTS:
        for token in (None, "forged"):
            r = admin_ui.client.post(path, data={**data, **({"csrf_token": token} if token else {})})
            assert r.status_code == 400 and b"security token" in r.data, path
    with get_db(app).session() as s:
        assert s.scalar(select(Host.name)) == "h1" and s.scalar(select(HostGroup.name)) == "g1"
        assert users.find_user(s, "mallory") is None
        assert not users.get_user(s, "admin-user").disabled


# --- users ---------------------------------------------------------------------------------------

def _user_id(app, name):
    with get_db(app).session() as s:
        return users.get_user(s, name).id


def test_create_user_and_log_in(app, admin_ui):
    r = admin_ui.post("/users", {"username": "alice", "role": "planner", "password": SECRET + "!",
                                 "password2": SECRET + "!"})
    assert r.status_code == 302
    page = admin_ui.get("/users").get_data(as_text=True)
    assert "User alice created with the planner role" in page and SECRET not in page
    _password_inputs_are_empty(page)
    client = app.test_client(token=None)
    assert login(client, "alice", SECRET + "!").status_code == 302


def test_create_user_errors_keep_the_input(app, admin_ui):
    r = admin_ui.post("/users", {"username": "bob", "role": "admin", "password": SECRET, "password2": "other"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "passwords differ" in html and 'value="bob"' in html and SECRET not in html
    assert '<option value="admin" selected>' in html
    r = admin_ui.post("/users", {"username": "bob", "role": "viewer", "password": "short", "password2": "short"})
    assert r.status_code == 422 and "password must be 10 to" in r.get_data(as_text=True)
    r = admin_ui.post("/users", {"username": HOSTILE, "role": "viewer", "password": SECRET, "password2": SECRET})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and HOSTILE not in html and ESCAPED in html and "username must be" in html
    r = admin_ui.post("/users", {"username": "ADMIN-user", "role": "viewer", "password": SECRET,
                                 "password2": SECRET})
    assert r.status_code == 422 and "exists already" in r.get_data(as_text=True)


def test_role_password_disable_enable(app, admin_ui):
    make_user(app, "carol", "viewer")
    carol = app.test_client(token=None)
    assert login(carol, "carol").status_code == 302
    uid = _user_id(app, "carol")
    assert admin_ui.post(f"/users/{uid}/role", {"role": "planner"}).status_code == 302
    assert "carol now has the planner role" in admin_ui.get("/users").get_data(as_text=True)
    assert b"<small>(planner)</small>" in carol.get("/").data                # at once, same session
    r = admin_ui.post(f"/users/{uid}/role", {"role": "root"})
    assert "role must be one of" in admin_ui.get(r.headers["Location"]).get_data(as_text=True)
    admin_ui.post(f"/users/{uid}/password", {"password": "a brand new password", "password2": "different"})
    assert "passwords differ" in admin_ui.get("/users").get_data(as_text=True)
    admin_ui.post(f"/users/{uid}/password", {"password": "a brand new password", "password2": "a brand new password"})
    assert carol.get("/").status_code == 302                                  # her session ended
    assert login(carol, "carol", "a brand new password").status_code == 302
    admin_ui.post(f"/users/{uid}/disable")
    page = admin_ui.get("/users").get_data(as_text=True)
    assert "carol is disabled" in page and "disabled</span>" in page
    assert carol.get("/").status_code == 302
    assert login(carol, "carol", "a brand new password").status_code == 401
    admin_ui.post(f"/users/{uid}/enable")
    assert login(carol, "carol", "a brand new password").status_code == 302
    assert "a brand new password" not in admin_ui.get("/users").get_data(as_text=True)


def test_the_last_admin_cannot_lock_themselves_out(app, admin_ui):
    me = _user_id(app, "admin-user")
    page = admin_ui.get("/users").get_data(as_text=True)
    assert f'action="/users/{me}/disable"' not in page                  # no button to disable yourself
    r = admin_ui.post(f"/users/{me}/disable")
    assert "You cannot disable your own account" in admin_ui.get(r.headers["Location"]).get_data(as_text=True)
    r = admin_ui.post(f"/users/{me}/role", {"role": "viewer"})
    assert "the last enabled admin" in admin_ui.get(r.headers["Location"]).get_data(as_text=True)
    with get_db(app).session() as s:
        user = users.get_user(s, "admin-user")
        assert user.role == "admin" and not user.disabled
    # with a second admin, stepping down is allowed; disabling yourself never is
    make_user(app, "dana", "admin")
    r = admin_ui.post(f"/users/{me}/disable")
    with get_db(app).session() as s:
        assert not users.get_user(s, "admin-user").disabled
    r = admin_ui.post(f"/users/{me}/role", {"role": "planner"})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert admin_ui.get("/users").status_code == 403
    # dana, now the one admin, cannot demote herself either
    dana = app.test_client(token=None)
    login(dana, "dana")
    ui = UI(dana)
    dana_id = _user_id(app, "dana")
    ui.post(f"/users/{dana_id}/role", {"role": "viewer"})
    with get_db(app).session() as s:
        assert users.get_user(s, "dana").role == "admin"


def test_own_new_password_keeps_the_session(app, admin_ui):
    me = _user_id(app, "admin-user")
    r = admin_ui.post(f"/users/{me}/password", {"password": "my new long password", "password2": "my new long password"})
    assert r.status_code == 302 and admin_ui.get("/users").status_code == 200


# --- the audit log -------------------------------------------------------------------------------

def _rows(response) -> str:
    """The events table's rows of an audit page."""
    html = response.get_data(as_text=True)
    return html.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in html else ""


def test_audit_page_newest_first_filters_and_paging(app, admin_ui):
    admin_ui.post("/inventory/hosts", {"name": "db-1", "address": "10.0.0.5"})
    admin_ui.post("/inventory/groups", {"name": "prod"})
    with get_db(app).session() as s:
        audit.act_as(audit.Actor("token:ci-bot", "10.1.1.1"))
        for i in range(60):
            audit.record(s, "scan.create", f"scan {i}", hosts=1)
        audit.record(s, "host.update", HOSTILE, fields=["name", HOSTILE])
        audit.act_as(audit.SYSTEM)
    html = admin_ui.get("/audit").get_data(as_text=True)
    assert HOSTILE not in html and ESCAPED in html
    ids = [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    older = re.search(r'<a href="([^"]+)" rel="next">Older', html).group(1).replace("&amp;", "&")
    html2 = admin_ui.get(older).get_data(as_text=True)
    ids2 = [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html2)]
    assert ids2 and max(ids2) < min(ids) and "Newest" in html2
    # filters: who, what (whole action or a prefix)
    html = _rows(admin_ui.get("/audit?actor=user:admin-user"))
    assert "host.create" in html and "group.create" in html and "scan.create" not in html
    html = _rows(admin_ui.get("/audit?action=host."))
    assert "host.create" in html and "host.update" in html and "group.create" not in html
    html = _rows(admin_ui.get("/audit?action=group.create"))
    assert html.count('<tr data-id=') == 1 and "prod" in html
    html = admin_ui.get("/audit?action=scan.create&limit=25").get_data(as_text=True)
    assert html.count('<tr data-id=') == 25 and "limit=25" in html
    html = admin_ui.get("/audit?actor=nobody").get_data(as_text=True)
    assert "No event matches" in html
    assert admin_ui.get("/audit?before=abc&limit=-1").status_code == 200


# --- jump hosts ----------------------------------------------------------------------------------

def test_jump_host_in_the_host_and_group_forms(app, admin_ui):
    from migrator.web.manage import jump_supported
    if not jump_supported():
        pytest.skip("the hosts service takes no jump host yet")
    admin_ui.post("/inventory/hosts", {"name": "bastion", "address": "10.0.0.1"})
    assert 'name="jump"' in admin_ui.get("/inventory").get_data(as_text=True)
    bastion = _ids(app, Host, "bastion")
    r = admin_ui.post("/inventory/hosts", {"name": "db-1", "address": "10.0.0.5", "jump": str(bastion)})
    assert r.status_code == 302
    db1 = _ids(app, Host, "db-1")
    page = admin_ui.get("/inventory").get_data(as_text=True)
    assert "through bastion" in page
    edit = admin_ui.get(f"/inventory/hosts/{db1}/edit").get_data(as_text=True)
    assert f'<option value="{bastion}" selected>bastion</option>' in edit
    # a host cannot be its own jump host: said, and what was typed stays
    r = admin_ui.post(f"/inventory/hosts/{bastion}/edit", {"name": "bastion", "address": "10.0.0.1", "port": "22",
                                                           "auth_method": "key", "become": "none",
                                                           "username": "typed", "jump": str(bastion)})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "jump" in html and 'value="typed"' in html
    r = admin_ui.post(f"/inventory/hosts/{db1}/edit", {"name": "db-1", "address": "10.0.0.5", "port": "22",
                                                       "auth_method": "key", "become": "none", "jump": ""})
    assert r.status_code == 302
    with get_db(app).session() as s:
        assert s.get(Host, db1).jump_host is None
    r = admin_ui.post("/inventory/groups", {"name": "dbs", "hosts": [str(db1)], "jump": str(bastion)})
    assert r.status_code == 302
    with get_db(app).session() as s:
        group = s.scalar(select(HostGroup).where(HostGroup.name == "dbs"))
        assert group.jump_host.name == "bastion"
        group_id = group.id
    edit = admin_ui.get(f"/inventory/groups/{group_id}/edit").get_data(as_text=True)
    assert f'<option value="{bastion}" selected>bastion</option>' in edit
    assert "through bastion" in admin_ui.get("/inventory").get_data(as_text=True)
