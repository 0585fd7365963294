"""Users of the web UI (managed with `migrator users`): created with a role, passwords kept only as
salted hashes (werkzeug's scrypt), disabled rather than deleted. The roles are the API tokens'
(viewer < planner < admin)."""
from __future__ import annotations

import functools
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from migrator.errors import InputError, NotFound
from migrator.models import User, utcnow
from migrator.services.tokens import RANK, ROLES
from migrator.services import audit

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\Z")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024


def generate_password_hash(password: str) -> str:
    """werkzeug's salted scrypt hash (imported on first use: most CLI commands never hash)."""
    from werkzeug.security import generate_password_hash as generate

    return generate(password)


def check_password_hash(pwhash: str, password: str) -> bool:
    from werkzeug.security import check_password_hash as check

    return check(pwhash, password)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so both answers take as long."""
    return generate_password_hash("not a password of anyone")


def check_username(value: Any) -> str:
    if not isinstance(value, str) or not _USERNAME.match(value):
        raise InputError("username must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter "
                         "or digit", "username")
    return value


def check_password(value: Any) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise InputError(f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters", "password")
    return value


def check_role(value: Any) -> str:
    if value not in ROLES:
        raise InputError(f"role must be one of: {', '.join(ROLES)}", "role")
    return value


def find_user(session: Session, username: str) -> User | None:
    """The user of this name, case-insensitively (names are unique that way too)."""
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def create_user(session: Session, username: Any, password: Any, role: Any) -> User:
    username, role = check_username(username), check_role(role)
    password = check_password(password)
    if find_user(session, username) is not None:
        raise InputError(f"a user named {username!r} exists already", "username")
    user = User(username=username, password_hash=generate_password_hash(password), role=role, disabled=False)
    session.add(user)
    session.flush()
    audit.record(session, "user.create", user.username, role=role)
    return user


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username) if isinstance(username, str) else None
    if user is None:
        raise NotFound(f"no user named {str(username)[:64]!r}", "username")
    return user


def set_password(session: Session, user: User, password: Any) -> User:
    user.password_hash = generate_password_hash(check_password(password))
    audit.record(session, "user.password", user.username)
    session.flush()
    return user


def set_disabled(session: Session, user: User, disabled: bool) -> User:
    user.disabled = disabled
    audit.record(session, "user.disable" if disabled else "user.enable", user.username)
    session.flush()
    return user


def set_role(session: Session, user: User, role: Any) -> User:
    user.role = check_role(role)
    audit.record(session, "user.role", user.username, role=user.role)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The enabled user with this name and password, else None (the same time either way)."""
    if not isinstance(username, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD \
            or len(username) > 64:
        return None
    user = find_user(session, username)
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is None or not ok or user.disabled:
        return None
    user.last_login_at = utcnow()
    return user


def allows(role: str, needed: str) -> bool:
    return RANK.get(role, -1) >= RANK[needed]


def user_dict(user: User) -> dict[str, Any]:
    """What may be shown of a user: never the password hash."""
    return {"id": user.id, "username": user.username, "role": user.role, "disabled": user.disabled,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None}
