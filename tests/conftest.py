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
            "SSH_CONNECT_TIMEOUT": 5.0, "SSH_COMMAND_TIMEOUT": 60.0}


@pytest.fixture
def app(settings):
    migrate.upgrade(settings["DATABASE_URL"])
    application = create_app(settings)
    yield application
    application.extensions["migrator.jobs"].shutdown()
    get_db(application).engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli(settings, monkeypatch):
    """Runs `migrator ...` in-process against the test database and instance folder."""
    from migrator.cli import main

    monkeypatch.setenv("MIGRATOR_DATABASE_URL", settings["DATABASE_URL"])
    for key in ("INSTANCE_PATH", "SSH_CONFIG", "SSH_KNOWN_HOSTS"):
        monkeypatch.setenv(f"MIGRATOR_{key}", settings[key])
    runner = CliRunner()
    return lambda *args, **kw: runner.invoke(main, list(args), catch_exceptions=False, **kw)
