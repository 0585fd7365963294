"""Problems a first-time user met: image users and volume ownership, data steps that name hosts the
cluster cannot resolve, replicas of a stateful app that is not a cluster, override errors, unmatched
overrides, the namespace object, and Dockerfiles that disagree with the pod's arguments."""
from __future__ import annotations

import json

import pytest
import yaml
from estate_factories import lab_estate
from planner_factories import gen_host, gen_java, gen_redis, gen_webapp

from analyzers.findings import HostFindings, Listener
from migrator.planner.builder import build_plan
from migrator.planner import export, images
from migrator.planner.export import export_kustomize, export_plan
from migrator.planner.objects import to_objects
from migrator.planner.render import to_data
from migrator.planner.validate import validate_yaml


def _docs(plan) -> list[dict]:
    return [to_data(o) for o in to_objects(plan)]


def _pod_spec(plan, kind: str, name: str) -> dict:
    doc = next(d for d in _docs(plan) if d["kind"] == kind and d["metadata"]["name"] == name)
    return doc["spec"]["template"]["spec"]


def _by_name(plan):
    return {w.name: w for w in plan.workloads}


# -- 1. users and volume ownership -------------------------------------------------------------
def test_official_image_keeps_its_own_user_and_owns_its_volume_by_fs_group():
    plan = build_plan([gen_host("db1", gen_redis())])
    w = plan.workloads[0]
    assert w.run_as_user is None and w.fs_group == 999
    spec = _pod_spec(plan, "StatefulSet", w.name)
    assert "securityContext" not in spec["containers"][0] or "runAsUser" not in spec["containers"][0][
        "securityContext"]
    assert spec["securityContext"] == {"fsGroup": 999, "fsGroupChangePolicy": "OnRootMismatch"}
    assert any("runs as its own user" in n and "fsGroup 999" in n for n in w.notes)


@pytest.mark.parametrize("software, fs_group", [("postgresql", 999), ("mysql", 999), ("mariadb", 999),
                                                ("mongodb", 999), ("etcd", None), ("grafana", 472),
                                                ("prometheus", 65534), ("elasticsearch", 1000)])
def test_fs_group_of_official_images(software, fs_group):
    w = build_plan([gen_host("h", gen_redis(software=software, name=software, version=""))]).workloads[0]
    assert (w.run_as_user, w.fs_group) == (None, fs_group)


def test_the_image_user_table_names_redis_and_postgres():
    assert images.IMAGE_USERS["redis"] == (999, 999) and images.IMAGE_USERS["postgresql"] == (999, 999)
    assert images.IMAGE_USERS["etcd"] is None


def test_a_run_as_user_override_wins_over_the_image_default():
    plan = build_plan([gen_host("db1", gen_redis())], {"db1/redis-server.service": {"run_as_user": 104}})
    w = plan.workloads[0]
    assert w.run_as_user == 104
    assert _pod_spec(plan, "StatefulSet", w.name)["containers"][0]["securityContext"]["runAsUser"] == 104


def test_generated_image_keeps_the_host_user_and_group_defaults_to_the_uid_with_a_note():
    app = gen_webapp(state=gen_redis().state)
    plan = build_plan([gen_host("web1", app)])
    w = plan.workloads[0]
    assert (w.run_as_user, w.run_as_group, w.fs_group) == (33, 33, 33)
    assert any("gid" in n and "33" in n for n in w.notes)
    spec = _pod_spec(plan, w.kind, w.name)
    assert spec["containers"][0]["securityContext"] == {"runAsGroup": 33, "runAsUser": 33}
    assert spec["securityContext"]["fsGroup"] == 33


def test_generated_image_uses_the_process_gid_when_the_findings_have_it():
    app = gen_webapp(state=gen_redis().state)
    object.__setattr__(app, "gid", 44)  # analyzers may add Application.gid; the planner reads it when there
    w = build_plan([gen_host("web1", app)]).workloads[0]
    assert (w.run_as_user, w.run_as_group, w.fs_group) == (33, 44, 44)
    assert not any("gid of" in n for n in w.notes)


# -- 2. data steps name an address the cluster can reach ---------------------------------------
def test_data_steps_use_the_host_address_with_the_inventory_name_in_a_comment():
    findings = HostFindings(hostname="app-1", addresses=("127.0.0.1", "::1", "fe80::1%eth0", "2001:db8::5",
                                                         "10.213.71.10"),
                            applications=(gen_redis(),))
    plan = build_plan([("app-1", findings)])
    (step,) = plan.data_steps
    assert "REPLICAOF 10.213.71.10 6379  # app-1" in step.steps[0]
    assert "REPLICAOF app-1" not in "\n".join(step.steps)
    assert "REPLICAOF 10.213.71.10 6379" in export_kustomize(plan)["NOTES.md"]


def test_data_steps_fall_back_to_ipv6_then_to_the_name_with_a_warning():
    v6 = HostFindings(hostname="c", addresses=("::1", "2001:db8::5"), applications=(gen_redis(),))
    assert "REPLICAOF 2001:db8::5 6379" in build_plan([("c", v6)]).data_steps[0].steps[0]
    none = HostFindings(hostname="c", addresses=("127.0.0.1",), applications=(gen_redis(),))
    steps = build_plan([("c", none)]).data_steps[0].steps
    assert "REPLICAOF c 6379" in steps[0] and "no address of c" in steps[0]


def test_lab_postgres_and_file_copy_steps_name_addresses():
    plan = build_plan(lab_estate(), namespace="shop")
    text = "\n".join(s for step in plan.data_steps for s in step.steps)
    assert "pg_basebackup from 10.0.1.1" in text
    assert "REPLICAOF 10.0.1.3 6379  # cache-1" in text


# -- 3. replicas of a stateful app that is not a cluster ----------------------------------------
def test_replicas_override_on_a_single_stateful_app_warns_that_copies_do_not_replicate():
    plan = build_plan([gen_host("db1", gen_redis())], {"db1/redis-server.service": {"replicas": 3}})
    w = plan.workloads[0]
    assert w.replicas == 3
    warning = next(n for n in plan.notes if "will not replicate" in n)
    assert "3 independent" in warning and "REPLICAOF" in warning and w.name in warning
    assert any("will not replicate" in n for n in w.notes)
    assert not any(d["kind"] == "PodDisruptionBudget" for d in _docs(plan))
    assert "one may be down at a time" not in export_plan(plan)
    # ordinals 1 and 2 have no host of their own: no step pretends to restore the host into them
    assert [(s.ordinal, s.method) for s in plan.data_steps] == [(0, "replication"), (1, "empty"), (2, "empty")]


def test_replicas_override_on_a_cluster_keeps_the_ordinal_notes_honest():
    fewer = build_plan(lab_estate(), {"kv-1/etcd.service": {"replicas": 2}}, namespace="shop")
    etcd = _by_name(fewer)["etcd"]
    assert etcd.annotations["migrator.io/ordinals"] == "0=kv-1/etcd.service (member),1=kv-2/etcd.service (member)"
    assert any("kv-3/etcd.service" in n and "not replaced" in n for n in etcd.notes)
    assert not any("will not replicate" in n for n in fewer.notes)
    assert [s.ordinal for s in fewer.data_steps if s.workload == "etcd"] == [0, 1]
    more = build_plan(lab_estate(), {"db-1/postgresql@15-main.service": {"replicas": 3}}, namespace="shop")
    pg = _by_name(more)["postgresql"]
    assert pg.annotations["migrator.io/ordinals"].endswith(",2=new (no host)")
    assert any("ordinal 2 replaces no host" in n for n in pg.notes)
    assert any("ordinals 1..2 start as its standbys" in n for n in pg.notes)
    step = next(s for s in more.data_steps if s.workload == "postgresql" and s.ordinal == 2)
    assert step.method == "replication" and step.source == "(new member)"


# -- 4. override errors list the allowed values ------------------------------------------------
@pytest.mark.parametrize("key, value, allowed", [
    ("expose", "public", "none, cluster, ingress, loadbalancer"),
    ("kind", "Pod", "Deployment, StatefulSet, DaemonSet"),
    ("replicas", -1, "a whole number >= 0"),
    ("exclude", "yes", "true or false"),
    ("storage_size", "ten", "Gi"),
    ("storage_class", "", "null"),
    ("image", " redis", "image reference"),
    ("run_as_user", "redis", "uid"),
])
def test_invalid_override_values_name_what_is_allowed(key, value, allowed):
    with pytest.raises(ValueError) as caught:
        build_plan([gen_host("db1", gen_redis())], {"db1/redis-server.service": {key: value}})
    assert f"invalid {key}" in str(caught.value) and allowed in str(caught.value)


# -- 5. overrides that match no application ----------------------------------------------------
def test_unmatched_overrides_are_noted_and_listed():
    plan = build_plan([gen_host("db1", gen_redis())], {"db1/redis": {"replicas": 2},
                                                       "db1/redis-server.service": {"storage_size": 5}})
    assert plan.unmatched_overrides == ("db1/redis",)
    assert any(n.startswith("db1/redis: override for an application that was not found") for n in plan.notes)


# -- 6. the namespace object -------------------------------------------------------------------
def test_a_namespace_other_than_default_is_created_first(estate):
    plan = build_plan(estate, namespace="shop")
    first = _docs(plan)[0]
    assert (first["apiVersion"], first["kind"], first["metadata"]["name"]) == ("v1", "Namespace", "shop")
    assert "namespace" not in first["metadata"]
    assert validate_yaml(export_plan(plan)) == []
    files = export_kustomize(plan)
    assert yaml.safe_load(files["namespace.yaml"])["kind"] == "Namespace"
    assert yaml.safe_load(files["kustomization.yaml"])["resources"][0] == "namespace.yaml"
    assert not any(d["kind"] == "Namespace" for d in _docs(build_plan(estate)))
    assert "namespace.yaml" not in export_kustomize(build_plan(estate))


# -- 7. the Dockerfile runs what the pod runs ---------------------------------------------------
def test_dockerfile_command_carries_the_rewritten_arguments():
    plan = build_plan(lab_estate(), namespace="shop")
    web = _by_name(plan)["webapp"]
    assert "redis-cache-1:6379" in web.args
    lines = web.dockerfile.splitlines()
    entry = json.loads(next(l for l in lines if l.startswith("ENTRYPOINT "))[len("ENTRYPOINT "):])
    cmd = json.loads(next(l for l in lines if l.startswith("CMD "))[len("CMD "):])
    assert entry == list(web.command) and cmd == list(web.args)
    assert "10.0.1.3" not in web.dockerfile and "10.0.1.1" not in web.dockerfile


def test_dockerfile_user_carries_the_group():
    w = build_plan([gen_host("web1", gen_java())]).workloads[0]
    assert "USER 1000:1000" in w.dockerfile


# -- 8. the generated files on their own ----------------------------------------------------------
def test_generated_files_are_the_dockerfiles_and_the_notes():
    plan = build_plan(lab_estate(), namespace="shop")
    files = export.generated_files(plan)
    assert sorted(files) == ["NOTES.md", "dockerfiles/webapp/Dockerfile"]
    tree = export_kustomize(plan)
    assert all(tree[p] == text for p, text in files.items())


def test_listener_only_sanity():
    # a host without any address at all still plans
    app = gen_redis(listeners=(Listener("tcp", "0.0.0.0", 6380, "all", 1),))
    assert build_plan([gen_host("x", app)]).data_steps[0].steps[0].startswith("kubectl -n default exec")
