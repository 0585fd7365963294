"""The estate view: the latest findings of each host, analysed together."""
from __future__ import annotations

from sqlalchemy.orm import Session

from analyzers.estate import EstateFindings, analyze_estate
from analyzers.findings import HostFindings
from migrator.models import Host
from migrator.services.findings import latest_snapshots
from migrator.services.scans import findings_of


def host_findings(session: Session, hosts: list[Host]) -> list[tuple[str, HostFindings]]:
    """(host name, findings of its newest snapshot) for each given host that has been scanned."""
    names = {h.id: h.name for h in hosts}
    return [(names[s.host_id], findings_of(s)) for s in latest_snapshots(session, list(names))]


def estate_findings(session: Session, hosts: list[Host]) -> EstateFindings:
    return analyze_estate(host_findings(session, hosts))


def graph_dict(estate: EstateFindings) -> dict:
    """The estate as a graph: nodes (applications, by ref HOST/APP), edges (client -> server peers),
    clusters, external endpoints and start-order edges."""
    data = estate.as_dict()
    nodes = [{"id": ref, "host": app["host"], "key": app["key"], "software": app["software"], "name": app["name"]}
             for ref, app in sorted(data["apps"].items())]
    edges = [{"source": p["client"], "target": p["server"], "port": p["port"], "protocol": p.get("protocol", "tcp")}
             for p in data["peers"]]
    clusters = [{"software": c["software"], "members": [{"id": m[0], "role": m[1]} for m in c["members"]]}
                for c in data["clusters"]]
    external = [{"app": e["app"], "address": e["address"], "port": e["port"], "direction": e["direction"]}
                for e in data["external"]]
    order = [{"before": o["before"], "after": o["after"], "reason": o.get("reason", "")} for o in data["order"]]
    return {"nodes": nodes, "edges": edges, "clusters": clusters, "external": external, "order": order}
