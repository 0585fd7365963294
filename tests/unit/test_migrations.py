"""The models and the Alembic migrations describe the same schema, on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from migrator import migrate, models  # noqa: F401
from migrator.db import Base

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _diff(url: str) -> list:
    migrate.upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_sqlite_migrations_match_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert _diff(url) == []
    engine = create_engine(url)
    assert {"hosts", "scans", "scan_hosts", "snapshots", "applications", "ports", "state_locations",
            "peers", "plans"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_downgrade_to_base_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    assert _diff(url) == []


@pytest.fixture
def pg_database():
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        conn = admin.connect()
    except Exception as exc:  # noqa: BLE001 - report why the server is unusable
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 not reachable: {exc}")
    name = f"migrator_{uuid.uuid4().hex[:10]}"
    conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        conn.close()
        admin.dispose()


def test_postgresql_migrations_match_models(pg_database):
    assert _diff(pg_database) == []
