"""What the API's views share: reading JSON bodies, naming hosts and groups, pagination."""
from __future__ import annotations

from typing import Any, Callable

from flask import Response, current_app, jsonify, request, url_for
from sqlalchemy import Select
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.routing import BaseConverter

from migrator.errors import InputError

MAX_ID = 2 ** 31 - 1   # the largest id an Integer primary key holds (PostgreSQL: 32 bits)
DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def json_body(optional: bool = False, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The request's JSON object; `fields`, when given, are the only keys it may have."""
    if optional and not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("send the request body as application/json")
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise InputError("the request body is nested too deeply") from None
    if data is None and request.get_data(cache=True).strip() != b"null":
        raise InputError("the request body is not valid JSON")
    if not isinstance(data, dict):
        raise InputError("the request body must be a JSON object")
    if fields is not None:
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise InputError(f"unknown field(s) {', '.join(u[:40] for u in unknown)}; known: {', '.join(fields)}",
                             unknown[0], {u[:40]: f"unknown field; known: {', '.join(fields)}" for u in unknown})
    return data


def refs(data: dict[str, Any], field: str = "hosts") -> list[str] | None:
    """The records a request names (ids or names); None when absent, an empty list is refused."""
    if field not in data:
        return None
    values = data[field]
    if not isinstance(values, list) or not all(isinstance(r, (int, str)) and not isinstance(r, bool) for r in values):
        raise InputError(f"{field} must be a list of {field[:-1]} ids or names", field)
    if not values:
        raise InputError(f"{field} is an empty list: name {field}, or leave the field out", field)
    return list(dict.fromkeys(str(r) for r in values))


def int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InputError(f"{name} must be a whole number from {low} to {high}", name)
    return int(raw)


def page(session: Session, query: Select, id_column, to_dict: Callable[[Any], dict] | None = None,
         to_dicts: Callable[[list], list[dict]] | None = None) -> Response:
    """One page of `query` ordered by id: ?limit= (1-500, default 100) and ?cursor= (the id after which
    the page starts). The body is {"items": [...], "next": URL or null}; Link: <URL>; rel="next" too."""
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    cursor = int_arg("cursor", 0, 0, MAX_ID)
    rows = list(session.scalars(query.where(id_column > cursor).order_by(id_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_url = None
    if more:
        # the operation's own filters carry over (declared in @operation); anything else is dropped
        view = current_app.view_functions.get(request.endpoint or "")
        declared = {p["name"] for p in getattr(view, "_openapi", {}).get("parameters", []) if p["in"] == "query"}
        args = {k: v for k, v in request.args.items() if k in declared and k not in ("cursor", "limit")}
        next_url = url_for(request.endpoint, **(request.view_args or {}), **args, limit=limit,
                           cursor=rows[-1].id)
    items = to_dicts(rows) if to_dicts else [to_dict(r) for r in rows]   # to_dicts: one query per page
    response = jsonify(items=items, next=next_url)
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


def created(body: dict, location: str, status: int = 201) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Location"] = location
    return response


class IdConverter(BaseConverter):
    """<id:name>: a record id. Digits only (ASCII); one too large for any record is a plain 404, the
    same for every method (int(max=...) made werkzeug answer some methods with 405)."""

    regex = r"[0-9]+"
    weight = 50

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise HTTPNotFound(f"no record has the id {value[:30]}")
        return number

    def to_url(self, value) -> str:
        return str(int(value))
