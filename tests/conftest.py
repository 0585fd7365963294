"""Shared fixtures: an app on a fresh SQLite database upgraded by Alembic, its client and CLI."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from migrator import create_app, get_db, migrate  # noqa: E402


@pytest.fixture
def settings(tmp_path):
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'migrator.db'}", "INSTANCE_PATH": str(tmp_path / "instance"),
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
