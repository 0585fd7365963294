"""migrator: agentless inventory of VMs and Kubernetes plans for their stateful workloads."""
from __future__ import annotations

import secrets
from typing import Any, Mapping

from flask import Flask

from migrator.config import load_settings
from migrator.db import Database
from migrator.jobs import make_runner


def create_app(config: Mapping[str, Any] | None = None, *, views: bool = True) -> Flask:
    """Build the Flask app from defaults, MIGRATOR_* variables and `config`. No IO here. Without
    `views` (the CLI's commands but `serve`), no API or web module is imported: a command starts faster."""
    settings = load_settings(config)
    app = Flask(__name__, template_folder="../templates", instance_path=settings["INSTANCE_PATH"])
    app.config.update(settings)
    app.config["SECRET_KEY"] = settings["SECRET_KEY"] or secrets.token_hex(32)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    app.extensions["migrator.db"] = Database(settings["DATABASE_URL"])
    app.extensions["migrator.jobs"] = make_runner(settings)
    if views:
        register_views(app)
    return app


def register_views(app: Flask) -> None:
    """The REST API and the web UI, on an app from create_app(views=False)."""
    from migrator.api import bp as api_bp
    from migrator.api.common import IdConverter

    app.url_map.converters["id"] = IdConverter
    from migrator.web import bp as web_bp
    from migrator.web import init_app as init_web

    @app.before_request
    def _anonymous():   # until a token or a login says who: the request's thread may be reused
        from flask import request
        from migrator.services import audit

        audit.act_as(audit.Actor("anonymous", request.remote_addr or ""))

    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    init_web(app)


def get_db(app: Flask) -> Database:
    return app.extensions["migrator.db"]
