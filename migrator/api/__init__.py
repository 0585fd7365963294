"""REST API under /api/v1: thin handlers over the services; every error is problem+json; every
operation but health and the docs needs a bearer token of a role high enough (api/auth.py)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from migrator.api import audit_routes, auth, docs, errors, routes, work_routes  # noqa: E402,F401  (handlers, routes)
