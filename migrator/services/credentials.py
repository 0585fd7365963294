"""Shared SSH credentials: write-only (a password goes in encrypted and never comes out), attached
to hosts or groups. A scan uses the host's credential, else its first group's, else the host's own
fields."""
from __future__ import annotations

import re
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrator.credentials import CredentialCipher
from migrator.db import flush_unique
from migrator.errors import InputError, NotFound
from migrator.models import Credential, Host, HostGroup
from migrator.services.hosts import CHECKS, MAX_ID
from migrator.text import printable
from migrator.services import audit

KINDS = ("key", "password", "agent")
FIELDS = ("name", "username", "kind", "key_path", "password")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z")


def validate_credential(data: Mapping[str, Any], partial: bool = False,
                        current: Credential | None = None) -> dict[str, Any]:
    """Checked credential fields; one InputError names every bad field."""
    errors: dict[str, str] = {}
    for field in sorted(set(data) - set(FIELDS)):
        errors[field[:40]] = f"unknown field {field[:40]!r}; known fields: {', '.join(FIELDS)}"
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            errors["name"] = "name must be 1-255 letters, digits, '.', '_' or '-', starting with a letter or digit"
        else:
            out["name"] = name
    if "kind" in data or not partial:
        kind = data.get("kind", "key")
        if kind not in KINDS:
            errors["kind"] = f"kind must be one of: {', '.join(KINDS)}"
        else:
            out["kind"] = kind
    for field, check in (("username", CHECKS["username"]), ("key_path", CHECKS["key_path"]),
                         ("password", CHECKS["password"])):
        if field not in data:
            continue
        if data[field] is None:
            out[field] = None
            continue
        try:
            out[field] = check(data[field])
        except ValueError as exc:
            errors[field] = str(exc)
    kind = out.get("kind", current.kind if current else "key")
    key_path = out["key_path"] if "key_path" in out else (current.key_path if current else None)
    has_password = ("password" in out and out["password"]) or \
        ("password" not in out and current is not None and current.password_encrypted is not None)
    if not errors:
        if kind == "key" and not key_path:
            errors["key_path"] = "kind 'key' needs key_path: a private key file on the migrator server"
        elif kind == "password" and not has_password:
            errors["password"] = "kind 'password' needs a password"
        elif kind != "key" and out.get("key_path"):
            errors["key_path"] = f"key_path is used only with kind 'key', not {kind!r}"
        elif kind != "password" and out.get("password"):
            errors["password"] = f"a password is used only with kind 'password', not {kind!r}"
    if errors:
        raise InputError("; ".join(errors.values()), next(iter(errors)), errors)
    return out


def _apply(cred: Credential, cipher: CredentialCipher, fields: Mapping[str, Any]) -> None:
    for key, value in fields.items():
        if key == "password":
            cred.password_encrypted = cipher.encrypt(value) if value else None
        else:
            setattr(cred, key, value)
    if cred.kind != "key":
        cred.key_path = None
    if cred.kind != "password":
        cred.password_encrypted = None


def _unique_name(session: Session, name: str, own_id: int | None = None) -> None:
    other = session.scalar(select(Credential.id).where(Credential.name == name))
    if other is not None and other != own_id:
        raise InputError(f"a credential named {name!r} already exists", "name")


def create_credential(session: Session, cipher: CredentialCipher, data: Mapping[str, Any]) -> Credential:
    fields = validate_credential(data)
    _unique_name(session, fields["name"])
    cred = Credential()
    _apply(cred, cipher, fields)
    flush_unique(session, InputError(f"a credential named {fields['name']!r} already exists", "name"), cred)
    audit.record(session, "credential.create", cred.name, credential_id=cred.id, kind=cred.kind)
    return cred


def update_credential(session: Session, cipher: CredentialCipher, cred: Credential,
                      data: Mapping[str, Any]) -> Credential:
    fields = validate_credential(data, partial=True, current=cred)
    if "name" in fields:
        _unique_name(session, fields["name"], cred.id)
    _apply(cred, cipher, fields)
    flush_unique(session, InputError(f"a credential named {fields.get('name')!r} already exists", "name"))
    audit.record(session, "credential.update", cred.name, credential_id=cred.id, fields=audit.describe(fields))
    return cred


def get_credential(session: Session, credential_id: int) -> Credential:
    cred = session.get(Credential, credential_id)
    if cred is None:
        raise NotFound(f"credential {credential_id} does not exist", "credential_id")
    return cred


def find_credential(session: Session, ref: Any, field: str = "credential") -> Credential | None:
    """A credential by id or name; None for None (detach)."""
    if ref is None:
        return None
    if isinstance(ref, bool) or not isinstance(ref, (int, str)):
        raise InputError(f"{field} must be a credential id or name, or null", field)
    text = str(ref)
    cred = None
    if text.isascii() and text.isdigit() and int(text) <= MAX_ID:
        cred = session.get(Credential, int(text))
    cred = cred or session.scalar(select(Credential).where(Credential.name == text[:255]))
    if cred is None:
        raise NotFound(f"no credential with id or name {printable(text, 80)!r}", field)
    return cred


def delete_credential(session: Session, cred: Credential) -> None:
    audit.record(session, "credential.delete", cred.name, credential_id=cred.id)
    session.delete(cred)      # hosts and groups using it fall back (ON DELETE SET NULL)
    session.flush()


def credential_dict(session: Session, cred: Credential) -> dict[str, Any]:
    """What may be shown of a credential: never the password, only whether there is one."""
    hosts = list(session.scalars(select(Host.name).where(Host.credential_id == cred.id).order_by(Host.id)))
    groups = list(session.scalars(select(HostGroup.name).where(HostGroup.credential_id == cred.id)
                                  .order_by(HostGroup.id)))
    return {"id": cred.id, "name": cred.name, "username": cred.username, "kind": cred.kind,
            "key_path": cred.key_path, "has_password": cred.password_encrypted is not None,
            "created_at": cred.created_at.isoformat(), "hosts": hosts, "groups": groups}


def effective_credential(host: Host) -> Credential | None:
    """The credential a scan of `host` uses: its own, else its first group's (by group id)."""
    if host.credential is not None:
        return host.credential
    for group in host.groups:
        if group.credential is not None:
            return group.credential
    return None


def rotate_secrets(session: Session, cipher: CredentialCipher) -> int:
    """Encrypt every stored password again with the cipher's first key; returns how many. All
    rows change in the caller's transaction, so a failure leaves every one as it was."""
    count = 0
    for model, kind in ((Host, "host"), (Credential, "credential")):
        for row in session.scalars(select(model).where(model.password_encrypted.is_not(None))):
            try:
                row.password_encrypted = cipher.rotate(row.password_encrypted)
            except InputError as exc:
                raise InputError(f"{kind} {printable(row.name, 80)!r}: {exc}; nothing was re-encrypted") from None
            count += 1
    audit.record(session, "credential.rotate_key", "credential key", passwords=count)
    session.flush()
    return count
