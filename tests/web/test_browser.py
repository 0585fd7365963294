"""The main flows in a real browser: Debian's chromium, headless, driven by Playwright, against the
real service (`migrator serve`, waitress, on a free port). Screenshots of each page go to
test-artifacts/web/ (or $MIGRATOR_TEST_ARTIFACTS/web/).

Needs the `playwright` package (requirements.txt) and /usr/bin/chromium (tests/lab/install-deps.sh);
never `playwright install`. Without them the test skips and says why; MIGRATOR_REQUIRE_BROWSER=1
turns that skip into a failure."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.web.helpers import ESTATE, LAB_APP, ROOT, estate_hosts, synthetic_estate

CHROMIUM = os.environ.get("MIGRATOR_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "browser-test-password"


def _skip(reason: str):
    if os.environ.get("MIGRATOR_REQUIRE_BROWSER") == "1":
        pytest.fail(f"MIGRATOR_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def artifacts() -> Path:
    base = Path(os.environ.get("MIGRATOR_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    path = base / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serve(settings, tmp_path):
    """`migrator serve` on a free port over the test database; yields its URL."""
    port = _free_port()
    env = {**os.environ, "MIGRATOR_DATABASE_URL": settings["DATABASE_URL"],
           "MIGRATOR_INSTANCE_PATH": settings["INSTANCE_PATH"], "MIGRATOR_SSH_CONFIG": settings["SSH_CONFIG"],
           "MIGRATOR_SSH_KNOWN_HOSTS": settings["SSH_KNOWN_HOSTS"], "MIGRATOR_SSH_CONNECT_TIMEOUT": "3",
           "MIGRATOR_SECRET_KEY": "browser-test-" + "k" * 40}
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("migrator")), "serve", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/api/v1/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("migrator serve stopped: " + (tmp_path / "serve.log").read_text()[-2000:])
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def service(settings, cli, tmp_path):
    """`migrator serve` on a free port with a user, an inventoried host and its recorded scan."""
    r = cli("users", "create", "admin", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert cli("hosts", "add", "app-1", "--address", "10.213.66.10").exit_code == 0
    r = cli("import", "app-1", str(LAB_APP))
    assert r.exit_code == 0, r.output
    with _serve(settings, tmp_path) as url:
        yield url


@pytest.fixture
def estate_service(settings, cli, tmp_path):
    """`migrator serve` over the lab's nine-VM estate (tests/lab/estate.py), each VM's recorded scan
    imported as `migrator import` does, and an admin."""
    r = cli("users", "create", "admin", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    for h in estate_hosts():
        assert cli("hosts", "add", h["name"], "--address", h["address"]).exit_code == 0
        r = cli("import", h["name"], str(ESTATE / h["name"]))
        assert r.exit_code == 0, r.output
    with _serve(settings, tmp_path) as url:
        yield url


@pytest.fixture
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip("the playwright package is not installed (pip install -r requirements.txt)")
    if not Path(CHROMIUM).exists():
        _skip(f"{CHROMIUM} is missing (apt-get install chromium; tests/lab/install-deps.sh does it as root)")
    with sync_playwright() as pw:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield b
        finally:
            b.close()


def test_main_flows_in_a_browser(service, browser, artifacts):
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def shot(name: str) -> None:
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
        # nothing wider than the laptop screen: long names wrap
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, f"{name}: the page is {width}px wide"

    # every page needs a login
    page.goto(service + "/inventory")
    assert "/login" in page.url
    shot("01-login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert page.locator("text=Unknown user or wrong password").is_visible()
    assert all("401" in p for p in problems), problems    # the refused login answers 401
    problems.clear()
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(service + "/inventory")

    # add a host that refuses connections, scan it, follow the scan page
    form = page.locator("form[action='/inventory/hosts']")
    form.locator("input[name=name]").fill("web-1")
    form.locator("input[name=address]").fill("127.0.0.1")
    form.locator("input[name=port]").fill("1")
    form.locator("button[type=submit]").click()
    assert page.locator("text=Host web-1 added").is_visible()
    shot("02-inventory")
    page.locator("input[aria-label='scan web-1']").check()
    page.locator("button[form=scan-form]").click()
    page.wait_for_url("**/scans/*")
    page.locator("tr", has_text="web-1").locator(".status-failed").wait_for()
    assert page.locator("text=Check the address and port").is_visible()
    shot("03-scan")

    # the overview, then the recorded host's redis
    page.goto(service + "/")
    assert page.locator("ul.counts").is_visible()
    shot("04-overview")
    page.fill("input[name=q]", "redis")
    page.click("form.filters button[type=submit]")
    page.locator("table.apps a", has_text="redis").first.click()
    page.wait_for_url("**/apps/*")
    assert page.locator("text=Proposed Kubernetes objects").is_visible()
    assert "kind: StatefulSet" in page.locator("pre.yaml").inner_text()
    shot("05-application")

    # change a decision in the plan editor: three replicas
    editor = page.locator("form.override")
    editor.locator("input[name=replicas]").fill("3")
    editor.locator("button[type=submit]").click()
    page.locator("text=override saved").wait_for()
    assert "replicas: 3" in page.locator("pre.yaml").inner_text()

    # a plan with the decision, validated, and its exports
    page.goto(service + "/plans")
    page.click("text=Make a new plan from the latest scans")
    page.wait_for_url("**/plans/*")
    assert page.locator("text=Valid against the Kubernetes schemas").is_visible()
    assert "replicas: 3" in page.locator("pre.yaml").inner_text()
    shot("06-plan")
    with page.expect_download() as download:
        page.click("text=Download YAML")
    yaml_path = artifacts / "plan.yaml"
    download.value.save_as(yaml_path)
    assert "replicas: 3" in yaml_path.read_text()
    with page.expect_download() as download:
        page.click("text=Download Kustomize (zip)")
    download.value.save_as(artifacts / "plan-kustomize.zip")
    assert (artifacts / "plan-kustomize.zip").read_bytes()[:2] == b"PK"
    page.goto(service + "/plans")
    shot("07-plans")

    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login")
    assert problems == [], "\n".join(problems)       # no CSP violation, no script error
    context.close()
    assert time.monotonic() - started < 60


def _login(page, url: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


# The boxes of the map as the browser lays them out, and the pairs that overlap.
BOXES_JS = """() => {
  const boxes = [...document.querySelectorAll('#depmap .node rect')].map(r => {
    const b = r.getBoundingClientRect(); return {ref: r.parentNode.dataset.ref, x: b.x, y: b.y, w: b.width, h: b.height};
  });
  const clash = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) clash.push([a.ref, b.ref]);
  }
  const texts = [...document.querySelectorAll('#depmap .node')].filter(n => {
    const r = n.querySelector('rect').getBoundingClientRect();
    return [...n.querySelectorAll('text')].some(t => t.getBoundingClientRect().right > r.right + 0.5);
  }).map(n => n.dataset.ref);
  return {count: boxes.length, clash: clash, overflowing: texts};
}"""


def _in_box(page, cluster_index: int) -> list[str]:
    """The refs of the nodes drawn inside the cluster box number `cluster_index`."""
    return page.evaluate("""(i) => {
      const box = document.querySelectorAll('#depmap .cluster rect')[i].getBoundingClientRect();
      return [...document.querySelectorAll('#depmap .node rect')].filter(r => {
        const b = r.getBoundingClientRect();
        return b.x >= box.x && b.right <= box.right && b.y >= box.y && b.bottom <= box.bottom;
      }).map(r => r.parentNode.dataset.ref).sort();
    }""", cluster_index)


def test_map_waves_and_management_in_a_browser(estate_service, browser, artifacts, app, monkeypatch):
    from migrator import get_db
    from migrator.services import estate, hosts

    with get_db(app).session() as s:
        graph = estate.graph_dict(estate.estate_findings(s, hosts.find_hosts(s, [])))
    service = estate_service
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(15000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def shot(name: str) -> None:
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, f"{name}: the page is {width}px wide"

    _login(page, service)
    # the overview links the map; the map has a node per application and a box per cluster
    page.click("a.button:has-text('Dependency map')")
    page.wait_for_url("**/map")
    refs = page.eval_on_selector_all("#depmap a.node-app", "ns => ns.map(n => n.dataset.ref)")
    assert sorted(refs) == sorted(n["id"] for n in graph["nodes"]) and len(refs) == 18
    assert page.locator("#depmap .cluster").count() == len(graph["clusters"]) == 2
    etcd = [i for i, c in enumerate(graph["clusters"]) if c["software"] == "etcd"][0]
    assert _in_box(page, etcd) == ["kv-1/etcd.service", "kv-2/etcd.service", "kv-3/etcd.service"]
    assert page.locator("#depmap .edge-peer").count() >= 8
    layout = page.evaluate(BOXES_JS)
    assert layout["clash"] == [] and layout["overflowing"] == [], layout
    shot("08-map")
    page.fill("#map-filter", "cache-1/redis")
    page.keyboard.press("Enter")
    assert "focused" in page.get_attribute("#depmap", "class")
    redis = page.locator("#depmap a.node[data-ref='cache-1/redis']")
    assert "match" in redis.get_attribute("class")
    highlighted = page.eval_on_selector_all("#depmap .node.hl", "ns => ns.map(n => n.dataset.ref).sort()")
    assert highlighted == ["app-1/webapp.service", "app-2/webapp.service", "cache-1/redis"]
    assert "1 match(es), 2 neighbour(s)" in page.inner_text("#map-status")
    shot("09-map-focus")
    page.select_option("select[name=by]", "host")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*/map\?by=host"))
    assert page.locator("#depmap a.node-app").count() == 18
    shot("10-map-by-host")

    # the start waves, with why
    page.click("nav a:has-text('Waves')")
    page.wait_for_url("**/waves")
    assert page.locator("section.wave").count() == 3
    assert page.locator("text=web-1/nginx.service connects to app-1/webapp.service on port 8080").first.is_visible()
    shot("11-waves")

    # change a host
    page.goto(service + "/inventory")
    page.click("a[aria-label='change web-1']")
    page.wait_for_url("**/inventory/hosts/*/edit")
    page.fill("input[name=port]", "70000")
    page.click("button:has-text('Save changes')")
    assert page.locator("text=port must be a whole number").is_visible()
    assert page.input_value("input[name=port]") == "70000"          # what was typed stays
    assert problems and all("422" in p for p in problems), problems   # the refused change answers 422
    problems.clear()
    page.fill("input[name=port]", "2222")
    page.fill("input[name=username]", "deploy")
    shot("12-host-edit")
    page.click("button:has-text('Save changes')")
    page.wait_for_url("**/inventory")
    assert page.locator("text=Host web-1 changed").is_visible()
    assert page.locator("tr", has_text="web-1").locator("text=10.213.71.15:2222").is_visible()

    # create a group of the etcd hosts with a description
    page.click("a:has-text('New group')")
    page.wait_for_url("**/inventory/groups/new")
    page.fill("input[name=name]", "etcd")
    page.fill("input[name=description]", "the key-value store <b>cluster</b>")
    for name in ("kv-1", "kv-2", "kv-3"):
        page.locator("label", has_text=name).locator("input[type=checkbox]").check()
    shot("13-group-new")
    page.click("button:has-text('Create group')")
    page.wait_for_url("**/inventory")
    assert page.locator("text=Group etcd created").is_visible()
    row = page.locator("table.groups tr", has_text="etcd")
    assert row.locator("text=kv-1, kv-2, kv-3").is_visible()
    assert row.locator("text=the key-value store <b>cluster</b>").is_visible()      # text, not markup
    shot("14-inventory-managed")

    # remove a host: asked first
    page.click("a[aria-label='remove kv-3']")
    page.wait_for_url("**/remove")
    assert page.locator("text=application(s) found go with it").is_visible()
    shot("15-remove-host")
    page.click("button:has-text('Remove the host')")
    page.wait_for_url("**/inventory")
    assert page.locator("text=Host kv-3 removed").is_visible()

    # users: create a planner
    page.click("nav a:has-text('Users')")
    page.wait_for_url("**/users")
    form = page.locator("form[action='/users']")
    form.locator("input[name=username]").fill("carol")
    form.locator("select[name=role]").select_option("planner")
    form.locator("input[name=password]").fill("carol-password-1")
    form.locator("input[name=password2]").fill("carol-password-1")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/users")
    assert page.locator("text=User carol created with the planner role").is_visible()
    assert "carol-password-1" not in page.content()
    shot("16-users")

    # the audit log shows all of it, newest first, and filters
    page.click("nav a:has-text('Audit')")
    page.wait_for_url("**/audit")
    actions = page.eval_on_selector_all("table.audit tbody tr td:nth-child(4)", "ts => ts.map(t => t.innerText)")
    assert actions[:4] == ["user.create", "host.delete", "group.create", "host.update"], actions
    shot("17-audit")
    page.fill("input[name=action]", "host.")
    page.click("form.filters button[type=submit]")
    actions = page.eval_on_selector_all("table.audit tbody tr td:nth-child(4)", "ts => ts.map(t => t.innerText)")
    assert set(actions) == {"host.create", "host.update", "host.delete"}, actions

    # a made-up estate of 60 applications, as this service draws it: no box over another, labels inside
    from migrator.web import maps
    data = synthetic_estate(apps=60)
    monkeypatch.setattr(maps, "estate_data", lambda s, group: data)
    client = app.test_client(token=None)
    from tests.web.helpers import login
    assert login(client, "admin", PASSWORD).status_code == 302
    response = client.get("/map")
    html = response.get_data(as_text=True)
    page.route(service + "/map?synthetic=60", lambda route: route.fulfill(
        status=200, body=html, headers={"Content-Type": "text/html; charset=utf-8",
                                        "Content-Security-Policy": response.headers["Content-Security-Policy"]}))
    page.goto(service + "/map?synthetic=60")
    layout = page.evaluate(BOXES_JS)
    assert layout["count"] == 64 and layout["clash"] == [] and layout["overflowing"] == [], layout
    assert page.locator("#depmap .cluster").count() == 3
    for i in range(3):
        members = sorted(m["id"] for m in data["graph"]["clusters"][i]["members"])
        assert _in_box(page, i) == members
    assert page.evaluate("document.querySelector('.map-wrap').scrollWidth > document.querySelector('.map-wrap').clientWidth")
    shot("18-map-60-apps")
    page.fill("#map-filter", "service-33")
    page.keyboard.press("Enter")
    shot("19-map-60-apps-focus")
    wide = browser.new_context(viewport={"width": 2300, "height": 900})
    whole = wide.new_page()
    whole.route(service + "/map?synthetic=60", lambda route: route.fulfill(
        status=200, body=html, headers={"Content-Type": "text/html; charset=utf-8"}))
    whole.context.add_cookies(context.cookies())
    whole.goto(service + "/map?synthetic=60")
    whole.add_style_tag(content="main { max-width: none; }")     # the whole picture, no frame (this page has no CSP)
    whole.locator("#depmap").screenshot(path=str(artifacts / "20-map-60-apps-whole.png"))
    wide.close()

    assert problems == [], "\n".join(problems)       # no CSP violation, no script error
    context.close()


@pytest.fixture
def live_lab(tmp_path):
    """One real lab VM (sshd, redis, the web app) of this test's own (prefix mgwb, 10.213.84.0/24)."""
    from tests.integration.conftest import require_lab
    from tests.lab import SINGLE_VM, Lab

    require_lab()
    lab = Lab(workdir=tmp_path / "lab", prefix="mgwb", subnet="10.213.84.0/24")
    try:
        lab.up(SINGLE_VM)
        yield lab
    finally:
        lab.down()


def test_add_and_scan_a_live_lab_host_in_a_browser(live_lab, settings, cli, tmp_path, browser, artifacts):
    """Log in, add a real lab VM through the form, scan it over SSH, read what it runs."""
    vm = live_lab.hosts[0]
    r = cli("users", "create", "admin", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    with _serve(settings, tmp_path) as url:
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        page.set_default_timeout(30000)
        page.goto(url + "/inventory")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(url + "/inventory")
        form = page.locator("form[action='/inventory/hosts']")
        form.locator("input[name=name]").fill("live-1")
        form.locator("input[name=address]").fill(vm["address"])
        form.locator("input[name=username]").fill("root")
        form.locator("input[name=key_path]").fill(vm["key_path"])
        form.locator("button[type=submit]").click()
        assert page.locator("text=Host live-1 added").is_visible()
        page.locator("input[aria-label='scan live-1']").check()
        page.locator("button[form=scan-form]").click()
        page.wait_for_url("**/scans/*")
        page.locator("tr", has_text="live-1").locator(".status-done").wait_for()
        page.screenshot(path=str(artifacts / "21-live-scan.png"), full_page=True)
        page.goto(url + "/?q=redis")
        page.locator("table.apps a", has_text="redis").first.click()
        page.wait_for_url("**/apps/*")
        body = page.locator("main").inner_text()
        assert "live-1" in body and "/var/lib/redis" in body and "6379" in body, body[:2000]
        assert "kind: StatefulSet" in page.locator("pre.yaml").inner_text()
        page.screenshot(path=str(artifacts / "22-live-app.png"), full_page=True)
