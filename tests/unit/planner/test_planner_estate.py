"""The lab estate's plan, object by object (see estate_factories for the estate)."""
from __future__ import annotations

import pytest
import yaml
from estate_factories import lab_estate

from migrator.planner.builder import build_plan
from migrator.planner.export import export_plan
from migrator.planner.objects import to_objects
from migrator.planner.render import to_data
from migrator.planner.validate import validate_yaml

NS = "shop"
PG = "db-1/postgresql@15-main.service,db-2/postgresql@15-main.service"


@pytest.fixture(scope="module")
def plan():
    return build_plan(lab_estate(), namespace=NS)


@pytest.fixture(scope="module")
def docs(plan):
    return [to_data(o) for o in to_objects(plan)]


def find(docs, kind, name):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def pod(doc):
    return doc["spec"]["template"]["spec"]


def test_objects_of_the_estate(docs):
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Namespace", NS), ("NetworkPolicy", "default-deny-ingress"),
        ("Service", "webapp"), ("Deployment", "webapp"), ("PodDisruptionBudget", "webapp"),
        ("HorizontalPodAutoscaler", "webapp"), ("NetworkPolicy", "webapp-allow"),
        ("DaemonSet", "node-exporter"),
        ("Service", "redis-cache-1-headless"), ("Service", "redis-cache-1"), ("StatefulSet", "redis-cache-1"),
        ("NetworkPolicy", "redis-cache-1-allow"),
        ("Secret", "postgresql-credentials"), ("Service", "postgresql-headless"), ("Service", "postgresql"),
        ("StatefulSet", "postgresql"), ("PodDisruptionBudget", "postgresql"), ("NetworkPolicy", "postgresql-allow"),
        ("Service", "etcd-headless"), ("Service", "etcd"), ("StatefulSet", "etcd"), ("PodDisruptionBudget", "etcd"),
        ("NetworkPolicy", "etcd-allow"),
        ("Service", "nginx-web-1"), ("Secret", "nginx-web-1-tls"), ("Ingress", "nginx-web-1"),
        ("Deployment", "nginx-web-1"), ("PodDisruptionBudget", "nginx-web-1"),
        ("HorizontalPodAutoscaler", "nginx-web-1"), ("NetworkPolicy", "nginx-web-1-allow"),
        ("CronJob", "report-app-1")]


@pytest.mark.parametrize("version", ["1.35", "1.36", "1.37"])
def test_the_whole_plan_validates(plan, version):
    assert validate_yaml(export_plan(plan), version) == []


def test_postgres_pair_is_one_statefulset_with_the_primary_at_ordinal_0(docs):
    sts = find(docs, "StatefulSet", "postgresql")
    assert sts["spec"]["replicas"] == 2
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["serviceName"] == "postgresql-headless"
    annotations = sts["metadata"]["annotations"]
    assert annotations["migrator.io/ordinals"] == ("0=db-1/postgresql@15-main.service (primary),"
                                                   "1=db-2/postgresql@15-main.service (standby)")
    assert annotations["migrator.io/source-hosts"] == "db-1,db-2"
    assert annotations["migrator.io/source-apps"] == PG
    # the standby measured 3 GiB, the primary 2 GiB: the largest, with headroom
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"] == {"requests": {"storage": "6Gi"}}
    container, = pod(sts)["containers"]
    assert container["image"] == "postgres:15"
    assert container["args"] == ["-c", "config_file=/etc/postgresql/15/main/postgresql.conf"]
    assert container["env"] == [
        {"name": "POSTGRES_PASSWORD",
         "valueFrom": {"secretKeyRef": {"key": "POSTGRES_PASSWORD", "name": "postgresql-credentials"}}},
        {"name": "PGDATA", "value": "/var/lib/postgresql/pgdata"}]
    assert container["volumeMounts"] == [{"mountPath": "/var/lib/postgresql", "name": "data"}]


def test_postgres_service_sends_clients_to_the_primary(docs):
    svc = find(docs, "Service", "postgresql")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["selector"]["statefulset.kubernetes.io/pod-name"] == "postgresql-0"
    headless = find(docs, "Service", "postgresql-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert "statefulset.kubernetes.io/pod-name" not in headless["spec"]["selector"]


def test_database_password_is_a_placeholder_secret(docs):
    secret = find(docs, "Secret", "postgresql-credentials")
    assert secret["type"] == "Opaque"
    assert secret["stringData"] == {"POSTGRES_PASSWORD": "<set-me>"}
    assert "data" not in secret


def test_etcd_trio_is_one_statefulset_with_peer_urls_on_pod_dns_names(docs):
    sts = find(docs, "StatefulSet", "etcd")
    assert sts["spec"]["replicas"] == 3
    assert sts["metadata"]["annotations"]["migrator.io/ordinals"] == (
        "0=kv-1/etcd.service (member),1=kv-2/etcd.service (member),2=kv-3/etcd.service (member)")
    container, = pod(sts)["containers"]
    dns = "etcd-headless.shop.svc.cluster.local"
    assert container["command"] == ["/usr/local/bin/etcd"]
    assert container["args"] == [
        "--name", "$(POD_NAME)", "--data-dir", "/var/lib/etcd/default",
        f"--initial-cluster=etcd-0=http://etcd-0.{dns}:2380,etcd-1=http://etcd-1.{dns}:2380,"
        f"etcd-2=http://etcd-2.{dns}:2380",
        f"--initial-advertise-peer-urls=http://$(POD_NAME).{dns}:2380",
        "--listen-peer-urls=http://0.0.0.0:2380",
        "--listen-client-urls=http://0.0.0.0:2379",
        f"--advertise-client-urls=http://$(POD_NAME).{dns}:2379",
        "--initial-cluster-state=new"]
    assert container["env"] == [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    assert container["image"] == "quay.io/coreos/etcd:v3.4.23"


def test_app_is_one_deployment_with_2_replicas_waiting_for_database_and_cache(docs):
    dep = find(docs, "Deployment", "webapp")
    assert dep["spec"]["replicas"] == 2
    assert dep["metadata"]["annotations"]["migrator.io/source-hosts"] == "app-1,app-2"
    spec = pod(dep)
    assert [(c["name"], c["image"], c["command"]) for c in spec["initContainers"]] == [
        ("wait-postgresql-5432", "busybox:1.36.1",
         ["sh", "-c", "until nc -z postgresql 5432; do echo waiting for postgresql:5432; sleep 2; done"]),
        ("wait-redis-cache-1-6379", "busybox:1.36.1",
         ["sh", "-c", "until nc -z redis-cache-1 6379; do echo waiting for redis-cache-1:6379; sleep 2; done"])]
    container, = spec["containers"]
    assert container["command"] == ["/opt/webapp/venv/bin/python"]
    assert container["args"] == ["/opt/webapp/app.py", "--port", "8080", "--db", "postgresql://postgresql:5432/shop",
                                 "--redis", "redis-cache-1:6379"]
    assert container["securityContext"] == {"runAsGroup": 33, "runAsUser": 33}
    assert container["readinessProbe"]["httpGet"] == {"path": "/", "port": 8080}
    assert container["livenessProbe"]["tcpSocket"] == {"port": 8080}
    assert container["resources"] == {"limits": {"memory": "294Mi"}, "requests": {"cpu": "120m", "memory": "147Mi"}}


def test_stateless_http_apps_get_an_autoscaler_and_a_disruption_budget(docs):
    hpa = find(docs, "HorizontalPodAutoscaler", "webapp")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"] == {
        "maxReplicas": 5, "minReplicas": 2,
        "metrics": [{"resource": {"name": "cpu", "target": {"averageUtilization": 70, "type": "Utilization"}},
                     "type": "Resource"}],
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "webapp"}}
    pdb = find(docs, "PodDisruptionBudget", "webapp")
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": find(docs, "Deployment", "webapp")["spec"]["selector"]}
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"} == {"webapp", "nginx-web-1"}
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"} == {
        "webapp", "postgresql", "etcd", "nginx-web-1"}


def test_web_tier_gets_an_ingress_with_tls_from_a_placeholder_secret(docs):
    ing = find(docs, "Ingress", "nginx-web-1")
    assert ing["apiVersion"] == "networking.k8s.io/v1"
    assert ing["spec"]["rules"] == [{"host": "nginx-web-1.example.invalid", "http": {"paths": [
        {"backend": {"service": {"name": "nginx-web-1", "port": {"number": 80}}}, "path": "/",
         "pathType": "Prefix"}]}}]
    assert ing["spec"]["tls"] == [{"hosts": ["nginx-web-1.example.invalid"], "secretName": "nginx-web-1-tls"}]
    tls = find(docs, "Secret", "nginx-web-1-tls")
    assert tls["type"] == "kubernetes.io/tls"
    assert tls["stringData"] == {"tls.crt": "<set-me>", "tls.key": "<set-me>"}
    dep = find(docs, "Deployment", "nginx-web-1")
    assert dep["spec"]["replicas"] == 2
    assert [c["name"] for c in pod(dep)["initContainers"]] == ["wait-webapp-8080"]
    assert pod(dep)["containers"][0]["image"] == "nginx:1.22.1"
    assert not any(d["kind"] == "Service" and d["spec"].get("type") == "LoadBalancer" for d in docs)


def test_cron_entry_is_a_cronjob_in_the_apps_image(docs):
    cron = find(docs, "CronJob", "report-app-1")
    spec = cron["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == ("*/15 * * * *", "Etc/UTC", "Forbid")
    assert "suspend" not in spec
    job_pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    container, = job_pod["containers"]
    assert container["image"] == "migrator.invalid/webapp:latest"
    assert container["command"] == ["/bin/sh", "-c", "/opt/webapp/venv/bin/python /opt/webapp/report.py --daily"]
    assert container["securityContext"] == {"runAsUser": 33}
    assert job_pod["restartPolicy"] == "OnFailure"
    assert "Etc/UTC" in cron["metadata"]["annotations"]["migrator.io/notes"]


def test_node_agent_is_one_daemonset_reading_the_node(docs):
    ds = find(docs, "DaemonSet", "node-exporter")
    spec = pod(ds)
    assert spec["hostPID"] is True and spec["hostNetwork"] is True
    assert spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert spec["volumes"] == [{"hostPath": {"path": "/proc"}, "name": "proc"},
                               {"hostPath": {"path": "/sys"}, "name": "sys"},
                               {"hostPath": {"path": "/"}, "name": "root"}]
    container, = spec["containers"]
    assert all(m["readOnly"] for m in container["volumeMounts"])
    assert container["args"] == ["--collector.systemd", "--path.procfs=/host/proc", "--path.sysfs=/host/sys",
                                 "--path.rootfs=/host/root"]
    assert container["image"] == "quay.io/prometheus/node-exporter:v1.5.0"
    assert len(ds["metadata"]["annotations"]["migrator.io/source-hosts"].split(",")) == 9
    # no peer used port 9100: no Service
    assert not any(d["kind"] == "Service" and d["metadata"]["name"].startswith("node-exporter") for d in docs)


def _policy_peers(doc):
    return [(sorted(p["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] for p in rule.get("from", [])),
             [port["port"] for port in rule["ports"]]) for rule in doc["spec"]["ingress"]]


def test_network_policies_admit_exactly_the_observed_peers(docs):
    deny = find(docs, "NetworkPolicy", "default-deny-ingress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert _policy_peers(find(docs, "NetworkPolicy", "postgresql-allow")) == [(["postgresql", "webapp"], [5432])]
    assert _policy_peers(find(docs, "NetworkPolicy", "redis-cache-1-allow")) == [(["webapp"], [6379])]
    assert _policy_peers(find(docs, "NetworkPolicy", "webapp-allow")) == [(["nginx-web-1"], [8080])]
    assert _policy_peers(find(docs, "NetworkPolicy", "etcd-allow")) == [(["etcd"], [2379]), (["etcd"], [2380])]
    # exposed outside: from anywhere on the port
    assert _policy_peers(find(docs, "NetworkPolicy", "nginx-web-1-allow")) == [([], [80]), ([], [443])]


def test_network_policies_can_be_switched_off():
    plan = build_plan(lab_estate(), namespace=NS, network_policies=False)
    kinds = [d["kind"] for d in (to_data(o) for o in to_objects(plan))]
    assert "NetworkPolicy" not in kinds and "StatefulSet" in kinds


def test_waves_follow_the_startup_order(plan, docs):
    assert plan.waves == (("etcd", "node-exporter", "postgresql", "redis-cache-1"), ("webapp",),
                          ("nginx-web-1", "report-app-1"))
    assert find(docs, "Deployment", "webapp")["metadata"]["annotations"]["migrator.io/wave"] == "2"
    assert find(docs, "Deployment", "nginx-web-1")["metadata"]["annotations"]["migrator.io/wave"] == "3"


def test_every_object_says_where_it_comes_from_and_why(docs):
    for d in docs:
        meta = d["metadata"]
        assert set(meta["labels"]) == {"app.kubernetes.io/name", "app.kubernetes.io/instance",
                                       "app.kubernetes.io/managed-by"}, meta["name"]
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "migrator"
        annotations = meta["annotations"]
        assert "migrator.io/source-host" in annotations or "migrator.io/source-hosts" in annotations, meta["name"]
        assert annotations.get("migrator.io/evidence"), (d["kind"], meta["name"])


def test_plan_is_the_same_whatever_the_order_of_the_hosts():
    assert export_plan(build_plan(lab_estate(), namespace=NS)) == \
        export_plan(build_plan(list(reversed(lab_estate())), namespace=NS))


def test_data_steps_per_ordinal_by_software(plan):
    steps = {(s.workload, s.ordinal): s for s in plan.data_steps}
    assert sorted(steps) == [("etcd", 0), ("etcd", 1), ("etcd", 2), ("postgresql", 0), ("postgresql", 1),
                             ("redis-cache-1", 0)]
    assert (steps[("postgresql", 0)].method, steps[("postgresql", 0)].source) == (
        "dump-restore", "db-1/postgresql@15-main.service")
    assert any("pg_dumpall" in s for s in steps[("postgresql", 0)].steps)
    assert steps[("postgresql", 1)].method == "replication"
    assert any("pg_basebackup -h postgresql-0.postgresql-headless.shop.svc.cluster.local" in s
               for s in steps[("postgresql", 1)].steps)
    assert {steps[("etcd", i)].method for i in range(3)} == {"snapshot"}
    assert any("--name etcd-2" in s for s in steps[("etcd", 2)].steps)
    assert steps[("redis-cache-1", 0)].method == "replication"


def test_export_documents_parse_back(plan):
    docs = list(yaml.safe_load_all(export_plan(plan)))
    assert len(docs) == len(to_objects(plan))
