"""Alembic environment: migrates the database named by the config, or by migrator's settings."""
from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from migrator import models  # noqa: F401  (registers every table on Base.metadata)
from migrator.config import load_settings
from migrator.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _render_item(type_, obj, autogen_context):
    """Write our UTCDateTime as a plain sa.DateTime so migrations never import the models."""
    if type_ == "type" and isinstance(obj, models.UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _url() -> str:
    return config.attributes.get("url") or load_settings()["DATABASE_URL"]


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, compare_type=True, render_item=_render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # SQLite alters a table by copying it and dropping the old one: with foreign keys on,
                # that drop would cascade and delete every row that refers to it.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      render_item=_render_item)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
