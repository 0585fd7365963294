from __future__ import annotations

import pytest
import yaml
from planner_factories import gen_host, gen_java, gen_redis

from analyzers.findings import StateLocation
from migrator.planner.builder import build_plan
from migrator.planner.export import export_plan
from migrator.planner.objects import to_objects
from migrator.planner.render import render_yaml, to_data
from migrator.planner.validate import validate_yaml

HOSTILE = [
    "line1\nline2", "---", "...", "key: value", "{a: 1}", "[x]", "&anchor", "*alias", "!!python/object:os.system",
    "# comment", "value # comment", "naïve ☃ 日本語", "tab\there", "bell\x07 esc\x1b del\x7f", "  padded  ",
    "yes", "no", "null", "~", "0x1F", "1e3", "010", "-", "? q", "%TAG", "@at", "`tick`", "'single'", '"double"',
    "back\\slash", "trailing\n", "\u2028sep\u2029", "nel\x85", "\ufeffbom", "",
]


def test_rendering_is_deterministic(estate):
    assert export_plan(build_plan(estate)) == export_plan(build_plan(estate))


def test_one_document_per_object(estate):
    text = export_plan(build_plan(estate))
    assert text.startswith("---\n")
    assert len(list(yaml.safe_load_all(text))) == len(to_objects(build_plan(estate)))


def test_nothing_renders_empty():
    assert render_yaml([]) == ""


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_round_trip(text):
    app = gen_java(key=text or "k", verdict_reason=text, command=(text, text), cwd=text,
                   state=(StateLocation("/data/" + text, "data", size_bytes=1),))
    plan = build_plan([gen_host(text, app)])
    objects = to_objects(plan)
    assert list(yaml.safe_load_all(render_yaml(objects))) == [to_data(o) for o in objects]


def test_hostile_strings_stay_inside_their_values():
    text = "x\n---\nkind: Secret\nmetadata: {name: evil}\n"
    app = gen_redis(verdict_reason=text, key=text, command=("/usr/bin/redis-server", text))
    docs = list(yaml.safe_load_all(export_plan(build_plan([gen_host("db1", app)], network_policies=False))))
    assert [d["kind"] for d in docs] == ["Service", "Service", "StatefulSet"]
    assert docs[2]["metadata"]["annotations"]["migrator.io/source-app"] == text


def test_hostile_plan_is_still_valid():
    text = "weird: {name}\n--- &a !!python/object #"
    app = gen_redis(verdict_reason=text, key=text, command=("/usr/bin/redis-server", text), name=text)
    assert validate_yaml(export_plan(build_plan([gen_host(text, app)]))) == []


@pytest.mark.parametrize("text,style", [
    ("bind 127.0.0.1\nport 6379\n", "|"),            # a config file reads as itself
    ("one\ntwo", "|-"),
    ("  indented\nnext\n", "|2"),
    ("trailing space \nx\n", '"'),                   # a literal block cannot keep it: quoted
    ("x\x1b[31m\ny\n", '"'),                         # control characters: quoted, escaped
    ("a\r\nb\n", '"'),
    ("ends\n\n", '"'),
    ("x\n---\nkind: Secret\n...\n", "|"),             # document markers stay inside the block
])
def test_multi_line_texts_are_literal_blocks_when_exact(text, style):
    out = render_yaml([{"kind": "ConfigMap", "data": {"f": text}}])
    assert list(yaml.safe_load_all(out)) == [{"kind": "ConfigMap", "data": {"f": text}}]
    assert out.split("f: ", 1)[1].startswith(style), out
