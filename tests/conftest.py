"""Shared fixtures: an app on a fresh database upgraded by Alembic, its client and CLI.

The database is a new SQLite file per test, or with MIGRATOR_TEST_DB=postgresql a PostgreSQL
database (127.0.0.1:5432, trust auth) made once per run, upgraded once and emptied after each
test: the same suite runs on both (CI runs both).
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask.testing import FlaskClient  # noqa: E402
from werkzeug.datastructures import Headers  # noqa: E402

from migrator import create_app, get_db, migrate  # noqa: E402


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this run (dropped at the end), or None on SQLite runs."""
    if os.environ.get("MIGRATOR_TEST_DB", "sqlite") != "postgresql":
        yield None
        return
    from sqlalchemy import create_engine, text
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"migrator_suite_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - say why the server cannot be used
        pytest.exit(f"MIGRATOR_TEST_DB=postgresql but {PG_ADMIN} is not usable: {exc}", returncode=1)
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    migrate.upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty(url: str) -> None:
    from sqlalchemy import create_engine, inspect, text
    engine = create_engine(url)
    try:
        tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def database_url(tmp_path, postgres_url):
    if postgres_url is None:
        yield f"sqlite:///{tmp_path / 'migrator.db'}"
        return
    yield postgres_url
    _empty(postgres_url)


@pytest.fixture
def settings(tmp_path, database_url):
    return {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "instance"),
            "SSH_CONFIG": str(tmp_path / "no-ssh-config"), "SSH_KNOWN_HOSTS": str(tmp_path / "no-known-hosts"),
            "SSH_CONNECT_TIMEOUT": 5.0, "SSH_COMMAND_TIMEOUT": 60.0, "SCAN_RETRY_BACKOFF": 0.05}


class TokenClient(FlaskClient):
    """A test client that sends `Authorization: Bearer <token>` unless the request sets its own
    Authorization header; app.test_client() gives an admin client, token=None an anonymous one."""

    token: str | None = None

    def __init__(self, *args, token: str | None = "app-default", **kwargs):
        super().__init__(*args, **kwargs)
        self.token = self.application.config.get("TEST_ADMIN_TOKEN") if token == "app-default" else token

    def open(self, *args, **kwargs):
        if self.token and not (args and not isinstance(args[0], str)):   # not a prebuilt request
            headers = Headers(kwargs.pop("headers", None) or {})
            if "Authorization" not in headers:
                headers["Authorization"] = f"Bearer {self.token}"
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def make_token(application, role: str, name: str | None = None) -> str:
    from migrator.services import tokens
    with get_db(application).session() as s:
        _token, secret = tokens.create_token(s, name or f"test-{role}", role)
    return secret


@pytest.fixture
def app(settings):
    migrate.upgrade(settings["DATABASE_URL"])
    application = create_app(settings)
    application.test_client_class = TokenClient
    application.config["TEST_ADMIN_TOKEN"] = make_token(application, "admin")
    yield application
    application.extensions["migrator.jobs"].shutdown()
    get_db(application).engine.dispose()


@pytest.fixture
def client(app):
    """An admin client (every test that is not about roles acts as an admin)."""
    return app.test_client()


@pytest.fixture
def admin_client(app):
    return app.test_client()


@pytest.fixture
def planner_client(app):
    return app.test_client(token=make_token(app, "planner"))


@pytest.fixture
def viewer_client(app):
    return app.test_client(token=make_token(app, "viewer"))


@pytest.fixture
def anon_client(app):
    """No token at all."""
    return app.test_client(token=None)


@pytest.fixture
def cli(settings, monkeypatch):
    """Runs `migrator ...` in-process against the test database and instance folder."""
    from migrator.cli import main

    monkeypatch.setenv("MIGRATOR_DATABASE_URL", settings["DATABASE_URL"])
    for key in ("INSTANCE_PATH", "SSH_CONFIG", "SSH_KNOWN_HOSTS", "SCAN_RETRY_BACKOFF"):
        monkeypatch.setenv(f"MIGRATOR_{key}", str(settings[key]))
    runner = CliRunner()
    return lambda *args, **kw: runner.invoke(main, list(args), catch_exceptions=False, **kw)
