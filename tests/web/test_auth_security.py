"""Login, sessions, CSRF, roles, rate limits and security headers of the web UI."""
from __future__ import annotations

import pytest

from migrator import get_db
from migrator.web.security import LoginLimiter
from tests.web.helpers import PASSWORD, csrf_of, login, make_user

PAGES = ["/", "/inventory", "/plans"]


@pytest.mark.parametrize("path", PAGES + ["/scans/1", "/apps/1", "/plans/1", "/plans/1/plan.yaml"])
def test_every_page_needs_login(app, path):
    client = app.test_client(token=None)
    r = client.get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")


def test_a_very_long_address_goes_to_login_without_it(app):
    client = app.test_client(token=None)
    r = client.get("/inventory?q=" + "a" * 5000)
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    r = client.get("/login?next=/inventory?q=" + "a" * 5000)
    assert r.status_code == 200 and "a" * 3000 not in r.get_data(as_text=True)


def test_an_api_token_does_not_open_the_pages(client):
    r = client.get("/inventory")             # the test client sends an admin bearer token
    assert r.status_code == 302


def test_json_poll_and_posts_without_login_are_401(app):
    client = app.test_client(token=None)
    assert client.get("/scans/1.json").status_code == 401


def test_login_page_and_static_files_are_open(app):
    client = app.test_client(token=None)
    r = client.get("/login")
    assert r.status_code == 200 and b"Log in" in r.data and b"csrf_token" in r.data
    assert client.get("/static/ui.css").status_code == 200
    assert client.get("/static/scan.js").status_code == 200


def test_login_logout_round_trip(app):
    make_user(app, "alice", "viewer")
    client = app.test_client(token=None)
    r = login(client, "alice")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/")
    assert page.status_code == 200 and b"alice" in page.data and b"viewer" in page.data
    r = client.post("/logout", data={"csrf_token": csrf_of(page.data)})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(app):
    make_user(app, "alice", "viewer")
    client = app.test_client(token=None)
    token = csrf_of(client.get("/login").data)
    r = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token,
                                    "next": "/plans"})
    assert r.headers["Location"] == "/plans"
    client = app.test_client(token=None)
    token = csrf_of(client.get("/login").data)
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token,
                                        "next": evil})
        assert r.headers["Location"] == "/", evil
        client.post("/logout", data={"csrf_token": csrf_of(client.get("/").data)})
        token = csrf_of(client.get("/login").data)


def test_secure_cookie_behind_https(settings):
    from migrator import create_app, migrate
    migrate.upgrade(settings["DATABASE_URL"])
    app = create_app({**settings, "HTTPS": True})
    make_user(app, "alice", "viewer")
    client = app.test_client()
    token = csrf_of(client.get("/login", base_url="https://localhost").data)
    r = client.post("/login", base_url="https://localhost",
                    data={"username": "alice", "password": PASSWORD, "csrf_token": token},
                    headers={"Referer": "https://localhost/login"})
    assert r.status_code == 302, r.data
    assert "Secure" in r.headers["Set-Cookie"]
    assert "max-age" in r.headers["Strict-Transport-Security"]
    get_db(app).engine.dispose()


def test_wrong_password_unknown_and_disabled_users_are_refused_alike(app):
    make_user(app, "alice", "viewer")
    make_user(app, "bob", "admin")
    from migrator.services import users
    with get_db(app).session() as s:
        users.set_disabled(s, users.get_user(s, "bob"), True)
    client = app.test_client(token=None)
    for name, password in (("alice", "wrong password!"), ("nobody", PASSWORD), ("bob", PASSWORD)):
        r = login(client, name, password)
        assert r.status_code == 401 and b"Unknown user or wrong password" in r.data
        assert PASSWORD.encode() not in r.data


def test_disabling_a_user_ends_their_session(app, viewer_ui):
    from migrator.services import users
    assert viewer_ui.get("/").status_code == 200
    with get_db(app).session() as s:
        users.set_disabled(s, users.get_user(s, "viewer-user"), True)
    assert viewer_ui.get("/").status_code == 302


def test_a_new_password_ends_other_sessions(app, viewer_ui):
    from migrator.services import users
    with get_db(app).session() as s:
        users.set_password(s, users.get_user(s, "viewer-user"), "another long password")
    assert viewer_ui.get("/").status_code == 302


def test_post_without_csrf_token_is_refused(app, admin_ui):
    r = admin_ui.client.post("/inventory/hosts", data={"name": "db-1", "address": "10.0.0.5"})
    assert r.status_code == 400 and b"security token" in r.data
    r = admin_ui.client.post("/inventory/hosts", data={"name": "db-1", "address": "10.0.0.5",
                                                       "csrf_token": "forged"})
    assert r.status_code == 400
    assert b"db-1" not in admin_ui.get("/inventory").data
    client = app.test_client(token=None)
    make_user(app, "alice", "viewer")
    r = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 400


def test_api_needs_no_csrf_token(client):
    r = client.post("/api/v1/hosts", json={"name": "db-1", "address": "10.0.0.5"})
    assert r.status_code == 201


def test_login_rate_limit_per_user_and_address(app):
    make_user(app, "alice", "viewer")
    client = app.test_client(token=None)
    for _ in range(5):
        assert login(client, "alice", "wrong password!").status_code == 401
    r = login(client, "alice")                       # even the right password waits now
    assert r.status_code == 429 and "Retry-After" in r.headers and b"Too many failed logins" in r.data
    assert login(client, "ALICE").status_code == 429  # names are case-insensitive
    other = app.test_client(token=None)
    token = csrf_of(other.get("/login").data)
    r = other.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token},
                   environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert r.status_code == 302                       # another address is not locked out


def test_limiter_window_slides():
    limiter = LoginLimiter(max_failures=3, window=300)
    key = limiter.key("Alice", "10.0.0.1")
    for t in (0, 10, 20):
        assert limiter.retry_after(key, now=t) == 0
        limiter.failed(key, now=t)
    assert limiter.retry_after(key, now=30) == 271
    assert limiter.retry_after(key, now=301) == 0        # the first failure left the window
    limiter.failed(key, now=302)
    assert limiter.retry_after(key, now=303) > 0
    limiter.succeeded(key)
    assert limiter.retry_after(key, now=303) == 0


def test_limiter_memory_is_bounded():
    limiter = LoginLimiter(max_failures=5, window=300)
    limiter.MAX_KEYS = 100
    for i in range(1000):
        limiter.failed(limiter.key(f"u{i}", "10.0.0.1"), now=float(i))
    assert len(limiter._failures) <= 100


@pytest.mark.parametrize("path", ["/login", "/static/ui.css", "/api/v1/health", "/nope"])
def test_security_headers_on_every_response(app, path):
    r = app.test_client(token=None).get(path)
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "same-origin"


def test_security_headers_on_logged_in_pages(admin_ui):
    for path in PAGES:
        r = admin_ui.get(path)
        assert r.status_code == 200
        assert r.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in r.headers
        assert r.headers["Cache-Control"] == "no-store"
        assert b"<script>" not in r.data and b" style=" not in r.data and b"<style" not in r.data


ACTIONS = [  # (path, data, least role)
    ("/inventory/hosts", {"name": "db-9", "address": "10.0.0.9"}, "admin"),
    ("/inventory/credentials", {"name": "c1", "kind": "agent"}, "admin"),
    ("/inventory/hosts/1/accept-key", {}, "admin"),
    ("/scans", {}, "planner"),
    ("/plans", {}, "planner"),
    ("/overrides", {"workload": "app-1/redis", "replicas": "2"}, "planner"),
    ("/plans/1/validate", {}, "planner"),
]


@pytest.mark.parametrize("path,data,role", ACTIONS)
def test_roles_guard_actions_as_the_api_does(app, viewer_ui, planner_ui, path, data, role):
    r = viewer_ui.post(path, data)
    assert r.status_code == 403 and b"needs the" in r.data
    r = planner_ui.post(path, data)
    if role == "admin":
        assert r.status_code == 403
    else:
        assert r.status_code != 403


def test_viewer_sees_no_forms_it_cannot_use(viewer_ui):
    page = viewer_ui.get("/inventory").data
    assert b"Add a host" not in page and b"Import an inventory" not in page and b"Scan the ticked" not in page
    assert b"Ask an admin" in page


def test_a_nul_in_a_filter_is_a_bad_request_not_a_server_error(app):
    from tests.web.helpers import login, make_user
    make_user(app, "nul-admin", "admin")
    ui = app.test_client(token=None)
    login(ui, "nul-admin")
    for path in ("/inventory?q=a%00b", "/?software=r%00", "/audit?action=x%00"):
        assert ui.get(path).status_code == 400, path
