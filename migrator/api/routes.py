"""Hosts, scans, applications and plans."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import UnsupportedMediaType

from migrator import get_db
from migrator.api import bp
from migrator.credentials import CredentialCipher
from migrator.errors import InputError, NotFound
from migrator.models import Host, Plan, Scan
from migrator.services import findings, hosts, plans, scans


def json_body(optional: bool = False, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The request's JSON object; `fields`, when given, are the only keys it may have."""
    if optional and not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("send the request body as application/json")
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise InputError("the request body is nested too deeply") from None
    if data is None and request.get_data(cache=True).strip() != b"null":
        raise InputError("the request body is not valid JSON")
    if not isinstance(data, dict):
        raise InputError("the request body must be a JSON object")
    if fields is not None:
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise InputError(f"unknown field(s) {', '.join(u[:40] for u in unknown)}; known: {', '.join(fields)}",
                             unknown[0], {u[:40]: f"unknown field; known: {', '.join(fields)}" for u in unknown})
    return data


def _refs(data: dict[str, Any]) -> list[str]:
    """The hosts a request names; absent means every host, an empty list is refused."""
    if "hosts" not in data:
        return []
    refs = data["hosts"]
    if not isinstance(refs, list) or not all(isinstance(r, (int, str)) and not isinstance(r, bool) for r in refs):
        raise InputError("hosts must be a list of host ids or names", "hosts")
    if not refs:
        raise InputError("hosts is an empty list: name hosts, or leave the field out to mean every host", "hosts")
    return list(dict.fromkeys(str(r) for r in refs))


@bp.get("/health")
def health():
    return jsonify(status="ok")


@bp.get("/hosts")
def list_hosts():
    with get_db(current_app).session() as s:
        return jsonify(items=[findings.host_summary(s, h) for h in s.query(Host).order_by(Host.id)])


@bp.post("/hosts")
def create_host():
    data = json_body()
    with get_db(current_app).session() as s:
        host = hosts.add_host(s, CredentialCipher(current_app.config), data)
        body = hosts.host_dict(host)
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_host", host_id=body["id"])
    return response


@bp.get("/hosts/<int(max=9223372036854775807):host_id>")
def get_host(host_id: int):
    with get_db(current_app).session() as s:
        return jsonify(findings.host_summary(s, hosts.get_host(s, host_id)))


@bp.delete("/hosts/<int(max=9223372036854775807):host_id>")
def delete_host(host_id: int):
    with get_db(current_app).session() as s:
        hosts.remove_host(s, hosts.get_host(s, host_id))
    return "", 204


@bp.post("/hosts/<int(max=9223372036854775807):host_id>/accept-key")
def accept_host_key(host_id: int):
    """After a deliberate host key change: unpin; the next scan pins the key the host presents."""
    with get_db(current_app).session() as s:
        host = hosts.get_host(s, host_id)
        hosts.accept_new_host_key(s, host)
        return jsonify(findings.host_summary(s, host))


@bp.post("/scans")
def start_scan():
    data = json_body(optional=True, fields=("hosts",))
    db = get_db(current_app)
    with db.session() as s:
        scan = scans.create_scan(s, hosts.find_hosts(s, _refs(data)))
        scan_id = scan.id
        body = scans.scan_dict(scan)
    settings = dict(current_app.config)
    current_app.extensions["migrator.jobs"].submit(scans.run_scan, db, settings, scan_id)
    response = jsonify(body)
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_scan", scan_id=scan_id)
    return response


@bp.get("/scans/<int(max=9223372036854775807):scan_id>")
def get_scan(scan_id: int):
    with get_db(current_app).session() as s:
        scan = s.get(Scan, scan_id)
        if scan is None:
            raise NotFound(f"scan {scan_id} does not exist")
        return jsonify(scans.scan_dict(scan))


@bp.get("/applications")
def list_applications():
    args = request.args
    with get_db(current_app).session() as s:
        apps = findings.list_applications(s, host=args.get("host"), verdict=args.get("verdict"),
                                          software=args.get("software"))
        return jsonify(items=[findings.application_dict(a) for a in apps])


@bp.post("/plans")
def create_plan():
    data = json_body(optional=True, fields=("hosts", "namespace", "overrides", "network_policies"))
    namespace = data.get("namespace", "default")
    network_policies = data.get("network_policies", True)
    if not isinstance(network_policies, bool):
        raise InputError("network_policies must be true or false", "network_policies")
    overrides = data.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise InputError("overrides must be an object mapping workload ids to changes", "overrides")
    with get_db(current_app).session() as s:
        plan = plans.create_plan(s, hosts.find_hosts(s, _refs(data)), namespace=namespace,
                                 kubernetes_version=current_app.config.get("KUBERNETES_VERSION"),
                                 overrides=overrides, network_policies=network_policies)
        body = plans.plan_dict(plan)
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_plan", plan_id=body["id"])
    return response


def _plan(s, plan_id: int) -> Plan:
    plan = s.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"plan {plan_id} does not exist")
    return plan


@bp.get("/plans/<int(max=9223372036854775807):plan_id>/files/<path:path>")
def get_plan_file(plan_id: int, path: str):
    """A file generated with the plan: dockerfiles/NAME/Dockerfile, NOTES.md."""
    with get_db(current_app).session() as s:
        text = plans.plan_file(_plan(s, plan_id), path)
    return Response(text, mimetype="text/plain",
                    headers={"Content-Disposition": f'attachment; filename="{path.rsplit("/", 1)[-1]}"'})


@bp.get("/plans/<int(max=9223372036854775807):plan_id>")
def get_plan(plan_id: int):
    with get_db(current_app).session() as s:
        return jsonify(plans.plan_dict(_plan(s, plan_id)))


@bp.get("/plans/<int(max=9223372036854775807):plan_id>/yaml")
def get_plan_yaml(plan_id: int):
    with get_db(current_app).session() as s:
        text = _plan(s, plan_id).yaml
    return Response(text, mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.yaml"'})
