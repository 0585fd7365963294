"""Scoring findings against a truth file (the recorded lab VM, so the numbers are real)."""
from __future__ import annotations

import json

import pytest

from migrator.errors import InputError
from migrator.scoring import load_truth, render, score
from tests.unit.test_recorded_hosts import _replay

TRUTH = {
    "version": 1,
    "hosts": [{"name": "app-1", "address": "10.213.66.10"}],
    "applications": [
        {"host": "app-1", "software": "redis", "name": "redis", "stateful": True, "state_paths": ["/var/lib/redis"],
         "ports": [{"port": 6379, "protocol": "tcp", "scope": "all"}]},
        {"host": "app-1", "software": "python-app", "name": "webapp", "stateful": False, "state_paths": [],
         "ports": [{"port": 8080, "protocol": "tcp", "scope": "all"}]},
        {"host": "app-1", "software": "nginx", "name": "nginx", "stateful": False, "state_paths": [],
         "ports": [{"port": 80, "protocol": "tcp", "scope": "all"}]},
    ],
    "peers": [{"client": "app-1/python-app", "server": "app-1/redis", "port": 6379}],
    "order": [{"before": "app-1/redis", "after": "app-1/python-app"}],
    "clusters": [], "daemons": [],
    "jobs": [{"host": "app-1", "schedule": "*/5 * * * *", "user": "www-data", "command": "/opt/report"}],
}


def test_score_counts_matches_misses_and_extras():
    results = {s.kind: s for s in score(TRUTH, [("app-1", _replay("lab-app-1"))])}
    apps = results["applications"]
    assert (apps.truth, apps.found, apps.matched) == (3, 2, 2)
    assert apps.precision == 1.0 and apps.recall == pytest.approx(2 / 3)
    assert apps.missed == ("app-1/nginx",)
    assert results["ports"].recall == pytest.approx(2 / 3)
    assert results["state_paths"].precision == results["state_paths"].recall == 1.0
    assert results["peers"].matched == 1 and results["order"].matched == 1
    assert results["clusters"].precision == results["clusters"].recall == 1.0   # none, none found
    jobs = results["jobs"]
    assert (jobs.found, jobs.recall) == (0, 0.0)   # e2scrub_all is the OS's, not a job of the estate
    table = render(list(results.values()))
    assert "applications" in table and "missed applications: app-1/nginx" in table


def test_bad_truth_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_truth(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not readable JSON"):
        load_truth(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"version": 7}))
    with pytest.raises(InputError, match="expected"):
        load_truth(tmp_path / "old.json")
