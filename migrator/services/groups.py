"""Host groups: named sets of hosts (an Ansible group, a tier), scanned together, sharing a credential."""
from __future__ import annotations

import re
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrator.db import flush_unique
from migrator.errors import Conflict, InputError, NotFound
from migrator.models import Host, HostGroup
from migrator.services.hosts import MAX_ID, check_jumps, effective_jump, find_hosts, find_jump, some_names
from migrator.text import printable
from migrator.services import audit

GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z")
FIELDS = ("name", "description", "hosts", "credential", "jump")


def _validate(data: Any, partial: bool) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise InputError("the group must be an object")
    errors: dict[str, str] = {}
    for field in sorted(set(data) - set(FIELDS)):
        errors[field[:40]] = f"unknown field {field[:40]!r}; known fields: {', '.join(FIELDS)}"
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not GROUP_NAME.match(name):
            errors["name"] = "name must be 1-255 letters, digits, '.', '_' or '-', starting with a letter or digit"
        else:
            out["name"] = name
    if "description" in data:
        text = data["description"]
        if text is None:
            out["description"] = ""
        elif not isinstance(text, str) or len(text) > 2000:
            errors["description"] = "description must be a string of at most 2000 characters"
        else:
            out["description"] = text
    if "hosts" in data:
        refs = data["hosts"]
        if not isinstance(refs, list) or not all(isinstance(r, (int, str)) and not isinstance(r, bool) for r in refs):
            errors["hosts"] = "hosts must be a list of host ids or names"
        else:
            out["hosts"] = list(dict.fromkeys(str(r) for r in refs))
    if "credential" in data:
        out["credential"] = data["credential"]
    if "jump" in data:
        ref = data["jump"]
        if ref is not None and (isinstance(ref, bool) or not isinstance(ref, (int, str))):
            errors["jump"] = "jump must be the id or name of a host, or null"
        else:
            out["jump"] = ref
    if errors:
        raise InputError("; ".join(errors.values()), next(iter(errors)), errors)
    return out


def _apply(session: Session, group: HostGroup, fields: Mapping[str, Any]) -> None:
    from migrator.services.credentials import find_credential

    if "name" in fields:
        other = session.scalar(select(HostGroup.id).where(HostGroup.name == fields["name"]))
        if other is not None and other != group.id:
            raise InputError(f"a group named {fields['name']!r} already exists", "name")
        group.name = fields["name"]
    if "description" in fields:
        group.description = fields["description"]
    before = list(group.hosts)
    if "hosts" in fields:
        group.hosts = find_hosts(session, fields["hosts"]) if fields["hosts"] else []
    touched = list(dict.fromkeys(before + list(group.hosts)))   # members that left change route too
    if "credential" in fields:
        group.credential = find_credential(session, fields["credential"])
    if "jump" in fields:
        jump = find_jump(session, fields["jump"])
        before = group.jump_host
        group.jump_host = jump
        try:    # a group's jump host that is one of its members connects directly (hosts.effective_jump)
            check_jumps(session, touched)
        except InputError:
            group.jump_host = before
            raise
    elif "hosts" in fields:
        check_jumps(session, touched)


def create_group(session: Session, data: Any) -> HostGroup:
    fields = _validate(data, partial=False)
    group = HostGroup(description="")
    with session.no_autoflush:      # the group joins the session below, whole
        _apply(session, group, fields)
    flush_unique(session, InputError(f"a group named {fields['name']!r} already exists", "name"), group)
    audit.record(session, "group.create", group.name, group_id=group.id)
    return group


def update_group(session: Session, group: HostGroup, data: Any) -> HostGroup:
    fields = _validate(data, partial=True)
    _apply(session, group, fields)
    flush_unique(session, InputError(f"a group named {group.name!r} already exists", "name"))
    audit.record(session, "group.update", group.name, group_id=group.id, fields=audit.describe(fields))
    return group


def get_group(session: Session, group_id: int) -> HostGroup:
    group = session.get(HostGroup, group_id)
    if group is None:
        raise NotFound(f"group {group_id} does not exist", "group_id")
    return group


def delete_group(session: Session, group: HostGroup) -> None:
    """Forget the group; its hosts stay. Refused while members reach their jump host through it:
    without it they would connect directly (or through another group's jump host), quietly."""
    relying = [h.name for h in group.hosts if effective_jump(h) is not effective_jump(h, without=group)]
    if relying:
        raise Conflict(f"group {printable(group.name, 60)!r} is how hosts {some_names(relying)} reach their jump host "
                       f"{printable(group.jump_host.name, 60)!r}: without it they would connect another way; give "
                       f"them a jump host of their own first (`migrator hosts jump NAME --via "
                       f"{printable(group.jump_host.name, 60)}`) or clear the group's (`migrator hosts jump --group "
                       f"{printable(group.name, 60)} --clear`)", "jump")
    audit.record(session, "group.delete", group.name, group_id=group.id)
    session.delete(group)
    session.flush()


def find_groups(session: Session, refs: Any, field: str = "groups") -> list[HostGroup]:
    """Groups by id or name, in the given order, each once."""
    if not isinstance(refs, list) or not all(isinstance(r, (int, str)) and not isinstance(r, bool) for r in refs):
        raise InputError(f"{field} must be a list of group ids or names", field)
    groups: list[HostGroup] = []
    for ref in refs:
        text = str(ref)
        group = session.get(HostGroup, int(text)) if text.isascii() and text.isdigit() and int(text) <= MAX_ID \
            else None
        group = group or session.scalar(select(HostGroup).where(HostGroup.name == text[:255]))
        if group is None:
            raise NotFound(f"no group with id or name {printable(text, 80)!r}", field)
        if group not in groups:
            groups.append(group)
    return groups


def ensure_groups(session: Session, names: list[str]) -> dict[str, HostGroup]:
    """The groups of these names, created when missing (an import brings its groups along)."""
    out: dict[str, HostGroup] = {}
    for name in dict.fromkeys(names):
        group = session.scalar(select(HostGroup).where(HostGroup.name == name))
        if group is None:
            group = HostGroup(name=name, description="")
            session.add(group)
        out[name] = group
    return out


def group_dict(group: HostGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "description": group.description,
            "hosts": [{"id": h.id, "name": h.name} for h in group.hosts],
            "credential": {"id": group.credential.id, "name": group.credential.name} if group.credential else None,
            "jump": {"id": group.jump_host.id, "name": group.jump_host.name} if group.jump_host else None,
            "created_at": group.created_at.isoformat()}


def chosen_hosts(session: Session, host_refs: list | None, group_refs: list | None,
                 group_field: str = "groups") -> list[Host]:
    """The hosts named, then those of the groups named (union, in order, each once); every host
    when neither is given. A group without hosts is an error: scanning it would scan nothing."""
    if host_refs is None and group_refs is None:
        return find_hosts(session, [])
    chosen = find_hosts(session, host_refs) if host_refs else []
    for group in find_groups(session, group_refs or [], field=group_field):
        if not group.hosts:
            raise InputError(f"group {group.name!r} has no hosts", group_field)
        chosen += [h for h in group.hosts if h not in chosen]
    return chosen
