"""For admins: the users of the web UI (create, change role, set a new password, disable and enable,
never locking the last admin out) and the audit log (newest first, filters, older pages)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import func, select

from migrator.errors import InputError
from migrator.models import AuditEvent, User
from migrator.services import audit, users
from migrator.services.tokens import ROLES
from migrator.web import bp
from migrator.web.auth import requires
from migrator.web.common import db, form_value

AUDIT_PAGE_SIZES = (25, 50, 100, 200)
MAX_ID = 2 ** 31 - 1


# --- users ---------------------------------------------------------------------------------------

def _render_users(s, form=None, errors=None, status: int = 200):
    rows = [users.user_dict(u) for u in users.list_users(s)]
    return render_template("users.html", users=rows, roles=ROLES, form=form or {"role": "viewer"},
                           errors=errors or {}, admins=_enabled_admins(s)), status


def _enabled_admins(s) -> int:
    return s.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.disabled.is_(False)))


def _user(s, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _lockout(s, user: User, role: str | None = None, disabled: bool | None = None) -> str | None:
    """Why this change is refused (no enabled admin would be left, or you would lock yourself out)."""
    me = user.id == g.user["id"]
    if me and disabled:
        return "You cannot disable your own account: another admin can do it."
    stays_admin = (role or user.role) == "admin" and not (user.disabled if disabled is None else disabled)
    if user.role == "admin" and not user.disabled and not stays_admin and _enabled_admins(s) <= 1:
        return (f"{user.username} is the last enabled admin: make another user admin first, "
                "or nobody could manage users any more.")
    return None


@bp.get("/users")
@requires("admin")
def users_page():
    with db().session() as s:
        return _render_users(s)


@bp.post("/users")
@requires("admin")
def create_user():
    form = request.form
    username, role = form_value(form, "username", 200), form_value(form, "role")
    password, again = form.get("password") or "", form.get("password2") or ""
    try:
        if password != again:
            raise InputError("the two passwords differ: type the same password twice", "password")
        with db().session() as s:
            user = users.create_user(s, username, password, role)
            name = user.username
    except InputError as exc:
        with db().session() as s:
            return _render_users(s, {"username": username, "role": role}, exc.errors or {"form": str(exc)}, 422)
    flash(f"User {name} created with the {role} role. Give them their password by a safe channel.", "ok")
    return redirect(url_for("web.users_page"))


@bp.post("/users/<id:user_id>/role")
@requires("admin")
def set_user_role(user_id: int):
    role = form_value(request.form, "role")
    with db().session() as s:
        user = _user(s, user_id)
        name = user.username
        try:
            users.check_role(role)
        except InputError as exc:
            flash(f"Role of {name} not changed: {exc}", "error")
            return redirect(url_for("web.users_page"))
        refused = _lockout(s, user, role=role)
        if refused:
            flash(f"Role of {name} not changed. {refused}", "error")
            return redirect(url_for("web.users_page"))
        if role == user.role:
            flash(f"{name} has the {role} role already.", "ok")
            return redirect(url_for("web.users_page"))
        users.set_role(s, user, role)
        me = user.id == g.user["id"]
    flash(f"{name} now has the {role} role.", "ok")
    if me and role != "admin":
        return redirect(url_for("web.index"))      # no longer allowed on this page
    return redirect(url_for("web.users_page"))


@bp.post("/users/<id:user_id>/password")
@requires("admin")
def set_user_password(user_id: int):
    password, again = request.form.get("password") or "", request.form.get("password2") or ""
    with db().session() as s:
        user = _user(s, user_id)
        name = user.username
        try:
            if password != again:
                raise InputError("the two passwords differ: type the same password twice", "password")
            users.set_password(s, user, password)
        except InputError as exc:
            flash(f"Password of {name} not changed: {exc}", "error")
            return redirect(url_for("web.users_page"))
        if user.id == g.user["id"]:
            session["pw"] = user.password_hash[-16:]     # this session goes on; the others end
    flash(f"New password set for {name}; their other sessions are logged out.", "ok")
    return redirect(url_for("web.users_page"))


@bp.post("/users/<id:user_id>/disable")
@requires("admin")
def disable_user(user_id: int):
    return _set_disabled(user_id, True)


@bp.post("/users/<id:user_id>/enable")
@requires("admin")
def enable_user(user_id: int):
    return _set_disabled(user_id, False)


def _set_disabled(user_id: int, disabled: bool):
    with db().session() as s:
        user = _user(s, user_id)
        name = user.username
        refused = _lockout(s, user, disabled=disabled) if disabled else None
        if refused:
            flash(f"{name} not disabled. {refused}", "error")
            return redirect(url_for("web.users_page"))
        users.set_disabled(s, user, disabled)
    flash(f"{name} is disabled: they cannot log in, and their sessions end." if disabled
          else f"{name} is enabled again.", "ok")
    return redirect(url_for("web.users_page"))


# --- the audit log -------------------------------------------------------------------------------

def _number(value: str | None, default: int | None = None) -> int | None:
    if value and value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= MAX_ID:
        return int(value)
    return default


@bp.get("/audit")
@requires("admin")
def audit_page():
    actor = (request.args.get("actor") or "").strip()[:128]
    action = (request.args.get("action") or "").strip()[:64]
    limit = _number(request.args.get("limit"), 50)
    if limit not in AUDIT_PAGE_SIZES:
        limit = 50
    before = _number(request.args.get("before"))
    with db().session() as s:
        events = [audit.event_dict(e) for e in audit.list_events(s, limit=limit + 1, before_id=before,
                                                                   actor=actor or None, action=action or None)]
        more = len(events) > limit
        events = events[:limit]
        actions = list(s.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action).limit(300)))
        actors = list(s.scalars(select(AuditEvent.actor).distinct().order_by(AuditEvent.actor).limit(300)))
    prefixes = sorted({a.split(".", 1)[0] + "." for a in actions if "." in a})
    filters = {k: v for k, v in (("actor", actor), ("action", action)) if v}
    if limit != 50:
        filters["limit"] = limit
    older = url_for("web.audit_page", before=events[-1]["id"], **filters) if more and events else None
    newest = url_for("web.audit_page", **filters) if before is not None else None
    for e in events:
        e["at_text"] = e["at"].replace("T", " ")[:19]
        e["detail_text"] = "; ".join(f"{k}: {_detail(v)}" for k, v in sorted(e["detail"].items()))
    return render_template("audit.html", events=events, actor=actor, action=action, limit=limit,
                           sizes=AUDIT_PAGE_SIZES, actions=actions, prefixes=prefixes, actors=actors, older=older,
                           newest=newest, before=before)


def _detail(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
