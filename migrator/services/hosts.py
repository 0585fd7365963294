"""Adding, listing and checking hosts. Input is validated here, once, for the CLI and the API."""
from __future__ import annotations

import csv
import io
import ipaddress
import os
import re
import shlex
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrator.credentials import CredentialCipher
from migrator.db import flush_unique
from migrator.errors import Conflict, InputError, NotFound
from migrator.models import Host, HostGroup
from migrator.text import printable
from migrator.services import audit

_HOSTNAME = re.compile(r"^(?=.{1,253}\Z)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?\Z")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?\Z", re.IGNORECASE)
MAX_ID = 2 ** 31 - 1   # the largest id an Integer primary key holds (PostgreSQL: 32 bits)
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
        errors[field] = f"unknown field {field[:40]!r}; known fields: {', '.join(FIELDS + RELATIONS)}"
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


RELATIONS = ("groups", "credential", "jump")   # host fields that name other records
MAX_JUMPS = 3   # jump hosts in a row (a bastion behind a bastion behind a bastion)


def _split_relations(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(data, Mapping):
        raise InputError("the host must be an object")
    fields = {k: v for k, v in data.items() if k not in RELATIONS}
    relations = {k: data[k] for k in RELATIONS if k in data}
    return fields, relations


def _set_relations(session: Session, host: Host, relations: Mapping[str, Any]) -> None:
    from migrator.services.credentials import find_credential
    from migrator.services.groups import find_groups

    before = (list(host.groups), host.jump_host)
    if "groups" in relations:
        host.groups = find_groups(session, relations["groups"], field="groups")
    if "credential" in relations:
        host.credential = find_credential(session, relations["credential"])
    if "jump" in relations:
        jump = find_jump(session, relations["jump"])
        if jump is not None and jump is host:
            raise InputError(f"jump: host {host.name!r} cannot be its own jump host", "jump")
        host.jump_host = jump
    if "jump" in relations or "groups" in relations:
        try:
            check_jumps(session, [host])
        except InputError:
            host.groups, host.jump_host = before      # the host as it was, loops never stay
            raise


# --- jump hosts (ProxyJump) ------------------------------------------------------------------------

def find_jump(session: Session, ref: Any, field: str = "jump") -> Host | None:
    """The host named as a jump host (id or name); None or "" clears."""
    if ref is None or ref == "":
        return None
    if isinstance(ref, bool) or not isinstance(ref, (int, str)):
        raise InputError(f"{field} must be the id or name of another host, or null", field)
    text = str(ref)
    is_id = text.isascii() and text.isdigit() and int(text) <= MAX_ID
    host = session.get(Host, int(text)) if is_id else None
    host = host or session.scalar(select(Host).where(Host.name == text[:255]))
    if host is None:
        raise NotFound(f"{field}: no host with id or name {printable(text, 80)!r}; a jump host is another "
                       "host of the inventory: add it first", field)
    return host


def effective_jump(host: Host, without: HostGroup | None = None) -> Host | None:
    """The host's own jump host, else the first of its groups' (by group id; not counting group
    `without`) that names one. A group's jump host that is itself a member of the group connects
    directly."""
    if host.jump_host is not None:
        return host.jump_host
    for group in sorted(host.groups, key=lambda g: (g.id is None, g.id or 0)):   # as stored, not as sent
        if group is without:
            continue
        if group.jump_host is not None and group.jump_host is not host:
            return group.jump_host
    return None


def jump_chain(host: Host, field: str = "jump") -> list[Host]:
    """The jump hosts to go through to reach `host`, nearest first (the connection starts at the
    last one). InputError for a loop or a chain longer than MAX_JUMPS."""
    chain: list[Host] = []
    jump = effective_jump(host)
    while jump is not None:
        if jump is host or jump in chain:
            if jump is host and not chain:
                raise InputError(f"{field}: host {host.name!r} cannot be its own jump host", field)
            loop = [host, *chain] if jump is host else chain[chain.index(jump):]
            path = " → ".join(h.name for h in [*loop, jump])
            where = "" if jump is host else f" (on the way to {host.name})"
            raise InputError(f"{field}: jump hosts would go round in a loop: {path}{where}", field)
        chain.append(jump)
        if len(chain) > MAX_JUMPS:
            path = " → ".join(h.name for h in [host, *chain])
            raise InputError(f"{field}: {path} goes through more than {MAX_JUMPS} jump hosts in a row", field)
        jump = effective_jump(jump)
    return chain


def _jump_dependents(session: Session, hosts: list[Host]) -> list[Host]:
    """`hosts` and the hosts reached through them (own or group jump host), up to MAX_JUMPS deep."""
    found = list(hosts)
    frontier = [h.id for h in hosts if h.id is not None]
    for _ in range(MAX_JUMPS):
        if not frontier:
            break
        direct = session.scalars(select(Host).where(Host.jump_host_id.in_(frontier)))
        grouped = session.scalars(select(Host).join(Host.groups).where(HostGroup.jump_host_id.in_(frontier)))
        new = [h for h in [*direct, *grouped] if h not in found]
        found += list(dict.fromkeys(new))
        frontier = [h.id for h in dict.fromkeys(new)]
    return found


def check_jumps(session: Session, hosts: list[Host], field: str = "jump") -> None:
    """No loop and no chain too long, for `hosts` and every host that goes through them."""
    with session.no_autoflush:
        for host in _jump_dependents(session, hosts):
            jump_chain(host, field)


def _link(row: Any) -> dict[str, Any] | None:
    return {"id": row.id, "name": row.name} if row is not None else None


def add_host(session: Session, cipher: CredentialCipher, data: Mapping[str, Any]) -> Host:
    """A new host from checked fields; `groups` (ids or names) and `credential` (id or name) attach it."""
    fields, relations = _split_relations(data)
    fields = validate_host(fields)
    taken = InputError(f"a host named {fields['name']!r} already exists", "name")
    if session.scalar(select(Host).where(Host.name == fields["name"])) is not None:
        raise taken
    host = _new_host(cipher, fields)
    with session.no_autoflush:
        _set_relations(session, host, relations)
    flush_unique(session, taken, host)       # a concurrent add of the same name loses here, cleanly
    audit.record(session, "host.create", host.name, host_id=host.id)
    return host


NULLABLE = ("username", "key_path", "password")


def update_host(session: Session, cipher: CredentialCipher, host: Host, data: Mapping[str, Any]) -> Host:
    """Change some fields of a host (null clears username, key_path, password). Changing auth_method
    drops what the old method used (the key path, the password); a changed address unpins the host key."""
    fields, relations = _split_relations(data)
    cleared = [f for f in NULLABLE if f in fields and fields[f] is None]
    checked = validate_host({k: v for k, v in fields.items() if k not in cleared}, partial=True)
    method = checked.get("auth_method", host.auth_method)
    errors: dict[str, str] = {}
    if method == "password" and "password" not in checked and (host.password_encrypted is None
                                                              or "password" in cleared):
        errors["password"] = "auth_method 'password' needs a password"
    if method != "key" and checked.get("key_path"):
        errors["key_path"] = f"key_path is used only with auth_method 'key', not {method!r}"
    if method != "password" and checked.get("password"):
        errors["password"] = f"a password is used only with auth_method 'password', not {method!r}"
    if "name" in checked and checked["name"] != host.name and \
            session.scalar(select(Host.id).where(Host.name == checked["name"])) is not None:
        errors["name"] = f"a host named {checked['name']!r} already exists"
    if errors:
        raise InputError("; ".join(errors.values()), next(iter(errors)), errors)
    if "address" in checked and checked["address"] != host.address or \
            "port" in checked and checked["port"] != host.port:
        host.host_key, host.host_key_pinned_at = None, None   # another machine: pin what it presents
    for field in cleared:
        if field == "password":
            host.password_encrypted = None
        else:
            setattr(host, field, None)
    for field, value in checked.items():
        if field == "password":
            host.password_encrypted = cipher.encrypt(value)
        else:
            setattr(host, field, value)
    if host.auth_method != "key":
        host.key_path = None
    if host.auth_method != "password":
        host.password_encrypted = None
    _set_relations(session, host, relations)
    flush_unique(session, InputError(f"a host named {host.name!r} already exists", "name"))
    audit.record(session, "host.update", host.name, host_id=host.id, fields=audit.describe(data))
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
            "host_key": host.host_key, "created_at": host.created_at.isoformat(),
            "groups": [g.name for g in host.groups],
            "credential": {"id": host.credential.id, "name": host.credential.name} if host.credential else None,
            "jump": _link(host.jump_host), "effective_jump": _link(effective_jump(host))}


def jump_users(session: Session, host: Host) -> tuple[list[Host], list[HostGroup]]:
    """The hosts and groups (with members: an empty one reaches nobody) that name `host` as their
    jump host."""
    users = session.scalars(select(Host).where(Host.jump_host_id == host.id).order_by(Host.name)).all()
    groups = session.scalars(select(HostGroup).where(HostGroup.jump_host_id == host.id, HostGroup.hosts.any())
                             .order_by(HostGroup.name)).all()
    return list(users), list(groups)


def some_names(names: list[str], most: int = 5) -> str:
    """The first few names, each cut short, and how many more: a message that fits a line (and a
    session cookie, where the web UI keeps its messages)."""
    shown = ", ".join(printable(n, 40) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def same_machine_warnings(session: Session, added: list[Host]) -> list[str]:
    """A warning for each added host whose address and port another host of the inventory has:
    the same machine twice. Scanned as both, its addresses belong to two hosts, and the estate
    then counts its own peers as outside the inventory."""
    out = []
    for host in added:
        others = session.scalars(select(Host.name).where(Host.address == host.address, Host.port == host.port,
                                                         Host.id != host.id).order_by(Host.name)).all()
        if others:
            out.append(f"{printable(host.name, 60)} has the address of {some_names(list(others))} "
                       f"({printable(host.address, 80)}:{host.port}): scanning the same machine as two hosts makes "
                       f"the estate read its peers as outside the inventory; keep one of them")
    return out


def remove_hosts(session: Session, hosts: list[Host]) -> None:
    """Forget hosts with their scans, snapshots and findings (the database cascades). A host still
    named as the jump host of a host or group that stays is refused: removing it would quietly make
    them connect directly (or through another group's jump host), past the bastion."""
    going = {h.id for h in hosts}
    refused = []
    for host in hosts:
        users, groups = jump_users(session, host)
        users = [u for u in users if u.id not in going]
        if users or groups:
            named = []
            if users:
                named.append("hosts " + some_names([u.name for u in users]))
            if groups:
                named.append("groups " + some_names([g.name for g in groups]))
            refused.append(f"host {printable(host.name, 60)!r} is the jump host of {' and '.join(named)}")
    if refused:
        raise Conflict("; ".join(refused[:5]) + (f"; and {len(refused) - 5} more" if len(refused) > 5 else "")
                       + ": give them another jump host or clear theirs first (`migrator hosts jump NAME --clear`, "
                       "or `--group NAME --clear`)", "jump")
    for host in hosts:
        audit.record(session, "host.delete", host.name, host_id=host.id)
        session.delete(host)
    session.flush()


def remove_host(session: Session, host: Host) -> None:
    """Forget one host; see `remove_hosts`."""
    remove_hosts(session, [host])


def accept_new_host_key(session: Session, host: Host) -> str | None:
    """Unpin the host key after a deliberate key change; the next scan pins what the host presents.
    Returns the key that was pinned."""
    old = host.host_key
    host.host_key, host.host_key_pinned_at = None, None
    audit.record(session, "host.accept_key", host.name, host_id=host.id)
    session.flush()
    return old


# Column names other inventories use for our fields.
ALIASES = {"user": "username", "ansible_user": "username", "host": "address", "hostname": "address",
           "ansible_host": "address", "ip": "address", "key": "key_path", "identity_file": "key_path",
           "ansible_ssh_private_key_file": "key_path", "ansible_port": "port", "group": "groups",
           "jump_host": "jump", "proxy_jump": "jump", "proxyjump": "jump"}
IGNORED = ("host_key", "sudo_user", "plain_user")
FORMATS = ("json", "yaml", "csv", "ansible-ini", "ansible-yaml")
# Ansible variables that mean one of our fields; every other variable is left alone.
ANSIBLE_VARS = {"ansible_host": "address", "ansible_ssh_host": "address", "ansible_user": "username",
                "ansible_ssh_user": "username", "ansible_port": "port", "ansible_ssh_port": "port",
                "ansible_ssh_private_key_file": "key_path", "ansible_private_key_file": "key_path"}
# Ansible variables whose ssh options may name a jump host (-J NAME, -o ProxyJump=NAME).
SSH_ARGS_VARS = ("ansible_ssh_extra_args", "ansible_ssh_common_args")
MAX_HOSTS = 10000


def read_inventory_file(path: Path) -> list[dict[str, Any]]:
    """Host records from a file: JSON, YAML or CSV (by suffix), or an Ansible inventory (INI or YAML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}", "file") from None
    suffix = path.suffix.lower()
    fmt = {".csv": "csv", ".ini": "ansible-ini", ".cfg": "ansible-ini", ".json": "json"}.get(suffix)
    if fmt is None:
        fmt = "yaml" if suffix in (".yaml", ".yml") or looks_structured(text) else "ansible-ini"
    return read_inventory(text, fmt, str(path))


def looks_structured(text: str) -> bool:
    """JSON or YAML rather than an Ansible INI file (whose first line is a [group] or a host line)."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith(("{", "-", "---")) or (line.startswith("[") and not re.match(r"^\[[^\]\s]+\]$", line)):
            return True
        return bool(re.match(r"^[^\s=]+:(\s|$)", line))
    return True


def read_inventory(text: str, fmt: str = "yaml", source: str = "the inventory") -> list[dict[str, Any]]:
    """Host records from inventory text. fmt: json or yaml ({"hosts": [...]} or a list; an Ansible YAML
    inventory is recognised too), csv (a header row), ansible-ini or ansible-yaml."""
    if fmt not in FORMATS:
        raise InputError(f"format must be one of: {', '.join(FORMATS)}", "format")
    if fmt == "csv":
        try:
            rows = list(csv.DictReader(io.StringIO(text)))
        except csv.Error as exc:
            raise InputError(f"{source} is not valid CSV: {exc}", "file") from None
        return [{k.strip(): v.strip() for k, v in row.items() if isinstance(k, str) and k and isinstance(v, str)
                 and v.strip()} for row in rows]
    if fmt == "ansible-ini":
        return ansible_ini(text, source)
    import yaml        # here, not at the top: a scan imports this module and never reads YAML

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        kind = "JSON" if fmt == "json" else "YAML"
        raise InputError(f"{source} is not valid {kind}: {str(exc)[:200]}", "file") from None
    except RecursionError:
        raise InputError(f"{source} is nested too deeply", "file") from None
    if fmt == "ansible-yaml" or is_ansible_yaml(data):
        return ansible_yaml(data, source)
    records = data.get("hosts") if isinstance(data, dict) else data
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InputError(f"{source}: expected a list of hosts, or {{\"hosts\": [...]}}", "file")
    return records


def is_ansible_yaml(data: Any) -> bool:
    """An Ansible YAML inventory: groups (usually `all`) mapping to hosts, children and vars."""
    return isinstance(data, dict) and bool(data) and not isinstance(data.get("hosts"), list) and all(
        isinstance(v, dict) and set(v) <= {"hosts", "children", "vars"} or v is None for v in data.values())


def _ansible_record(name: str, variables: Mapping[str, Any], groups: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = {"name": name}
    for key, value in variables.items():
        if key in ANSIBLE_VARS and value is not None:
            record[ANSIBLE_VARS[key]] = str(value) if ANSIBLE_VARS[key] != "port" else value
        elif key in ("ansible_become", "become") and str(value).lower() in ("true", "yes", "1"):
            record["become"] = "sudo"
        elif key in SSH_ARGS_VARS and value:
            record[key] = str(value)
    record.setdefault("address", name)
    if groups:
        record["groups"] = groups
    return record


class _Inventory:
    """Hosts, groups, group children and variables, as Ansible resolves them (group vars from
    parent to child, then host vars)."""

    def __init__(self) -> None:
        self.hosts: dict[str, dict[str, Any]] = {}
        self.host_groups: dict[str, list[str]] = {}
        self.children: dict[str, list[str]] = {}
        self.group_vars: dict[str, dict[str, Any]] = {}

    def add_host(self, name: str, group: str | None, variables: Mapping[str, Any]) -> None:
        if len(self.hosts) >= MAX_HOSTS and name not in self.hosts:
            raise InputError(f"more than {MAX_HOSTS} hosts in one inventory", "file")
        self.hosts.setdefault(name, {}).update(variables)
        groups = self.host_groups.setdefault(name, [])
        if group and group not in ("all", "ungrouped") and group not in groups:
            groups.append(group)

    def records(self) -> list[dict[str, Any]]:
        parents: dict[str, list[str]] = {}
        for parent, kids in self.children.items():
            for kid in kids:
                parents.setdefault(kid, []).append(parent)

        def ancestry(group: str, seen: tuple[str, ...] = ()) -> list[str]:
            out: list[str] = []
            for parent in parents.get(group, []):
                if parent not in seen:
                    out += ancestry(parent, seen + (group,)) + [parent]
            return out

        records = []
        for name, host_vars in self.hosts.items():
            direct = self.host_groups.get(name, [])
            chain = ["all"] + [g for d in direct for g in ancestry(d) + [d]]
            variables: dict[str, Any] = {}
            for group in dict.fromkeys(chain):
                variables.update(self.group_vars.get(group, {}))
            variables.update(host_vars)
            groups = [g for g in dict.fromkeys(g for d in direct for g in ancestry(d) + [d])
                      if g not in ("all", "ungrouped")]
            records.append(_ansible_record(name, variables, groups))
        return records


_RANGE = re.compile(r"\[(\d+):(\d+)\]")


def _expand(pattern: str) -> list[str]:
    """web[01:03] -> web01, web02, web03 (Ansible's numeric host ranges)."""
    m = _RANGE.search(pattern)
    if not m:
        return [pattern]
    lo, hi = m.group(1), m.group(2)
    if int(hi) < int(lo) or int(hi) - int(lo) > MAX_HOSTS:
        raise InputError(f"host range {pattern[:80]!r} is empty or too large", "file")
    width = len(lo) if lo.startswith("0") else 0
    return [h for n in range(int(lo), int(hi) + 1)
            for h in _expand(pattern[:m.start()] + str(n).zfill(width) + pattern[m.end():])]


def _ini_value(text: str) -> Any:
    if text.isascii() and text.isdigit():
        return int(text)
    return text


def ansible_ini(text: str, source: str = "the inventory") -> list[dict[str, Any]]:
    """Host records from an Ansible INI inventory: [group], [group:vars], [group:children]."""
    inv = _Inventory()
    section, kind = None, "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        header = re.fullmatch(r"\[([^\]:\s]+)(?::(vars|children))?\]", line)
        if header:
            section, kind = header.group(1), header.group(2) or "hosts"
            continue
        if line.startswith("["):
            raise InputError(f"{source} line {number}: {printable(line, 80)!r} is not a [group] header", "file")
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise InputError(f"{source} line {number}: {exc}", "file") from None
        if not words:
            continue
        if kind == "children":
            inv.children.setdefault(section or "all", []).append(words[0])
            continue
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise InputError(f"{source} line {number}: a [{section}:vars] line must be NAME=VALUE", "file")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]         # one pair of quotes around the value, as Ansible reads it
            inv.group_vars.setdefault(section or "all", {})[key.strip()] = _ini_value(value)
            continue
        variables: dict[str, Any] = {}
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if not sep:
                raise InputError(f"{source} line {number}: {printable(word, 60)!r} is not NAME=VALUE", "file")
            variables[key] = _ini_value(value)
        for name in _expand(words[0]):
            inv.add_host(name, section, variables)
    if not inv.hosts:
        raise InputError(f"{source}: no hosts in this Ansible inventory", "file")
    return inv.records()


def ansible_yaml(data: Any, source: str = "the inventory") -> list[dict[str, Any]]:
    """Host records from an Ansible YAML inventory ({all: {hosts: {...}, children: {...}, vars: {...}}})."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: an Ansible YAML inventory is a mapping of groups", "file")
    inv = _Inventory()

    def walk(group: str, body: Any, depth: int) -> None:
        if depth > 50:
            raise InputError(f"{source}: groups are nested too deeply", "file")
        if body is None:
            return
        if not isinstance(body, dict):
            raise InputError(f"{source}: group {printable(str(group), 60)!r} must be a mapping", "file")
        hosts_, children, variables = body.get("hosts") or {}, body.get("children") or {}, body.get("vars") or {}
        if not isinstance(hosts_, dict) or not isinstance(children, dict) or not isinstance(variables, dict):
            raise InputError(f"{source}: group {printable(str(group), 60)!r}: hosts, children and vars "
                             "must be mappings", "file")
        inv.group_vars.setdefault(group, {}).update(variables)
        for name, host_vars in hosts_.items():
            if host_vars is not None and not isinstance(host_vars, dict):
                raise InputError(f"{source}: host {printable(str(name), 60)!r} must map to its variables", "file")
            for expanded in _expand(str(name)):
                inv.add_host(expanded, group, host_vars or {})
        for child, child_body in children.items():
            inv.children.setdefault(group, []).append(str(child))
            walk(str(child), child_body, depth + 1)

    for group, body in data.items():
        walk(str(group), body, 0)
    if not inv.hosts:
        raise InputError(f"{source}: no hosts in this Ansible inventory", "file")
    return inv.records()


def proxy_jump(args: str) -> str | None:
    """The jump host named in ssh options (-J NAME, -JNAME, -o ProxyJump=NAME, -oProxyJump NAME);
    None when there is none (or `none`). ValueError for what ssh would refuse or we cannot follow:
    an option without its value, two different jump hosts, a chain (b1,b2), a ProxyCommand."""
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise ValueError(f"cannot read the ssh options {printable(args, 80)!r}: {exc}") from None
    found: list[str] = []
    for i, word in enumerate(words):
        if word == "-J" or (word.startswith("-J") and len(word) > 2):
            value = word[2:] or (words[i + 1] if i + 1 < len(words) else "")
            if not value or value.startswith("-"):
                raise ValueError("ssh option -J has no jump host after it")
            found.append(value)
            continue
        if word == "-o" and i + 1 == len(words):
            raise ValueError("ssh option -o has no option after it")
        option = words[i + 1] if word == "-o" else word[2:] if word.startswith("-o") else ""
        key, _, rest = re.sub(r"^\s*([^\s=]+)\s*=?\s*", r"\1 ", option, count=1).partition(" ")
        if key.lower() == "proxyjump":
            if not rest.strip():
                raise ValueError("ssh option ProxyJump has no jump host after it")
            found.append(rest.strip())
        elif key.lower() == "proxycommand":
            raise ValueError("ssh option ProxyCommand cannot be followed: import the bastion as a host and "
                             "name it as the jump host instead")
    if len(set(found)) > 1:
        raise ValueError(f"ssh options name several jump hosts ({', '.join(printable(f, 60) for f in found)}): "
                         "keep one")
    if not found or found[0].lower() == "none":
        return None
    if "," in found[0]:
        raise ValueError(f"ProxyJump {printable(found[0], 80)!r} is a chain of jump hosts: import each bastion as a "
                         "host and give each its own jump instead")
    return found[0]


_SPEC = re.compile(r"^(?:(?P<user>[^@\s]+)@)?(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:@\s]+))(?::(?P<port>\d{1,5}))?\Z")


def _jump_ref(value: Any) -> tuple[str, int | None]:
    """A record's jump: an id or name, or ProxyJump's [user@]host[:port]."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
        raise ValueError("jump must be the id, name or address of another host")
    if isinstance(value, int):
        return str(value), None
    m = _SPEC.match(value.strip())
    if not m:
        raise ValueError(f"jump {printable(value, 80)!r} is neither a host name nor [user@]host[:port]")
    port = int(m.group("port")) if m.group("port") else None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"jump {printable(value, 80)!r}: port {port} is not between 1 and 65535")
    return (m.group("v6") or m.group("host")), port


def _find_jump_for_import(session: Session, spec: str, ref: str, port: int | None,
                          new: Mapping[str, dict[str, Any]]) -> str | Host:
    """The jump host of an imported record: the name of a record of the same import, or a host of
    the inventory; by name first, then by address (and port, when given)."""
    if ref in new and (port is None or new[ref]["port"] == port):
        return ref
    host = session.get(Host, int(ref)) if port is None and ref.isascii() and ref.isdigit() and int(ref) <= MAX_ID \
        else None
    host = host or session.scalar(select(Host).where(Host.name == ref[:255]))
    if host is not None and (port is None or host.port == port):
        return host
    try:
        address = _address(ref)
    except ValueError:
        address = ref
    in_file = [n for n, f in new.items() if f["address"] == address and (port is None or f["port"] == port)]
    q = select(Host).where(Host.address == address)
    in_db = list(session.scalars(q if port is None else q.where(Host.port == port)))
    if len(in_file) + len(in_db) > 1:
        names = ", ".join([*in_file, *(h.name for h in in_db)][:5])
        raise ValueError(f"jump {printable(spec, 80)!r} matches several hosts ({names}): name one of them")
    if in_file:
        return in_file[0]
    if in_db:
        return in_db[0]
    if port is not None:                # the host is there, on another port
        other = new.get(ref) or session.scalar(select(Host).where(Host.name == ref[:255]))
        if other is not None:
            other_port = other["port"] if isinstance(other, dict) else other.port
            raise ValueError(f"jump {printable(spec, 80)!r}: host {printable(ref, 60)!r} is reached on port "
                             f"{other_port}, not {port}: name it without the port, or change its port")
    raise ValueError(f"jump {printable(spec, 80)!r} matches no host in this import or the inventory: add the "
                     "bastion as a host first (its address, user and key), then name it as the jump host")


def _login_user(jump: str | Host, new: Mapping[str, dict[str, Any]]) -> tuple[str | None, str]:
    """The user a scan logs in as on a jump host (its credential's, else its own, else root, as
    SSHSession does without an SSH config), and the jump host's name."""
    if isinstance(jump, str):
        return new[jump].get("username") or "root", jump
    from migrator.services.credentials import effective_credential
    cred = effective_credential(jump)
    return (cred.username if cred is not None and cred.username else jump.username) or "root", jump.name


def _group_names(value: Any) -> list[str]:
    """groups of a record: a list, or one string with names separated by ',', ';' or spaces (CSV)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [g for g in re.split(r"[,;\s]+", value) if g]
    if isinstance(value, list) and all(isinstance(g, str) for g in value):
        return list(value)
    raise ValueError("groups must be a list of group names")


def import_hosts(session: Session, cipher: CredentialCipher, records: list[Mapping[str, Any]]) -> list[Host]:
    """Add every record, or none: one InputError lists each bad record by position and name.
    A record's `groups` are created when they do not exist yet."""
    from migrator.services.groups import GROUP_NAME, ensure_groups

    errors: dict[str, str] = {}
    valid: list[tuple[dict[str, Any], list[str]]] = []
    jumps: dict[str, tuple[str, str, int | None]] = {}    # host name -> (as written, name or address, port)
    labels: dict[str, str] = {}
    seen: set[str] = set()
    if len(records) > MAX_HOSTS:
        raise InputError(f"more than {MAX_HOSTS} hosts in one import", "file")
    for i, record in enumerate(records, 1):
        if not isinstance(record, Mapping):
            errors[f"host {i}"] = "each host must be an object"
            continue
        data = {ALIASES.get(str(k), str(k)): v for k, v in record.items() if str(k) not in IGNORED}
        label = f"host {i} ({printable(str(data.get('name') or data.get('address') or '?'), 60)})"
        try:
            group_names = _group_names(data.pop("groups", None))
            bad = [g for g in group_names if not GROUP_NAME.match(g)]
            if bad:
                raise ValueError(f"group name {printable(bad[0], 60)!r} is not valid")
            jump = data.pop("jump", None)
            named = {str(jump)} if jump not in (None, "") else set()
            for var in SSH_ARGS_VARS:       # both are on Ansible's ssh command line: they must agree
                args = data.pop(var, None)
                if args is None:
                    continue
                if not isinstance(args, str):
                    raise ValueError(f"{var} must be a string of ssh options")
                found = proxy_jump(args)
                if found is not None:
                    named.add(found)
                    jump = found if jump in (None, "") else jump
            if len(named) > 1:
                raise ValueError(f"several jump hosts are named ({', '.join(sorted(printable(n, 60) for n in named))}): "
                                 "keep one")
            jump_ref = _jump_ref(jump) if jump not in (None, "") else None
        except ValueError as exc:
            errors[label] = str(exc)
            continue
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
            valid.append((fields, group_names))
            labels[fields["name"]] = label
            if jump_ref is not None:
                jumps[fields["name"]] = (str(jump), *jump_ref)
        seen.add(fields["name"])
    if errors:
        raise InputError("; ".join(f"{k}: {v}" for k, v in errors.items()), "file", errors)
    # Jump hosts are resolved once every record is known: a bastion may come later in the file.
    new = {fields["name"]: fields for fields, _ in valid}
    resolved: dict[str, str | Host] = {}
    for name, (spec, ref, port) in jumps.items():
        try:
            resolved[name] = _find_jump_for_import(session, spec, ref, port, new)
        except ValueError as exc:
            errors[labels[name]] = str(exc)
            continue
        if resolved[name] == name:
            errors[labels[name]] = f"jump: host {name!r} cannot be its own jump host"
        user = spec.partition("@")[0] if "@" in spec else None
        if user:
            jump_user, jump_name = _login_user(resolved[name], new)
            if user != jump_user:
                errors[labels[name]] = (f"jump {printable(spec, 80)!r} logs in as {printable(user, 40)!r}, but jump "
                                        f"host {printable(jump_name, 60)!r} logs in as {printable(jump_user, 40)!r}: "
                                        "make them agree")
    if errors:
        raise InputError("; ".join(f"{k}: {v}" for k, v in errors.items()), "file", errors)
    groups = ensure_groups(session, [g for _, names in valid for g in names])
    hosts = []
    by_name: dict[str, Host] = {}
    with session.no_autoflush:
        for fields, names in valid:
            host = _new_host(cipher, fields)
            host.groups = [groups[g] for g in dict.fromkeys(names)]
            hosts.append(host)
            by_name[host.name] = host
        for name, jump in resolved.items():
            by_name[name].jump_host = by_name[jump] if isinstance(jump, str) else jump
        for host in hosts:
            try:
                jump_chain(host)
            except InputError as exc:
                errors[labels[host.name]] = str(exc)
    if errors:
        raise InputError("; ".join(f"{k}: {v}" for k, v in errors.items()), "file", errors)
    flush_unique(session, InputError("another client added some of these hosts at the same time; nothing was "
                                     "imported", "file"), *hosts)
    audit.record(session, "host.import", f"{len(hosts)} hosts", hosts=[h.name for h in hosts])
    return hosts
