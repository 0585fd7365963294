"""One error shape for the whole API: application/problem+json (RFC 9457) naming the problem."""
from __future__ import annotations

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from migrator.api import bp
from migrator.errors import Conflict, InputError, MigratorError, NotFound

log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str, **extra):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


@bp.app_errorhandler(MigratorError)
def _migrator_error(exc: MigratorError):
    if isinstance(exc, NotFound):
        return problem(404, "Not found", str(exc))
    if isinstance(exc, Conflict):
        return problem(409, "Conflict", str(exc), **({"errors": exc.errors} if exc.errors else {}))
    if isinstance(exc, InputError):
        extra = {"errors": exc.errors} if exc.errors else {}
        return problem(422, "Invalid input", str(exc), **extra)
    return problem(400, "Request failed", str(exc))


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    if not request.path.startswith("/api/"):
        return exc
    response = problem(exc.code or 500, exc.name, exc.description or exc.name)
    for name, value in exc.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value   # Allow on 405, Retry-After, ...
    return response


@bp.app_errorhandler(Exception)
def _unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    if not request.path.startswith("/api/"):
        return "Internal error; the details are in the service log.", 500
    return problem(500, "Internal error", "an unexpected error occurred; the details are in the service log")
