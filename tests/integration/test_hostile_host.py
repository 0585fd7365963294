"""A hostile host (issue 9): thousands of processes and sockets, names and arguments with HTML,
JavaScript, YAML/JSON metacharacters, ANSI escapes, invalid UTF-8, a megabyte-long config line.
The scan completes; nothing is executed or injected; the plan and the JSON stay well-formed; the
planted secret is stored nowhere."""
from __future__ import annotations

import json
import zlib

import pytest
import yaml

from migrator import get_db
from migrator.models import Snapshot
from migrator.planner.validate import validate_yaml
from tests.lab import Lab, VMSpec

pytestmark = pytest.mark.integration
PLANTED = "hostile-planted-secret"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from tests.integration.conftest import require_lab
    require_lab()
    lab = Lab(workdir=tmp_path_factory.mktemp("hostile") / "lab", prefix="mghost", subnet="10.213.76.0/24")
    try:
        lab.up([VMSpec("evil", ("hostile",), options={"hostile": {"processes": 1000, "sockets": 2000}})], timeout=120)
        yield lab
    finally:
        lab.down()


def test_hostile_host_scans_cleanly(hostile, cli, app, client, tmp_path):
    host = hostile.hosts[0]
    assert cli("hosts", "add", "evil", "--address", host["address"], "--key", host["key_path"]).exit_code == 0
    r = cli("scan", "evil")
    assert r.exit_code == 0, r.output
    for args in (("apps",), ("estate",), ("hosts", "list")):
        out = cli(*args).output
        assert "\x1b" not in out and "\x07" not in out, args      # no terminal escapes reach a terminal
    apps = json.loads(cli("apps", "--json").output)             # well-formed JSON
    (evil,) = apps                                               # one tree: the program and its 2000 children
    assert len(evil["ports"]) == 2000 and len(evil["pids"]) > 2000   # 1000 hostile shells, each with a sleep
    assert any("<script>alert(1)</script>" in " ".join(a["command"]) for a in apps) or evil["command"]
    with get_db(app).session() as s:
        snap = s.query(Snapshot).one()
        raw = zlib.decompress(snap.probe_output)
        assert raw.count(b"/stat:") > 2000                      # thousands of processes were read
        assert PLANTED.encode() not in raw                      # redacted before storing
    out = tmp_path / "plan.yaml"
    r = cli("plan", "export", "-o", str(out))
    text = out.read_text()
    assert PLANTED not in text and PLANTED not in r.output
    assert validate_yaml(text) == [], r.output
    docs = [d for d in yaml.safe_load_all(text) if d]           # reads back: nothing broke out of a scalar
    assert all(isinstance(d, dict) and "kind" in d for d in docs)
    body = client.get("/api/v1/applications?limit=500").get_data()
    json.loads(body)                                            # valid JSON whatever the host sent
    assert PLANTED.encode() not in body
