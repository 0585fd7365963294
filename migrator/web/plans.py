"""Plans: versions, YAML, the diff against the version before, validation, downloads; and the plan
editor: stored overrides (kind, replicas, image, storage, exposure, exclude) per workload."""
from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from migrator.errors import InputError, MigratorError
from migrator.models import Plan, PlanOverride
from migrator.planner.model import EXPOSURES, KINDS
from migrator.services import hosts, overrides, plans
from migrator.web import bp
from migrator.web.auth import requires
from migrator.web.common import db, form_value

MAX_DIFF_LINES = 5000


def _plan(s, plan_id: int) -> Plan:
    plan = s.get(Plan, plan_id)
    if plan is None:
        abort(404)
    return plan


@bp.get("/plans")
@requires("viewer")
def plans_page():
    with db().session() as s:
        rows = [plans.plan_dict(p) for p in s.scalars(select(Plan).order_by(Plan.id.desc()))]
        stored = list(s.scalars(select(PlanOverride).order_by(PlanOverride.workload)))
        return render_template("plans.html", plans=rows, overrides=stored, kinds=KINDS, exposures=EXPOSURES)


@bp.post("/plans")
@requires("planner")
def create_plan():
    namespace = form_value(request.form, "namespace") or "default"
    network_policies = request.form.get("network_policies") == "on"
    try:
        with db().session() as s:
            plan = plans.create_plan(s, hosts.find_hosts(s, []), namespace=namespace,
                                     kubernetes_version=current_app.config.get("KUBERNETES_VERSION"),
                                     network_policies=network_policies)
            plan_id, valid = plan.id, plan.valid
    except InputError as exc:
        flash(f"No plan made: {exc}", "error")
        return redirect(url_for("web.plans_page"))
    flash(f"Plan {plan_id} made; " + ("it is valid." if valid else "it has validation problems, see below."),
          "ok" if valid else "error")
    return redirect(url_for("web.plan_page", plan_id=plan_id))


@bp.get("/plans/<id:plan_id>")
@requires("viewer")
def plan_page(plan_id: int):
    with db().session() as s:
        plan = _plan(s, plan_id)
        previous = s.scalar(select(Plan.id).where(Plan.id < plan.id).order_by(Plan.id.desc()))
        return render_template("plan.html", plan=plans.plan_dict(plan), yaml=plan.yaml, previous=previous,
                               files=list(plans.plan_files(plan)))


@bp.get("/plans/<id:plan_id>/diff")
@requires("viewer")
def plan_diff(plan_id: int):
    with db().session() as s:
        plan = _plan(s, plan_id)
        against_raw = request.args.get("against", "")
        if against_raw:
            if not (against_raw.isascii() and against_raw.isdigit()):
                abort(404)
            against = _plan(s, int(against_raw)) if int(against_raw) < 2 ** 31 else abort(404)
        else:
            against = s.scalar(select(Plan).where(Plan.id < plan.id).order_by(Plan.id.desc()))
        text = plans.diff(plan, against) if against is not None else None
        lines = text.splitlines()[:MAX_DIFF_LINES] if text else []
        return render_template("diff.html", plan_id=plan.id, against=against.id if against else None, lines=lines,
                               truncated=bool(text) and len(text.splitlines()) > MAX_DIFF_LINES)


@bp.post("/plans/<id:plan_id>/validate")
@requires("planner")
def validate_plan(plan_id: int):
    with db().session() as s:
        result = plans.revalidate(_plan(s, plan_id), current_app.config.get("KUBERNETES_VERSION"))
    flash("Validated again: " + ("valid." if result["valid"] else f"{len(result['problems'])} problem(s)."),
          "ok" if result["valid"] else "error")
    return redirect(url_for("web.plan_page", plan_id=plan_id))


@bp.get("/plans/<id:plan_id>/plan.yaml")
@requires("viewer")
def plan_yaml(plan_id: int):
    with db().session() as s:
        text = plans.exported(s, _plan(s, plan_id), "yaml").yaml
    return Response(text, mimetype="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.yaml"'})


@bp.get("/plans/<id:plan_id>/kustomize.zip")
@requires("viewer")
def plan_kustomize(plan_id: int):
    try:
        with db().session() as s:
            data = plans.kustomize_zip(plans.exported(s, _plan(s, plan_id), "kustomize"))
    except MigratorError as exc:
        return render_template("error.html", title="No Kustomize tree", message=str(exc)), 404
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}-kustomize.zip"'})


@bp.get("/plans/<id:plan_id>/files/<path:path>")
@requires("viewer")
def plan_file(plan_id: int, path: str):
    try:
        with db().session() as s:
            text = plans.plan_file(plans.exported(s, _plan(s, plan_id), path), path)
    except MigratorError as exc:
        return render_template("error.html", title="No such file", message=str(exc)), 404
    filename = "".join(c for c in path.rsplit("/", 1)[-1] if c.isalnum() or c in "._-") or "file"
    return Response(text, mimetype="text/plain",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- the plan editor: stored overrides -----------------------------------------------------------

def _changes(form) -> dict:
    """The override's changes from the editor's fields; an empty field keeps the planner's decision."""
    changes: dict = {}
    kind = form_value(form, "kind")
    if kind:
        changes["kind"] = kind
    replicas = form_value(form, "replicas")
    if replicas:
        if not (replicas.isascii() and replicas.isdigit()) or len(replicas) > 6:
            raise InputError("replicas must be a whole number from 0", "replicas")
        changes["replicas"] = int(replicas)
    for field in ("image", "storage_size", "storage_class"):
        value = form_value(form, field, 512)
        if value:
            changes[field] = value
    expose = form_value(form, "expose")
    if expose:
        changes["expose"] = expose
    if form.get("exclude") == "on":
        changes["exclude"] = True
    return changes


@bp.post("/overrides")
@requires("planner")
def save_override():
    workload = form_value(request.form, "workload", 600)
    back = _back()
    try:
        changes = _changes(request.form)
        with db().session() as s:
            workload = overrides.check_workload(workload)
            row = s.scalar(select(PlanOverride).where(PlanOverride.workload == workload))
            if not changes:
                if row is not None:
                    overrides.delete_override(s, row)
                message = f"{workload}: the planner's decisions apply again (no override)."
            elif row is None:
                overrides.create_override(s, {"workload": workload, "changes": changes})
                message = f"{workload}: override saved; it applies to every new plan."
            else:
                overrides.update_override(s, row, {"changes": changes})
                message = f"{workload}: override changed; it applies to every new plan."
    except InputError as exc:
        flash(f"Override not saved: {exc}", "error")
        return redirect(back)
    flash(message, "ok")
    return redirect(back)


@bp.post("/overrides/<id:override_id>/delete")
@requires("planner")
def delete_override(override_id: int):
    with db().session() as s:
        row = s.get(PlanOverride, override_id)
        if row is None:
            abort(404)
        workload = row.workload
        overrides.delete_override(s, row)
    flash(f"{workload}: override removed.", "ok")
    return redirect(_back())


def _back() -> str:
    """Where the editor's form came from (a page of this site), else the plans page."""
    target = request.form.get("back", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.plans_page")
