"""The analyzers and the planner stay pure: no Flask, database, SSH or service imports."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "sqlalchemy", "paramiko", "alembic", "werkzeug")


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", ["analyzers", "migrator/planner"])
def test_pure_packages_import_nothing_impure(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules under {package}"
    for path in files:
        for name in imports(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.relative_to(ROOT)} imports {name}"
            if top == "migrator":
                assert name.startswith("migrator.planner"), f"{path.relative_to(ROOT)} imports {name}"
