"""The CLI on a recorded host, no SSH: import, apps, estate, score, plan export."""
from __future__ import annotations

import pytest

import json
from pathlib import Path

import yaml

from migrator import create_app, get_db
from migrator.models import Application, Port
from migrator.planner.validate import validate_yaml
from tests.unit.test_scoring import TRUTH

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "hosts" / "lab-app-1"


def _imported(cli):
    assert cli("hosts", "add", "app-1", "--address", "10.213.66.10").exit_code == 0
    r = cli("import", "app-1", str(CASE))
    assert r.exit_code == 0 and "imported 23 sections for app-1" in r.output, r.output


def test_import_then_apps_estate_and_plan(cli, tmp_path):
    _imported(cli)
    apps = json.loads(cli("apps", "--json").output)
    assert {(a["software"], a["verdict"]) for a in apps} == {("redis", "stateful"), ("python-app", "stateless")}
    r = cli("estate")
    assert "app-1/python-app:webapp -> app-1/redis:6379" in r.output, r.output
    assert "clusters\n  (none)\n" in r.output and "unseen: reachable, no client seen" in r.output
    assert "1: app-1/redis" in r.output and "2: app-1/python-app:webapp" in r.output
    data = json.loads(cli("estate", "--json").output)
    assert [(p["client"], p["server"], p["port"]) for p in data["peers"]] == \
        [("app-1/python-app:webapp", "app-1/redis", 6379)]
    out = tmp_path / "plan.yaml"
    assert cli("plan", "export", "-o", str(out)).exit_code == 0
    assert validate_yaml(out.read_text()) == []
    assert {"StatefulSet", "Deployment", "Service"} <= {d["kind"] for d in yaml.safe_load_all(out.read_text()) if d}


def test_score_against_truth(cli, tmp_path):
    _imported(cli)
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps(TRUTH))
    r = cli("score", str(truth))
    assert r.exit_code == 0, r.output
    assert "missed applications: app-1/nginx" in r.output
    kinds = {k["kind"]: k for k in json.loads(cli("score", str(truth), "--json").output)["kinds"]}
    assert kinds["applications"]["recall"] == round(2 / 3, 4) and kinds["peers"]["precision"] == 1.0


def test_bad_import_and_truth_are_clear_errors(cli, tmp_path):
    assert cli("hosts", "add", "app-1", "--address", "10.213.66.10").exit_code == 0
    (tmp_path / "empty").mkdir()
    r = cli("import", "app-1", str(tmp_path / "empty"))
    assert r.exit_code == 1 and "is not a recording made by `migrator record`" in r.output
    r = cli("import", "ghost", str(CASE))
    assert r.exit_code == 1 and "no host with id or name 'ghost'" in r.output
    (tmp_path / "t.json").write_text("[]")
    r = cli("score", str(tmp_path / "t.json"))
    assert r.exit_code == 1 and "expected" in r.output


def test_import_redacts_secrets_before_storing(cli, app, tmp_path):
    import shutil
    import zlib

    from migrator import get_db
    from migrator.models import Snapshot
    case = tmp_path / "case"
    shutil.copytree(CASE, case)
    units = case / "unit_files.txt"
    units.write_text(units.read_text() + "\n\x1eM\x1e file /etc/systemd/system/pay.service\n[Service]\n"
                     "Environment=DB_PASSWORD=hunter2-planted\nExecStart=/opt/pay/run\n")
    assert cli("hosts", "add", "app-1", "--address", "10.213.66.10").exit_code == 0
    assert cli("import", "app-1", str(case)).exit_code == 0
    with get_db(app).session() as s:
        raw = zlib.decompress(s.query(Snapshot).one().probe_output)
    assert b"/etc/systemd/system/pay.service" in raw and b"hunter2-planted" not in raw


def test_plan_export_kustomize_overrides_and_bad_overrides(cli, tmp_path):
    _imported(cli)
    overrides = tmp_path / "o.yaml"
    overrides.write_text("app-1/redis:\n  storage_size: 7Gi\n  storage_class: fast\n")
    tree = tmp_path / "tree"
    r = cli("plan", "export", "--kustomize", str(tree), "--overrides", str(overrides), "--no-network-policies")
    assert r.exit_code == 0, r.output
    assert (tree / "kustomization.yaml").is_file() and (tree / "NOTES.md").is_file()
    docs = [d for f in tree.rglob("*.yaml") for d in yaml.safe_load_all(f.read_text()) if d]
    (sts,) = [d for d in docs if d["kind"] == "StatefulSet"]
    claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == "7Gi" and claim["storageClassName"] == "fast"
    assert not [d for d in docs if d["kind"] == "NetworkPolicy"]
    overrides.write_text("app-1/redis:\n  colour: blue\n")
    r = cli("plan", "export", "--overrides", str(overrides))
    assert r.exit_code == 1 and "colour" in r.output and "Traceback" not in r.output
    overrides.write_text("- not a mapping\n")
    r = cli("plan", "export", "--overrides", str(overrides))
    assert r.exit_code == 1 and "expected a mapping" in r.output


def test_database_errors_are_one_line_without_the_password(cli, monkeypatch):
    monkeypatch.setenv("MIGRATOR_DATABASE_URL", "postgresql+psycopg://nobody:sekrit@127.0.0.1:1/x")
    r = cli("hosts", "list")
    assert r.exit_code == 1 and "error: database postgresql+psycopg://nobody:***@127.0.0.1:1/x" in r.output
    assert "sekrit" not in r.output and "Traceback" not in r.output
    monkeypatch.setenv("MIGRATOR_DATABASE_URL", "bogus://")
    r = cli("hosts", "list")
    assert r.exit_code == 1 and "Can't load plugin" in r.output
    for url, words in (("mysql://u:sekrit@127.0.0.1:1/x", "cannot use the database mysql://u:***@127.0.0.1:1/x: "
                                                          "No module named 'MySQLdb'"),
                       ("postgresql+psycopg://u:sekrit@[::1:1/x", "cannot use the database (unreadable URL)")):
        monkeypatch.setenv("MIGRATOR_DATABASE_URL", url)
        r = cli("hosts", "list")
        assert r.exit_code == 1 and words in r.output and "sekrit" not in r.output, r.output


@pytest.mark.parametrize("name,value,words", [
    ("SSH_CONNECT_TIMEOUT", "nan", "must be a number of at least 0.1"),
    ("SSH_COMMAND_TIMEOUT", "-1", "must be a number of at least 0.1"),
    ("SCAN_WORKERS", "0", "must be a number of at least 1"),
    ("SCAN_RETRIES", "-1", "must be a number of at least 0"),
    ("SCAN_RETRY_BACKOFF", "inf", "must be a number of at least 0"),
])
def test_numbers_out_of_range_are_named(cli, monkeypatch, name, value, words):
    monkeypatch.setenv(f"MIGRATOR_{name}", value)
    r = cli("hosts", "list")
    assert r.exit_code == 1 and f"MIGRATOR_{name}={value!r}: {words}" in r.output, r.output


def test_serve_on_an_address_that_is_none(cli):
    r = cli("serve", "--host", "no such host", "--port", "18732")
    assert r.exit_code == 1 and "cannot listen on 'no such host': not an address or host name" in r.output


def test_truth_entries_missing_fields_are_named(cli, tmp_path):
    (tmp_path / "t.json").write_text(json.dumps({"version": 1, "applications": [{"host": "app-1"}]}))
    r = cli("score", str(tmp_path / "t.json"))
    assert r.exit_code == 1 and "lacks the field 'software'" in r.output


def test_hosts_list_remove_accept_key_and_filters(cli, app):
    from migrator import get_db
    from migrator.models import Host, Snapshot
    assert cli("hosts", "list").output.startswith("no hosts yet")
    _imported(cli)
    assert cli("hosts", "add", "a-much-longer-host-name", "--address", "10.0.0.9").exit_code == 0
    lines = cli("hosts", "list").output.splitlines()
    assert lines[0].split() == ["ID", "NAME", "ADDRESS", "LAST", "SCAN"]
    assert lines[1].index("10.213.66.10:22") == lines[2].index("10.0.0.9:22")
    assert "done" in lines[1] and "never" in lines[2]
    assert cli("apps", "--software", "nosuch").output.strip() == "no applications match these filters"
    r = cli("apps", "--host", "nosuch")
    assert r.exit_code == 1 and "no host with id or name 'nosuch'" in r.output
    assert "data: /var/lib/redis (local, " in cli("apps", "--host", "app-1").output
    with get_db(app).session() as s:
        s.query(Host).filter_by(name="app-1").one().host_key = "ssh-ed25519 AAAA"
    r = cli("hosts", "accept-key", "app-1")
    assert r.exit_code == 0 and "unpinned" in r.output
    with get_db(app).session() as s:
        assert s.query(Host).filter_by(name="app-1").one().host_key is None
    r = cli("hosts", "accept-key", "app-1")
    assert r.exit_code == 0 and "app-1: no key was pinned; the next scan pins" in r.output
    r = cli("hosts", "remove", "app-1", "--yes")
    assert r.exit_code == 0 and "removed app-1" in r.output
    with get_db(app).session() as s:
        assert s.query(Snapshot).count() == 0 and [h.name for h in s.query(Host)] == ["a-much-longer-host-name"]
    assert cli("apps").output.startswith("no applications yet")


def test_environment_and_file_mistakes_are_one_line(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("MIGRATOR_SSH_CONNECT_TIMEOUT", "abc")
    r = cli("hosts", "list")
    assert r.exit_code == 1 and "MIGRATOR_SSH_CONNECT_TIMEOUT='abc' is not a valid value" in r.output
    monkeypatch.delenv("MIGRATOR_SSH_CONNECT_TIMEOUT")
    monkeypatch.setenv("MIGRATOR_CREDENTIAL_KEY_FILE", str(tmp_path))
    r = cli("hosts", "add", "x", "--address", "10.0.0.1", "--password", input="pw\n")
    assert r.exit_code == 1 and f"credential key file {tmp_path}" in r.output and "Traceback" not in r.output
    monkeypatch.delenv("MIGRATOR_CREDENTIAL_KEY_FILE")
    _imported(cli)
    r = cli("plan", "export", "-o", str(tmp_path / "missing" / "plan.yaml"))
    assert r.exit_code == 1 and "does not exist" in r.output and "Traceback" not in r.output
    (tmp_path / "file").write_text("x")
    r = cli("record", "app-1", str(tmp_path / "file" / "sub"))
    assert r.exit_code == 1 and "Not a directory" in r.output and "Traceback" not in r.output


def test_plan_export_writes_generated_files_and_warns_on_unmatched_overrides(cli, tmp_path):
    _imported(cli)
    overrides = tmp_path / "o.yaml"
    overrides.write_text("app-1/nosuch:\n  replicas: 2\n")
    r = cli("plan", "export", "-o", str(tmp_path / "plan.yaml"), "--overrides", str(overrides))
    assert r.exit_code == 0, r.output
    assert "warning:" in r.output and "app-1/nosuch" in r.output
    assert (tmp_path / "NOTES.md").is_file()
    assert list((tmp_path / "dockerfiles").glob("*/Dockerfile"))      # the web app has no official image


def test_hosts_import_json_csv_all_or_nothing(cli, app, tmp_path):
    from migrator import get_db
    from migrator.models import Host
    key = tmp_path / "id"
    key.write_text("k")
    (tmp_path / "inv.json").write_text(json.dumps({"hosts": [
        {"name": "db-1", "address": "10.213.66.10", "port": 22, "user": "root", "key_path": str(key),
         "host_key": "ssh-ed25519 AAAA", "sudo_user": "mglab"},
        {"name": "db-2", "address": "10.213.66.11", "user": "deploy", "become": "sudo"}]}))
    r = cli("hosts", "import", str(tmp_path / "inv.json"))
    assert r.exit_code == 0 and "added 2 host(s): db-1, db-2" in r.output, r.output
    (tmp_path / "inv.csv").write_text("name,address,port,username\nweb-1,10.0.0.7,2222,ops\n")
    assert cli("hosts", "import", str(tmp_path / "inv.csv")).exit_code == 0
    (tmp_path / "bad.yaml").write_text("- {name: ok-1, address: 10.0.0.8}\n- {name: db-1, address: 10.0.0.9}\n"
                                       "- {name: x, address: 'not a host!', port: 0}\n- {name: ok-1, address: 10.0.0.8}\n")
    r = cli("hosts", "import", str(tmp_path / "bad.yaml"))
    assert r.exit_code == 1
    assert "host 2 (db-1): a host named 'db-1' already exists" in r.output
    assert "host 3 (x):" in r.output and "port must be" in r.output and "host 4 (ok-1): the name appears twice" in r.output
    with get_db(app).session() as s:
        rows = {h.name: (h.address, h.port, h.username, h.become) for h in s.query(Host)}
    assert rows == {"db-1": ("10.213.66.10", 22, "root", "none"), "db-2": ("10.213.66.11", 22, "deploy", "sudo"),
                    "web-1": ("10.0.0.7", 2222, "ops", "none")}          # nothing of bad.yaml
    (tmp_path / "junk.yaml").write_text("just: a mapping\n")
    r = cli("hosts", "import", str(tmp_path / "junk.yaml"))
    assert r.exit_code == 1 and "expected a list of hosts" in r.output


def test_apps_lists_a_port_bound_on_ipv4_and_ipv6_once(cli, settings):
    _imported(cli)
    app = create_app(settings)
    with get_db(app).session() as s:        # redis also on :: (as a dual-stack host shows it)
        redis = s.query(Application).filter_by(software="redis").one()
        s.add(Port(application_id=redis.id, protocol="tcp", address="::", port=6379, scope="all"))
    get_db(app).engine.dispose()
    redis = next(a for a in json.loads(cli("apps", "--json").output) if a["software"] == "redis")
    assert sorted(p["address"] for p in redis["ports"]) == ["0.0.0.0", "::"]     # both kept ...
    out = cli("apps", "--software", "redis").output
    assert "  ports: 6379/tcp (all)\n" in out, out                                # ... one port shown


def test_groups_add_list_remove(cli):
    assert cli("groups", "list").output.startswith("no groups yet")
    for name, address in (("a", "10.213.66.21"), ("b", "10.213.66.22"), ("bastion-1", "10.213.66.23")):
        assert cli("hosts", "add", name, "--address", address).exit_code == 0
    r = cli("groups", "add", "private", "--host", "a", "--host", "b", "--jump", "bastion-1")
    assert r.exit_code == 0 and "group 1 (private) created with 2 host(s)" in r.output, r.output
    assert cli("groups", "add", "private").exit_code == 1
    r = cli("groups", "add", "x", "--host", "nosuch")
    assert r.exit_code == 1 and "no host with id or name 'nosuch'" in r.output
    assert "private  (2 host(s): a, b)  jump bastion-1" in cli("groups", "list").output
    rows = json.loads(cli("groups", "list", "--json").output)
    assert [(g["name"], [h["name"] for h in g["hosts"]], g["jump"]["name"]) for g in rows] == [
        ("private", ["a", "b"], "bastion-1")]
    r = cli("groups", "remove", "private")                 # a and b reach bastion-1 through it
    assert r.exit_code == 1 and "group 'private' is how hosts a, b reach their jump host 'bastion-1'" in r.output
    assert cli("hosts", "jump", "--group", "private", "--clear").exit_code == 0
    r = cli("groups", "remove", "private")
    assert r.exit_code == 0 and "removed private; their hosts stay" in r.output
    assert len(json.loads(cli("hosts", "list", "--json").output)) == 3
    assert cli("groups", "add", "empty").exit_code == 0
    assert "empty  (no hosts)" in cli("groups", "list").output


def test_plan_export_to_stdout_or_a_device_writes_no_files_beside_it(cli, tmp_path, monkeypatch):
    """`-o -` is stdout, and nothing goes beside /dev/null: NOTES.md and the Dockerfiles are only
    written next to a regular file, and the command says where they would go."""
    _imported(cli)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    r = cli("plan", "export", "-o", "-")
    assert r.exit_code == 0 and "kind: StatefulSet" in r.output, r.output
    assert "written beside the plan with -o FILE" in r.output
    assert list(work.iterdir()) == []
    def stamps():        # (another process may have left them there; this export must not touch them)
        return [p.stat().st_mtime_ns if p.exists() else None for p in (Path("/dev/NOTES.md"), Path("/dev/dockerfiles"))]

    before = stamps()
    r = cli("plan", "export", "-o", "/dev/null")
    assert r.exit_code == 0 and "written to /dev/null\n" in r.output and "beside it" not in r.output, r.output
    assert stamps() == before


def test_a_second_host_for_the_same_machine_is_warned_about(cli, tmp_path):
    assert cli("hosts", "add", "app-1", "--address", "10.213.66.10").exit_code == 0
    r = cli("hosts", "add", "app-1-sudo", "--address", "10.213.66.10", "--user", "ops", "--sudo")
    assert r.exit_code == 0, r.output
    assert ("warning: app-1-sudo has the address of app-1 (10.213.66.10:22): scanning the same machine as two "
            "hosts makes the estate read its peers as outside the inventory; keep one of them") in r.output
    r = cli("hosts", "add", "other-port", "--address", "10.213.66.10", "--port", "2222")
    assert r.exit_code == 0 and "warning" not in r.output, r.output       # another port: another machine
    inventory = tmp_path / "inv.json"
    inventory.write_text(json.dumps({"hosts": [{"name": "app-2", "address": "10.213.66.10"},
                                               {"name": "db-9", "address": "10.213.66.99"}]}))
    r = cli("hosts", "import", str(inventory))
    assert r.exit_code == 0 and "added 2 host(s)" in r.output, r.output
    assert "warning: app-2 has the address of app-1, app-1-sudo (10.213.66.10:22)" in r.output
    assert "db-9 has" not in r.output
