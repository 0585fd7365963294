"""Plans over the API from a recorded host: stored, validated, summarised; overrides checked."""
from __future__ import annotations

from pathlib import Path

import yaml

from migrator import get_db
from migrator.services import hosts, plans

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "hosts" / "lab-app-1"


def _imported(cli):
    assert cli("hosts", "add", "app-1", "--address", "10.213.66.10").exit_code == 0
    assert cli("import", "app-1", str(CASE)).exit_code == 0


def test_plan_of_a_recorded_host_is_valid_and_summarised(cli, client):
    _imported(cli)
    r = client.post("/api/v1/plans", json={"namespace": "shop"})
    assert r.status_code == 201, r.json
    body = r.json
    assert body["valid"] is True and body["problems"] == []
    summary = body["summary"]
    assert summary["hosts"] == 1
    assert summary["workloads"] == {"Deployment": 1, "StatefulSet": 1}
    assert summary["objects"]["NetworkPolicy"] >= 1 and summary["objects"]["HorizontalPodAutoscaler"] == 1
    assert summary["dockerfiles"] == ["webapp-app-1"]
    assert [s["method"] for s in summary["data_steps"]] == ["replication"]
    text = client.get(f"/api/v1/plans/{body['id']}/yaml").get_data(as_text=True)
    docs = [d for d in yaml.safe_load_all(text) if d]
    web = next(d for d in docs if d["kind"] == "Deployment")
    init = web["spec"]["template"]["spec"]["initContainers"]
    assert [c["name"] for c in init] == ["wait-redis-app-1-6379"]
    # the web app was started with --redis 10.213.66.10:6379: it now names the Service
    args = web["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--redis") + 1] == "redis-app-1:6379"


def test_service_overrides_and_policies(cli, app):
    _imported(cli)
    with get_db(app).session() as s:
        chosen = hosts.find_hosts(s, [])
        plan = plans.create_plan(s, chosen, overrides={"app-1/python-app:webapp": {"expose": "loadbalancer"}},
                                 network_policies=False)
        assert plan.valid
        kinds = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(plan.yaml) if d}
        assert ("Service", "webapp-app-1-lb") in kinds
        assert not any(k == "NetworkPolicy" for k, _ in kinds)
        files = plans.kustomize_files(s, chosen, namespace="shop")
        assert "kustomization.yaml" in files and "dockerfiles/webapp-app-1/Dockerfile" in files


def test_invalid_override_is_an_input_error_naming_the_key(cli, app):
    import pytest

    from migrator.errors import InputError
    _imported(cli)
    with get_db(app).session() as s:
        with pytest.raises(InputError, match="'colour'") as caught:
            plans.create_plan(s, hosts.find_hosts(s, []), overrides={"app-1/redis": {"colour": "blue"}})
        assert caught.value.field == "overrides"
