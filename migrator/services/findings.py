"""Reading findings back: the latest snapshot of each host and its applications."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from migrator.errors import InputError
from migrator.models import Application, Host, ScanHost, Snapshot
from migrator.services.hosts import find_hosts, host_dict

VERDICTS = ("stateful", "stateless")


def latest_snapshots(session: Session, host_ids: list[int] | None = None) -> list[Snapshot]:
    """The newest successful snapshot of each host (of the given hosts, or of all)."""
    newest = select(Snapshot.host_id, func.max(Snapshot.id).label("id")).group_by(Snapshot.host_id)
    if host_ids:
        newest = newest.where(Snapshot.host_id.in_(host_ids))
    sub = newest.subquery()
    return list(session.scalars(select(Snapshot).join(sub, Snapshot.id == sub.c.id).order_by(Snapshot.host_id)))


CATEGORIES_HINT = "app, database, cache, queue, web, ... (as the analyzers name them)"


def applications_query(session: Session, *, host: str | None = None, verdict: str | None = None,
                       software: str | None = None, category: str | None = None) -> Select:
    """The applications of each host's latest snapshot, filtered (host: id or name)."""
    if verdict is not None and verdict not in VERDICTS:
        raise InputError(f"verdict must be one of {', '.join(VERDICTS)}", "verdict")
    ids = [s.id for s in latest_snapshots(session)]
    query = (select(Application).where(Application.snapshot_id.in_(ids))
             .options(selectinload(Application.ports), selectinload(Application.state_locations),
                      selectinload(Application.peers), selectinload(Application.host)))
    if host:
        (h,) = find_hosts(session, [host])
        query = query.where(Application.host_id == h.id)
    if verdict:
        query = query.where(Application.verdict == verdict)
    if software:
        query = query.where(Application.software == software)
    if category:
        query = query.where(Application.category == category)
    return query


def list_applications(session: Session, *, host: str | None = None, verdict: str | None = None,
                      software: str | None = None, category: str | None = None) -> list[Application]:
    query = applications_query(session, host=host, verdict=verdict, software=software, category=category)
    return list(session.scalars(query.order_by(Application.host_id, Application.key)))


def snapshot_dict(snapshot: Snapshot) -> dict[str, Any]:
    """A stored snapshot's facts about itself (the raw output stays in the database)."""
    return {"id": snapshot.id, "host_id": snapshot.host_id, "host": snapshot.scan_host.host.name,
            "scan_id": snapshot.scan_host.scan_id, "collected_at": snapshot.collected_at.isoformat(),
            "missing": list(snapshot.missing or []), "sections": snapshot.sections or {},
            "duration_s": snapshot.duration_s, "bytes_in": snapshot.bytes_in,
            "applications": len(snapshot.applications)}


def application_dict(app: Application) -> dict[str, Any]:
    return {
        "id": app.id, "host": app.host.name, "host_id": app.host_id, "key": app.key, "name": app.name,
        "software": app.software, "version": app.version, "category": app.category,
        "verdict": app.verdict, "verdict_reason": app.verdict_reason, "confidence": app.confidence,
        "user": app.user, "command": app.command, "unit": app.unit, "pids": app.pids,
        "ports": [{"protocol": p.protocol, "address": p.address, "port": p.port, "scope": p.scope}
                  for p in app.ports],
        "state": [{"path": s.path, "kind": s.kind, "filesystem": s.filesystem, "fstype": s.fstype,
                   "size_bytes": s.size_bytes, "file_count": s.file_count, "evidence": s.evidence}
                  for s in app.state_locations],
        "peers": [{"local": f"{p.local_address}:{p.local_port}", "remote": f"{p.remote_address}:{p.remote_port}",
                   "direction": p.direction} for p in app.peers],
        "evidence": app.evidence,
    }


def last_scan_host(session: Session, host_id: int) -> ScanHost | None:
    return session.scalar(select(ScanHost).where(ScanHost.host_id == host_id).order_by(ScanHost.id.desc()))


def host_summaries(session: Session, hosts: list[Host]) -> list[dict[str, Any]]:
    """host_summary of many hosts with a fixed number of queries (the last scan of each in one)."""
    ids = [h.id for h in hosts]
    newest = (select(ScanHost.host_id, func.max(ScanHost.id).label("id")).where(ScanHost.host_id.in_(ids))
              .group_by(ScanHost.host_id).subquery())
    last = {row.host_id: row for row in session.scalars(select(ScanHost).join(newest, ScanHost.id == newest.c.id))}
    if ids:   # groups and credentials of the whole page at once
        list(session.scalars(select(Host).where(Host.id.in_(ids))
                             .options(selectinload(Host.groups), selectinload(Host.credential))))
    return [_summary(h, last.get(h.id)) for h in hosts]


def host_summary(session: Session, host: Host) -> dict[str, Any]:
    """A host as shown to users: its fields (never the password) and how its last scan went."""
    return _summary(host, last_scan_host(session, host.id))


def _summary(host: Host, last: ScanHost | None) -> dict[str, Any]:
    return {**host_dict(host), "last_scan": last.status if last else "never",
            "last_scan_at": (last.finished_at or last.started_at).isoformat()
            if last and (last.finished_at or last.started_at) else None,
            "last_error": last.error if last else None}
