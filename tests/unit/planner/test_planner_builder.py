from __future__ import annotations

import re

import pytest
from planner_factories import GIB, MIB, gen_host, gen_java, gen_redis, gen_webapp

from analyzers.base import Evidence
from analyzers.findings import Listener, StateLocation
from migrator.planner.builder import build_plan, volume_size
from migrator.planner.model import PlannedPort, PlannedVolume

LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def by_id(plan):
    return {w.id: w for w in plan.workloads}


def test_one_workload_per_application(estate):
    plan = build_plan(estate)
    assert [w.id for w in plan.workloads] == ["db1/redis-server.service", "web1/webapp.service",
                                               "web1/java-app:7070"]
    assert plan.namespace == "default"


def test_stateful_app_becomes_statefulset_and_others_deployments(estate):
    kinds = {w.id: w.kind for w in build_plan(estate).workloads}
    assert kinds == {"db1/redis-server.service": "StatefulSet", "web1/webapp.service": "Deployment",
                     "web1/java-app:7070": "Deployment"}


def test_redis_runs_the_official_image_at_the_detected_version_with_its_arguments(estate):
    redis = by_id(build_plan(estate))["db1/redis-server.service"]
    assert redis.image == "redis:7.0.15"
    assert redis.command == ()
    assert redis.args == ("/etc/redis/redis.conf",)
    # the official image runs as its own user (999), not the host's 104: fsGroup makes the volume its own
    assert redis.run_as_user is None and redis.fs_group == 999
    assert redis.working_dir is None


@pytest.mark.parametrize("software, version, image", [
    ("redis", "7.0.15", "redis:7.0.15"),
    ("redis", "5:7.0.15-1~deb12u1", "redis:7.0.15"),
    ("postgresql", "15.4", "postgres:15"),
    ("postgresql", "9.6.24", "postgres:9.6"),
    ("nginx", "1.22.1", "nginx:1.22.1"),
    ("mysql", "8.0.36", "mysql:8.0.36"),
    ("mariadb", "1:10.11.6-0+deb12u1", "mariadb:10.11.6"),
    ("etcd", "3.5.9", "quay.io/coreos/etcd:v3.5.9"),
])
def test_official_images(software, version, image):
    app = gen_redis(software=software, version=version, name=software)
    assert build_plan([gen_host("h", app)]).workloads[0].image == image


def test_unknown_version_uses_a_pinned_tag_with_a_note():
    w = build_plan([gen_host("h", gen_redis(version=""))]).workloads[0]
    assert w.image == "redis:7.0"
    assert any("version of redis unknown: pinned redis:7.0" in n for n in w.notes)


def test_process_title_is_not_passed_as_arguments():
    w = build_plan([gen_host("h", gen_redis(command=("/usr/bin/redis-server", "127.0.0.1:6379")))]).workloads[0]
    assert "127.0.0.1:6379" not in w.args
    assert any("process title" in n for n in w.notes)


def test_redis_from_a_process_title_keeps_its_data_on_the_volume():
    aof = StateLocation("/srv/redis", "data", "ext4", "local", 10 * MIB, 2,
                        (Evidence("processes", "pid 7 writes /srv/redis/appendonlydir/appendonly.aof.1.incr.aof",
                                  "open-for-write"),))
    app = gen_redis(command=("/usr/bin/redis-server", "0.0.0.0:6380"), state=(aof,),
                    listeners=(Listener("tcp", "0.0.0.0", 6380, "all", 7),))
    w = build_plan([gen_host("h", app)]).workloads[0]
    assert w.volumes[0].mount_path == "/srv/redis"
    assert w.args == ("--dir", "/srv/redis", "--port", "6380", "--appendonly", "yes")


def test_generic_app_gets_a_placeholder_image_and_its_command(estate):
    java = by_id(build_plan(estate))["web1/java-app:7070"]
    assert java.image == "migrator.invalid/billing-web1:latest"
    assert any("build an image" in n for n in java.notes)
    assert java.command == ("/usr/bin/java",)
    assert java.args == ("-Xmx512m", "-jar", "/opt/billing/billing.jar")
    assert java.working_dir == "/opt/billing"
    assert java.run_as_user == 1000


def test_ports_exclude_loopback_and_duplicates(estate):
    plan = by_id(build_plan(estate))
    assert plan["db1/redis-server.service"].ports == (PlannedPort("tcp-6379", 6379, "TCP"),)
    assert plan["web1/webapp.service"].ports == (PlannedPort("tcp-8080", 8080, "TCP", http=True),)
    assert plan["web1/java-app:7070"].ports == (PlannedPort("tcp-7070", 7070, "TCP"),)


@pytest.mark.parametrize("measured, size", [
    (300 * MIB, "1Gi"), (0, "1Gi"), (GIB // 2, "1Gi"), (GIB // 2 + 1, "2Gi"), (3 * GIB // 2, "3Gi"),
    (10 * GIB, "20Gi"),
])
def test_volume_size_is_twice_the_measured_use_rounded_up(measured, size):
    assert volume_size(measured) == size
    w = build_plan([gen_host("h", gen_redis(size_bytes=measured))]).workloads[0]
    assert w.volumes == (PlannedVolume("data", "/var/lib/redis", size, None),)


def test_unmeasured_volume_gets_default_size_with_a_note():
    w = build_plan([gen_host("h", gen_redis(size_bytes=None))]).workloads[0]
    assert w.volumes[0].size == "10Gi"
    assert any("/var/lib/redis" in n and "not measured" in n for n in w.notes)


def test_one_volume_per_data_location():
    from analyzers.findings import StateLocation
    app = gen_redis(state=(StateLocation("/var/lib/a", "data", size_bytes=1), StateLocation("/var/log/a", "log"),
                           StateLocation("/srv/b", "data", size_bytes=1)))
    w = build_plan([gen_host("h", app)]).workloads[0]
    assert [(v.name, v.mount_path) for v in w.volumes] == [("data", "/var/lib/a"), ("data-2", "/srv/b")]


def test_resource_requests_from_measured_use(estate):
    plan = by_id(build_plan(estate))
    web, java = plan["web1/webapp.service"], plan["web1/java-app:7070"]
    assert (web.memory_request, web.cpu_request) == ("147Mi", "120m")
    assert (java.memory_request, java.cpu_request) == ("64Mi", "50m")


def test_names_valid_and_unique_when_two_hosts_run_the_same_app():
    hosts = [gen_host("db1", gen_redis()), gen_host("db1", gen_redis()), gen_host("DB_2.example.com", gen_redis()),
             gen_host("10.0.0.1", gen_redis(name="1x" * 60))]
    names = [w.name for w in build_plan(hosts).workloads]
    assert len(set(names)) == len(names)
    assert names[1:] == ["redis-db-2-example-com", "redis-db1", "redis-db1-2"]   # hosts sorted by name
    for name in names:
        assert LABEL.fullmatch(name) and len(name) <= 47


def test_labels_and_annotations(estate):
    redis = by_id(build_plan(estate))["db1/redis-server.service"]
    assert redis.labels == {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis-db1",
                            "app.kubernetes.io/managed-by": "migrator"}
    assert redis.annotations == {"migrator.io/source-host": "db1", "migrator.io/source-app": "redis-server.service",
                                 "migrator.io/verdict": "stateful", "migrator.io/wave": "1",
                                 "migrator.io/evidence": "writes /var/lib/redis (dump.rdb)"}


def test_overrides_are_applied_and_recorded(estate):
    plan = build_plan(estate, {
        "db1/redis-server.service": {"kind": "Deployment", "image": "redis:7.2", "storage_size": "50Gi",
                                     "storage_class": "fast", "replicas": 2},
        "web1/java-app:7070": {"exclude": True},
        "gone/app": {"replicas": 3},
    })
    ws = by_id(plan)
    assert set(ws) == {"db1/redis-server.service", "web1/webapp.service"}
    redis = ws["db1/redis-server.service"]
    assert (redis.kind, redis.image, redis.replicas) == ("Deployment", "redis:7.2", 2)
    assert redis.volumes == (PlannedVolume("data", "/var/lib/redis", "50Gi", "fast"),)
    assert redis.annotations["migrator.io/overridden"] == "kind,replicas,image,storage_size,storage_class"
    assert "migrator.io/overridden" not in ws["web1/webapp.service"].annotations
    assert "web1/java-app:7070: excluded by override" in plan.notes
    assert any(n.startswith("gone/app") for n in plan.notes)


def test_override_kind_statefulset():
    w = build_plan([gen_host("web1", gen_webapp())], {"web1/webapp.service": {"kind": "StatefulSet"}}).workloads[0]
    assert w.kind == "StatefulSet"
    assert w.annotations["migrator.io/overridden"] == "kind"


def test_integer_storage_size_means_gib():
    w = build_plan([gen_host("h", gen_redis())], {"h/redis-server.service": {"storage_size": 5}}).workloads[0]
    assert w.volumes[0].size == "5Gi"


@pytest.mark.parametrize("changes", [{"kind": "CronJob"}, {"replicas": -1}, {"expose": "public"}, {"replicas": "2"},
                                     {"storage_size": "lots"}, {"exclude": "yes"}, {"colour": "blue"}])
def test_invalid_overrides_are_refused(changes):
    with pytest.raises(ValueError):
        build_plan([gen_host("h", gen_redis())], {"h/redis-server.service": changes})


def test_build_plan_does_not_change_its_inputs(estate):
    overrides = {"db1/redis-server.service": {"replicas": 2}}
    before = (list(estate), {k: dict(v) for k, v in overrides.items()})
    build_plan(estate, overrides)
    assert (estate, overrides) == before


def test_missing_sections_become_plan_notes():
    plan = build_plan([gen_host("h", gen_java(), missing=("proc_net_tcp",))])
    assert plan.notes == ("h: not seen by the scan: proc_net_tcp",)
