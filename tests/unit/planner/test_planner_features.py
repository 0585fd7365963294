"""Planner decisions one at a time, on hand-built findings: schedules, jobs, images, exposure,
overrides, Dockerfiles, node agents, address rewriting, and the Kustomize export."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from estate_factories import lab_estate, nginx, node_exporter
from planner_factories import gen_host, gen_java, gen_redis, gen_webapp

from analyzers.findings import Listener, ScheduledJob
from migrator.planner.builder import build_plan
from migrator.planner.export import export_kustomize, export_plan
from migrator.planner.jobs import cron_schedule, job_name
from migrator.planner.objects import to_objects
from migrator.planner.render import to_data
from migrator.planner.rewrite import rewrite_peer_args
from migrator.planner.validate import validate_yaml


def docs_of(plan):
    return [to_data(o) for o in to_objects(plan)]


def kinds(plan):
    return [(d["kind"], d["metadata"]["name"]) for d in docs_of(plan)]


# -- schedules and jobs ----------------------------------------------------------------------
@pytest.mark.parametrize("text, cron", [
    ("*/5 * * * *", "*/5 * * * *"), ("10 3 * * 1-5", "10 3 * * 1-5"), ("@daily", "@daily"), ("@hourly", "@hourly"),
    ("daily", "0 0 * * *"), ("weekly", "0 0 * * 1"), ("*-*-* 03:30:00", "30 3 * * *"), ("*:0/15", "*/15 * * * *"),
    ("Mon..Fri *-*-* 07:00", "0 7 * * 1-5"), ("Sat,Sun 22:05", "5 22 * * 6,0"), ("hourly", "0 * * * *"),
])
def test_simple_schedules_become_cron(text, cron):
    assert cron_schedule(text) == cron


@pytest.mark.parametrize("text", ["@reboot", "OnBootSec=15min", "*-*-01 04:00", "Mon *-*-* 03:00:30", "every day"])
def test_other_schedules_are_not_guessed(text):
    assert cron_schedule(text) is None


def test_unconvertible_schedule_is_a_suspended_placeholder_with_a_note():
    job = ScheduledJob("OnBootSec=15min", "root", "/usr/local/bin/cleanup", "/etc/systemd/system/cleanup.timer")
    plan = build_plan([gen_host("h", jobs=(job,))])
    w, = plan.workloads
    assert (w.kind, w.schedule.cron, w.schedule.suspend, w.run_as_user) == ("CronJob", "0 0 * * *", True, 0)
    assert any("OnBootSec=15min" in n and "suspended" in n for n in w.notes)
    assert any("build an image" in n for n in w.notes)
    cron = docs_of(plan)[0]
    assert cron["spec"]["suspend"] is True and cron["spec"]["timeZone"] == "Etc/UTC"
    assert validate_yaml(export_plan(plan)) == []


def test_job_of_an_unknown_user_says_so():
    job = ScheduledJob("0 1 * * *", "backup", "/opt/backup/run.sh", "/etc/cron.d/backup", 1)
    w, = build_plan([gen_host("h", jobs=(job,))]).workloads
    assert w.run_as_user is None and any("uid of user 'backup' unknown" in n for n in w.notes)
    assert w.name == "run-h"


def test_system_jobs_are_left_out():
    job = ScheduledJob("10 3 * * *", "root", "/sbin/e2scrub_all -A -r", "/etc/cron.d/e2scrub_all", 1, system=True)
    assert build_plan([gen_host("h", gen_java(), jobs=(job,))]).workloads[0].kind == "Deployment"
    assert len(build_plan([gen_host("h", gen_java(), jobs=(job,))]).workloads) == 1


@pytest.mark.parametrize("command, name", [
    ("/opt/webapp/venv/bin/python /opt/webapp/report.py --daily", "report"),
    ("cd /srv && FOO=1 ./sync.sh", "sync"), ("/usr/bin/flock -n /tmp/x /opt/x/run", "x"), ("", "job"),
])
def test_job_names(command, name):
    assert job_name(command) == name


# -- images and Dockerfiles ------------------------------------------------------------------
@pytest.mark.parametrize("software, version, image", [
    ("mongodb", "", "mongo:6.0"), ("memcached", "1.6.21", "memcached:1.6.21"), ("mariadb", "", "mariadb:10.11"),
    ("mysql", "", "mysql:8.0"), ("postgresql", "", "postgres:15"), ("nginx", "", "nginx:1.22"),
    ("etcd", "", "quay.io/coreos/etcd:v3.4.23"), ("apache-httpd", "2.4.57", "httpd:2.4.57"),
    ("node_exporter", "1.5.0", "quay.io/prometheus/node-exporter:v1.5.0"), ("valkey", "", "valkey/valkey:7.2"),
    ("rabbitmq", "3.12.1", "rabbitmq:3.12.1"), ("haproxy", "", "haproxy:2.8"),
])
def test_official_images_and_pinned_tags(software, version, image):
    app = gen_redis(software=software, version=version, name=software)
    assert build_plan([gen_host("h", app)]).workloads[0].image == image


@pytest.mark.parametrize("software, key", [("mysql", "MYSQL_ROOT_PASSWORD"), ("mariadb", "MARIADB_ROOT_PASSWORD")])
def test_database_images_get_their_password_from_a_secret(software, key):
    plan = build_plan([gen_host("h", gen_redis(software=software, name=software, version="10.11.6"))])
    docs = docs_of(plan)
    secret = next(d for d in docs if d["kind"] == "Secret")
    assert secret["stringData"] == {key: "<set-me>"}
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    assert sts["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": key, "valueFrom": {"secretKeyRef": {"key": key, "name": secret["metadata"]["name"]}}}]


def test_apps_without_an_official_image_get_a_dockerfile():
    w, = build_plan([gen_host("web1", gen_webapp())]).workloads
    assert w.image == "migrator.invalid/webapp-web1:latest"
    assert w.dockerfile.splitlines() == [
        "# Generated by migrator from web1/webapp.service (python-app): review before building.",
        "# Build context: a copy of /opt/webapp from web1, e.g.",
        "#   rsync -a web1:/opt/webapp/ ./",
        "FROM python:3.11-slim",
        'LABEL io.migrator.source-host="web1" io.migrator.source-app="webapp.service"',
        "RUN mkdir -p /usr/bin && ln -sf /usr/local/bin/python3 /usr/bin/python3",
        "WORKDIR /opt/webapp",
        "COPY . /opt/webapp",
        "USER 33:33",
        "EXPOSE 8080",
        "# ENTRYPOINT is the program the host ran; CMD its arguments as the pod runs them (addresses of",
        "# other hosts rewritten to Service names), the same as the workload's command and args, which",
        "# Kubernetes passes explicitly: the image alone runs the same way. Keep them in step.",
        'ENTRYPOINT ["/usr/bin/python3"]',
        'CMD ["/opt/webapp/app.py", "--port", "8080"]']


def test_java_dockerfile_uses_a_jre():
    w, = build_plan([gen_host("web1", gen_java())]).workloads
    assert "FROM eclipse-temurin:17-jre" in w.dockerfile and "WORKDIR /opt/billing" in w.dockerfile


def test_official_images_need_no_dockerfile():
    assert build_plan([gen_host("h", gen_redis())]).workloads[0].dockerfile is None


# -- exposure --------------------------------------------------------------------------------
def test_external_tcp_that_is_not_http_gets_a_load_balancer():
    from analyzers.findings import Connection
    app = gen_redis(connections=(Connection("tcp", "10.0.0.1", 6379, "198.51.100.4", 50000),))
    plan = build_plan([("db1", gen_host("db1", app)[1].__class__(addresses=("10.0.0.1",), applications=(app,)))])
    docs = docs_of(plan)
    lb = next(d for d in docs if d["metadata"]["name"] == "redis-db1-lb")
    assert lb["spec"]["type"] == "LoadBalancer" and [p["port"] for p in lb["spec"]["ports"]] == [6379]
    assert not any(d["kind"] == "Ingress" for d in docs)
    policy = next(d for d in docs if d["metadata"]["name"] == "redis-db1-allow")
    assert policy["spec"]["ingress"] == [{"ports": [{"port": 6379, "protocol": "TCP"}]}]
    assert validate_yaml(export_plan(plan)) == []


@pytest.mark.parametrize("expose, expected", [
    ("none", set()), ("cluster", {("Service", "ClusterIP")}),
    ("loadbalancer", {("Service", "ClusterIP"), ("Service", "LoadBalancer")}),
    ("ingress", {("Service", "ClusterIP"), ("Ingress", None)}),
])
def test_exposure_can_be_overridden(expose, expected):
    plan = build_plan([gen_host("web1", gen_webapp())], {"web1/webapp.service": {"expose": expose}})
    found = {(d["kind"], d["spec"].get("type")) for d in docs_of(plan) if d["kind"] in ("Service", "Ingress")}
    assert found == expected
    assert validate_yaml(export_plan(plan)) == []


def test_exposure_override_none_on_a_server_leaves_clients_a_note():
    plan = build_plan(lab_estate(), {"cache-1/redis-server.service": {"expose": "none"}})
    web = next(w for w in plan.workloads if w.name == "webapp")
    assert [x.service for x in web.waits] == ["postgresql"]
    assert any("6379, which gets no Service" in n for n in web.notes)
    assert validate_yaml(export_plan(plan)) == []


def test_loopback_only_ports_are_never_exposed():
    app = gen_webapp(listeners=(Listener("tcp", "127.0.0.1", 8080, "loopback"),))
    plan = build_plan([gen_host("web1", app)])
    assert [k for k, _ in kinds(plan)] == ["NetworkPolicy", "Deployment"]
    assert "ports" not in docs_of(plan)[1]["spec"]["template"]["spec"]["containers"][0]


# -- overrides -------------------------------------------------------------------------------
def test_unknown_override_key_is_named():
    with pytest.raises(ValueError, match="'colour'"):
        build_plan([gen_host("h", gen_redis())], {"h/redis-server.service": {"colour": "blue"}})


def test_override_by_any_member_reaches_the_cluster():
    plan = build_plan(lab_estate(), {"db-2/postgresql@15-main.service": {"storage_class": "fast"},
                                     "kv-3/etcd.service": {"exclude": True}})
    pg = next(w for w in plan.workloads if w.name == "postgresql")
    assert {v.storage_class for v in pg.volumes} == {"fast"}
    assert "etcd" not in {w.name for w in plan.workloads}
    assert ("kv-3/etcd.service: excluded by override, and with it kv-1/etcd.service, kv-2/etcd.service (one "
            "StatefulSet: an override of any member is the whole workload's)") in plan.notes


def test_replicas_override_keeps_out_the_autoscaler():
    plan = build_plan([gen_host("web1", gen_webapp())], {"web1/webapp.service": {"replicas": 4}})
    assert ("HorizontalPodAutoscaler", "webapp-web1") not in kinds(plan)
    assert plan.workloads[0].replicas == 4


def test_job_override_changes_the_image():
    plan = build_plan(lab_estate(), {"app-1/job:/etc/cron.d/webapp:3": {"image": "registry.example/report:1"}})
    assert next(w for w in plan.workloads if w.kind == "CronJob").image == "registry.example/report:1"


# -- agents, rewriting -----------------------------------------------------------------------
def test_agent_used_by_a_peer_gets_a_service():
    from analyzers.findings import Application, Connection
    prom = Application(key="prometheus.service", name="prometheus", software="prometheus", category="monitoring",
                       listeners=(Listener("tcp", "0.0.0.0", 9090, "all"),), verdict="stateless",
                       connections=(Connection("tcp", "10.0.1.6", 45000, "10.0.1.1", 9100),))
    hosts = lab_estate()
    hosts[5] = ("web-1", hosts[5][1].__class__(hostname="web-1", addresses=("10.0.1.6",),
                                               applications=(nginx(), prom, node_exporter("web-1"))))
    docs = docs_of(build_plan(hosts))
    svc = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "node-exporter")
    assert svc["spec"]["ports"][0]["port"] == 9100
    policy = next(d for d in docs if d["metadata"]["name"] == "node-exporter-allow")
    assert policy["spec"]["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "prometheus-web-1"}}}]


def test_peer_addresses_become_service_names():
    args, notes = rewrite_peer_args(("--db", "pg://10.0.0.1:5432/x", "10.0.0.11:5432", "--redis=10.0.0.2:6379"),
                                    {("10.0.0.1", 5432): "postgresql", ("10.0.0.2", 6379): "cache"})
    assert args == ("--db", "pg://postgresql:5432/x", "10.0.0.11:5432", "--redis=cache:6379")
    assert len(notes) == 2


@pytest.mark.parametrize("arg,expected", [
    ("host=10.0.0.1 port=5432 dbname=app user=webapp", "host=postgresql port=5432 dbname=app user=webapp"),
    ("dbname=app host=10.0.0.1", "dbname=app host=postgresql"),                 # libpq's default port
    ("hostaddr=10.0.0.1 port=5432", "host=postgresql port=5432"),
    ("host='10.0.0.1' port='5432'", "host=postgresql port='5432'"),
    ("host=10.0.0.1 port=5433", "host=10.0.0.1 port=5433"),                     # another server
    ("host=10.0.0.11 port=5432", "host=10.0.0.11 port=5432"),                   # not in the inventory
    ("ghost=10.0.0.1 port=5432", "ghost=10.0.0.1 port=5432"),
])
def test_libpq_connection_strings_name_the_service(arg, expected):
    (new,), notes = rewrite_peer_args((arg,), {("10.0.0.1", 5432): "postgresql"})
    assert new == expected and len(notes) == (new != arg)


# -- export ----------------------------------------------------------------------------------
def test_kustomize_tree_has_one_directory_per_wave():
    files = export_kustomize(build_plan(lab_estate(), namespace="shop"))
    assert sorted(files) == [
        "NOTES.md", "dockerfiles/webapp/Dockerfile", "kustomization.yaml", "namespace.yaml", "network-policy.yaml",
        "wave-1/etcd.yaml", "wave-1/kustomization.yaml", "wave-1/node-exporter.yaml", "wave-1/postgresql.yaml",
        "wave-1/redis-cache-1.yaml", "wave-2/kustomization.yaml", "wave-2/webapp.yaml",
        "wave-3/kustomization.yaml", "wave-3/nginx-web-1.yaml", "wave-3/report-app-1.yaml"]
    assert yaml.safe_load(files["kustomization.yaml"]) == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["namespace.yaml", "network-policy.yaml", "wave-1", "wave-2", "wave-3"]}
    notes = files["NOTES.md"]
    assert "## Data migration" in notes and "pg_dumpall" in notes and "etcdctl snapshot restore" in notes
    assert "1. `etcd`, `node-exporter`, `postgresql`, `redis-cache-1`" in notes


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_kustomize_builds_the_export(tmp_path):
    plan = build_plan(lab_estate(), namespace="shop")
    for path, text in export_kustomize(plan).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    built = subprocess.run(["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    assert validate_yaml(built.stdout) == []
    assert len([d for d in yaml.safe_load_all(built.stdout) if d]) == len(to_objects(plan))
    wave = subprocess.run(["kubectl", "kustomize", str(tmp_path / "wave-2")], capture_output=True, text=True,
                          timeout=60)
    assert wave.returncode == 0, wave.stderr
    assert {d["metadata"]["name"] for d in yaml.safe_load_all(wave.stdout)} == {"webapp", "webapp-allow"}


def test_tasks_that_run_once_become_jobs():
    reboot = ScheduledJob("@reboot", "root", "/usr/local/bin/warm-cache", "/etc/cron.d/warm", 1, oneshot=True)
    oneshot = ScheduledJob("", "root", "/opt/app/bin/migrate --up", "/etc/systemd/system/migrate.service",
                           oneshot=True)
    plan = build_plan([gen_host("h", jobs=(reboot, oneshot))])
    assert sorted((w.kind, w.schedule) for w in plan.workloads) == [("Job", None), ("Job", None)]
    assert all(any("runs once" in n for n in w.notes) for w in plan.workloads)
    docs = docs_of(plan)
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert len(jobs) == 2 and not [d for d in docs if d["kind"] in ("CronJob", "Service", "NetworkPolicy")]
    assert {tuple(d["spec"]["template"]["spec"]["containers"][0]["command"]) for d in jobs} == {
        ("/bin/sh", "-c", "/usr/local/bin/warm-cache"), ("/bin/sh", "-c", "/opt/app/bin/migrate --up")}
    assert all(d["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure" for d in jobs)
    assert validate_yaml(export_plan(plan)) == []
