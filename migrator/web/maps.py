"""The dependency map (applications, their peers, clusters and endpoints outside the inventory, as
inline SVG) and the start waves, from the same estate analysis as the API's /graph and /waves."""
from __future__ import annotations

from flask import current_app, render_template, request, url_for
from sqlalchemy import select

from migrator.errors import InputError
from migrator.models import Host, HostGroup
from migrator.services import estate, findings, groups
from migrator.web import bp
from migrator.web.auth import requires
from migrator.web.common import db
from migrator.web.depmap import layout, wave_reasons


def _estate(s, group: str) -> dict:
    """What the map and the waves page show: the API's graph and waves for the chosen hosts."""
    all_hosts = list(s.scalars(select(Host).order_by(Host.name)))
    chosen = groups.chosen_hosts(s, None, [group], group_field="group") if group else all_hosts
    chosen_ids = {h.id for h in chosen}
    apps = [a for a in findings.list_applications(s) if a.host_id in chosen_ids]
    data = {"hosts": len(all_hosts), "chosen": len(chosen), "apps": len(apps), "graph": None, "waves": [],
            "cycles": [], "links": {f"{a.host.name}/{a.key}": a.id for a in apps},
            "verdicts": {f"{a.host.name}/{a.key}": a.verdict for a in apps}, "error": None}
    if apps:
        try:
            result = estate.estate_findings(s, chosen)
            data["graph"] = estate.graph_dict(result)
            data["waves"] = [list(w) for w in result.waves]
            data["cycles"] = [list(c) for c in result.cycles]
        except Exception as exc:   # noqa: BLE001 - the page says so instead of failing
            current_app.logger.exception("estate analysis failed")
            data["error"] = f"The estate analysis failed ({type(exc).__name__}); try scanning the hosts again."
    return data


def _choices(s) -> tuple[str, list[HostGroup]]:
    group = (request.args.get("group") or "").strip()[:255]
    return group, list(s.scalars(select(HostGroup).order_by(HostGroup.name)))


@bp.get("/map")
@requires("viewer")
def depmap():
    by = "host" if request.args.get("by") == "host" else "wave"
    focus = (request.args.get("focus") or "").strip()[:600]
    with db().session() as s:
        group, group_list = _choices(s)
        try:
            data = estate_data(s, group)
        except InputError as exc:
            return render_template("depmap.html", error=str(exc), data=None, picture=None, by=by, group=group,
                                   groups=group_list, focus=focus), 422
        picture = None
        if data["graph"] is not None:
            picture = layout(data["graph"], data["waves"], by=by, links=data["links"], verdicts=data["verdicts"],
                             link_of=lambda app_id: url_for("web.app_page", app_id=app_id))
        return render_template("depmap.html", data=data, picture=picture, by=by, group=group, groups=group_list,
                               focus=focus, error=None)


@bp.get("/waves")
@requires("viewer")
def waves_page():
    with db().session() as s:
        group, group_list = _choices(s)
        try:
            data = estate_data(s, group)
        except InputError as exc:
            return render_template("waves.html", error=str(exc), data=None, waves=[], group=group,
                                   groups=group_list), 422
        waves = wave_reasons(data["graph"], data["waves"]) if data["graph"] is not None else []
        return render_template("waves.html", data=data, waves=waves, group=group, groups=group_list, error=None)


# The map's data, replaceable in tests (a synthetic estate of any size).
estate_data = _estate
