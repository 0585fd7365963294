"""Plans: the latest findings of the chosen hosts, through the planner, validated and stored."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from migrator.errors import InputError, NotFound
from migrator.models import Host, Plan
from migrator.planner.builder import build_plan
from migrator.planner.export import export_kustomize, export_plan, generated_files
from migrator.planner.model import Plan as PlanModel
from migrator.planner.names import dns1123
from migrator.planner.objects import to_objects
from migrator.planner.validate import validate_yaml
from migrator.services.findings import latest_snapshots
from migrator.services.scans import findings_of
from migrator.services import audit


def plan_model(session: Session, hosts: list[Host], *, namespace: str = "default",
               overrides: Mapping[str, Mapping] | None = None, network_policies: bool = True
               ) -> tuple[PlanModel, list[int]]:
    """The planner's model for the latest snapshots of `hosts`, and the ids of the hosts it used."""
    if not isinstance(namespace, str) or dns1123(namespace) != namespace:
        raise InputError("namespace must be a DNS-1123 label (lowercase letters, digits, '-')", "namespace")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InputError("overrides must map workload ids to changes", "overrides")
    if not isinstance(network_policies, bool):
        raise InputError("network_policies must be true or false", "network_policies")
    snapshots = latest_snapshots(session, [h.id for h in hosts])
    if not snapshots:
        raise InputError("no scanned hosts: run a scan before making a plan", "hosts")
    names = {h.id: h.name for h in hosts}
    try:
        model = build_plan([(names[s.host_id], findings_of(s)) for s in snapshots], overrides,
                           namespace=namespace, network_policies=network_policies)
    except ValueError as exc:
        raise InputError(str(exc), "overrides") from exc
    return model, [s.host_id for s in snapshots]


def create_plan(session: Session, hosts: list[Host], *, namespace: str = "default",
                kubernetes_version: str | None = None, overrides: Mapping[str, Mapping] | None = None,
                network_policies: bool = True, stored_overrides: bool = True) -> Plan:
    """A new plan (a new version: plans are never changed, only added). The stored overrides
    (migrator.services.overrides) apply first, then `overrides`, key by key."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InputError("overrides must map workload ids to changes", "overrides")
    if stored_overrides:
        overrides = merged_overrides(session, overrides)
    model, host_ids = plan_model(session, hosts, namespace=namespace, overrides=overrides,
                                 network_policies=network_policies)
    text = export_plan(model)
    problems = [asdict(p) for p in validate_yaml(text, kubernetes_version)]
    plan = Plan(namespace=namespace, host_ids=host_ids, yaml=text, valid=not problems, problems=problems,
                overrides={k: dict(v) for k, v in (overrides or {}).items()},
                summary={**summary(model, len(host_ids)), GENERATED_FILES: generated_files(model),
                         KUSTOMIZE_FILES: export_kustomize(model)})
    session.add(plan)
    session.flush()
    audit.record(session, "plan.create", f"plan {plan.id}", plan_id=plan.id, hosts=len(host_ids), valid=plan.valid,
                 overrides=sorted(plan.overrides or {}))
    return plan


# Key of the plan row's summary that keeps the generated files (path -> text): the Dockerfiles of the
# images to build and NOTES.md, as the plan was made (the findings may have changed since).
GENERATED_FILES = "generated_files"
# ... and the Kustomize tree of the plan (path -> text), as the plan was made.
KUSTOMIZE_FILES = "kustomize_files"


def exported(session: Session, plan: Plan, what: str) -> Plan:
    """Note in the audit log that `plan` left the service (as "yaml", "kustomize", a file's path)."""
    audit.record(session, "plan.export", f"plan {plan.id}", plan_id=plan.id, format=what)
    return plan


def merged_overrides(session: Session, extra: Mapping[str, Mapping] | None) -> dict[str, dict]:
    from migrator.services.overrides import merged
    return merged(session, extra)


def stored_kustomize(plan: Plan) -> dict[str, str]:
    """The Kustomize tree of a stored plan, path -> text; NotFound for plans made before it was kept."""
    files = (plan.summary or {}).get(KUSTOMIZE_FILES)
    if not files:
        raise NotFound(f"plan {plan.id} was made before plans kept their Kustomize tree: make a new plan", "plan_id")
    return dict(sorted(files.items()))


def kustomize_zip(plan: Plan) -> bytes:
    """The plan's Kustomize tree as a zip archive (one folder, plan-ID/)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in stored_kustomize(plan).items():
            archive.writestr(f"plan-{plan.id}/{path}", text)
    return buffer.getvalue()


def diff(plan: Plan, against: Plan) -> str:
    """The unified diff of the YAML of `against` (before) and `plan` (after)."""
    import difflib

    return "".join(difflib.unified_diff(against.yaml.splitlines(keepends=True), plan.yaml.splitlines(keepends=True),
                                        fromfile=f"plan-{against.id}.yaml", tofile=f"plan-{plan.id}.yaml"))


def revalidate(plan: Plan, kubernetes_version: str | None = None) -> dict[str, Any]:
    """Validate a stored plan again (for another Kubernetes version, or newer schemas); the plan keeps
    the result."""
    import kubernetes_validate

    if kubernetes_version is not None:
        known = sorted(set(kubernetes_validate.utils.all_versions()),
                       key=lambda v: tuple(int(x) for x in v.split(".")))
        if not isinstance(kubernetes_version, str) or kubernetes_version not in known:
            raise InputError(f"kubernetes_version must be one of {', '.join(known[-8:])} (or older: "
                             f"{known[0]} and up)", "kubernetes_version")
    problems = [asdict(p) for p in validate_yaml(plan.yaml, kubernetes_version)]
    plan.valid, plan.problems = not problems, problems
    return {"plan_id": plan.id, "kubernetes_version": kubernetes_version, "valid": not problems,
            "problems": problems}


def plan_files(plan: Plan) -> dict[str, str]:
    """The generated files of a stored plan, path -> text: "dockerfiles/<workload>/Dockerfile" for each
    image to build, and "NOTES.md". Empty for plans stored before the files were kept."""
    return dict(sorted(((plan.summary or {}).get(GENERATED_FILES) or {}).items()))


def plan_file(plan: Plan, path: str) -> str:
    """One generated file of a stored plan (a path of plan_files); NotFound names the path otherwise."""
    files = plan_files(plan)
    if path not in files:
        known = ", ".join(files) or "none"
        raise NotFound(f"plan {plan.id} has no file {path!r} (its files: {known})", "path")
    return files[path]


def summary(model: PlanModel, host_count: int) -> dict[str, Any]:
    """What the plan holds, in JSON terms: counts, waves, notes (the plan's and each workload's), data
    steps, and warnings (overrides that matched no application)."""
    return {
        "hosts": host_count,
        "workloads": dict(sorted(Counter(w.kind for w in model.workloads).items())),
        "objects": dict(sorted(Counter(o.kind for o in to_objects(model)).items())),
        "waves": [list(w) for w in model.waves],
        "notes": list(model.notes),
        "workload_notes": {w.name: list(w.notes) for w in model.workloads if w.notes},
        "data_steps": [asdict(s) for s in model.data_steps],
        "dockerfiles": sorted(w.name for w in model.workloads if w.dockerfile),
        "network_policies": model.network_policies,
        "unmatched_overrides": list(model.unmatched_overrides),
        "warnings": _warnings(model),
    }


def _warnings(model: PlanModel) -> list[str]:
    """What the user should hear about at once (the CLI prints them, the API returns them)."""
    if not model.unmatched_overrides:
        return []
    ids = sorted({ref for w in model.workloads for ref in (w.id, *w.refs)})
    known = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
    return [f"override for {wid!r} matches no application of the plan: it was not applied "
            f"(workload ids: {known or 'none'})" for wid in model.unmatched_overrides]


def kustomize_files(session: Session, hosts: list[Host], *, namespace: str = "default",
                    overrides: Mapping[str, Mapping] | None = None,
                    network_policies: bool = True) -> dict[str, str]:
    """The Kustomize tree (path -> text) of a plan made now from the latest findings (the stored
    overrides apply, then `overrides`)."""
    overrides = merged_overrides(session, overrides)
    model, _ = plan_model(session, hosts, namespace=namespace, overrides=overrides,
                          network_policies=network_policies)
    return export_kustomize(model)


def plan_dict(plan: Plan) -> dict[str, Any]:
    """The plan in JSON terms; its generated files as paths (summary["files"]), each from plan_file."""
    stored = dict(plan.summary or {})
    files = sorted(stored.pop(GENERATED_FILES, None) or {})
    stored.pop(KUSTOMIZE_FILES, None)
    return {"id": plan.id, "version": plan.id, "created_at": plan.created_at.isoformat(),
            "namespace": plan.namespace, "host_ids": plan.host_ids, "valid": plan.valid, "problems": plan.problems,
            "overrides": plan.overrides or {}, "summary": {**stored, "files": files}}
