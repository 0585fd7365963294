"""Inventory management for admins: change and remove hosts, groups (create, rename, describe, set
members and shared credential, delete) and write-only credentials (a password goes in, never out:
not even into a form's value). Removing anything asks first and says what goes with it."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from migrator.errors import InputError
from migrator.models import Application, Credential, Host, HostGroup, ScanHost
from migrator.services import credentials, groups, hosts
from migrator.web import bp
from migrator.web.auth import requires
from migrator.web.common import cipher, db, form_value

HOST_FIELDS = ("name", "address", "port", "username", "auth_method", "key_path", "become", "credential", "jump")
GROUP_FIELDS = ("name", "description", "credential", "jump")
CREDENTIAL_FIELDS = ("name", "username", "kind", "key_path")


def jump_supported() -> bool:
    """Jump hosts are settable once the hosts service takes a `jump` field."""
    return "jump" in getattr(hosts, "RELATIONS", ()) or "jump" in getattr(hosts, "FIELDS", ())


def _get(s, model, row_id: int):
    row = s.get(model, row_id)
    if row is None:
        abort(404)
    return row


def _choices(s) -> dict:
    return {"all_groups": list(s.scalars(select(HostGroup).order_by(HostGroup.name))),
            "all_credentials": list(s.scalars(select(Credential).order_by(Credential.name))),
            "all_hosts": list(s.scalars(select(Host).order_by(Host.name))),
            "jump_supported": jump_supported()}


def _ref(value: str):
    """A select's value: '' is none (null), else the id or name as given."""
    return value or None


# --- hosts ---------------------------------------------------------------------------------------

def _host_form(host: Host) -> dict:
    return {"name": host.name, "address": host.address, "port": str(host.port), "username": host.username or "",
            "auth_method": host.auth_method, "key_path": host.key_path or "", "become": host.become,
            "credential": str(host.credential_id or ""), "jump": str(getattr(host, "jump_host_id", None) or ""),
            "groups": [str(g.id) for g in host.groups], "has_password": host.password_encrypted is not None}


def _render_host(s, host: Host, form: dict, errors: dict, status: int = 200):
    return render_template("host_edit.html", host=host, form=form, errors=errors, **_choices(s)), status


@bp.get("/inventory/hosts/<id:host_id>/edit")
@requires("admin")
def edit_host(host_id: int):
    with db().session() as s:
        host = _get(s, Host, host_id)
        return _render_host(s, host, _host_form(host), {})


@bp.post("/inventory/hosts/<id:host_id>/edit")
@requires("admin")
def update_host(host_id: int):
    form = request.form
    data: dict = {}
    for field in ("name", "address", "port", "auth_method", "become"):
        data[field] = form_value(form, field)
    if data["port"].isascii() and data["port"].isdigit():
        data["port"] = int(data["port"])
    data["username"] = form_value(form, "username") or None
    data["key_path"] = form_value(form, "key_path") or None
    if form.get("password"):
        data["password"] = form["password"]
    data["groups"] = [g for g in form.getlist("groups") if g][:1000]
    data["credential"] = _ref(form_value(form, "credential"))
    if jump_supported():
        data["jump"] = _ref(form_value(form, "jump"))
    try:
        with db().session() as s:
            host = _get(s, Host, host_id)
            hosts.update_host(s, cipher(), host, data)
            name = host.name
    except InputError as exc:
        with db().session() as s:
            host = _get(s, Host, host_id)
            shown = {k: form_value(form, k) for k in HOST_FIELDS}         # never the password
            shown["groups"] = form.getlist("groups")
            shown["has_password"] = host.password_encrypted is not None
            return _render_host(s, host, shown, exc.errors or {"form": str(exc)}, 422)
    flash(f"Host {name} changed.", "ok")
    return redirect(url_for("web.inventory"))


@bp.get("/inventory/hosts/<id:host_id>/remove")
@requires("admin")
def confirm_remove_host(host_id: int):
    with db().session() as s:
        host = _get(s, Host, host_id)
        scan_count = s.scalar(select(func.count()).select_from(ScanHost).where(ScanHost.host_id == host.id))
        app_count = s.scalar(select(func.count()).select_from(Application).where(Application.host_id == host.id))
        consequences = [f"its {scan_count} scan result(s), their snapshots and the {app_count} application(s) "
                        "found go with it;",
                        "its groups stay (without it); stored plans keep what they already say."]
        users, user_groups = hosts.jump_users(s, host)
        blocked = None
        if users or user_groups:
            named = [h.name for h in users] + [f"group {g.name}" for g in user_groups]
            blocked = (f"It cannot go yet: it is the jump host of {hosts.some_names(named)}; give them another jump "
                       "host (or none) first.")
        return render_template("confirm.html", title=f"Remove host {host.name}?", subject=host.name,
                               message="The host is removed from the inventory:", consequences=consequences,
                               blocked=blocked,
                               action=url_for("web.remove_host", host_id=host.id), button="Remove the host",
                               back=url_for("web.inventory"))


@bp.post("/inventory/hosts/<id:host_id>/remove")
@requires("admin")
def remove_host(host_id: int):
    with db().session() as s:
        host = _get(s, Host, host_id)
        name = host.name
        try:
            hosts.remove_host(s, host)
        except InputError as exc:
            flash(f"Host {name} was not removed: {exc}", "error")
            return redirect(url_for("web.inventory"))
    flash(f"Host {name} removed, with its scans and findings.", "ok")
    return redirect(url_for("web.inventory"))


# --- groups --------------------------------------------------------------------------------------

def _group_data(form) -> dict:
    data = {"name": form_value(form, "name", 300), "description": (form.get("description") or "").strip()[:4000],
            "hosts": [h for h in form.getlist("hosts") if h][:10000], "credential": _ref(form_value(form, "credential"))}
    if jump_supported():
        data["jump"] = _ref(form_value(form, "jump"))
    return data


def _group_shown(form) -> dict:
    shown = {k: form_value(form, k, 4000) for k in GROUP_FIELDS}
    shown["hosts"] = form.getlist("hosts")
    return shown


def _render_group(s, group: HostGroup | None, form: dict, errors: dict, status: int = 200):
    return render_template("group_edit.html", group=group, form=form, errors=errors, **_choices(s)), status


def _group_supports_jump(data: dict) -> dict:
    """The groups service takes `jump` only once it knows the field; never send it otherwise."""
    if "jump" in data and "jump" not in getattr(groups, "FIELDS", ()):
        data = {k: v for k, v in data.items() if k != "jump"}
    return data


@bp.get("/inventory/groups/new")
@requires("admin")
def new_group():
    with db().session() as s:
        return _render_group(s, None, {"hosts": []}, {})


@bp.post("/inventory/groups")
@requires("admin")
def create_group():
    data = _group_supports_jump(_group_data(request.form))
    try:
        with db().session() as s:
            group = groups.create_group(s, data)
            name = group.name
    except InputError as exc:
        with db().session() as s:
            return _render_group(s, None, _group_shown(request.form), exc.errors or {"form": str(exc)}, 422)
    flash(f"Group {name} created.", "ok")
    return redirect(url_for("web.inventory"))


@bp.get("/inventory/groups/<id:group_id>/edit")
@requires("admin")
def edit_group(group_id: int):
    with db().session() as s:
        group = _get(s, HostGroup, group_id)
        form = {"name": group.name, "description": group.description or "",
                "credential": str(group.credential_id or ""),
                "jump": str(getattr(group, "jump_host_id", None) or ""), "hosts": [str(h.id) for h in group.hosts]}
        return _render_group(s, group, form, {})


@bp.post("/inventory/groups/<id:group_id>/edit")
@requires("admin")
def update_group(group_id: int):
    data = _group_supports_jump(_group_data(request.form))
    try:
        with db().session() as s:
            group = _get(s, HostGroup, group_id)
            groups.update_group(s, group, data)
            name = group.name
    except InputError as exc:
        with db().session() as s:
            return _render_group(s, _get(s, HostGroup, group_id), _group_shown(request.form),
                                 exc.errors or {"form": str(exc)}, 422)
    flash(f"Group {name} changed.", "ok")
    return redirect(url_for("web.inventory"))


@bp.get("/inventory/groups/<id:group_id>/remove")
@requires("admin")
def confirm_remove_group(group_id: int):
    with db().session() as s:
        group = _get(s, HostGroup, group_id)
        consequences = [f"its {len(group.hosts)} host(s) stay in the inventory, with their scans and findings;"]
        if group.credential is not None:
            consequences.append(f"hosts that logged in with the group's credential {group.credential.name} fall "
                                "back to their own credential or login fields.")
        return render_template("confirm.html", title=f"Delete group {group.name}?", subject=group.name,
                               message="The group is deleted:", consequences=consequences,
                               action=url_for("web.remove_group", group_id=group.id), button="Delete the group",
                               back=url_for("web.inventory"))


@bp.post("/inventory/groups/<id:group_id>/remove")
@requires("admin")
def remove_group(group_id: int):
    with db().session() as s:
        group = _get(s, HostGroup, group_id)
        name = group.name
        try:
            groups.delete_group(s, group)
        except InputError as exc:
            flash(f"Group {name} was not deleted: {exc}", "error")
            return redirect(url_for("web.inventory"))
    flash(f"Group {name} deleted; its hosts stay.", "ok")
    return redirect(url_for("web.inventory"))


# --- credentials ---------------------------------------------------------------------------------

def _render_credential(s, cred: Credential, form: dict, errors: dict, status: int = 200):
    info = credentials.credential_dict(s, cred)
    used = info["hosts"] + [f"group {g}" for g in info["groups"]]
    return render_template("credential_edit.html", cred=cred, info=info, used=used, form=form, errors=errors), status


@bp.get("/inventory/credentials/<id:credential_id>/edit")
@requires("admin")
def edit_credential(credential_id: int):
    with db().session() as s:
        cred = _get(s, Credential, credential_id)
        form = {"name": cred.name, "username": cred.username or "", "kind": cred.kind, "key_path": cred.key_path or ""}
        return _render_credential(s, cred, form, {})


@bp.post("/inventory/credentials/<id:credential_id>/edit")
@requires("admin")
def update_credential(credential_id: int):
    form = request.form
    data = {"name": form_value(form, "name", 300), "kind": form_value(form, "kind"),
            "username": form_value(form, "username") or None, "key_path": form_value(form, "key_path") or None}
    if form.get("password"):
        data["password"] = form["password"]
    try:
        with db().session() as s:
            cred = _get(s, Credential, credential_id)
            credentials.update_credential(s, cipher(), cred, data)
            name = cred.name
    except InputError as exc:
        with db().session() as s:
            shown = {k: form_value(form, k) for k in CREDENTIAL_FIELDS}     # never the password
            return _render_credential(s, _get(s, Credential, credential_id), shown,
                                      exc.errors or {"form": str(exc)}, 422)
    flash(f"Credential {name} changed.", "ok")
    return redirect(url_for("web.inventory"))


@bp.get("/inventory/credentials/<id:credential_id>/remove")
@requires("admin")
def confirm_remove_credential(credential_id: int):
    with db().session() as s:
        cred = _get(s, Credential, credential_id)
        info = credentials.credential_dict(s, cred)
        users = info["hosts"] + [f"group {g}" for g in info["groups"]]
        consequences = ["its password (if any) is forgotten;",
                        ("what uses it falls back to its own login fields or its group's credential: "
                         + ", ".join(users)) if users else "nothing uses it."]
        return render_template("confirm.html", title=f"Delete credential {cred.name}?", subject=cred.name,
                               message="The credential is deleted:", consequences=consequences,
                               action=url_for("web.remove_credential", credential_id=cred.id),
                               button="Delete the credential", back=url_for("web.inventory"))


@bp.post("/inventory/credentials/<id:credential_id>/remove")
@requires("admin")
def remove_credential(credential_id: int):
    with db().session() as s:
        cred = _get(s, Credential, credential_id)
        name = cred.name
        credentials.delete_credential(s, cred)
    flash(f"Credential {name} deleted.", "ok")
    return redirect(url_for("web.inventory"))
