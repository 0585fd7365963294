"""Adding, listing and checking hosts. Input is validated here, once, for the CLI and the API."""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrator.credentials import CredentialCipher
from migrator.errors import InputError, NotFound
from migrator.models import Host

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$", re.IGNORECASE)
AUTH_METHODS = ("key", "agent", "password")
BECOME = ("none", "sudo")
FIELDS = ("name", "address", "port", "username", "auth_method", "key_path", "password", "become")


def _address(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError("address is required: an IP address or a DNS name", "address")
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if not _HOSTNAME.match(value) or value.replace(".", "").isdigit():
        raise InputError(f"address {value[:80]!r} is neither an IP address nor a valid host name", "address")
    return value


def validate_host(data: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
    """Check and normalise host fields; raise InputError naming the first bad field."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise InputError(f"unknown field(s): {', '.join(sorted(unknown))}", sorted(unknown)[0])
    out: dict[str, Any] = {}
    if "address" in data or not partial:
        out["address"] = _address(data.get("address"))
    if "name" in data or not partial:
        name = data.get("name") or out.get("address")
        if not isinstance(name, str) or not _NAME.match(name):
            raise InputError("name must be 1-255 letters, digits, '.', '_' or '-', starting with a letter or digit", "name")
        out["name"] = name
    if "port" in data or not partial:
        port = data.get("port", 22)
        if port is None:
            port = 22
        if isinstance(port, bool) or not isinstance(port, (int, str)) or not str(port).isdigit() or not 1 <= int(port) <= 65535:
            raise InputError("port must be a whole number from 1 to 65535", "port")
        out["port"] = int(port)
    if data.get("username") is not None:
        if not isinstance(data["username"], str) or not _USER.match(data["username"]):
            raise InputError("username is not a valid login name", "username")
        out["username"] = data["username"]
    if "auth_method" in data or not partial:
        method = data.get("auth_method") or "key"
        if method not in AUTH_METHODS:
            raise InputError(f"auth_method must be one of {', '.join(AUTH_METHODS)}", "auth_method")
        out["auth_method"] = method
    if data.get("key_path") is not None:
        if not isinstance(data["key_path"], str) or not data["key_path"] or "\0" in data["key_path"]:
            raise InputError("key_path must be a file path", "key_path")
        out["key_path"] = data["key_path"]
    if "password" in data and data["password"] is not None:
        if not isinstance(data["password"], str) or not data["password"]:
            raise InputError("password must be a non-empty string", "password")
        out["password"] = data["password"]
    if "become" in data or not partial:
        become = data.get("become") or "none"
        if become not in BECOME:
            raise InputError(f"become must be one of {', '.join(BECOME)}", "become")
        out["become"] = become
    if out.get("auth_method") == "password" and not out.get("password") and not partial:
        raise InputError("auth_method 'password' needs a password", "password")
    return out


def add_host(session: Session, cipher: CredentialCipher, data: Mapping[str, Any]) -> Host:
    fields = validate_host(data)
    if session.scalar(select(Host).where(Host.name == fields["name"])) is not None:
        raise InputError(f"a host named {fields['name']!r} already exists", "name")
    password = fields.pop("password", None)
    host = Host(**fields)
    if password:
        host.password_encrypted = cipher.encrypt(password)
    session.add(host)
    session.flush()
    return host


def get_host(session: Session, host_id: int) -> Host:
    host = session.get(Host, host_id)
    if host is None:
        raise NotFound(f"host {host_id} does not exist", "host_id")
    return host


def find_hosts(session: Session, refs: list[str] | None) -> list[Host]:
    """Hosts by id or name; all hosts when `refs` is empty."""
    if not refs:
        return list(session.scalars(select(Host).order_by(Host.id)))
    hosts = []
    for ref in refs:
        host = session.get(Host, int(ref)) if str(ref).isdigit() else None
        host = host or session.scalar(select(Host).where(Host.name == str(ref)))
        if host is None:
            raise NotFound(f"no host with id or name {str(ref)[:80]!r}", "hosts")
        hosts.append(host)
    return hosts


def host_dict(host: Host) -> dict[str, Any]:
    """What may be shown of a host: never the password."""
    return {"id": host.id, "name": host.name, "address": host.address, "port": host.port,
            "username": host.username, "auth_method": host.auth_method, "key_path": host.key_path,
            "has_password": host.password_encrypted is not None, "become": host.become,
            "host_key": host.host_key, "created_at": host.created_at.isoformat()}
