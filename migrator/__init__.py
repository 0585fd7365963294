"""migrator: agentless inventory of VMs and Kubernetes plans for their stateful workloads."""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, Mapping

from migrator.config import load_settings
from migrator.db import Database
from migrator.jobs import make_runner

if TYPE_CHECKING:      # Flask is imported when an app is built: the CLI's commands start without it
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app from defaults, MIGRATOR_* variables and `config`. No IO here."""
    from flask import Flask

    settings = load_settings(config)
    app = Flask(__name__, template_folder="../templates", instance_path=settings["INSTANCE_PATH"])
    app.config.update(settings)
    app.config["SECRET_KEY"] = settings["SECRET_KEY"] or secrets.token_hex(32)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    app.extensions["migrator.db"] = Database(settings["DATABASE_URL"])
    app.extensions["migrator.jobs"] = make_runner(settings)

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
    return app


def get_db(app: Flask) -> Database:
    return app.extensions["migrator.db"]
