"""Login and logout; every page needs a logged-in, enabled user; `requires(role)` guards actions."""
from __future__ import annotations

from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, render_template, request, session, url_for

from migrator import get_db
from migrator.models import User
from migrator.services import audit, users
from migrator.web import bp

OPEN_ENDPOINTS = {"web.login"}


@bp.before_request
def _load_user():
    """The session's user, read again from the database on each request: disabling a user or
    changing their role takes effect at once."""
    g.user = None
    user_id = session.get("user_id")
    if user_id is not None:
        with get_db(current_app).session() as s:
            user = s.get(User, user_id)
            if user is not None and not user.disabled and session.get("pw") == user.password_hash[-16:]:
                g.user = users.user_dict(user)
                audit.act_as(audit.Actor(f"user:{user.username}", request.remote_addr or ""))
            else:
                session.clear()
    if g.user is None and request.endpoint not in OPEN_ENDPOINTS:
        if request.method == "GET" and not request.path.endswith(".json"):
            back = request.full_path.rstrip("?")
            # a very long address is not carried through the login (it would not fit in the redirect)
            return redirect(url_for("web.login", next=back) if len(back) <= MAX_NEXT else url_for("web.login"))
        abort(401)
    if any("\x00" in v for v in request.values.values()):
        abort(400, "a field or query parameter holds a NUL character")   # no database text holds one
    return None


def requires(role: str) -> Callable:
    """The least role that may use the view (as the API's @operation role)."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if g.user is None:
                abort(401)
            if not users.allows(g.user["role"], role):
                return render_template("error.html", title="Not allowed",
                                       message=f"This needs the {role} role; you are logged in as "
                                               f"{g.user['username']} with the {g.user['role']} role. "
                                               "Ask an admin."), 403
            return view(*args, **kwargs)
        wrapped._role = role
        return wrapped
    return decorate


def can(role: str) -> bool:
    """For templates: may the current user do what needs `role`?"""
    return g.get("user") is not None and users.allows(g.user["role"], role)


@bp.app_context_processor
def _template_helpers():
    return {"can": can, "current_user": g.get("user")}


MAX_NEXT = 2000   # characters of the page to go back to after login


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //other.example or a scheme) is followed after login."""
    if not target or len(target) > MAX_NEXT or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("web.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("web.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.user is not None:
            return redirect(next_url)
        return render_template("login.html", next=next_url, username="")
    username = request.form.get("username", "")[:200]
    password = request.form.get("password", "")
    limiter = current_app.extensions["migrator.login_limiter"]
    key = limiter.key(username, request.remote_addr)
    wait = limiter.retry_after(key)
    if wait:
        response = current_app.make_response((render_template(
            "error.html", title="Too many failed logins",
            message=f"Too many failed logins for this user from your address. Try again in {wait} seconds, "
                    "or ask an admin to set a new password (`migrator users password NAME`)."), 429))
        response.headers["Retry-After"] = str(wait)
        return response
    with get_db(current_app).session() as s:
        user = users.authenticate(s, username, password)
        if user is not None:
            session.clear()                 # a new session: nothing carried over from before login
            session.permanent = True
            session["user_id"] = user.id
            session["pw"] = user.password_hash[-16:]   # a new password ends the other sessions
            audit.act_as(audit.Actor(f"user:{user.username}", request.remote_addr or ""))
            audit.record(s, "user.login", user.username)
        else:
            # a name that is no user's may be a password typed in the wrong box: never stored
            known = users.find_user(s, username)
            audit.record(s, "user.login_failed", known.username if known is not None else "(unknown user)")
    if user is None:
        limiter.failed(key)
        return render_template("login.html", next=next_url, username=username,
                               error="Unknown user or wrong password (or the user is disabled)."), 401
    limiter.succeeded(key)
    return redirect(next_url)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("web.login"))
