"""API tokens: created with a role, kept only as a SHA-256 hash, revoked, checked on each request.

The secret ("mgr_" + 43 URL-safe characters) is shown once, when the token is created; the
database keeps its hash and its first characters (the prefix) so people can tell tokens apart.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrator.errors import Conflict, InputError, NotFound
from migrator.models import ApiToken, utcnow
from migrator.services import audit

ROLES = ("viewer", "planner", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
SECRET_PREFIX = "mgr_"
PREFIX_LENGTH = 12
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 ._@-]{0,98}[A-Za-z0-9._@-])?\Z")
# last_used_at is written at most this often per token (every request would be a write)
TOUCH_INTERVAL = timedelta(seconds=60)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def validate_token_input(name: Any, role: Any) -> tuple[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(name, str) or not _NAME.match(name):
        errors["name"] = ("name must be 1-100 letters, digits, spaces, '.', '_', '@' or '-', "
                          "starting with a letter or digit and not ending in a space")
    if role not in ROLES:
        errors["role"] = f"role must be one of: {', '.join(ROLES)}"
    if errors:
        raise InputError("; ".join(errors.values()), next(iter(errors)), errors)
    return name, role


def create_token(session: Session, name: Any, role: Any) -> tuple[ApiToken, str]:
    """A new token and its secret; the secret is not stored and cannot be shown again."""
    name, role = validate_token_input(name, role)
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))) is not None:
        # one live token per name: the audit log names the token that acted
        raise Conflict(f"a token named {name!r} is in use: revoke it first, or choose another name", "name")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, role=role, token_hash=hash_secret(secret), prefix=secret[:PREFIX_LENGTH])
    session.add(token)
    session.flush()
    audit.record(session, "token.create", token.name, token_id=token.id, role=token.role)
    return token, secret


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The live (not revoked) token with this secret, or None; notes when it was last used."""
    if not secret or len(secret) > 200:
        return None
    digest = hash_secret(secret)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest) or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
        token.last_used_at = now
    return token


def allows(role: str, needed: str) -> bool:
    return RANK.get(role, -1) >= RANK[needed]


def get_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id} does not exist", "token_id")
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent); it is kept, revoked, so its use can still be told."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, "token.revoke", token.name, token_id=token.id)
        session.flush()
    return token


def token_dict(token: ApiToken) -> dict[str, Any]:
    """What may be shown of a token: never its secret nor its hash."""
    return {"id": token.id, "name": token.name, "role": token.role, "prefix": token.prefix,
            "created_at": token.created_at.isoformat(),
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
            "revoked": token.revoked_at is not None}
