"""Fixtures of the planner tests; the factories live in planner_factories."""
from __future__ import annotations

import pytest
from planner_factories import gen_host, gen_java, gen_redis, gen_webapp

from analyzers.findings import HostFindings


@pytest.fixture
def estate() -> list[tuple[str, HostFindings]]:
    return [gen_host("db1", gen_redis()), gen_host("web1", gen_webapp(), gen_java())]
