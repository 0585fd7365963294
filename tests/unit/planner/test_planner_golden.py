"""The whole pipeline against reviewed files: MIGRATOR_UPDATE_GOLDEN=1 rewrites them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from config_factories import configured_estate
from estate_factories import lab_estate
from planner_factories import gen_host, gen_java, gen_redis, gen_webapp

from migrator.planner.builder import build_plan
from migrator.planner.export import export_plan

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "basic": lambda: [gen_host("db1", gen_redis()), gen_host("web1", gen_webapp(), gen_java())],
    "lab": lab_estate,
    "configs": configured_estate,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_matches_golden_file(case):
    text = export_plan(build_plan(CASES[case](), namespace="shop"))
    golden = GOLDEN / f"{case}.yaml"
    if os.environ.get("MIGRATOR_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"{golden} missing: run with MIGRATOR_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8")
