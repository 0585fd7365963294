from __future__ import annotations

from planner_factories import GIB, gen_host, gen_redis

from migrator.planner.builder import build_plan
from migrator.planner.objects import to_objects
from migrator.planner.render import to_data


def objects_of(hosts, overrides=None, namespace="default", network_policies=False):
    return [to_data(o) for o in to_objects(build_plan(hosts, overrides, namespace, network_policies))]


def find(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_deterministic_order(estate):
    docs = objects_of(estate)
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Service", "redis-db1-headless"), ("Service", "redis-db1"), ("StatefulSet", "redis-db1"),
        ("Service", "webapp-web1"), ("Deployment", "webapp-web1"), ("PodDisruptionBudget", "webapp-web1"),
        ("HorizontalPodAutoscaler", "webapp-web1"),
        ("Service", "billing-web1"), ("Deployment", "billing-web1")]
    assert all(d["metadata"]["namespace"] == "default" for d in docs)


def test_statefulset_for_redis(estate):
    sts = find(objects_of(estate), "StatefulSet", "redis-db1")
    labels = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis-db1",
              "app.kubernetes.io/managed-by": "migrator"}
    assert sts["apiVersion"] == "apps/v1"
    assert sts["metadata"]["labels"] == labels
    assert sts["metadata"]["annotations"]["migrator.io/verdict"] == "stateful"
    spec = sts["spec"]
    assert spec["serviceName"] == "redis-db1-headless"
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate"}
    assert spec["selector"] == {"matchLabels": labels}
    assert spec["template"]["metadata"]["labels"] == labels
    assert spec["volumeClaimTemplates"] == [{
        "metadata": {"labels": labels, "name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    container, = spec["template"]["spec"]["containers"]
    assert container == {
        "args": ["/etc/redis/redis.conf"],
        "image": "redis:7.0.15",
        "livenessProbe": {"failureThreshold": 3, "initialDelaySeconds": 30, "periodSeconds": 20,
                          "tcpSocket": {"port": 6379}},
        "name": "redis",
        "ports": [{"containerPort": 6379, "name": "tcp-6379", "protocol": "TCP"}],
        "readinessProbe": {"failureThreshold": 3, "initialDelaySeconds": 5, "periodSeconds": 10,
                           "tcpSocket": {"port": 6379}},
        "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "50m", "memory": "64Mi"}},
        "volumeMounts": [{"mountPath": "/var/lib/redis", "name": "data"}],
    }
    # no runAsUser: the image's own user (999), which fsGroup lets write the new volume
    assert spec["template"]["spec"]["securityContext"] == {"fsGroup": 999, "fsGroupChangePolicy": "OnRootMismatch"}


def test_volume_claim_of_one_and_a_half_gib_measured_is_3gi():
    sts = find(objects_of([gen_host("db1", gen_redis(size_bytes=3 * GIB // 2))]), "StatefulSet", "redis-db1")
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"] == {"requests": {"storage": "3Gi"}}


def test_headless_service_for_statefulset(estate):
    svc = find(objects_of(estate), "Service", "redis-db1-headless")
    assert svc["spec"] == {
        "clusterIP": "None",
        "ports": [{"name": "tcp-6379", "port": 6379, "protocol": "TCP", "targetPort": 6379}],
        "publishNotReadyAddresses": True,
        "selector": find(objects_of(estate), "StatefulSet", "redis-db1")["spec"]["selector"]["matchLabels"],
    }


def test_services_only_for_exposed_ports(estate):
    docs = objects_of(estate)
    web = find(docs, "Service", "webapp-web1")
    assert web["spec"]["type"] == "ClusterIP"
    assert web["spec"]["ports"] == [{"name": "tcp-8080", "port": 8080, "protocol": "TCP", "targetPort": 8080}]
    redis = find(docs, "Service", "redis-db1")
    assert [p["port"] for p in redis["spec"]["ports"]] == [6379]
    ports = [p["port"] for d in docs if d["kind"] == "Service" for p in d["spec"].get("ports", [])]
    assert 9000 not in ports


def test_no_service_for_loopback_only_app():
    from analyzers.findings import Listener
    app = gen_redis(listeners=(Listener("tcp", "127.0.0.1", 6379, "loopback"),))
    docs = objects_of([gen_host("db1", app)])
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Service", "redis-db1-headless"), ("StatefulSet", "redis-db1")]
    container = find(docs, "StatefulSet", "redis-db1")["spec"]["template"]["spec"]["containers"][0]
    assert "ports" not in container and "readinessProbe" not in container
    assert "ports" not in find(docs, "Service", "redis-db1-headless")["spec"]


def test_deployment_for_generic_app(estate):
    dep = find(objects_of(estate), "Deployment", "billing-web1")
    container, = dep["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "migrator.invalid/billing-web1:latest"
    assert container["command"] == ["/usr/bin/java"]
    assert container["args"] == ["-Xmx512m", "-jar", "/opt/billing/billing.jar"]
    assert container["workingDir"] == "/opt/billing"
    assert container["securityContext"] == {"runAsGroup": 1000, "runAsUser": 1000}
    assert "strategy" not in dep["spec"]


def test_stateful_app_overridden_to_deployment_keeps_its_data_in_a_claim():
    docs = objects_of([gen_host("db1", gen_redis())], {"db1/redis-server.service": {"kind": "Deployment"}})
    assert [d["kind"] for d in docs] == ["PersistentVolumeClaim", "Service", "Deployment"]
    pvc, dep = docs[0], docs[2]
    assert pvc["metadata"]["name"] == "redis-db1-data"
    assert pvc["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    assert dep["spec"]["template"]["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "redis-db1-data"}}]
    assert dep["metadata"]["annotations"]["migrator.io/overridden"] == "kind"


def test_storage_class_override_reaches_the_claim_template():
    docs = objects_of([gen_host("db1", gen_redis())], {"db1/redis-server.service": {"storage_class": "fast"}})
    vct = find(docs, "StatefulSet", "redis-db1")["spec"]["volumeClaimTemplates"][0]
    assert vct["spec"]["storageClassName"] == "fast"


def test_namespace_is_set_on_every_object(estate):
    docs = objects_of(estate, namespace="shop")
    assert (docs[0]["kind"], docs[0]["metadata"]["name"]) == ("Namespace", "shop")
    assert {d["metadata"]["namespace"] for d in docs[1:]} == {"shop"}


def test_workload_notes_are_annotated_for_the_reviewer(estate):
    docs = objects_of(estate)
    notes = find(docs, "Deployment", "billing-web1")["metadata"]["annotations"]["migrator.io/notes"]
    assert "build an image" in notes
    assert "migrator.io/notes" not in find(docs, "Service", "billing-web1")["metadata"]["annotations"]
    # (uid 999 as in the image: no ownership change of the data to note)
    plain = objects_of([gen_host("db1", gen_redis(command=(), uid=999))])
    assert "migrator.io/notes" not in find(plain, "StatefulSet", "redis-db1")["metadata"]["annotations"]
