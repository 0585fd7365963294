"""The parallel paths give exactly the serial text and problems (no timing here)."""
from __future__ import annotations

import threading

import pytest
from config_factories import configured_estate
from estate_factories import lab_estate
from planner_factories import gen_host, gen_java, gen_redis, gen_webapp

from migrator.planner import export, validate
from migrator.planner.builder import build_plan
from migrator.planner.export import export_plan
from migrator.planner.objects import to_objects
from migrator.planner.render import render_yaml

CASES = {
    "basic": lambda: [gen_host("db1", gen_redis()), gen_host("web1", gen_webapp(), gen_java())],
    "lab": lab_estate,
    "configs": configured_estate,
    "many": lambda: [gen_host(f"h{i}", gen_redis(), gen_webapp()) for i in range(12)],
}


def _plans(case):
    hosts = CASES[case]()
    return [build_plan(hosts, namespace="shop"), build_plan(hosts), build_plan(hosts, network_policies=False)]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("workers", [2, 3])
def test_parallel_export_is_the_serial_text(case, workers):
    for plan in _plans(case):
        serial = render_yaml(to_objects(plan))
        assert export._render_parallel(plan, workers) == serial      # the parallel path itself, always
        assert export_plan(plan, workers=workers) == serial
        assert export_plan(plan) == serial


def test_parallel_export_of_one_workload_per_process():
    plan = _plans("many")[0]
    assert export._render_parallel(plan, len(plan.workloads)) == render_yaml(to_objects(plan))


def test_other_threads_mean_serial(monkeypatch):
    plan = _plans("many")[0]
    calls = []
    monkeypatch.setattr(export, "_render_parallel", lambda *a: calls.append(a) or "")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert export_plan(plan, workers=2) == render_yaml(to_objects(plan))
    finally:
        stop.set()
        thread.join()
    assert calls == []
    monkeypatch.setattr(export.threading, "active_count", lambda: 1)   # as if this thread were alone
    export_plan(plan, workers=2)
    assert len(calls) == 1


def _broken(text: str) -> list[str]:
    """The text with problems of every kind the checks find."""
    return [text.replace("clusterIP: None", "clusterIP: 10.0.0.1"),
            text.replace("serviceName:", "serviceName: x\n    foo:"),
            text.replace("app.kubernetes.io/instance: ", "app.kubernetes.io/instance: z", 3),
            text + text,
            text.replace("kind: Service", "kind: Servicex", 1),
            text.replace("apiVersion: v1", "apiVersion: v9", 1),
            text.replace("namespace: shop", "namespace: other", 5),
            text.replace("\n---\n", "\n---\n---\n", 3),
            text[:len(text) // 2] + "\n  : [\n" + text[len(text) // 2:],
            "%YAML 1.1\n" + text]


@pytest.mark.parametrize("case", sorted(CASES))
def test_parallel_validation_finds_the_serial_problems(case):
    texts = [export_plan(plan) for plan in _plans(case)]
    for text in texts + _broken(texts[0]):
        for version in (None, "9.0"):
            serial = validate.validate_yaml(text, version, workers=1)
            assert validate.validate_yaml(text, version, workers=2) == serial
            assert validate.validate_yaml(text, version, workers=5) == serial
    assert validate.validate_yaml(texts[0] + texts[0], workers=1), "duplicates are problems"


def test_parallel_validation_checks_in_processes():
    text = export_plan(_plans("many")[0])
    starts = [m.start() for m in validate._DOCUMENT_START.finditer(text)]
    assert len(starts) > 2         # (_check_parallel forks even where other tests left threads behind)
    # None would mean a slice did not parse and the serial reading answered instead
    assert validate._check_parallel(text, starts, "1.30", 2) == [] == validate.validate_yaml(text, workers=1)
    broken = _broken(text)[0]
    found = validate._check_parallel(broken, [m.start() for m in validate._DOCUMENT_START.finditer(broken)], "1.30", 2)
    assert found and found == validate.validate_yaml(broken, "1.30", workers=1)
