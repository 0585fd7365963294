"""The dependency map and the start waves: drawn from the API's graph and waves, a box per cluster,
no two boxes overlapping at 60 applications, host text escaped, empty states that say what to do."""
from __future__ import annotations

import re
from html import unescape

import pytest

from migrator.web import depmap, maps
from tests.web.helpers import HOSTILE, import_estate, synthetic_estate

ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
NODE = re.compile(r'<a class="node node-app[^"]*" href="[^"]+" id="(n\d+)" data-ref="([^"]*)"')


def _map_refs(html: str) -> list[str]:
    return [unescape(ref) for _id, ref in NODE.findall(html)]


def test_map_of_the_lab_estate_matches_the_api_graph(app, admin_ui, admin_client):
    import_estate(app)
    html = admin_ui.get("/map").get_data(as_text=True)
    graph = admin_client.get("/api/v1/graph").get_json()
    assert sorted(_map_refs(html)) == sorted(n["id"] for n in graph["nodes"]) and len(graph["nodes"]) == 18
    assert html.count('<g class="cluster"') == 2 == len(graph["clusters"])
    assert "etcd cluster (3)" in html and "postgresql cluster (2)" in html
    assert html.count('class="edge edge-peer"') >= 8
    waves = admin_client.get("/api/v1/waves").get_json()["waves"]
    for i in range(len(waves)):
        assert f">Wave {i + 1}</text>" in html
    assert '<svg class="depmap"' in html and "<script>" not in html.split("</head>")[1]   # no inline script
    by_host = admin_ui.get("/map?by=host").get_data(as_text=True)
    assert sorted(_map_refs(by_host)) == sorted(n["id"] for n in graph["nodes"])
    assert ">kv-2</text>" in by_host


def test_waves_page_says_why(app, admin_ui, admin_client):
    import_estate(app)
    html = unescape(admin_ui.get("/waves").get_data(as_text=True))
    waves = admin_client.get("/api/v1/waves").get_json()["waves"]
    assert len(waves) == 3
    for i, wave in enumerate(waves):
        section = html.split(f'id="wave-{i + 1}"')[1].split('<section')[0]
        for ref in wave:
            assert ref.split("/", 1)[1] in section
    assert "after web-1" not in html
    assert "web-1/nginx.service connects to app-1/webapp.service on port 8080" in html
    assert "standby db-2/postgresql.service replicates from primary db-1/postgresql.service" in html
    assert "Needs nothing found in the estate" in html


def test_map_and_waves_are_linked_from_the_nav_and_the_overview(app, viewer_ui):
    import_estate(app)
    page = viewer_ui.get("/").get_data(as_text=True)
    assert page.count('href="/map"') >= 2 and page.count('href="/waves"') >= 2
    assert viewer_ui.get("/map").status_code == 200 and viewer_ui.get("/waves").status_code == 200


def test_empty_states_say_what_to_do(app, admin_ui, viewer_ui):
    assert "No hosts yet" in admin_ui.get("/map").get_data(as_text=True)
    assert "ask an admin to add hosts" in viewer_ui.get("/waves").get_data(as_text=True)
    admin_ui.post("/inventory/hosts", {"name": "db-1", "address": "10.0.0.5"})
    for url in ("/map", "/waves"):
        page = admin_ui.get(url).get_data(as_text=True)
        assert "scan hosts first" in page


def test_map_needs_a_login(app):
    client = app.test_client(token=None)
    r = client.get("/map")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_group_filter_and_unknown_group(app, admin_ui):
    ids = import_estate(app)
    r = admin_ui.post("/inventory/groups", {"name": "etcd", "hosts": [str(ids["kv-1"]), str(ids["kv-2"])]})
    assert r.status_code == 302
    html = admin_ui.get("/map?group=etcd").get_data(as_text=True)
    assert sorted(_map_refs(html)) == ["kv-1/etcd.service", "kv-1/prometheus-node-exporter.service",
                                       "kv-2/etcd.service", "kv-2/prometheus-node-exporter.service"]
    r = admin_ui.get("/map?group=nope")
    assert r.status_code == 422 and "no group" in r.get_data(as_text=True)


def test_hostile_names_stay_text(app, admin_ui, monkeypatch):
    data = synthetic_estate(apps=60, host_count=6)
    node = data["graph"]["nodes"][0]
    old = node["id"]
    node.update(id="h/" + HOSTILE, key=HOSTILE, software=HOSTILE, name=HOSTILE)
    for e in data["graph"]["edges"] + data["graph"]["order"]:
        for k in ("source", "target", "before", "after"):
            if e.get(k) == old:
                e[k] = node["id"]
        if "reason" in e:
            e["reason"] = e["reason"].replace(old, node["id"])
    data["waves"] = [[node["id"] if r == old else r for r in w] for w in data["waves"]]
    for c in data["graph"]["clusters"]:
        c["software"] = HOSTILE
        for m in c["members"]:
            if m["id"] == old:
                m["id"] = node["id"]
    data["graph"]["external"].append({"app": node["id"], "address": HOSTILE, "port": 1, "direction": "out"})
    data["cycles"] = [[node["id"], "x/" + HOSTILE]]
    monkeypatch.setattr(maps, "estate_data", lambda s, group: data)
    for url in ("/map", "/waves", "/map?by=host&focus=" + HOSTILE):
        html = admin_ui.get(url).get_data(as_text=True)
        assert "<script>alert" not in html, url
        assert ESCAPED[:30] in html, url


def test_layout_of_sixty_applications():
    data = synthetic_estate(apps=60)
    for by in ("wave", "host"):
        picture = depmap.layout(data["graph"], data["waves"], by=by)
        apps = [n for n in picture["nodes"] if n.kind == "app"]
        assert len(apps) == 60
        assert len([n for n in picture["nodes"] if n.kind == "external"]) == 4
        assert depmap.overlaps(picture["nodes"]) == []
        for n in picture["nodes"]:
            assert 0 < n.x and n.x + n.w <= picture["width"] and 0 < n.y and n.y + n.h <= picture["height"]
            assert depmap.text_units(n.label) <= depmap.LABEL_UNITS
            assert depmap.text_units(n.sub) <= depmap.SUB_UNITS
        # every cluster box holds its members and no other box
        for box in picture["clusters"]:
            members = set(box["members"].split())
            for n in picture["nodes"]:
                inside = (box["x"] <= n.x and n.x + n.w <= box["x"] + box["w"]
                          and box["y"] <= n.y and n.y + n.h <= box["y"] + box["h"])
                touches = (n.x < box["x"] + box["w"] and box["x"] < n.x + n.w
                           and n.y < box["y"] + box["h"] and box["y"] < n.y + n.h)
                assert inside if n.id in members else not touches, (by, box["label"], n.ref)
        for a in picture["clusters"]:
            for b in picture["clusters"]:
                if a is not b:
                    assert not (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
                                and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])
        assert all(e.d.startswith("M") for e in picture["edges"]) and len(picture["edges"]) > 90
        # in columns by wave, every application sits in its wave's column
        if by == "wave":
            for w, wave in enumerate(data["waves"]):
                xs = {n.x for n in apps if n.ref in wave}
                assert len(xs) == 1
    # the same estate, the same picture
    again = depmap.layout(data["graph"], data["waves"])
    first = depmap.layout(data["graph"], data["waves"])
    assert [(n.id, n.x, n.y) for n in again["nodes"]] == [(n.id, n.x, n.y) for n in first["nodes"]]
    assert [e.d for e in again["edges"]] == [e.d for e in first["edges"]]


@pytest.mark.parametrize("text, units, expect", [
    ("short", 10, "short"), ("a" * 30, 10, "a" * 9 + "\u2026"), ("数据库服务器名称很长很长", 10, "数据库服\u2026"),
    ("bell\x07", 10, "bell\ufffd")])
def test_labels_are_cut_to_fit(text, units, expect):
    assert depmap.fit(text, units) == expect
