"""The audit log: who scanned, changed and exported what.

The acting identity is set once where a request or command enters (API token, web user, CLI's OS
user) and read here, so the services record events without every caller passing it along. An
event is added to the caller's session: it commits with the change it describes, or not at all.
Details are short labels and counts only, never a password, key or token.
"""
from __future__ import annotations

import getpass
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrator.errors import InputError
from migrator.models import AuditEvent

MAX_TEXT = 200
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Actor:
    name: str      # "user:NAME", "token:NAME", "cli:OSUSER", "system"
    source: str    # the client's address, or "cli"


SYSTEM = Actor("system", "")
_current: ContextVar[Actor] = ContextVar("migrator_audit_actor", default=SYSTEM)


def act_as(actor: Actor) -> None:
    """Set who is acting for the rest of this request or command (its thread's context)."""
    _current.set(actor)


def current() -> Actor:
    return _current.get()


def cli_actor() -> Actor:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(f"cli:{who}"[:128], "cli")


def _short(value: Any) -> Any:
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, (list, tuple)):
        return [_short(v) for v in list(value)[:50]]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return str(value)[:MAX_TEXT]


def record(session: Session, action: str, target: str = "", **detail: Any) -> AuditEvent:
    actor = current()
    event = AuditEvent(actor=actor.name, source=actor.source[:64], action=action[:64], target=str(target)[:512],
                       detail={k: _short(v) for k, v in detail.items()})
    session.add(event)
    return event


def list_events(session: Session, *, limit: int = 100, before_id: int | None = None, actor: str | None = None,
                action: str | None = None, since: datetime | None = None) -> list[AuditEvent]:
    """Newest first. `action` matches a whole action or a prefix ending in '.' ("host." for all
    host changes)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit: must be 1 to {MAX_LIMIT}")
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True) if action.endswith(".")
                            else AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    return list(session.scalars(query))


def event_dict(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": event.at.isoformat(), "actor": event.actor, "source": event.source,
            "action": event.action, "target": event.target, "detail": dict(event.detail or {})}


def describe(fields: Mapping[str, Any]) -> list[str]:
    """The names of the fields a change touched, for the log (never their values)."""
    return sorted(k for k in fields if not k.startswith("_"))
