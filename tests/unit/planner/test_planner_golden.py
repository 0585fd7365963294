"""The whole pipeline against a reviewed file: MIGRATOR_UPDATE_GOLDEN=1 rewrites it."""
from __future__ import annotations

import os
from pathlib import Path

from migrator.planner.builder import build_plan
from migrator.planner.export import export_plan

GOLDEN = Path(__file__).parent / "golden" / "basic.yaml"


def test_basic_plan_matches_golden_file(estate):
    text = export_plan(build_plan(estate, namespace="shop"))
    if os.environ.get("MIGRATOR_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.exists(), f"{GOLDEN} missing: run with MIGRATOR_UPDATE_GOLDEN=1"
    assert text == GOLDEN.read_text(encoding="utf-8")
