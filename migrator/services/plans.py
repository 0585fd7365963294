"""Plans: the latest findings of the chosen hosts, through the planner, validated and stored."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from migrator.errors import InputError
from migrator.models import Host, Plan
from migrator.planner.builder import build_plan
from migrator.planner.export import export_plan
from migrator.planner.names import dns1123
from migrator.planner.validate import validate_yaml
from migrator.services.findings import latest_snapshots
from migrator.services.scans import findings_of


def create_plan(session: Session, hosts: list[Host], *, namespace: str = "default",
                kubernetes_version: str | None = None) -> Plan:
    if not isinstance(namespace, str) or dns1123(namespace) != namespace:
        raise InputError("namespace must be a DNS-1123 label (lowercase letters, digits, '-')", "namespace")
    snapshots = latest_snapshots(session, [h.id for h in hosts])
    if not snapshots:
        raise InputError("no scanned hosts: run a scan before making a plan", "hosts")
    names = {h.id: h.name for h in hosts}
    model = build_plan([(names[s.host_id], findings_of(s)) for s in snapshots], namespace=namespace)
    text = export_plan(model)
    problems = [asdict(p) for p in validate_yaml(text, kubernetes_version)]
    plan = Plan(namespace=namespace, host_ids=[s.host_id for s in snapshots], yaml=text,
                valid=not problems, problems=problems,
                summary={"workloads": {w.kind: sum(1 for x in model.workloads if x.kind == w.kind)
                                       for w in model.workloads},
                         "hosts": len(snapshots)})
    session.add(plan)
    session.flush()
    return plan


def plan_dict(plan: Plan) -> dict[str, Any]:
    return {"id": plan.id, "created_at": plan.created_at.isoformat(), "namespace": plan.namespace,
            "host_ids": plan.host_ids, "valid": plan.valid, "problems": plan.problems,
            "summary": plan.summary}
