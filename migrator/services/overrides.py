"""Stored plan overrides: workload id ("HOST/APP") -> changes, kept in the database so they survive
rescans and replanning, and applied to every new plan (a request's own overrides win per key)."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrator.db import flush_unique
from migrator.errors import InputError, NotFound
from migrator.models import PlanOverride
from migrator.planner.builder import _check_override
from migrator.services import audit

FIELDS = ("workload", "changes")


def check_workload(value: Any) -> str:
    if not isinstance(value, str) or "/" not in value or not value.split("/", 1)[0] or \
            not value.split("/", 1)[1] or len(value) > 512 or value.strip() != value:
        raise InputError("workload must be a workload id HOST/APP (as `migrator apps` prints it), "
                         "at most 512 characters", "workload")
    return value


def check_changes(workload: str, changes: Any) -> dict[str, Any]:
    if not isinstance(changes, Mapping):
        raise InputError("changes must be an object: kind, replicas, image, storage_size, storage_class, "
                         "exclude, expose, run_as_user", "changes")
    try:
        _check_override(workload, changes)
    except ValueError as exc:
        raise InputError(str(exc), "changes") from None
    return dict(changes)


def check_mapping(overrides: Any, field: str = "overrides") -> dict[str, dict[str, Any]]:
    """A mapping of workload ids to changes, each checked (for a request's own overrides)."""
    if not isinstance(overrides, Mapping):
        raise InputError(f"{field} must be an object mapping workload ids to changes", field)
    out = {}
    for workload, changes in overrides.items():
        try:
            out[check_workload(workload)] = check_changes(workload, changes)
        except InputError as exc:
            raise InputError(str(exc), field) from None
    return out


def create_override(session: Session, data: Mapping[str, Any]) -> PlanOverride:
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(u[:40] for u in unknown)}; known: {', '.join(FIELDS)}",
                         unknown[0][:40])
    workload = check_workload(data.get("workload"))
    changes = check_changes(workload, data.get("changes"))
    taken = InputError(f"an override for {workload!r} exists already: change it with PATCH", "workload")
    if session.scalar(select(PlanOverride.id).where(PlanOverride.workload == workload)) is not None:
        raise taken
    row = PlanOverride(workload=workload, changes=changes)
    flush_unique(session, taken, row)
    audit.record(session, "override.create", workload, fields=audit.describe(changes))
    return row


def update_override(session: Session, row: PlanOverride, data: Mapping[str, Any]) -> PlanOverride:
    unknown = sorted(set(data) - {"changes"})
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(u[:40] for u in unknown)}; known: changes", unknown[0][:40])
    if "changes" not in data:
        raise InputError("changes is required", "changes")
    row.changes = check_changes(row.workload, data["changes"])
    audit.record(session, "override.update", row.workload, fields=audit.describe(row.changes))
    session.flush()
    return row


def get_override(session: Session, override_id: int) -> PlanOverride:
    row = session.get(PlanOverride, override_id)
    if row is None:
        raise NotFound(f"override {override_id} does not exist", "override_id")
    return row


def delete_override(session: Session, row: PlanOverride) -> None:
    audit.record(session, "override.delete", row.workload)
    session.delete(row)
    session.flush()


def stored(session: Session) -> dict[str, dict[str, Any]]:
    """Every stored override, workload id -> changes."""
    return {r.workload: dict(r.changes or {}) for r in session.scalars(select(PlanOverride).order_by(PlanOverride.id))}


def merged(session: Session, extra: Mapping[str, Mapping] | None) -> dict[str, dict[str, Any]]:
    """The stored overrides with `extra` on top (its keys win, per workload)."""
    out = stored(session)
    for workload, changes in (extra or {}).items():
        out[workload] = {**out.get(workload, {}), **dict(changes)}
    return out


def override_dict(row: PlanOverride) -> dict[str, Any]:
    return {"id": row.id, "workload": row.workload, "changes": row.changes,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}
