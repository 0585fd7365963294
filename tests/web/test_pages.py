"""What each page shows, that host text is escaped everywhere, and what the actions do."""
from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from migrator import get_db
from migrator.models import Application, Host, PlanOverride, StateLocation
from tests.web.helpers import HOSTILE, import_recorded

ESCAPED = b"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


def _plant(app, host_id: int) -> int:
    """Hostile text in a recorded finding (as a VM could make it say); returns the redis app's id."""
    with get_db(app).session() as s:
        apps = list(s.scalars(select(Application).where(Application.host_id == host_id)))
        redis = next(a for a in apps if a.software == "redis")
        redis.verdict_reason = HOSTILE
        redis.command = [HOSTILE, "--port", "6379"]
        redis.evidence = [*redis.evidence, {"source": HOSTILE, "detail": HOSTILE + "x" * 400, "rule": "r"}]
        s.add(StateLocation(application_id=redis.id, path="/var/" + HOSTILE + "a" * 300, kind="data",
                            size_bytes=5 * 1024 * 1024))
        return redis.id


def test_empty_pages_say_what_to_do_next(admin_ui, viewer_ui):
    page = admin_ui.get("/").data
    assert b"No hosts yet" in page and b"Add or import hosts" in page
    page = admin_ui.get("/inventory").data
    assert b"No hosts yet" in page and b"Add a host" in page and b"Import an inventory" in page
    page = admin_ui.get("/plans").data
    assert b"No plan yet" in page and b"No decisions changed" in page
    assert b"Ask an admin to add hosts" in viewer_ui.get("/").data


def test_add_host_then_listed_never_scanned(admin_ui):
    r = admin_ui.post("/inventory/hosts", {"name": "db-1", "address": "10.0.0.5", "port": "2222",
                                           "username": "deploy", "auth_method": "password",
                                           "password": "s3cret-pass", "become": "sudo", "groups": "db, prod"})
    assert r.status_code == 302
    page = admin_ui.get("/inventory").data
    assert b"Host db-1 added" in page and b"10.0.0.5:2222" in page and b"never scanned" in page
    assert b"db, prod" in page and b"s3cret-pass" not in page


def test_add_host_errors_name_the_field_and_never_echo_the_password(admin_ui):
    r = admin_ui.post("/inventory/hosts", {"name": "db-1", "address": "not an address!", "port": "99999",
                                           "auth_method": "password", "password": "s3cret-pass"})
    assert r.status_code == 422
    assert b"field-error" in r.data and b"s3cret-pass" not in r.data and b"not an address!" in r.data


def test_import_inventory_files(admin_ui):
    csv = b"name,address,groups\nweb-1,10.0.0.11,web\nweb-2,10.0.0.12,web\n"
    r = admin_ui.post("/inventory/import", {"file": (io.BytesIO(csv), "hosts.csv")},
                      content_type="multipart/form-data")
    assert r.status_code == 302
    ini = b"[db]\ndb-1 ansible_host=10.0.0.21 ansible_user=admin\n"
    r = admin_ui.post("/inventory/import", {"file": (io.BytesIO(ini), "hosts")},
                      content_type="multipart/form-data")
    assert r.status_code == 302
    page = admin_ui.get("/inventory").data
    assert b"web-2" in page and b"db-1" in page and b"10.0.0.21" in page
    r = admin_ui.post("/inventory/import", {"file": (io.BytesIO(b'{"hosts": [{"name": "x"}]}'), "h.json")},
                      content_type="multipart/form-data")
    assert r.status_code == 422 and b"address" in r.data
    r = admin_ui.post("/inventory/import", {"file": (io.BytesIO(b"\xff\xfe"), "h.json")},
                      content_type="multipart/form-data")
    assert r.status_code == 422 and b"not UTF-8" in r.data


def test_credentials_are_never_shown_back(admin_ui):
    r = admin_ui.post("/inventory/credentials", {"name": "ops", "username": "ops", "kind": "password",
                                                 "password": "very-secret-1"})
    assert r.status_code == 302
    page = admin_ui.get("/inventory").data
    assert b"ops" in page and b"password stored" in page and b"very-secret-1" not in page
    r = admin_ui.post("/inventory/credentials", {"name": "ops2", "kind": "password", "password": ""})
    assert r.status_code == 422 and b"very-secret" not in r.data


def test_scan_page_and_its_json(app, planner_ui):
    host_id = import_recorded(app)
    page = planner_ui.get("/inventory").data
    assert b"app-1" in page and b"done" in page
    r = planner_ui.get("/scans/1")
    assert r.status_code == 200 and b"app-1" in r.data and b"done" in r.data
    assert b"scan.js" not in r.data                       # finished: nothing to poll
    data = planner_ui.get("/scans/1.json").json
    assert data["status"] == "done" and data["hosts"][0]["host_id"] == host_id
    assert planner_ui.get("/scans/999").status_code == 404


def test_start_scan_of_an_unreachable_host_shows_plain_words(app, admin_ui):
    admin_ui.post("/inventory/hosts", {"name": "gone", "address": "127.0.0.1", "port": "1"})
    r = admin_ui.post("/scans", {})
    assert r.status_code == 302 and r.headers["Location"].startswith("/scans/")
    scan_url = r.headers["Location"]
    app.extensions["migrator.jobs"].shutdown()            # wait for the scan
    data = admin_ui.get(scan_url + ".json").json
    assert data["status"] == "failed" and data["hosts"][0]["error"]
    page = admin_ui.get("/inventory").data
    assert b"Check the address and port" in page


def test_scan_with_no_hosts_says_so(admin_ui):
    r = admin_ui.post("/scans", {})
    assert r.status_code == 302
    assert b"No scan started: no hosts to scan" in admin_ui.get("/inventory").data


def test_overview_counts_software_and_filters(app, viewer_ui):
    import_recorded(app)
    page = viewer_ui.get("/").data.decode()
    assert "applications" in page and "stateful" in page and "redis" in page
    only = viewer_ui.get("/?verdict=stateless").data.decode()
    assert "redis" not in only.split("<h2>Applications</h2>")[1].split("Filter")[1]
    assert b"No application matches" in viewer_ui.get("/?q=nothing-like-this").data
    assert b"/var/lib/redis" in viewer_ui.get("/?q=redis").data


def test_app_page_shows_findings_and_proposal(app, viewer_ui):
    host_id = import_recorded(app)
    with get_db(app).session() as s:
        redis = s.scalar(select(Application).where(Application.host_id == host_id, Application.software == "redis"))
        app_id = redis.id
    page = viewer_ui.get(f"/apps/{app_id}").data.decode()
    for text in ("Identity", "Processes", "Ports and routes", "6379", "State", "/var/lib/redis", "Evidence",
                 "Proposed Kubernetes objects", "StatefulSet", "YAML preview", "kind: StatefulSet"):
        assert text in page, text
    assert "Save decision" not in page and "needs the planner role" in page
    assert viewer_ui.get("/apps/99999").status_code == 404


def test_hostile_text_is_escaped_on_every_page(app, admin_ui):
    host_id = import_recorded(app, name="app-1")
    app_id = _plant(app, host_id)
    r = admin_ui.post("/inventory/hosts", {"name": "evil", "address": "10.0.0.66", "username": "x",
                                           "groups": HOSTILE})
    assert r.status_code in (302, 422)
    other = import_recorded(app, name="app-2", address="10.213.66.11")
    with get_db(app).session() as s:       # a host name no check let through, long and hostile
        s.get(Host, other).name = HOSTILE + "-" + "n" * 200
    admin_ui.post("/overrides", {"workload": f"app-1/{HOSTILE}", "replicas": "2"})
    for path in ("/", "/inventory", f"/apps/{app_id}", "/?q=" + HOSTILE, "/plans", "/scans/1"):
        r = admin_ui.get(path)
        assert r.status_code == 200, path
        assert HOSTILE.encode() not in r.data, path
        assert b"<script" not in r.data, path
    assert ESCAPED in admin_ui.get(f"/apps/{app_id}").data
    r = admin_ui.post("/plans", {})
    assert r.status_code == 302
    for path in ("/plans/1", "/plans"):
        r = admin_ui.get(path)
        assert r.status_code == 200 and b"<script" not in r.data, path


def test_plan_editor_validate_diff_and_exports(app, planner_ui):
    host_id = import_recorded(app)
    r = planner_ui.post("/plans", {"namespace": "shop", "network_policies": "on"})
    assert r.status_code == 302 and r.headers["Location"] == "/plans/1"
    page = planner_ui.get("/plans/1").data.decode()
    assert "Plan 1" in page and "kind: StatefulSet" in page and "Download Kustomize" in page
    with get_db(app).session() as s:
        redis = s.scalar(select(Application).where(Application.host_id == host_id, Application.software == "redis"))
        workload, app_id = f"app-1/{redis.key}", redis.id
    r = planner_ui.post("/overrides", {"workload": workload, "replicas": "3", "storage_size": "20Gi",
                                       "back": f"/apps/{app_id}"})
    assert r.status_code == 302 and r.headers["Location"] == f"/apps/{app_id}"
    page = planner_ui.get(f"/apps/{app_id}").data.decode()
    assert "override saved" in page and "replicas: 3" in page and "20Gi" in page
    r = planner_ui.post("/overrides", {"workload": workload, "replicas": "many"})
    assert b"Override not saved" in planner_ui.get(r.headers["Location"]).data
    r = planner_ui.post("/overrides", {"workload": workload, "kind": "Pod"})
    assert b"Override not saved" in planner_ui.get(r.headers["Location"]).data
    planner_ui.post("/plans", {"namespace": "shop", "network_policies": "on"})
    diff = planner_ui.get("/plans/2/diff").data.decode()
    assert "plan-1.yaml" in diff and "replicas: 3" in diff and 'class="add"' in diff
    assert b"first version" in planner_ui.get("/plans/1/diff").data
    r = planner_ui.post("/plans/2/validate")
    assert r.status_code == 302 and b"Validated again" in planner_ui.get("/plans/2").data
    r = planner_ui.get("/plans/2/plan.yaml")
    assert r.status_code == 200 and r.mimetype == "application/yaml" and b"replicas: 3" in r.data
    r = planner_ui.get("/plans/2/kustomize.zip")
    assert r.status_code == 200 and zipfile.ZipFile(io.BytesIO(r.data)).namelist()
    files = planner_ui.get("/api/v1/plans/2", headers={}).status_code  # the API still wants a token
    assert files == 401
    page = planner_ui.get("/plans").data.decode()
    assert workload in page and "replicas" in page
    with get_db(app).session() as s:
        override_id = s.scalar(select(PlanOverride.id))
    r = planner_ui.post(f"/overrides/{override_id}/delete")
    assert r.status_code == 302 and b"override removed" in planner_ui.get("/plans").data


def test_exclude_then_clear_the_decision(app, planner_ui):
    host_id = import_recorded(app)
    with get_db(app).session() as s:
        redis = s.scalar(select(Application).where(Application.host_id == host_id, Application.software == "redis"))
        workload, app_id = f"app-1/{redis.key}", redis.id
    planner_ui.post("/overrides", {"workload": workload, "exclude": "on", "back": f"/apps/{app_id}"})
    assert b"Left out of the plan" in planner_ui.get(f"/apps/{app_id}").data
    planner_ui.post("/overrides", {"workload": workload, "back": f"/apps/{app_id}"})   # every field empty
    page = planner_ui.get(f"/apps/{app_id}").data
    assert b"decisions apply again" in page and b"kind: StatefulSet" in page


def test_plan_file_downloads_and_unknown_ones(app, planner_ui):
    import_recorded(app)
    planner_ui.post("/plans", {})
    page = planner_ui.get("/plans/1").data.decode()
    assert "NOTES.md" in page
    r = planner_ui.get("/plans/1/files/NOTES.md")
    assert r.status_code == 200 and r.headers["Content-Disposition"] == 'attachment; filename="NOTES.md"'
    assert planner_ui.get("/plans/1/files/nope").status_code == 404
    assert planner_ui.get("/plans/7").status_code == 404
