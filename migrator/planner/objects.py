"""Kubernetes objects (kubernetes client models) from a Plan: one function per kind."""
from __future__ import annotations

from kubernetes import client

from migrator.planner.model import STATEFULSET, Plan, PlannedVolume, PlannedWorkload
from migrator.planner.names import dns1123

ANNOTATIONS_ON_SERVICES = ("migrator.io/source-host", "migrator.io/source-app")
NOTES_ANNOTATION = "migrator.io/notes"   # what a reviewer must check or finish by hand


def to_objects(plan: Plan) -> list:
    """Every object of the plan, workload by workload in plan order: PVCs, Services, then the workload."""
    objects: list = []
    for w in plan.workloads:
        if w.kind == STATEFULSET:
            objects.append(headless_service(w, plan.namespace))
            if w.ports:
                objects.append(service(w, plan.namespace))
            objects.append(stateful_set(w, plan.namespace))
        else:
            objects.extend(persistent_volume_claim(w, v, plan.namespace) for v in w.volumes)
            if w.ports:
                objects.append(service(w, plan.namespace))
            objects.append(deployment(w, plan.namespace))
    return objects


def deployment(w: PlannedWorkload, namespace: str) -> client.V1Deployment:
    volumes = [client.V1Volume(name=v.name, persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
        claim_name=claim_name(w, v))) for v in w.volumes]
    # A ReadWriteOnce claim cannot follow a rolling update onto another node: replace instead.
    strategy = client.V1DeploymentStrategy(type="Recreate") if w.volumes else None
    return client.V1Deployment(
        api_version="apps/v1", kind="Deployment", metadata=_meta(w, namespace),
        spec=client.V1DeploymentSpec(replicas=w.replicas, selector=client.V1LabelSelector(match_labels=w.selector),
                                     strategy=strategy, template=_pod_template(w, volumes or None)))


def stateful_set(w: PlannedWorkload, namespace: str) -> client.V1StatefulSet:
    return client.V1StatefulSet(
        api_version="apps/v1", kind="StatefulSet", metadata=_meta(w, namespace),
        spec=client.V1StatefulSetSpec(
            service_name=w.headless_service_name, replicas=w.replicas,
            selector=client.V1LabelSelector(match_labels=w.selector),
            pod_management_policy="OrderedReady",
            update_strategy=client.V1StatefulSetUpdateStrategy(type="RollingUpdate"),
            template=_pod_template(w, None),
            volume_claim_templates=[client.V1PersistentVolumeClaim(
                metadata=client.V1ObjectMeta(name=v.name, labels=dict(w.labels)), spec=_claim_spec(v))
                for v in w.volumes] or None))


def service(w: PlannedWorkload, namespace: str) -> client.V1Service:
    """The ClusterIP Service of a workload's exposed ports (only made when there are some)."""
    return client.V1Service(
        api_version="v1", kind="Service", metadata=_meta(w, namespace, name=w.name, brief=True),
        spec=client.V1ServiceSpec(type="ClusterIP", selector=w.selector, ports=_service_ports(w)))


def headless_service(w: PlannedWorkload, namespace: str) -> client.V1Service:
    """The headless Service that gives a StatefulSet's pods stable DNS names."""
    return client.V1Service(
        api_version="v1", kind="Service",
        metadata=_meta(w, namespace, name=w.headless_service_name, brief=True),
        spec=client.V1ServiceSpec(cluster_ip="None", publish_not_ready_addresses=True, selector=w.selector,
                                  ports=_service_ports(w) or None))


def persistent_volume_claim(w: PlannedWorkload, v: PlannedVolume, namespace: str) -> client.V1PersistentVolumeClaim:
    return client.V1PersistentVolumeClaim(
        api_version="v1", kind="PersistentVolumeClaim",
        metadata=_meta(w, namespace, name=claim_name(w, v), brief=True), spec=_claim_spec(v))


def claim_name(w: PlannedWorkload, v: PlannedVolume) -> str:
    return f"{w.name}-{v.name}"


def _meta(w: PlannedWorkload, namespace: str, name: str | None = None,
          brief: bool = False) -> client.V1ObjectMeta:
    """Workloads carry all annotations and the planner's notes; the rest (brief) only the source."""
    if brief:
        annotations = {k: w.annotations[k] for k in ANNOTATIONS_ON_SERVICES if k in w.annotations}
    else:
        annotations = dict(w.annotations)
        if w.notes:
            annotations[NOTES_ANNOTATION] = "\n".join(w.notes)
    return client.V1ObjectMeta(name=name or w.name, namespace=namespace, labels=dict(w.labels),
                               annotations=annotations or None)


def _claim_spec(v: PlannedVolume) -> client.V1PersistentVolumeClaimSpec:
    return client.V1PersistentVolumeClaimSpec(
        access_modes=["ReadWriteOnce"], storage_class_name=v.storage_class,
        resources=client.V1VolumeResourceRequirements(requests={"storage": v.size}))


def _service_ports(w: PlannedWorkload) -> list[client.V1ServicePort]:
    return [client.V1ServicePort(name=p.name, port=p.port, target_port=p.port, protocol=p.protocol)
            for p in w.ports]


def _pod_template(w: PlannedWorkload, volumes: list | None) -> client.V1PodTemplateSpec:
    tcp = next((p for p in w.ports if p.protocol == "TCP"), None)
    probe = (lambda delay, period: client.V1Probe(tcp_socket=client.V1TCPSocketAction(port=tcp.port),
                                                  initial_delay_seconds=delay, period_seconds=period,
                                                  failure_threshold=3)) if tcp else None
    container = client.V1Container(
        name=dns1123(w.software or "app"), image=w.image,
        command=list(w.command) or None, args=list(w.args) or None, working_dir=w.working_dir,
        ports=[client.V1ContainerPort(name=p.name, container_port=p.port, protocol=p.protocol)
               for p in w.ports] or None,
        readiness_probe=probe(5, 10) if probe else None,
        liveness_probe=probe(30, 20) if probe else None,
        security_context=(client.V1SecurityContext(run_as_user=w.run_as_user)
                          if w.run_as_user is not None else None),
        resources=client.V1ResourceRequirements(requests={"cpu": w.cpu_request, "memory": w.memory_request}),
        volume_mounts=[client.V1VolumeMount(name=v.name, mount_path=v.mount_path) for v in w.volumes] or None)
    return client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=dict(w.labels)),
                                    spec=client.V1PodSpec(containers=[container], volumes=volumes))
