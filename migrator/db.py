"""Engine and sessions. One Database per app; request and job code open their own sessions."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from migrator.errors import InputError


class Base(DeclarativeBase):
    """Declarative base of every model; Alembic compares against its metadata."""


def make_engine(url: str) -> Engine:
    """An engine that is safe to share between the request threads and scan workers."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL: readers never wait for a scan's writes
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL's NORMAL: a commit survives the process being killed, and no fsync per progress
            # update (only a power loss may forget the last commits; the file stays consistent)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def flush_unique(session: Session, taken: InputError, *new: object) -> None:
    """Add `new` and flush in a savepoint: a unique constraint lost to a concurrent writer becomes
    `taken` (a clear 422), and the rest of the session's work stays usable."""
    session.add_all(new)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise taken from None


class Database:
    """The engine plus a session factory, created from a URL without touching the database."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
