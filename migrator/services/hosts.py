"""Adding, listing and checking hosts. Input is validated here, once, for the CLI and the API."""
from __future__ import annotations

import csv
import io
import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Mapping

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from migrator.credentials import CredentialCipher
from migrator.errors import InputError, NotFound
from migrator.models import Host
from migrator.text import printable

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$", re.IGNORECASE)
MAX_ID = 2 ** 63 - 1
AUTH_METHODS = ("key", "agent", "password")
BECOME = ("none", "sudo")
FIELDS = ("name", "address", "port", "username", "auth_method", "key_path", "password", "become")


def _address(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("address is required: an IP address or a DNS name")
    if not isinstance(value, str):
        raise ValueError("address must be a string: an IP address or a DNS name")
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if not _HOSTNAME.match(value) or value.replace(".", "").isdigit():
        raise ValueError(f"address {value[:80]!r} is neither an IP address nor a valid host name")
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("name must be a string")
    if not _NAME.match(value):
        raise ValueError("name must be 1-255 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


def _port(value: Any) -> int:
    port = 22 if value is None else value
    if isinstance(port, bool) or not isinstance(port, (int, str)) or not str(port).isascii() \
            or not str(port).isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("port must be a whole number from 1 to 65535")
    return int(port)


def _username(value: Any) -> str:
    if not isinstance(value, str) or not _USER.match(value):
        raise ValueError("username must be a login name (letters, digits, '_', '.', '-'; at most 32)")
    return value


def _choice(field: str, allowed: tuple[str, ...], default: str) -> Any:
    def check(value: Any) -> str:
        value = default if value is None or value == "" else value
        if value not in allowed:
            raise ValueError(f"{field} must be one of: {', '.join(allowed)}")
        return value
    return check


def _key_path(value: Any) -> str:
    if not isinstance(value, str) or not value or "\0" in value:
        raise ValueError("key_path must be the path of a private key file")
    if len(value) > 1024:
        raise ValueError("key_path is longer than 1024 characters")
    path = os.path.expanduser(value)
    if not os.path.isfile(path):
        raise ValueError(f"key_path {value[:200]!r}: no such file on the migrator server")
    if not os.access(path, os.R_OK):
        raise ValueError(f"key_path {value[:200]!r}: the file is not readable by migrator")
    return path


def _password(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("password must be a non-empty string")
    if len(value) > 4096:
        raise ValueError("password is longer than 4096 characters")
    return value


CHECKS = {"address": _address, "name": _name, "port": _port, "username": _username,
          "auth_method": _choice("auth_method", AUTH_METHODS, "key"), "key_path": _key_path,
          "password": _password, "become": _choice("become", BECOME, "none")}
DEFAULTED = ("address", "name", "port", "auth_method", "become")   # always set on a new host


def validate_host(data: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
    """Check and normalise host fields; raise one InputError naming every bad field."""
    errors: dict[str, str] = {}
    for field in sorted(set(data) - set(FIELDS)):
        errors[field] = f"unknown field {field[:40]!r}; known fields: {', '.join(FIELDS)}"
    out: dict[str, Any] = {}
    for field, check in CHECKS.items():
        present = field in data and data[field] is not None
        if not present and (partial or field not in DEFAULTED):
            continue
        value = data.get(field)
        if field == "name" and value is None:
            value = out.get("address")
            if value is None:
                continue
            if ":" in value:
                errors["name"] = "name is required when the address is an IPv6 address"
                continue
        try:
            out[field] = check(value)
        except ValueError as exc:
            errors[field] = str(exc)
    method = out.get("auth_method")
    if method == "password" and not out.get("password") and not partial and "password" not in errors:
        errors["password"] = "auth_method 'password' needs a password"
    if method in ("agent", "password") and out.get("key_path"):
        errors["key_path"] = f"key_path is used only with auth_method 'key', not {method!r}"
    if method in ("key", "agent") and out.get("password"):
        errors["password"] = f"a password is used only with auth_method 'password', not {method!r}"
    if errors:
        raise InputError("; ".join(errors.values()), next(iter(errors)), errors)
    return out


def add_host(session: Session, cipher: CredentialCipher, data: Mapping[str, Any]) -> Host:
    fields = validate_host(data)
    taken = InputError(f"a host named {fields['name']!r} already exists", "name")
    if session.scalar(select(Host).where(Host.name == fields["name"])) is not None:
        raise taken
    host = _new_host(cipher, fields)
    try:
        with session.begin_nested():       # a concurrent add of the same name loses here, cleanly
            session.add(host)
            session.flush()
    except IntegrityError:
        raise taken from None
    return host


def _new_host(cipher: CredentialCipher, fields: Mapping[str, Any]) -> Host:
    fields = dict(fields)
    password = fields.pop("password", None)
    host = Host(**fields)
    if password:
        host.password_encrypted = cipher.encrypt(password)
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
    hosts: list[Host] = []
    for ref in refs:
        text = str(ref)
        is_id = text.isascii() and text.isdigit() and int(text) <= MAX_ID
        host = session.get(Host, int(text)) if is_id else None
        host = host or session.scalar(select(Host).where(Host.name == text[:255]))
        if host is None:
            raise NotFound(f"no host with id or name {printable(text, 80)!r}", "hosts")
        if host not in hosts:
            hosts.append(host)
    return hosts


def host_dict(host: Host) -> dict[str, Any]:
    """What may be shown of a host: never the password."""
    return {"id": host.id, "name": host.name, "address": host.address, "port": host.port,
            "username": host.username, "auth_method": host.auth_method, "key_path": host.key_path,
            "has_password": host.password_encrypted is not None, "become": host.become,
            "host_key": host.host_key, "created_at": host.created_at.isoformat()}


def remove_host(session: Session, host: Host) -> None:
    """Forget a host with its scans, snapshots and findings (the database cascades)."""
    session.delete(host)
    session.flush()


def accept_new_host_key(session: Session, host: Host) -> str | None:
    """Unpin the host key after a deliberate key change; the next scan pins what the host presents.
    Returns the key that was pinned."""
    old = host.host_key
    host.host_key, host.host_key_pinned_at = None, None
    session.flush()
    return old


# Column names other inventories use for our fields.
ALIASES = {"user": "username", "ansible_user": "username", "host": "address", "hostname": "address",
           "ansible_host": "address", "ip": "address", "key": "key_path", "identity_file": "key_path",
           "ansible_ssh_private_key_file": "key_path", "ansible_port": "port"}
IGNORED = ("host_key", "sudo_user", "plain_user", "groups", "group")


def read_inventory(path: Path) -> list[dict[str, Any]]:
    """Host records from a JSON or YAML file ({"hosts": [...]} or a list) or a CSV file with a header."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}", "file") from None
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        return [{k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()} for row in rows]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path} is neither JSON nor YAML: {str(exc)[:200]}", "file") from None
    records = data.get("hosts") if isinstance(data, dict) else data
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InputError(f"{path}: expected a list of hosts, or {{\"hosts\": [...]}}", "file")
    return records


def import_hosts(session: Session, cipher: CredentialCipher, records: list[Mapping[str, Any]]) -> list[Host]:
    """Add every record, or none: one InputError lists each bad record by position and name."""
    errors: dict[str, str] = {}
    valid: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, record in enumerate(records, 1):
        data = {ALIASES.get(k, k): v for k, v in record.items() if k not in IGNORED}
        label = f"host {i} ({printable(str(data.get('name') or data.get('address') or '?'), 60)})"
        try:
            fields = validate_host(data)
        except InputError as exc:
            errors[label] = str(exc)
            continue
        if fields["name"] in seen:
            errors[label] = "the name appears twice in the file"
        elif session.scalar(select(Host.id).where(Host.name == fields["name"])) is not None:
            errors[label] = f"a host named {fields['name']!r} already exists"
        else:
            valid.append(fields)
        seen.add(fields["name"])
    if errors:
        raise InputError("; ".join(f"{k}: {v}" for k, v in errors.items()), "file", errors)
    hosts = [_new_host(cipher, fields) for fields in valid]
    session.add_all(hosts)
    try:
        session.flush()
    except IntegrityError:
        raise InputError("another client added some of these hosts at the same time; nothing was imported",
                         "file") from None
    return hosts
