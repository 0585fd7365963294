"""The main flows in a real browser: Debian's chromium, headless, driven by Playwright, against the
real service (`migrator serve`, waitress, on a free port). Screenshots of each page go to
test-artifacts/web/ (or $MIGRATOR_TEST_ARTIFACTS/web/).

Needs the `playwright` package (requirements.txt) and /usr/bin/chromium (tests/lab/install-deps.sh);
never `playwright install`. Without them the test skips and says why; MIGRATOR_REQUIRE_BROWSER=1
turns that skip into a failure."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.web.helpers import LAB_APP, ROOT

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


@pytest.fixture
def service(settings, cli, tmp_path):
    """`migrator serve` on a free port with a user, an inventoried host and its recorded scan."""
    r = cli("users", "create", "admin", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert cli("hosts", "add", "app-1", "--address", "10.213.66.10").exit_code == 0
    r = cli("import", "app-1", str(LAB_APP))
    assert r.exit_code == 0, r.output
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
