"""Bearer tokens on every API operation: the view's @operation role is the least role that may
call it (viewer < planner < admin); an operation without a declaration needs admin."""
from __future__ import annotations

from flask import current_app, g, request

from migrator import get_db
from migrator.api import bp
from migrator.api.errors import problem
from migrator.services import audit, tokens
from migrator.text import printable


def _unauthorized(detail: str, error: str | None = None):
    response = problem(401, "Unauthorized", detail)
    challenge = 'Bearer realm="migrator"' + (f', error="{error}"' if error else "")
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.before_request
def _authenticate():
    view = current_app.view_functions.get(request.endpoint or "")
    needed = getattr(view, "_role", "admin")
    if needed is None:
        return None
    scheme, _, secret = request.headers.get("Authorization", "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return _unauthorized("send an API token: Authorization: Bearer <token> "
                             "(an admin creates one with `migrator tokens create NAME --role ROLE`)")
    with get_db(current_app).session() as s:
        token = tokens.authenticate(s, secret)
        if token is None:
            return _unauthorized("the API token is unknown or revoked", "invalid_token")
        g.token_id, g.token_name, g.token_role = token.id, token.name, token.role
        audit.act_as(audit.Actor(f"token:{token.name}"[:128], request.remote_addr or ""))
    if not tokens.allows(g.token_role, needed):
        return problem(403, "Forbidden", f"this operation needs the {needed} role; the token "
                                         f"{g.token_name!r} has the {g.token_role} role")
    bad = sorted(k for k, v in request.args.items(multi=True) if "\x00" in v)
    if bad:             # no text column of PostgreSQL holds one: refused here, for every filter
        return problem(422, "Invalid input", "a query parameter holds a NUL character",
                       errors={printable(k, 64): "must not hold a NUL character" for k in bad})
    return None
