"""Inventory: hosts and groups with their last scan, add and import hosts, write-only credentials,
start a scan and follow it host by host."""
from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from migrator.errors import InputError, MigratorError, NotFound
from migrator.models import Credential, Host, HostGroup, Scan
from migrator.services import credentials, findings, groups, hosts, scans
from migrator.web import bp
from migrator.web.auth import requires
from migrator.web.common import cipher, db, error_page, form_value, hint

HOST_FIELDS = ("name", "address", "port", "username", "auth_method", "key_path", "become", "groups", "credential")
CREDENTIAL_FIELDS = ("name", "username", "kind", "key_path")
IMPORT_FORMATS = {"": None, **{f: f for f in hosts.FORMATS}}
MAX_IMPORT = 4 * 1024 * 1024


def _render(host_form=None, host_errors=None, cred_form=None, cred_errors=None, import_error=None, status=200):
    with db().session() as s:
        rows = []
        for h in s.scalars(select(Host).order_by(Host.name)):
            last = findings.last_scan_host(s, h.id)
            cred = credentials.effective_credential(h)
            rows.append({"host": h, "last": last, "hint": hint(last.error_kind) if last and last.error else "",
                         "credential": cred.name if cred else None})
        group_rows = list(s.scalars(select(HostGroup).order_by(HostGroup.name)))
        creds = [credentials.credential_dict(s, c) for c in s.scalars(select(Credential).order_by(Credential.name))]
        recent = list(s.scalars(select(Scan).order_by(Scan.id.desc()).limit(10)))
        from migrator.web.manage import jump_supported
        return render_template("inventory.html", rows=rows, groups=group_rows, credentials=creds, scans=recent,
                               jump_supported=jump_supported(),
                               host_form=host_form or {"port": "22", "auth_method": "key", "become": "none"},
                               host_errors=host_errors or {}, cred_form=cred_form or {"kind": "key"},
                               cred_errors=cred_errors or {}, import_error=import_error,
                               formats=hosts.FORMATS), status


@bp.get("/inventory")
@requires("viewer")
def inventory():
    return _render()


def _host_data(form) -> dict:
    from migrator.web.manage import jump_supported
    data: dict = {}
    for field in HOST_FIELDS + (("jump",) if jump_supported() else ()):
        value = form_value(form, field)
        if value == "":
            continue
        data[field] = value
    if "port" in data:
        data["port"] = int(data["port"]) if data["port"].isascii() and data["port"].isdigit() else data["port"]
    if "groups" in data:
        data["groups"] = [g for g in (p.strip() for p in data["groups"].split(",")) if g]
        if not data["groups"]:
            del data["groups"]
    password = form.get("password") or ""
    if password:
        data["password"] = password
    return data


@bp.post("/inventory/hosts")
@requires("admin")
def add_host():
    data = _host_data(request.form)
    try:
        with db().session() as s:
            names = data.pop("groups", [])
            if any(len(g) > 255 for g in names):
                raise InputError("a group name is longer than 255 characters", "groups")
            host = hosts.add_host(s, cipher(), data)
            if names:                       # the form creates the groups it names
                host.groups = list(groups.ensure_groups(s, names).values())
                s.flush()
            name = host.name
    except InputError as exc:
        shown = {k: v for k, v in request.form.items() if k in HOST_FIELDS + ("jump",)}   # never the password
        return _render(host_form=shown, host_errors=exc.errors or {"form": str(exc)}, status=422)
    flash(f"Host {name} added. Scan it to see what runs there.", "ok")
    return redirect(url_for("web.inventory"))


@bp.post("/inventory/import")
@requires("admin")
def import_inventory():
    upload = request.files.get("file")
    fmt_choice = request.form.get("format", "")
    if fmt_choice not in IMPORT_FORMATS:
        return _render(import_error="Choose a format from the list (or let it be recognised).", status=422)
    if upload is None or not upload.filename:
        return _render(import_error="Choose an inventory file to upload.", status=422)
    raw = upload.read(MAX_IMPORT + 1)
    if len(raw) > MAX_IMPORT:
        return _render(import_error="The file is larger than 4 MiB.", status=422)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _render(import_error="The file is not UTF-8 text.", status=422)
    if not text.strip():
        return _render(import_error="The file is empty.", status=422)
    fmt = IMPORT_FORMATS[fmt_choice] or _guess_format(upload.filename, text)
    try:
        records = hosts.read_inventory(text, fmt, "the uploaded file")
        with db().session() as s:
            added = hosts.import_hosts(s, cipher(), records)
            count = len(added)
    except InputError as exc:
        return _render(import_error=str(exc), status=422)
    flash(f"{count} host(s) imported.", "ok")
    return redirect(url_for("web.inventory"))


def _guess_format(filename: str, text: str) -> str:
    lower = filename.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    return "yaml" if hosts.looks_structured(text) else "ansible-ini"


@bp.post("/inventory/credentials")
@requires("admin")
def add_credential():
    data = {f: form_value(request.form, f) for f in CREDENTIAL_FIELDS if form_value(request.form, f)}
    if request.form.get("password"):
        data["password"] = request.form["password"]
    try:
        with db().session() as s:
            cred = credentials.create_credential(s, cipher(), data)
            name = cred.name
    except InputError as exc:
        shown = {k: v for k, v in request.form.items() if k in CREDENTIAL_FIELDS}
        return _render(cred_form=shown, cred_errors=exc.errors or {"form": str(exc)}, status=422)
    flash(f"Credential {name} stored. Attach it to hosts (credential field) or to a group.", "ok")
    return redirect(url_for("web.inventory"))


@bp.post("/inventory/hosts/<id:host_id>/accept-key")
@requires("admin")
def accept_key(host_id: int):
    with db().session() as s:
        host = _host(s, host_id)
        hosts.accept_new_host_key(s, host)
        name = host.name
    flash(f"The host key of {name} is unpinned: the next scan pins the key it presents.", "ok")
    return redirect(url_for("web.inventory"))


def _host(s, host_id: int) -> Host:
    try:
        return hosts.get_host(s, host_id)
    except NotFound:
        from flask import abort
        abort(404)


# --- scans ---------------------------------------------------------------------------------------

@bp.post("/scans")
@requires("planner")
def start_scan():
    host_ids = request.form.getlist("host")
    group = form_value(request.form, "group")
    try:
        with db().session() as s:
            chosen = groups.chosen_hosts(s, host_ids or None, [group] if group else None, group_field="group")
            scan = scans.create_scan(s, chosen, runner=current_app.extensions["migrator.jobs"].scan_runner)
            scan_id = scan.id
    except InputError as exc:
        flash(f"No scan started: {exc}", "error")
        return redirect(url_for("web.inventory"))
    current_app.extensions["migrator.jobs"].start_scan(db(), current_app.config, scan_id)
    return redirect(url_for("web.scan_page", scan_id=scan_id))


def _scan(s, scan_id: int) -> Scan:
    scan = s.get(Scan, scan_id)
    if scan is None:
        from flask import abort
        abort(404)
    return scan


@bp.get("/scans/<id:scan_id>")
@requires("viewer")
def scan_page(scan_id: int):
    with db().session() as s:
        scan = _scan(s, scan_id)
        data = scans.scan_dict(scan)
        for row in data["hosts"]:
            row["hint"] = hint(row["error_kind"]) if row["error"] else ""
        return render_template("scan.html", scan=data, finished=scan.status not in ("queued", "running"))


@bp.get("/scans/<id:scan_id>.json")
@requires("viewer")
def scan_json(scan_id: int):
    """What the scan page's poller reads (the API's scan, for the session's user)."""
    with db().session() as s:
        data = scans.scan_dict(_scan(s, scan_id))
    for row in data["hosts"]:
        row["hint"] = hint(row["error_kind"]) if row["error"] else ""
    return jsonify(data)


@bp.post("/scans/<id:scan_id>/cancel")
@requires("planner")
def cancel_scan(scan_id: int):
    try:
        with db().session() as s:
            scans.cancel_scan(s, _scan(s, scan_id))
    except MigratorError as exc:
        return error_page("Cannot cancel", str(exc), 422)
    flash("Cancel requested: queued hosts are skipped, running ones stop at their next step.", "ok")
    return redirect(url_for("web.scan_page", scan_id=scan_id))
