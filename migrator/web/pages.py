"""The estate overview (counts, stateful against stateless, software, clusters, a searchable list of
applications) and one application's page (what was found, why, and what the planner proposes)."""
from __future__ import annotations

from collections import Counter

from flask import abort, current_app, render_template, request
from sqlalchemy import select

from migrator.errors import InputError
from migrator.models import Application, Host, ScanHost
from migrator.planner.model import EXPOSURES, KINDS
from migrator.planner.objects import workload_objects
from migrator.planner.render import render_yaml
from migrator.services import estate, findings, overrides, plans
from migrator.web import bp
from migrator.web.auth import requires
from migrator.web.common import db, size

FILTERS = ("q", "verdict", "software", "host", "category")


@bp.app_template_filter("size")
def _size_filter(n):
    return size(n)


@bp.get("/")
@requires("viewer")
def index():
    args = {k: (request.args.get(k) or "").strip()[:200] for k in FILTERS}
    if args["verdict"] not in ("", *findings.VERDICTS):
        args["verdict"] = ""
    with db().session() as s:
        all_hosts = list(s.scalars(select(Host).order_by(Host.name)))
        apps = findings.list_applications(s)
        last = {h.id: findings.last_scan_host(s, h.id) for h in all_hosts}
        counts = {
            "hosts": len(all_hosts),
            "scanned": len({a.host_id for a in apps} | {h for h, r in last.items() if r and r.status == "done"}),
            "failed": sum(1 for r in last.values() if r and r.status == "failed"),
            "never": sum(1 for r in last.values() if r is None),
            "apps": len(apps),
            "stateful": sum(1 for a in apps if a.verdict == "stateful"),
            "stateless": sum(1 for a in apps if a.verdict == "stateless"),
        }
        software = sorted(Counter(a.software for a in apps).items(), key=lambda kv: (-kv[1], kv[0]))
        categories = sorted({a.category for a in apps})
        clusters, estate_error = [], None
        try:
            result = estate.estate_findings(s, all_hosts) if apps else None
            clusters = list(result.clusters) if result else []
        except Exception as exc:   # noqa: BLE001 - the overview still shows the rest
            current_app.logger.exception("estate analysis failed")
            estate_error = f"The estate analysis failed: {type(exc).__name__}. The applications below are as found."
        app_ids = {f"{a.host.name}/{a.key}": a.id for a in apps}
        shown = [a for a in apps if _matches(a, args)]
        return render_template("overview.html", counts=counts, software=software, clusters=clusters,
                               apps=shown, total=len(apps), args=args, categories=categories,
                               hosts=[h.name for h in all_hosts], app_ids=app_ids, estate_error=estate_error)


def _matches(app: Application, args: dict) -> bool:
    if args["verdict"] and app.verdict != args["verdict"]:
        return False
    if args["software"] and app.software != args["software"]:
        return False
    if args["category"] and app.category != args["category"]:
        return False
    if args["host"] and app.host.name != args["host"]:
        return False
    q = args["q"].lower()
    if q:
        text = " ".join([app.host.name, app.key, app.name, app.software, app.version, app.unit, app.user,
                         " ".join(app.command or []), " ".join(s.path for s in app.state_locations),
                         " ".join(str(p.port) for p in app.ports)]).lower()
        return all(word in text for word in q.split())
    return True


@bp.get("/apps/<id:app_id>")
@requires("viewer")
def app_page(app_id: int):
    with db().session() as s:
        app = s.get(Application, app_id)
        if app is None:
            abort(404)
        host = app.host
        ref = f"{host.name}/{app.key}"
        latest = {snap.id for snap in findings.latest_snapshots(s, [host.id])}
        scan_id = s.scalar(select(ScanHost.scan_id).where(ScanHost.id == app.snapshot.scan_host_id))
        peers, routes, clusters, estate_error = [], [], [], None
        try:
            result = estate.estate_findings(s, list(s.scalars(select(Host))))
            peers = [p for p in result.peers if ref in (p.client, p.server)]
            routes = [r for r in result.routes if r.app == ref]
            clusters = [c for c in result.clusters if any(m[0] == ref for m in c.members)]
            app_ids = {f"{a.host.name}/{a.key}": a.id for a in findings.list_applications(s)}
        except Exception as exc:   # noqa: BLE001
            current_app.logger.exception("estate analysis failed")
            estate_error = f"The estate analysis failed ({type(exc).__name__}): peers and routes are not shown."
            app_ids = {}
        proposal = _proposal(s, host, ref)
        stored = overrides.stored(s)
        return render_template("app.html", app=app, ref=ref, host=host, current=app.snapshot_id in latest,
                               scan_id=scan_id, peers=peers, routes=routes, clusters=clusters, app_ids=app_ids,
                               estate_error=estate_error, proposal=proposal,
                               override=stored.get(proposal.get("workload_id") or ref, {}),
                               override_id=proposal.get("workload_id") or ref, kinds=KINDS, exposures=EXPOSURES)


def _proposal(s, host: Host, ref: str) -> dict:
    """What the planner proposes for this application, planned from its host's latest findings with
    the stored overrides: its workload and objects as YAML, or why there is none."""
    try:
        model, _ = plans.plan_model(s, [host], overrides=overrides.stored(s))
    except InputError as exc:
        return {"error": str(exc)}
    for w in model.workloads:
        if ref == w.id or ref in w.refs:
            objs = workload_objects(w, model)
            return {"workload": w, "workload_id": w.id, "objects": [(type(o).__name__.removeprefix("V1")
                                                                     .removeprefix("V2"), o) for o in objs],
                    "yaml": render_yaml(objs)}
    if overrides.stored(s).get(ref, {}).get("exclude"):
        return {"excluded": True, "workload_id": ref}
    return {"none": True}
