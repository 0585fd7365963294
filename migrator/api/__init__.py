"""REST API under /api/v1: thin handlers over the services; every error is problem+json."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from migrator.api import errors, routes  # noqa: E402,F401  (registers handlers and routes)
