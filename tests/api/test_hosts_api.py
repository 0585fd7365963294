"""Hosts through the API: created, listed, validated; passwords never come back."""
from __future__ import annotations

import pytest


def test_create_and_list_host(client, tmp_path):
    (tmp_path / "k").write_text("a key")
    r = client.post("/api/v1/hosts", json={"name": "db-1", "address": "10.213.66.9", "username": "root",
                                            "key_path": str(tmp_path / "k")})
    assert r.status_code == 201
    assert r.headers["Location"].endswith(f"/api/v1/hosts/{r.json['id']}")
    assert r.json["address"] == "10.213.66.9" and r.json["port"] == 22 and r.json["auth_method"] == "key"
    items = client.get("/api/v1/hosts").json["items"]
    assert [h["name"] for h in items] == ["db-1"]
    assert client.get(f"/api/v1/hosts/{r.json['id']}").json["name"] == "db-1"


def test_password_is_never_returned(client):
    r = client.post("/api/v1/hosts", json={"name": "web", "address": "web.example.test",
                                            "auth_method": "password", "password": "s3cr3t-pw"})
    assert r.status_code == 201
    assert r.json["has_password"] is True
    for body in (r.data, client.get("/api/v1/hosts").data, client.get(f"/api/v1/hosts/{r.json['id']}").data):
        assert b"s3cr3t-pw" not in body and b"password_encrypted" not in body


@pytest.mark.parametrize("body,field", [
    ({"address": ""}, "address"),
    ({"address": "not a host!"}, "address"),
    ({"address": "10.0.0.1", "port": 70000}, "port"),
    ({"address": "10.0.0.1", "port": "22; rm -rf /"}, "port"),
    ({"address": "10.0.0.1", "auth_method": "telnet"}, "auth_method"),
    ({"address": "10.0.0.1", "auth_method": "password"}, "password"),
    ({"address": "10.0.0.1", "username": "root;id"}, "username"),
    ({"address": "10.0.0.1", "name": "<script>"}, "name"),
    ({"address": "10.0.0.1", "colour": "red"}, "colour"),
    ({"address": ["10.0.0.1"]}, "address"),
    ({"address": "10.0.0.1", "name": 123}, "name"),
    ({"address": "10.0.0.1", "key_path": "/nonexistent/id_rsa"}, "key_path"),
    ({"address": "10.0.0.1", "auth_method": "agent", "key_path": "/etc/hostname"}, "key_path"),
    ({"address": "10.0.0.1", "password": "pw"}, "password"),
])
def test_invalid_host_names_the_field(client, body, field):
    r = client.post("/api/v1/hosts", json=body)
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert field in r.json["errors"]


def test_duplicate_name_is_refused(client):
    assert client.post("/api/v1/hosts", json={"name": "a", "address": "10.0.0.1"}).status_code == 201
    r = client.post("/api/v1/hosts", json={"name": "a", "address": "10.0.0.2"})
    assert r.status_code == 422 and "already exists" in r.json["detail"]


def test_not_json_is_415_and_broken_json_is_422(client):
    assert client.post("/api/v1/hosts", data="name=x", content_type="text/plain").status_code == 415
    r = client.post("/api/v1/hosts", data="{broken", content_type="application/json")
    assert r.status_code == 422 and "not valid JSON" in r.json["detail"]
    assert client.post("/api/v1/hosts", json=["a"]).status_code == 422


def test_unknown_routes_and_methods(client):
    r = client.get("/api/v1/hosts/999")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert client.get("/api/v1/nothing").status_code == 404
    r = client.delete("/api/v1/health")
    assert r.status_code == 405 and r.json["title"] == "Method Not Allowed"


def test_health(client):
    assert client.get("/api/v1/health").json == {"status": "ok"}


def test_every_bad_field_is_named_at_once(client):
    r = client.post("/api/v1/hosts", json={"name": 123, "address": ["a"], "port": "abc", "auth_method": "magic",
                                            "become": "x", "bogus": 1})
    assert r.status_code == 422
    errors = r.json["errors"]
    assert set(errors) == {"name", "address", "port", "auth_method", "become", "bogus"}
    assert errors["address"] == "address must be a string: an IP address or a DNS name"
    assert errors["name"] == "name must be a string"
    assert errors["auth_method"] == "auth_method must be one of: key, agent, password"
    assert errors["become"] == "become must be one of: none, sudo"


def test_delete_accept_key_and_last_scan_fields(client):
    r = client.post("/api/v1/hosts", json={"name": "a", "address": "10.0.0.1"})
    host_id = r.json["id"]
    body = client.get(f"/api/v1/hosts/{host_id}").json
    assert (body["last_scan"], body["last_error"], body["last_scan_at"]) == ("never", None, None)
    r = client.post(f"/api/v1/hosts/{host_id}/accept-key")
    assert r.status_code == 200 and r.json["host_key"] is None
    assert client.delete(f"/api/v1/hosts/{host_id}").status_code == 204
    assert client.get(f"/api/v1/hosts/{host_id}").status_code == 404
    assert client.delete(f"/api/v1/hosts/{host_id}").status_code == 404


def test_applications_by_host_id_and_unknown_host(client):
    r = client.post("/api/v1/hosts", json={"name": "a", "address": "10.0.0.1"})
    assert client.get(f"/api/v1/applications?host={r.json['id']}").json == {"items": [], "next": None}
    r = client.get("/api/v1/applications?host=nosuch")
    assert r.status_code == 404 and "nosuch" in r.json["detail"]


def test_scan_with_no_body_means_all_hosts(client):
    # loopback, a closed port: the scan this starts fails at once and never leaves the machine
    client.post("/api/v1/hosts", json={"name": "a", "address": "127.0.0.1", "port": 9})
    r = client.post("/api/v1/scans")
    assert r.status_code == 202 and [h["host"] for h in r.json["hosts"]] == ["a"]


def test_concurrent_adds_of_one_name_give_one_201_and_422s(app):
    import threading
    results = []

    def post():
        with app.test_client() as c:
            results.append(c.post("/api/v1/hosts", json={"name": "race", "address": "10.0.0.1"}).status_code)
    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [422] * 19


@pytest.mark.parametrize("method,path,body,status,field", [
    ("get", "/api/v1/hosts/99999999999999999999999", None, 404, None),
    ("get", "/api/v1/plans/99999999999999999999999/yaml", None, 404, None),
    ("post", "/api/v1/scans", {"hosts": [99999999999999999999999]}, 404, None),
    ("post", "/api/v1/scans", {"hosts": ["\u00b2"]}, 404, None),
    ("post", "/api/v1/scans", {"host": ["a"]}, 422, "host"),
    ("post", "/api/v1/scans", {"hosts": []}, 422, "hosts"),
    ("post", "/api/v1/plans", {"namespce": "x"}, 422, "namespce"),
    ("post", "/api/v1/hosts", {"name": "b", "address": "1.2.3.4", "port": "\u00b2"}, 422, "port"),
    ("post", "/api/v1/hosts", {"name": "b", "address": "1.2.3.4", "port": "\u0662\u0662"}, 422, "port"),
    ("post", "/api/v1/hosts", {"address": "::1"}, 422, "name"),
    ("post", "/api/v1/hosts", {"name": "b", "address": "1.2.3.4", "key_path": "/" + "k" * 2000}, 422, "key_path"),
])
def test_odd_requests_are_clear_errors(client, method, path, body, status, field):
    r = getattr(client, method)(path, json=body) if body is not None else getattr(client, method)(path)
    assert r.status_code == status, r.json
    assert r.mimetype == "application/problem+json"
    if field:
        assert field in r.json["errors"]


def test_deeply_nested_null_and_405_allow(client):
    r = client.post("/api/v1/scans", data="[" * 100000, content_type="application/json")
    assert r.status_code == 422
    r = client.post("/api/v1/hosts", data="null", content_type="application/json")
    assert r.status_code == 422 and r.json["detail"] == "the request body must be a JSON object"
    r = client.put("/api/v1/hosts")
    assert r.status_code == 405 and set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_same_host_twice_in_a_scan_is_scanned_once(client):
    client.post("/api/v1/hosts", json={"name": "a", "address": "127.0.0.1", "port": 9})
    r = client.post("/api/v1/scans", json={"hosts": ["a", "a", 1]})
    assert r.status_code == 202 and len(r.json["hosts"]) == 1
