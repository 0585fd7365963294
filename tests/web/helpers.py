"""Helpers of the web UI tests: users, logging in, CSRF tokens, a recorded host imported."""
from __future__ import annotations

import re
from pathlib import Path

from migrator import get_db
from migrator.collect.replay import read_case
from migrator.credentials import CredentialCipher
from migrator.services import hosts, scans
from migrator.services import users

ROOT = Path(__file__).resolve().parents[2]
LAB_APP = ROOT / "tests" / "fixtures" / "hosts" / "lab-app-1"
PASSWORD = "correct horse battery"
HOSTILE = '<script>alert("x")</script>'
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = _CSRF.search(text)
    assert match, "no CSRF token in the page"
    return match.group(1)


def make_user(app, name: str, role: str, password: str = PASSWORD) -> None:
    with get_db(app).session() as s:
        users.create_user(s, name, password, role)


def login(client, name: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").data)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token})


class UI:
    """A logged-in test client and the CSRF token of its session."""

    def __init__(self, client):
        self.client = client
        self.token = csrf_of(client.get("/").data)

    def get(self, *a, **kw):
        return self.client.get(*a, **kw)

    def post(self, url, data=None, **kw):
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kw)


def _ui(app, role: str) -> UI:
    make_user(app, f"{role}-user", role)
    client = app.test_client(token=None)
    r = login(client, f"{role}-user")
    assert r.status_code == 302, r.data
    return UI(client)


def import_recorded(app, name: str = "app-1", address: str = "10.213.66.10") -> int:
    """A host named `name` whose scan is the recorded lab VM; returns the host id."""
    with get_db(app).session() as s:
        host = hosts.add_host(s, CredentialCipher(app.config), {"name": name, "address": address})
        scans.import_case(s, host, read_case(LAB_APP))
        return host.id


ESTATE = Path(__file__).resolve().parent / "fixtures" / "estate"


def estate_hosts() -> list[dict]:
    """The lab's nine-VM estate (tests/lab/estate.py) as recorded with `migrator record`: name, address."""
    import json
    return json.loads((ESTATE / "hosts.json").read_text())["hosts"]


def import_estate(app) -> dict[str, int]:
    """The recorded lab estate: its nine hosts, each with its recorded scan; name -> host id."""
    ids = {}
    with get_db(app).session() as s:
        for h in estate_hosts():
            host = hosts.add_host(s, CredentialCipher(app.config), h)
            scans.import_case(s, host, read_case(ESTATE / h["name"]))
            ids[h["name"]] = host.id
    return ids


def synthetic_estate(apps: int = 60, host_count: int = 18, seed: int = 7) -> dict:
    """A made-up estate of `apps` applications in five start waves, as the map's data (the shape
    of migrator.web.maps.estate_data): peers from each wave to earlier ones, three clusters (one a
    primary and standby in two waves), endpoints outside the inventory both ways, long names."""
    import random
    rnd = random.Random(seed)
    hosts_ = [f"host-{i:02d}" + ("-with-a-rather-long-name-for-the-map" if i % 7 == 3 else "")
              for i in range(host_count)]
    nodes, layer = [], {}
    for i in range(apps):
        host = hosts_[i % host_count]
        key = f"service-{i:02d}" + (".with-an-extremely-long-unit-name-that-cannot-fit.service" if i % 9 == 4 else "")
        ref = f"{host}/{key}"
        nodes.append({"id": ref, "host": host, "key": key, "software": ["nginx", "python-app", "redis",
                                                                        "postgresql", "etcd"][i % 5], "name": key})
        layer[ref] = min(4, i * 5 // apps)
    refs = [n["id"] for n in nodes]
    clusters = [
        {"software": "etcd", "members": [{"id": refs[i], "role": "member"} for i in (0, 1, 2)]},
        {"software": "postgresql", "members": [{"id": refs[3], "role": "primary"}, {"id": refs[15], "role": "standby"}]},
        {"software": "redis", "members": [{"id": refs[30], "role": "primary"}, {"id": refs[31], "role": "replica"}]},
    ]
    edges, order = [], []
    for ref in refs:
        if layer[ref] == 0:
            continue
        for server in rnd.sample([r for r in refs if layer[r] < layer[ref]], 2):
            edges.append({"source": ref, "target": server, "port": rnd.choice([5432, 6379, 8080, 2379]),
                          "protocol": "tcp"})
            order.append({"before": server, "after": ref, "reason": f"{ref} connects to {server}"})
    order.append({"before": refs[3], "after": refs[15], "reason": f"standby {refs[15]} replicates from primary {refs[3]}"})
    external = [{"app": refs[i], "address": f"203.0.113.{i}", "port": 443, "direction": "out"} for i in (20, 41, 55)]
    external += [{"app": refs[i], "address": "198.51.100.7", "port": 80, "direction": "in"} for i in (12, 13)]
    waves = [sorted(r for r in refs if layer[r] == w) for w in range(5)]
    graph = {"nodes": nodes, "edges": edges, "clusters": clusters, "external": external, "order": order}
    return {"hosts": host_count, "chosen": host_count, "apps": apps, "graph": graph, "waves": waves, "cycles": [],
            "links": {}, "verdicts": {r: ("stateful" if i % 3 == 0 else "stateless") for i, r in enumerate(refs)},
            "error": None}
