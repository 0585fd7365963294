"""Scans, snapshots, applications, the estate graph and waves, overrides and plans."""
from __future__ import annotations

from flask import Response, current_app, jsonify, request, url_for
from sqlalchemy import select

from migrator import get_db
from migrator.api import bp
from migrator.api.common import MAX_ID, created, int_arg, json_body, page, refs
from migrator.api.openapi import (PAGE_PARAMS, STR, json_content, operation, path_id, query, ref)
from migrator.errors import InputError, NotFound
from migrator.models import Plan, PlanOverride, Scan, Snapshot
from migrator.services import estate, findings, groups, hosts, overrides, plans, scans

ID = "id"
HOSTS_PARAM = query("hosts", "only these hosts: ids or names separated by commas (default: every host)")
GROUPS_PARAM = query("groups", "only the hosts of these groups: ids or names separated by commas")


def _chosen_hosts(s, data: dict) -> list:
    """The hosts a body names with `hosts` and `groups` (union, in order); every host when neither."""
    return groups.chosen_hosts(s, refs(data, "hosts"), refs(data, "groups"))


def _query_hosts(s) -> list:
    data = {k: [r for r in request.args[k].split(",") if r] for k in ("hosts", "groups") if request.args.get(k)}
    return _chosen_hosts(s, data)


# --- scans ---------------------------------------------------------------------------------------

@bp.get("/scans")
@operation(role="viewer", summary="List scans, oldest first", tags=["scans"], params=PAGE_PARAMS,
           responses={200: {"$ref": "#/components/schemas/ScanPage"}})
def list_scans():
    with get_db(current_app).session() as s:
        return page(s, select(Scan), Scan.id, scans.scan_dict)


@bp.post("/scans")
@operation(role="planner", summary="Start a scan of hosts and/or groups", errors=(404,), tags=["scans"],
           body="ScanInput", body_required=False,
           description="No body (or neither field): every host. Answers 202 at once; poll Location.",
           responses={202: ("the scan, queued; Location to poll", json_content(ref("Scan")),
                            {"Location": {"schema": STR}})})
def start_scan():
    data = json_body(optional=True, fields=("hosts", "groups"))
    db = get_db(current_app)
    jobs = current_app.extensions["migrator.jobs"]
    with db.session() as s:
        scan = scans.create_scan(s, _chosen_hosts(s, data), runner=jobs.scan_runner)
        scan_id = scan.id
        body = scans.scan_dict(scan)
    jobs.start_scan(db, current_app.config, scan_id)
    return created(body, url_for("api.get_scan", scan_id=scan_id), 202)


def _scan(s, scan_id: int) -> Scan:
    scan = s.get(Scan, scan_id)
    if scan is None:
        raise NotFound(f"scan {scan_id} does not exist", "scan_id")
    return scan


@bp.get(f"/scans/<{ID}:scan_id>")
@operation(role="viewer", summary="A scan's status with each host's stage and error", tags=["scans"],
           params=[path_id("scan_id", "scan")], responses={200: "Scan"})
def get_scan(scan_id: int):
    with get_db(current_app).session() as s:
        return jsonify(scans.scan_dict(_scan(s, scan_id)))


@bp.post(f"/scans/<{ID}:scan_id>/cancel")
@operation(role="planner", summary="Cancel a scan", tags=["scans"], params=[path_id("scan_id", "scan")],
           description="Queued hosts are cancelled at once; running ones stop at their next stage. "
                       "A finished scan is returned as it is.",
           responses={202: ("the scan, cancelling or cancelled", json_content(ref("Scan")))})
def cancel_scan(scan_id: int):
    with get_db(current_app).session() as s:
        body = scans.scan_dict(scans.cancel_scan(s, _scan(s, scan_id)))
    response = jsonify(body)
    response.status_code = 202
    return response


# --- findings ------------------------------------------------------------------------------------

@bp.get("/snapshots")
@operation(role="viewer", summary="Snapshots (the raw facts of one host in one scan)", errors=(404,), tags=["findings"],
           params=PAGE_PARAMS + [query("host", "only this host (id or name)")],
           responses={200: {"$ref": "#/components/schemas/SnapshotPage"}})
def list_snapshots():
    with get_db(current_app).session() as s:
        q = select(Snapshot)
        if request.args.get("host"):
            (host,) = hosts.find_hosts(s, [request.args["host"]])
            q = q.where(Snapshot.host_id == host.id)
        return page(s, q, Snapshot.id, findings.snapshot_dict)


@bp.get(f"/snapshots/<{ID}:snapshot_id>")
@operation(role="viewer", summary="One snapshot", tags=["findings"], params=[path_id("snapshot_id", "snapshot")],
           responses={200: "Snapshot"})
def get_snapshot(snapshot_id: int):
    with get_db(current_app).session() as s:
        snapshot = s.get(Snapshot, snapshot_id)
        if snapshot is None:
            raise NotFound(f"snapshot {snapshot_id} does not exist", "snapshot_id")
        return jsonify(findings.snapshot_dict(snapshot))


@bp.get("/applications")
@operation(role="viewer", summary="Applications of each host's latest scan, with evidence", errors=(404,), tags=["findings"],
           params=PAGE_PARAMS + [query("host", "only this host (id or name)"),
                                 query("verdict", "stateful or stateless", {"type": "string",
                                                                           "enum": list(findings.VERDICTS)}),
                                 query("software", "e.g. redis, postgresql, python-app"),
                                 query("category", "the application's kind: " + findings.CATEGORIES_HINT)],
           responses={200: {"$ref": "#/components/schemas/ApplicationPage"}})
def list_applications():
    args = request.args
    with get_db(current_app).session() as s:
        q = findings.applications_query(s, host=args.get("host"), verdict=args.get("verdict") or None,
                                        software=args.get("software"), category=args.get("category"))
        from migrator.models import Application
        return page(s, q, Application.id, findings.application_dict)


@bp.get(f"/applications/<{ID}:application_id>")
@operation(role="viewer", summary="One application with its evidence", tags=["findings"],
           params=[path_id("application_id", "application")], responses={200: "Application"})
def get_application(application_id: int):
    from migrator.models import Application
    with get_db(current_app).session() as s:
        app = s.get(Application, application_id)
        if app is None:
            raise NotFound(f"application {application_id} does not exist", "application_id")
        return jsonify(findings.application_dict(app))


@bp.get("/graph")
@operation(role="viewer", summary="The dependency graph of the latest findings", errors=(404,), tags=["findings"],
           params=[HOSTS_PARAM, GROUPS_PARAM], responses={200: "Graph"})
def get_graph():
    with get_db(current_app).session() as s:
        return jsonify(estate.graph_dict(estate.estate_findings(s, _query_hosts(s))))


@bp.get("/waves")
@operation(role="viewer", summary="Start waves: what must run before what", errors=(404,), tags=["findings"],
           params=[HOSTS_PARAM, GROUPS_PARAM], responses={200: "Waves"})
def get_waves():
    with get_db(current_app).session() as s:
        result = estate.estate_findings(s, _query_hosts(s))
        return jsonify(waves=[list(w) for w in result.waves], cycles=[list(c) for c in result.cycles])


# --- overrides -----------------------------------------------------------------------------------

@bp.get("/overrides")
@operation(role="viewer", summary="Stored plan overrides", tags=["plans"], params=PAGE_PARAMS,
           responses={200: {"$ref": "#/components/schemas/OverridePage"}})
def list_overrides():
    with get_db(current_app).session() as s:
        return page(s, select(PlanOverride), PlanOverride.id, overrides.override_dict)


@bp.post("/overrides")
@operation(role="planner", summary="Store an override for one workload", tags=["plans"], body="OverrideInput",
           description="Applied to every new plan, whatever scans happen later.",
           responses={201: ("the override; Location names it", json_content(ref("Override")),
                            {"Location": {"schema": STR}})})
def create_override():
    data = json_body()
    with get_db(current_app).session() as s:
        body = overrides.override_dict(overrides.create_override(s, data))
    return created(body, url_for("api.get_override", override_id=body["id"]))


@bp.get(f"/overrides/<{ID}:override_id>")
@operation(role="viewer", summary="One stored override", tags=["plans"], params=[path_id("override_id", "override")],
           responses={200: "Override"})
def get_override(override_id: int):
    with get_db(current_app).session() as s:
        return jsonify(overrides.override_dict(overrides.get_override(s, override_id)))


@bp.patch(f"/overrides/<{ID}:override_id>")
@operation(role="planner", summary="Replace an override's changes", tags=["plans"], body="OverridePatch",
           params=[path_id("override_id", "override")], responses={200: "Override"})
def update_override(override_id: int):
    data = json_body()
    with get_db(current_app).session() as s:
        return jsonify(overrides.override_dict(overrides.update_override(s, overrides.get_override(s, override_id),
                                                                         data)))


@bp.delete(f"/overrides/<{ID}:override_id>")
@operation(role="planner", summary="Remove a stored override", tags=["plans"],
           params=[path_id("override_id", "override")], responses={204: None})
def delete_override(override_id: int):
    with get_db(current_app).session() as s:
        overrides.delete_override(s, overrides.get_override(s, override_id))
    return "", 204


# --- plans ---------------------------------------------------------------------------------------

@bp.get("/plans")
@operation(role="viewer", summary="Plan versions, oldest first", tags=["plans"], params=PAGE_PARAMS,
           responses={200: {"$ref": "#/components/schemas/PlanPage"}})
def list_plans():
    with get_db(current_app).session() as s:
        return page(s, select(Plan), Plan.id, plans.plan_dict)


@bp.post("/plans")
@operation(role="planner", summary="Make a new plan version from the latest findings", errors=(404,), tags=["plans"],
           body="PlanInput", body_required=False,
           description="The stored overrides apply, then the request's `overrides` (key by key). The plan is "
                       "validated against the Kubernetes schemas; `valid` and `problems` say how it went.",
           responses={201: ("the plan; Location names it", json_content(ref("Plan")),
                            {"Location": {"schema": STR}})})
def create_plan():
    data = json_body(optional=True, fields=("hosts", "groups", "namespace", "overrides", "network_policies"))
    namespace = data.get("namespace", "default")
    network_policies = data.get("network_policies", True)
    if not isinstance(network_policies, bool):
        raise InputError("network_policies must be true or false", "network_policies")
    extra = overrides.check_mapping(data["overrides"]) if data.get("overrides") is not None else {}
    with get_db(current_app).session() as s:
        plan = plans.create_plan(s, _chosen_hosts(s, data), namespace=namespace,
                                 kubernetes_version=current_app.config.get("KUBERNETES_VERSION"),
                                 overrides=extra, network_policies=network_policies)
        body = plans.plan_dict(plan)
    return created(body, url_for("api.get_plan", plan_id=body["id"]))


def _plan(s, plan_id: int) -> Plan:
    plan = s.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"plan {plan_id} does not exist", "plan_id")
    return plan


PLAN_ID = [path_id("plan_id", "plan")]


@bp.get(f"/plans/<{ID}:plan_id>")
@operation(role="viewer", summary="One plan", tags=["plans"], params=PLAN_ID, responses={200: "Plan"})
def get_plan(plan_id: int):
    with get_db(current_app).session() as s:
        return jsonify(plans.plan_dict(_plan(s, plan_id)))


@bp.get(f"/plans/<{ID}:plan_id>/yaml")
@operation(role="viewer", summary="The plan as multi-document YAML", tags=["plans"], params=PLAN_ID,
           responses={200: ("the plan's objects as multi-document YAML (documents separated by ---)",
                             {"application/yaml": {}})})
def get_plan_yaml(plan_id: int):
    with get_db(current_app).session() as s:
        text = plans.exported(s, _plan(s, plan_id), "yaml").yaml
    return Response(text, mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.yaml"'})


@bp.get(f"/plans/<{ID}:plan_id>/kustomize.zip")
@operation(role="viewer", summary="The plan as a Kustomize tree, zipped", tags=["plans"], params=PLAN_ID,
           description="One folder per start wave; `kubectl apply -k plan-ID/` after unzipping.",
           responses={200: ("a zip archive", {"application/zip": {"schema": {"type": "string",
                                                                             "format": "binary"}}})})
def get_plan_kustomize(plan_id: int):
    with get_db(current_app).session() as s:
        data = plans.kustomize_zip(plans.exported(s, _plan(s, plan_id), "kustomize"))
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}-kustomize.zip"'})


@bp.get(f"/plans/<{ID}:plan_id>/files/<path:path>")
@operation(role="viewer", summary="A file generated with the plan (a Dockerfile, NOTES.md)", tags=["plans"],
           params=PLAN_ID + [{"name": "path", "in": "path", "required": True, "schema": STR,
                              "description": "as listed in summary.files"}],
           responses={200: ("the file", {"text/plain": {"schema": STR}})})
def get_plan_file(plan_id: int, path: str):
    """A file generated with the plan: dockerfiles/NAME/Dockerfile, NOTES.md."""
    with get_db(current_app).session() as s:
        text = plans.plan_file(plans.exported(s, _plan(s, plan_id), path), path)
    return Response(text, mimetype="text/plain",
                    headers={"Content-Disposition": f'attachment; filename="{path.rsplit("/", 1)[-1]}"'})


@bp.get(f"/plans/<{ID}:plan_id>/diff")
@operation(role="viewer", summary="Unified diff of two plans' YAML", tags=["plans"],
           params=PLAN_ID + [query("against", "the plan to compare with (default: the version before)",
                                   {"type": "integer", "minimum": 0, "maximum": MAX_ID})],
           responses={200: ("the diff (empty when the YAML is the same)", {"text/x-diff": {"schema": STR}})})
def get_plan_diff(plan_id: int):
    against_id = int_arg("against", None, 0, MAX_ID)
    with get_db(current_app).session() as s:
        plan = _plan(s, plan_id)
        if against_id is None:
            against = s.scalar(select(Plan).where(Plan.id < plan.id).order_by(Plan.id.desc()))
            if against is None:
                raise InputError(f"plan {plan_id} is the first version: name another with ?against=", "against")
        else:
            against = s.get(Plan, against_id)
            if against is None:
                raise NotFound(f"plan {against_id} does not exist", "against")
        text = plans.diff(plan, against)
    return Response(text, mimetype="text/x-diff")


@bp.post(f"/plans/<{ID}:plan_id>/validate")
@operation(role="planner", summary="Validate a plan again", tags=["plans"], params=PLAN_ID,
           body={"application/json": {"schema": {"type": "object", "additionalProperties": False, "properties": {
               "kubernetes_version": {"type": "string", "description": "e.g. 1.30.0 (default: the service's)"}}}}},
           body_required=False, responses={200: "Validation"})
def validate_plan(plan_id: int):
    data = json_body(optional=True, fields=("kubernetes_version",))
    version = data.get("kubernetes_version") or current_app.config.get("KUBERNETES_VERSION")
    with get_db(current_app).session() as s:
        return jsonify(plans.revalidate(_plan(s, plan_id), version))
