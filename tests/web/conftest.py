"""Fixtures of the web UI tests: a logged-in client of each role."""
from __future__ import annotations

import pytest

from tests.web.helpers import _ui


@pytest.fixture
def admin_ui(app):
    return _ui(app, "admin")


@pytest.fixture
def planner_ui(app):
    return _ui(app, "planner")


@pytest.fixture
def viewer_ui(app):
    return _ui(app, "viewer")
