"""The OpenAPI document and an interactive page (Swagger UI, served from the pinned
swagger-ui-bundle package: no internet needed)."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, jsonify, send_from_directory
from werkzeug.exceptions import NotFound as HTTPNotFound

from migrator.api import bp
from migrator.api.openapi import build_spec

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>migrator API</title>
<link rel="stylesheet" href="docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body></html>
"""
INIT = """window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#ui", deepLinking: true,
  persistAuthorization: false});
"""
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js")


def _assets_dir() -> Path:
    import swagger_ui_bundle
    return Path(swagger_ui_bundle.swagger_ui_path)


@bp.get("/openapi.json")
def openapi_json():
    spec = current_app.extensions.get("migrator.openapi")
    if spec is None:
        spec = current_app.extensions["migrator.openapi"] = build_spec(current_app)
    return jsonify(spec)


@bp.get("/docs")
def docs_page():
    # relative asset URLs: served as /api/v1/docs, they resolve under /api/v1/
    return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/docs/<name>")
def docs_asset(name: str):
    if name == "init.js":
        return INIT, 200, {"Content-Type": "text/javascript; charset=utf-8"}
    if name not in ASSETS:
        raise HTTPNotFound(f"no such file: {name[:80]}")
    return send_from_directory(_assets_dir(), name, max_age=3600)


for _view in (openapi_json, docs_page, docs_asset):
    _view._role = None        # open: the document and the page need no token
