"""The audit log, newest first (admins only): who scanned, changed and exported what."""
from __future__ import annotations

from flask import current_app, jsonify, request, url_for

from migrator import get_db
from migrator.api import bp
from migrator.api.common import int_arg
from migrator.api.openapi import (INT, MAX_ID, SCHEMAS, STR, TIME, array, nullable, obj, operation, query,
                                  ref)
from migrator.services import audit

SCHEMAS["AuditEvent"] = obj({
    "id": INT, "at": TIME,
    "actor": {**STR, "description": '"user:NAME" (web UI), "token:NAME" (API), "cli:OSUSER", "anonymous" '
                                    "(a failed login) or \"system\""},
    "source": {**STR, "description": "the client's address, or cli"},
    "action": {**STR, "description": "scan.start, host.update, plan.export, user.login_failed, ..."},
    "target": STR, "detail": {"type": "object", "description": "labels and counts; never a secret"},
}, ("id", "at", "actor", "source", "action", "target", "detail"))
SCHEMAS["AuditPage"] = obj({"items": array(ref("AuditEvent")), "next": nullable({
    **STR, "description": "URL of the next (older) page, same filters; null on the last page"})}, ("items", "next"))
DEFAULT_LIMIT, MAX_LIMIT = 100, 500


@bp.get("/audit")
@operation(role="admin", summary="The audit log, newest first", tags=["audit"],
           description="Every scan started or cancelled, every change to hosts, groups, credentials, "
                       "overrides, users and tokens, every plan made or exported, every login.",
           params=[query("limit", "events per page (1-500, default 100)",
                         {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
                   query("before", "only events older than this id: the `next` link carries it",
                         {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
                   query("actor", 'only this actor, e.g. "user:alice" or "token:ci"', {**STR, "maxLength": 128}),
                   query("action", 'only this action, or a prefix ending in "." ("host." for all host changes)',
                         {**STR, "maxLength": 64})],
           responses={200: "AuditPage"})
def list_audit():
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    before = int_arg("before", 0, 1, MAX_ID) or None
    filters = {k: request.args[k][:128] for k in ("actor", "action") if request.args.get(k)}
    with get_db(current_app).session() as s:
        rows = audit.list_events(s, limit=limit + 1, before_id=before, **filters)
        items = [audit.event_dict(e) for e in rows[:limit]]
    next_url = url_for("api.list_audit", limit=limit, before=items[-1]["id"], **filters) \
        if len(rows) > limit else None
    response = jsonify(items=items, next=next_url)
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response
