"""Scans and plans refuse what cannot work, with a message naming the problem."""
from __future__ import annotations


def test_scan_without_hosts_is_refused(client):
    r = client.post("/api/v1/scans", json={})
    assert r.status_code == 422 and "no hosts" in r.json["detail"]


def test_scan_of_unknown_host_is_404(client):
    r = client.post("/api/v1/scans", json={"hosts": ["ghost"]})
    assert r.status_code == 404 and "ghost" in r.json["detail"]


def test_scan_hosts_must_be_a_list(client):
    r = client.post("/api/v1/scans", json={"hosts": "db-1"})
    assert r.status_code == 422 and r.json["errors"] == {"hosts": "hosts must be a list of host ids or names"}


def test_plan_before_any_scan_is_refused(client):
    client.post("/api/v1/hosts", json={"name": "a", "address": "10.0.0.1"})
    r = client.post("/api/v1/plans", json={})
    assert r.status_code == 422 and "run a scan" in r.json["detail"]


def test_plan_namespace_must_be_dns_label(client):
    r = client.post("/api/v1/plans", json={"namespace": "Bad_NS"})
    assert r.status_code == 422 and "namespace" in r.json["errors"]


def test_unknown_scan_and_plan_are_404(client):
    assert client.get("/api/v1/scans/42").status_code == 404
    assert client.get("/api/v1/plans/42").status_code == 404
    assert client.get("/api/v1/plans/42/yaml").status_code == 404


def test_applications_filter_is_validated(client):
    assert client.get("/api/v1/applications").json == {"items": [], "next": None}
    r = client.get("/api/v1/applications?verdict=maybe")
    assert r.status_code == 422 and "verdict" in r.json["errors"]


def test_index_page_sends_strangers_to_the_login(client):
    r = client.get("/")                     # an API token opens no page: log in first
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_plan_options_are_validated(client):
    r = client.post("/api/v1/plans", json={"network_policies": "yes"})
    assert r.status_code == 422 and "network_policies" in r.json["errors"]
    r = client.post("/api/v1/plans", json={"overrides": ["x"]})
    assert r.status_code == 422 and "overrides" in r.json["errors"]
