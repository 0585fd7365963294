"""Server-rendered pages for the people who plan a migration: login, inventory and scans, the
estate, applications, plans. Every page but the login page needs a logged-in user; actions need
the role the API asks for the same action (viewer < planner < admin)."""
from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("web", __name__)


def init_app(app: Flask) -> None:
    """Sessions, CSRF, security headers and rate limits for the pages; the API keeps its tokens."""
    from migrator.web import security
    security.init_app(app)


from migrator.web import admin, auth, inventory, manage, maps, pages, plans  # noqa: E402,F401  (routes)
