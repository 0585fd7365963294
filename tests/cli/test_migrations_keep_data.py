"""Alembic on a populated database (SQLite, or PostgreSQL under MIGRATOR_TEST_DB=postgresql):
from the first revision to the newest every row stays, and a one-step downgrade and back works."""
from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from migrator import migrate

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "hosts" / "lab-app-1"
FIRST_TABLES = ("hosts", "scans", "scan_hosts", "snapshots", "applications", "ports", "state_locations", "peers",
                "plans")


def _columns(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: sorted(c["name"] for c in inspect(conn).get_columns(t)) for t in FIRST_TABLES}
    finally:
        engine.dispose()


def _fingerprint(url: str, columns: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    """Rows per table and a digest of the given columns (those both schemas have)."""
    engine = create_engine(url)
    try:
        out = {}
        with engine.connect() as conn:
            for table, cols in columns.items():
                rows = conn.execute(text(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{table}" '
                                         "ORDER BY id")).all()
                out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return out
    finally:
        engine.dispose()


def _populate(cli) -> None:
    assert cli("hosts", "add", "app-1", "--address", "10.213.66.10").exit_code == 0
    assert cli("hosts", "add", "db-1", "--address", "10.213.66.11", "--sudo", "--user", "ops").exit_code == 0
    assert cli("import", "app-1", str(CASE)).exit_code == 0
    assert cli("plan", "export", "-o", "/dev/null").exit_code == 0


def test_upgrade_from_the_first_revision_keeps_every_row(cli, settings):
    url = settings["DATABASE_URL"]
    migrate.upgrade(url)
    _populate(cli)
    migrate.downgrade(url, "0001")                 # the data as the first schema holds it
    columns = _columns(url)
    before = _fingerprint(url, columns)
    assert before["applications"][0] == 2 and before["snapshots"][0] == 1 and before["plans"][0] == 1
    migrate.upgrade(url)
    assert _fingerprint(url, columns) == before    # same rows, same values, after every migration since


def test_one_step_downgrade_and_back(cli, settings):
    url = settings["DATABASE_URL"]
    migrate.upgrade(url)
    _populate(cli)
    newest = _columns(url)
    migrate.downgrade(url, "-1")
    older = _columns(url)
    columns = {t: [c for c in cols if c in older[t]] for t, cols in newest.items()}   # those both schemas have
    migrate.upgrade(url)
    before = _fingerprint(url, columns)
    migrate.downgrade(url, "-1")
    assert _fingerprint(url, columns) == before
    migrate.upgrade(url)
    assert _fingerprint(url, columns) == before
    assert cli("apps", "--json").exit_code == 0     # and the service still reads it


def test_the_head_read_from_the_files_is_alembics(tmp_path):
    """`upgrade` skips Alembic when the database is at the head it reads from migrations/versions."""
    from alembic.script import ScriptDirectory

    from migrator import migrate
    assert migrate.head_revision() == ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    url = f"sqlite:///{tmp_path}/m.db"
    assert migrate.current_revision(url) is None
    migrate.upgrade(url, "0004")
    assert migrate.current_revision(url) == "0004"
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()


def test_a_new_sqlite_database_is_its_owners_alone(tmp_path):
    from migrator import migrate
    migrate.upgrade(f"sqlite:///{tmp_path}/new/m.db")
    assert oct((tmp_path / "new" / "m.db").stat().st_mode & 0o777) == "0o600"
