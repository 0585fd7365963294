from __future__ import annotations

import pytest
import yaml
from planner_factories import gen_host, gen_redis

from migrator.planner.builder import build_plan
from migrator.planner.export import export_plan
from migrator.planner.validate import Problem, validate_yaml

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.25}]
"""


def test_generated_plan_is_valid(estate):
    assert validate_yaml(export_plan(build_plan(estate))) == []


@pytest.mark.parametrize("version", ["1.29", "1.37", "v1.33.2"])
def test_generated_plan_is_valid_for_recent_versions(estate, version):
    assert validate_yaml(export_plan(build_plan(estate)), version) == []


def test_plan_with_overrides_is_valid(estate):
    plan = build_plan(estate, {"db1/redis-server.service": {"kind": "Deployment", "storage_class": "fast"},
                               "web1/webapp.service": {"kind": "StatefulSet", "replicas": 3}})
    assert validate_yaml(export_plan(plan)) == []


def test_handwritten_deployment_is_valid():
    assert validate_yaml(DEPLOYMENT) == []


def test_replicas_must_be_a_number():
    problems = validate_yaml(DEPLOYMENT.replace("replicas: 1", "replicas: three"))
    assert len(problems) == 1
    assert problems[0].kind == "Deployment" and problems[0].name == "web"
    assert problems[0].path == "spec.replicas"
    assert "three" in problems[0].message


def test_containers_are_required():
    problems = validate_yaml(DEPLOYMENT.replace("containers: [{name: web, image: nginx:1.25}]", "volumes: []"))
    assert [(p.kind, p.name, p.path) for p in problems] == [("Deployment", "web", "spec.template.spec")]
    assert "containers" in problems[0].message


def test_unknown_fields_are_refused():
    problems = validate_yaml(DEPLOYMENT.replace("replicas: 1", "replicas: 1\n  colour: blue"))
    assert len(problems) == 1 and "colour" in problems[0].message


def test_unparsable_yaml():
    problems = validate_yaml("apiVersion: v1\nkind: [Service\n")
    assert len(problems) == 1
    assert problems[0].message.startswith("YAML does not parse")
    assert problems[0].path.startswith("line ")


@pytest.mark.parametrize("text, message", [
    ("- a\n- b\n", "expected a mapping"),
    ("metadata: {name: x}\n", "missing apiVersion, kind"),
    ("apiVersion: v1\nkind: Gadget\nmetadata: {name: x}\n", "Couldn't find schema"),
])
def test_documents_that_are_not_objects(text, message):
    problems = validate_yaml(text)
    assert len(problems) == 1 and message in problems[0].message


def test_statefulset_needs_its_headless_service():
    text = export_plan(build_plan([gen_host("db1", gen_redis())]))
    docs = [d for d in yaml.safe_load_all(text) if d["metadata"]["name"] != "redis-db1-headless"]
    problems = validate_yaml(yaml.safe_dump_all(docs))
    assert problems == [Problem("StatefulSet", "redis-db1", "spec.serviceName",
                                "no headless Service named 'redis-db1-headless'")]


def test_service_selector_must_match_a_workload():
    text = export_plan(build_plan([gen_host("db1", gen_redis())], network_policies=False))
    docs = [d for d in yaml.safe_load_all(text)]
    docs[1]["spec"]["selector"] = {"app": "nothing"}
    problems = validate_yaml(yaml.safe_dump_all(docs))
    assert problems == [Problem("Service", "redis-db1", "spec.selector",
                                "selector matches the pods of no workload in the plan")]


def test_workload_selector_must_match_its_pods():
    problems = validate_yaml(DEPLOYMENT.replace("matchLabels: {app: web}", "matchLabels: {app: other}"))
    assert [(p.kind, p.path) for p in problems] == [("Deployment", "spec.selector")]


def test_duplicate_objects():
    problems = validate_yaml(DEPLOYMENT + "---\n" + DEPLOYMENT)
    assert [(p.kind, p.name, p.path) for p in problems] == [("Deployment", "web", "metadata.name")]


def test_empty_text_has_no_problems():
    assert validate_yaml("") == []


def test_unsupported_version_is_a_problem():
    problems = validate_yaml(DEPLOYMENT, "2.0")
    assert len(problems) == 1 and "does not support" in problems[0].message
