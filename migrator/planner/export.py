"""The YAML of a plan: what is stored, downloaded and validated."""
from __future__ import annotations

from migrator.planner.model import Plan
from migrator.planner.objects import to_objects
from migrator.planner.render import render_yaml


def export_plan(plan: Plan) -> str:
    return render_yaml(to_objects(plan))
