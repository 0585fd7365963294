"""Server-rendered pages; for now a read-only overview of hosts, scans and applications."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import select

from migrator import get_db
from migrator.models import Host, Scan
from migrator.services import findings

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    with get_db(current_app).session() as s:
        hosts = list(s.scalars(select(Host).order_by(Host.name)))
        scans = list(s.scalars(select(Scan).order_by(Scan.id.desc()).limit(10)))
        apps = findings.list_applications(s)
        return render_template("index.html", hosts=hosts, scans=scans, apps=apps)
