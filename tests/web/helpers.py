"""Helpers of the web UI tests: users, logging in, CSRF tokens, a recorded host imported."""
from __future__ import annotations

import re
from pathlib import Path

from migrator import get_db
from migrator.collect.replay import read_case
from migrator.credentials import CredentialCipher
from migrator.services import hosts, scans
from migrator.services import users

ROOT = Path(__file__).resolve().parents[2]
LAB_APP = ROOT / "tests" / "fixtures" / "hosts" / "lab-app-1"
PASSWORD = "correct horse battery"
HOSTILE = '<script>alert("x")</script>'
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = _CSRF.search(text)
    assert match, "no CSRF token in the page"
    return match.group(1)


def make_user(app, name: str, role: str, password: str = PASSWORD) -> None:
    with get_db(app).session() as s:
        users.create_user(s, name, password, role)


def login(client, name: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").data)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token})


class UI:
    """A logged-in test client and the CSRF token of its session."""

    def __init__(self, client):
        self.client = client
        self.token = csrf_of(client.get("/").data)

    def get(self, *a, **kw):
        return self.client.get(*a, **kw)

    def post(self, url, data=None, **kw):
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kw)


def _ui(app, role: str) -> UI:
    make_user(app, f"{role}-user", role)
    client = app.test_client(token=None)
    r = login(client, f"{role}-user")
    assert r.status_code == 302, r.data
    return UI(client)


def import_recorded(app, name: str = "app-1", address: str = "10.213.66.10") -> int:
    """A host named `name` whose scan is the recorded lab VM; returns the host id."""
    with get_db(app).session() as s:
        host = hosts.add_host(s, CredentialCipher(app.config), {"name": name, "address": address})
        scans.import_case(s, host, read_case(LAB_APP))
        return host.id
