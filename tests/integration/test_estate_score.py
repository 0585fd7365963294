"""The whole estate scanned by migrator and scored against the lab's truth file: every kind of
finding at 100% precision and recall, and the plan for the estate validates."""
from __future__ import annotations

import json

import pytest
import yaml

from migrator.planner.validate import validate_yaml
from migrator.scoring import KINDS

pytestmark = pytest.mark.integration


@pytest.fixture
def scanned(estate, cli):
    for host in estate.hosts:
        r = cli("hosts", "add", host["name"], "--address", host["address"], "--key", host["key_path"])
        assert r.exit_code == 0, r.output
    r = cli("scan")
    assert r.exit_code == 0 and "scan 1 done" in r.output, r.output
    return estate


def test_every_kind_scores_100_percent(scanned, cli):
    r = cli("score", str(scanned.truth_path), "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    assert result["unscanned"] == []
    scores = {k["kind"]: k for k in result["kinds"]}
    assert set(scores) == set(KINDS)
    below = {kind: (s["precision"], s["recall"], s["missed"], s["extra"]) for kind, s in scores.items()
             if s["precision"] < 1 or s["recall"] < 1}
    assert below == {}
    assert all(scores[kind]["truth"] > 0 for kind in KINDS)      # every kind is really exercised
    print("\n" + cli("score", str(scanned.truth_path), "--brief").output)


def test_estate_plan_validates_with_the_expected_shape(scanned, cli, tmp_path):
    out = tmp_path / "plan.yaml"
    r = cli("plan", "export", "-o", str(out), "--namespace", "shop")
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert validate_yaml(text) == []
    docs = [d for d in yaml.safe_load_all(text) if d]
    kinds = [d["kind"] for d in docs]
    assert kinds[0] == "Namespace"
    statefulsets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "StatefulSet"}
    replicas = sorted(d["spec"]["replicas"] for d in statefulsets.values())
    assert replicas == [1, 2, 3]           # redis; postgres primary + standby; the etcd cluster
    assert kinds.count("DaemonSet") == 1 and kinds.count("CronJob") == 1
    (web,) = [d for d in docs if d["kind"] == "Deployment" and d["spec"]["replicas"] == 2
              and "webapp" in d["metadata"]["name"]]
    waits = [c["name"] for c in web["spec"]["template"]["spec"].get("initContainers", [])]
    assert len(waits) == 2                 # it waits for postgres and redis
    estate = json.loads(cli("estate", "--json").output)
    assert len(estate["clusters"]) == 2 and len(estate["waves"]) == 3
