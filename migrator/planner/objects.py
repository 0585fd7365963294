"""Kubernetes objects (kubernetes client models) from a Plan: one function per kind.

Every object is labelled with the workload's labels (app.kubernetes.io/name, instance,
managed-by) and annotated with where it comes from (migrator.io/source-host(s), source-app)
and, briefly, why it exists (migrator.io/evidence).
"""
from __future__ import annotations

import json

from kubernetes import client

from migrator.planner.model import (BATCH, CRONJOB, DAEMONSET, JOB, INGRESS, LOADBALANCER, STATEFULSET, AllowRule, Plan,
                                    PlannedConfigMap, PlannedPort, PlannedSecret, PlannedVolume, PlannedWorkload)
from migrator.planner.names import dns1123
from migrator.planner.workloads import MANAGED_BY, PLACEHOLDER, TLS_PORTS

SOURCE_ANNOTATIONS = ("migrator.io/source-host", "migrator.io/source-hosts", "migrator.io/source-app",
                      "migrator.io/source-apps", "migrator.io/wave")
NOTES_ANNOTATION = "migrator.io/notes"   # what a reviewer must check or finish by hand
EVIDENCE = "migrator.io/evidence"
WAIT_IMAGE = "busybox:1.36.1"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
DEFAULT_DENY = "default-deny-ingress"
INGRESS_DOMAIN = "example.invalid"
HPA_MAX = 5
HPA_CPU = 70


def to_objects(plan: Plan) -> list:
    """Every object of the plan, workload by workload in plan order (its Namespace, then a default-deny
    policy first)."""
    objects: list = [namespace(plan)] if has_namespace(plan) else []
    if has_default_deny(plan):
        objects.append(default_deny(plan))
    for w in plan.workloads:
        objects.extend(workload_objects(w, plan))
    return objects


def has_namespace(plan: Plan) -> bool:
    """Every namespace but "default" is created by the plan, so it applies to an empty cluster."""
    return plan.namespace != "default"


def namespace(plan: Plan) -> client.V1Namespace:
    hosts = sorted({h for w in plan.workloads for h in w.hosts})
    return client.V1Namespace(
        api_version="v1", kind="Namespace",
        metadata=client.V1ObjectMeta(
            name=plan.namespace,
            labels={"app.kubernetes.io/name": "namespace", "app.kubernetes.io/instance": plan.namespace,
                    "app.kubernetes.io/managed-by": MANAGED_BY},
            annotations={"migrator.io/source-hosts": ",".join(hosts),
                         EVIDENCE: "the plan's objects live in this namespace"}))


def has_default_deny(plan: Plan) -> bool:
    return plan.network_policies and any(w.kind not in BATCH for w in plan.workloads)


def workload_objects(w: PlannedWorkload, plan: Plan) -> list:
    """The objects of one workload: Secrets, ConfigMaps, claims, Services, routes, the workload, PDB, HPA,
    policy."""
    ns = plan.namespace
    objects: list = [secret(w, s, ns) for s in w.secrets]
    objects += [config_map(w, c, ns) for c in w.config_maps]
    if w.kind == CRONJOB:
        return objects + [cron_job(w, ns)]
    if w.kind == JOB:
        return objects + [job(w, ns)]
    if w.kind == STATEFULSET:
        objects.append(headless_service(w, ns))
    else:
        objects.extend(persistent_volume_claim(w, v, ns) for v in w.volumes)
    if w.exposed:
        objects.append(service(w, ns))
        if any(p.exposure == LOADBALANCER for p in w.ports):
            objects.append(load_balancer(w, ns))
        if any(p.exposure == INGRESS for p in w.ports):
            if any(p.exposure == INGRESS and p.port in TLS_PORTS for p in w.ports):
                objects.append(tls_secret(w, ns))
            objects.append(ingress(w, ns))
    objects.append({STATEFULSET: stateful_set, DAEMONSET: daemon_set}.get(w.kind, deployment)(w, ns))
    if w.kind != DAEMONSET and w.replicas > 1 and not w.independent_copies:
        # Independent copies of a stateful app are not redundant: a budget would pretend they are.
        objects.append(pod_disruption_budget(w, ns))
    if w.hpa:
        objects.append(horizontal_pod_autoscaler(w, ns))
    if plan.network_policies and any(r.clients or r.anywhere for r in w.allow):
        objects.append(network_policy(w, ns))
    return objects


# -- workloads -------------------------------------------------------------------------------
def deployment(w: PlannedWorkload, namespace: str) -> client.V1Deployment:
    volumes = [client.V1Volume(name=v.name, persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
        claim_name=claim_name(w, v))) for v in w.volumes]
    # A ReadWriteOnce claim cannot follow a rolling update onto another node: replace instead.
    strategy = client.V1DeploymentStrategy(type="Recreate") if w.volumes else None
    return client.V1Deployment(
        api_version="apps/v1", kind="Deployment", metadata=_meta(w, namespace),
        spec=client.V1DeploymentSpec(replicas=w.replicas, selector=client.V1LabelSelector(match_labels=w.selector),
                                     strategy=strategy, template=_pod_template(w, volumes)))


def stateful_set(w: PlannedWorkload, namespace: str) -> client.V1StatefulSet:
    return client.V1StatefulSet(
        api_version="apps/v1", kind="StatefulSet", metadata=_meta(w, namespace),
        spec=client.V1StatefulSetSpec(
            service_name=w.headless_service_name, replicas=w.replicas,
            selector=client.V1LabelSelector(match_labels=w.selector),
            pod_management_policy="OrderedReady",
            update_strategy=client.V1StatefulSetUpdateStrategy(type="RollingUpdate"),
            template=_pod_template(w, []),
            volume_claim_templates=[client.V1PersistentVolumeClaim(
                metadata=client.V1ObjectMeta(name=v.name, labels=dict(w.labels)), spec=_claim_spec(v))
                for v in w.volumes] or None))


def daemon_set(w: PlannedWorkload, namespace: str) -> client.V1DaemonSet:
    return client.V1DaemonSet(
        api_version="apps/v1", kind="DaemonSet", metadata=_meta(w, namespace),
        spec=client.V1DaemonSetSpec(
            selector=client.V1LabelSelector(match_labels=w.selector),
            update_strategy=client.V1DaemonSetUpdateStrategy(
                type="RollingUpdate", rolling_update=client.V1RollingUpdateDaemonSet(max_unavailable=1)),
            template=_pod_template(w, [])))


def _job_pod(w: PlannedWorkload) -> client.V1PodTemplateSpec:
    container = client.V1Container(
        name="job", image=w.image, command=list(w.command) or None, args=list(w.args) or None,
        working_dir=w.working_dir, security_context=_security(w), resources=_resources(w))
    return client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels=dict(w.labels)),
        spec=client.V1PodSpec(containers=[container], restart_policy="OnFailure"))


def job(w: PlannedWorkload, namespace: str) -> client.V1Job:
    """A task the VM ran once (at boot): run once in the cluster, in the first wave it fits."""
    return client.V1Job(api_version="batch/v1", kind="Job", metadata=_meta(w, namespace),
                        spec=client.V1JobSpec(backoff_limit=2, ttl_seconds_after_finished=86400,
                                              template=_job_pod(w)))


def cron_job(w: PlannedWorkload, namespace: str) -> client.V1CronJob:
    s = w.schedule
    pod = _job_pod(w)
    return client.V1CronJob(
        api_version="batch/v1", kind="CronJob", metadata=_meta(w, namespace),
        spec=client.V1CronJobSpec(
            schedule=s.cron, time_zone=s.time_zone, suspend=True if s.suspend else None,
            concurrency_policy="Forbid", successful_jobs_history_limit=3, failed_jobs_history_limit=3,
            job_template=client.V1JobTemplateSpec(
                metadata=client.V1ObjectMeta(labels=dict(w.labels)),
                spec=client.V1JobSpec(backoff_limit=2, template=pod))))


# -- discovery and routes --------------------------------------------------------------------
def service(w: PlannedWorkload, namespace: str) -> client.V1Service:
    """The ClusterIP Service of a workload's exposed ports; to ordinal 0 only for one-writer clusters."""
    selector = dict(w.selector)
    why = f"ports {', '.join(str(p.port) for p in w.ports)} listen beyond loopback"
    if w.primary_only:
        selector[POD_NAME_LABEL] = f"{w.name}-0"
        why += f"; clients go to the primary {w.name}-0"
    return client.V1Service(
        api_version="v1", kind="Service", metadata=_meta(w, namespace, name=w.name, evidence=why),
        spec=client.V1ServiceSpec(type="ClusterIP", selector=selector, ports=_service_ports(w.ports)))


def headless_service(w: PlannedWorkload, namespace: str) -> client.V1Service:
    """The headless Service that gives a StatefulSet's pods stable DNS names."""
    return client.V1Service(
        api_version="v1", kind="Service",
        metadata=_meta(w, namespace, name=w.headless_service_name,
                       evidence=f"stable DNS names {w.name}-N.{w.headless_service_name} for the StatefulSet"),
        spec=client.V1ServiceSpec(cluster_ip="None", publish_not_ready_addresses=True, selector=w.selector,
                                  ports=_service_ports(w.ports) or None))


def load_balancer(w: PlannedWorkload, namespace: str) -> client.V1Service:
    ports = [p for p in w.ports if p.exposure == LOADBALANCER]
    return client.V1Service(
        api_version="v1", kind="Service",
        metadata=_meta(w, namespace, name=f"{w.name}-lb", evidence=_route_evidence(w, ports)),
        spec=client.V1ServiceSpec(type="LoadBalancer", selector=w.selector, ports=_service_ports(ports)))


def ingress_host(w: PlannedWorkload, port: PlannedPort, first: bool) -> str:
    return f"{w.name}.{INGRESS_DOMAIN}" if first else f"{w.name}-{port.port}.{INGRESS_DOMAIN}"


def ingress(w: PlannedWorkload, namespace: str) -> client.V1Ingress:
    """Host placeholders under example.invalid: the reviewer sets the real names (and the class)."""
    ports = [p for p in w.ports if p.exposure == INGRESS]
    plain = [p for p in ports if p.port not in TLS_PORTS] or ports
    hosts = [ingress_host(w, p, i == 0) for i, p in enumerate(plain)]
    rules = [client.V1IngressRule(host=h, http=client.V1HTTPIngressRuleValue(paths=[client.V1HTTPIngressPath(
        path="/", path_type="Prefix", backend=client.V1IngressBackend(service=client.V1IngressServiceBackend(
            name=w.name, port=client.V1ServiceBackendPort(number=p.port))))]))
        for h, p in zip(hosts, plain)]
    tls = [client.V1IngressTLS(hosts=hosts, secret_name=tls_secret_name(w))] \
        if any(p.port in TLS_PORTS for p in ports) else None
    meta = _meta(w, namespace, name=w.name, evidence=_route_evidence(w, ports))
    meta.annotations[NOTES_ANNOTATION] = f"set the real host names (placeholders under {INGRESS_DOMAIN}) " \
                                         "and the ingress class"
    if all(p.port in TLS_PORTS for p in plain):
        meta.annotations["nginx.ingress.kubernetes.io/backend-protocol"] = "HTTPS"
    return client.V1Ingress(api_version="networking.k8s.io/v1", kind="Ingress", metadata=meta,
                            spec=client.V1IngressSpec(rules=rules, tls=tls))


def _route_evidence(w: PlannedWorkload, ports: list[PlannedPort]) -> str:
    return f"clients outside the estate reach port {', '.join(str(p.port) for p in ports)}" \
        if "expose" not in w.annotations.get("migrator.io/overridden", "").split(",") else "exposure overridden"


# -- secrets and storage ---------------------------------------------------------------------
def secret(w: PlannedWorkload, s: PlannedSecret, namespace: str) -> client.V1Secret:
    meta = _meta(w, namespace, name=s.name, evidence=s.reason)
    meta.annotations.update(dict(s.annotations))
    meta.annotations[NOTES_ANNOTATION] = "\n".join(
        (f"placeholder values {PLACEHOLDER!r}: set the real ones, never commit them",) + s.notes)
    return client.V1Secret(api_version="v1", kind="Secret", metadata=meta, type=s.type,
                           string_data={k: PLACEHOLDER for k in s.keys})


def config_map(w: PlannedWorkload, c: PlannedConfigMap, namespace: str) -> client.V1ConfigMap:
    """An application's config files (as the scan read them, secrets redacted), one key per file."""
    meta = _meta(w, namespace, name=c.name, evidence=c.reason)
    meta.annotations["migrator.io/config-files"] = json.dumps({key: path for key, path, _ in c.files},
                                                              sort_keys=True)
    if c.notes:
        meta.annotations[NOTES_ANNOTATION] = "\n".join(c.notes)
    return client.V1ConfigMap(api_version="v1", kind="ConfigMap", metadata=meta,
                              data={key: text for key, _, text in c.files})


def tls_secret_name(w: PlannedWorkload) -> str:
    return f"{w.name}-tls"


def tls_secret(w: PlannedWorkload, namespace: str) -> client.V1Secret:
    return secret(w, PlannedSecret(tls_secret_name(w), "kubernetes.io/tls", ("tls.crt", "tls.key"),
                                   "the host serves TLS: certificate and key for the Ingress"), namespace)


def persistent_volume_claim(w: PlannedWorkload, v: PlannedVolume, namespace: str) -> client.V1PersistentVolumeClaim:
    return client.V1PersistentVolumeClaim(
        api_version="v1", kind="PersistentVolumeClaim",
        metadata=_meta(w, namespace, name=claim_name(w, v), evidence=f"state kept in {v.mount_path}"),
        spec=_claim_spec(v))


def claim_name(w: PlannedWorkload, v: PlannedVolume) -> str:
    return f"{w.name}-{v.name}"


def _claim_spec(v: PlannedVolume) -> client.V1PersistentVolumeClaimSpec:
    return client.V1PersistentVolumeClaimSpec(
        access_modes=["ReadWriteOnce"], storage_class_name=v.storage_class,
        resources=client.V1VolumeResourceRequirements(requests={"storage": v.size}))


# -- availability and policy -----------------------------------------------------------------
def pod_disruption_budget(w: PlannedWorkload, namespace: str) -> client.V1PodDisruptionBudget:
    return client.V1PodDisruptionBudget(
        api_version="policy/v1", kind="PodDisruptionBudget",
        metadata=_meta(w, namespace, name=w.name, evidence=f"{w.replicas} replicas: one may be down at a time"),
        spec=client.V1PodDisruptionBudgetSpec(max_unavailable=1,
                                              selector=client.V1LabelSelector(match_labels=w.selector)))


def horizontal_pod_autoscaler(w: PlannedWorkload, namespace: str) -> client.V2HorizontalPodAutoscaler:
    return client.V2HorizontalPodAutoscaler(
        api_version="autoscaling/v2", kind="HorizontalPodAutoscaler",
        metadata=_meta(w, namespace, name=w.name, evidence="stateless HTTP application"),
        spec=client.V2HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V2CrossVersionObjectReference(api_version="apps/v1", kind=w.kind, name=w.name),
            min_replicas=w.replicas, max_replicas=max(HPA_MAX, w.replicas),
            metrics=[client.V2MetricSpec(type="Resource", resource=client.V2ResourceMetricSource(
                name="cpu", target=client.V2MetricTarget(type="Utilization", average_utilization=HPA_CPU)))]))


def default_deny(plan: Plan) -> client.V1NetworkPolicy:
    hosts = sorted({h for w in plan.workloads for h in w.hosts})
    return client.V1NetworkPolicy(
        api_version="networking.k8s.io/v1", kind="NetworkPolicy",
        metadata=client.V1ObjectMeta(
            name=DEFAULT_DENY, namespace=plan.namespace,
            labels={"app.kubernetes.io/name": "network-policy", "app.kubernetes.io/instance": DEFAULT_DENY,
                    "app.kubernetes.io/managed-by": MANAGED_BY},
            annotations={"migrator.io/source-hosts": ",".join(hosts),
                         EVIDENCE: "no pod admits traffic the VMs were not seen receiving"}),
        spec=client.V1NetworkPolicySpec(pod_selector=client.V1LabelSelector(), policy_types=["Ingress"]))


def network_policy(w: PlannedWorkload, namespace: str) -> client.V1NetworkPolicy:
    """Admits exactly the observed peers (by their pods' instance label) and anyone on exposed ports."""
    return client.V1NetworkPolicy(
        api_version="networking.k8s.io/v1", kind="NetworkPolicy",
        metadata=_meta(w, namespace, name=f"{w.name}-allow",
                       evidence="; ".join(f"{r.port}: {r.reason}" for r in w.allow)[:300]),
        spec=client.V1NetworkPolicySpec(
            pod_selector=client.V1LabelSelector(match_labels=w.selector), policy_types=["Ingress"],
            ingress=[_ingress_rule(r) for r in w.allow if r.clients or r.anywhere]))


def _ingress_rule(r: AllowRule) -> client.V1NetworkPolicyIngressRule:
    port = [client.V1NetworkPolicyPort(port=r.port, protocol=r.protocol)]
    if r.anywhere:
        return client.V1NetworkPolicyIngressRule(ports=port)
    return client.V1NetworkPolicyIngressRule(ports=port, _from=[client.V1NetworkPolicyPeer(
        pod_selector=client.V1LabelSelector(match_labels={"app.kubernetes.io/instance": c})) for c in r.clients])


# -- pods ------------------------------------------------------------------------------------
def _meta(w: PlannedWorkload, namespace: str, name: str | None = None,
          evidence: str | None = None) -> client.V1ObjectMeta:
    """Workloads carry all annotations and the planner's notes; other objects their source and evidence."""
    if evidence is None:
        annotations = dict(w.annotations)
        if w.notes:
            annotations[NOTES_ANNOTATION] = "\n".join(w.notes)
    else:
        annotations = {k: w.annotations[k] for k in SOURCE_ANNOTATIONS if k in w.annotations}
        annotations[EVIDENCE] = evidence[:300]
    return client.V1ObjectMeta(name=name or w.name, namespace=namespace, labels=dict(w.labels),
                               annotations=annotations)


def _service_ports(ports) -> list[client.V1ServicePort]:
    return [client.V1ServicePort(name=p.name, port=p.port, target_port=p.port, protocol=p.protocol) for p in ports]


def _security(w: PlannedWorkload) -> client.V1SecurityContext | None:
    """runAsUser only where the plan knows the user (generated images, overrides): an official image
    keeps its own."""
    if w.run_as_user is None and w.run_as_group is None:
        return None
    return client.V1SecurityContext(run_as_user=w.run_as_user, run_as_group=w.run_as_group)


def _pod_security(w: PlannedWorkload) -> client.V1PodSecurityContext | None:
    """fsGroup: new volumes are root-owned; the group makes them writable to the app's user.
    OnRootMismatch: the volume is not walked again at every start once it is right."""
    if w.fs_group is None:
        return None
    return client.V1PodSecurityContext(fs_group=w.fs_group, fs_group_change_policy="OnRootMismatch")


def _resources(w: PlannedWorkload) -> client.V1ResourceRequirements:
    return client.V1ResourceRequirements(requests={"cpu": w.cpu_request, "memory": w.memory_request},
                                         limits={"memory": w.memory_limit} if w.memory_limit else None)


def _env(w: PlannedWorkload) -> list[client.V1EnvVar] | None:
    out = []
    for e in w.env:
        if e.secret:
            source = client.V1EnvVarSource(secret_key_ref=client.V1SecretKeySelector(name=e.secret, key=e.key))
        elif e.field_path:
            source = client.V1EnvVarSource(field_ref=client.V1ObjectFieldSelector(field_path=e.field_path))
        else:
            source = None
        out.append(client.V1EnvVar(name=e.name, value=e.value if source is None else None, value_from=source))
    return out or None


def _probes(w: PlannedWorkload) -> tuple[client.V1Probe | None, client.V1Probe | None]:
    """Readiness by HTTP GET / where the software answers HTTP there, else TCP; liveness always TCP
    (a web server whose upstream is down still lives)."""
    tcp = next((p for p in w.ports if p.protocol == "TCP"), None)
    if tcp is None:
        return None, None
    http = next((p for p in w.ports if p.http), None)
    if http is not None:
        ready = client.V1Probe(http_get=client.V1HTTPGetAction(path="/", port=http.port),
                               initial_delay_seconds=5, period_seconds=10, failure_threshold=3)
    else:
        ready = client.V1Probe(tcp_socket=client.V1TCPSocketAction(port=tcp.port),
                               initial_delay_seconds=5, period_seconds=10, failure_threshold=3)
    live = client.V1Probe(tcp_socket=client.V1TCPSocketAction(port=tcp.port),
                          initial_delay_seconds=30, period_seconds=20, failure_threshold=3)
    return ready, live


def _wait_container(service_name: str, port: int) -> client.V1Container:
    return client.V1Container(
        name=dns1123(f"wait-{service_name}-{port}"), image=WAIT_IMAGE,
        command=["sh", "-c", f"until nc -z {service_name} {port}; do echo waiting for {service_name}:{port}; "
                             "sleep 2; done"],
        resources=client.V1ResourceRequirements(requests={"cpu": "10m", "memory": "16Mi"},
                                                limits={"memory": "32Mi"}))


def _file_volumes(w: PlannedWorkload) -> list[client.V1Volume]:
    """The volumes of the ConfigMaps and Secrets whose keys are mounted as files (in first-use order)."""
    volumes: dict[str, list] = {}
    for m in w.file_mounts:
        volumes.setdefault(m.volume, []).append(m)
    out = []
    for name, mounts in volumes.items():
        first = mounts[0]
        items = [client.V1KeyToPath(key=m.key, path=m.key, mode=m.mode) for m in mounts] \
            if any(m.mode is not None for m in mounts) else None
        if first.source == "secret":
            out.append(client.V1Volume(name=name, secret=client.V1SecretVolumeSource(
                secret_name=first.object_name, items=items)))
        else:
            out.append(client.V1Volume(name=name, config_map=client.V1ConfigMapVolumeSource(
                name=first.object_name, items=items)))
    return out


def _pod_template(w: PlannedWorkload, volumes: list) -> client.V1PodTemplateSpec:
    ready, live = _probes(w)
    mounts = [client.V1VolumeMount(name=v.name, mount_path=v.mount_path) for v in w.volumes]
    volumes.extend(_file_volumes(w))
    mounts += [client.V1VolumeMount(name=m.volume, mount_path=m.mount_path, sub_path=m.key, read_only=True)
               for m in w.file_mounts]
    for h in w.host_paths:
        volumes.append(client.V1Volume(name=h.name, host_path=client.V1HostPathVolumeSource(path=h.host_path)))
        mounts.append(client.V1VolumeMount(name=h.name, mount_path=h.mount_path, read_only=h.read_only,
                                           mount_propagation="HostToContainer" if h.host_path == "/" else None))
    container = client.V1Container(
        name=dns1123(w.software or "app"), image=w.image,
        command=list(w.command) or None, args=list(w.args) or None, working_dir=w.working_dir,
        env=_env(w),
        ports=[client.V1ContainerPort(name=p.name, container_port=p.port, protocol=p.protocol)
               for p in w.ports] or None,
        readiness_probe=ready, liveness_probe=live, security_context=_security(w), resources=_resources(w),
        volume_mounts=mounts or None)
    spec = client.V1PodSpec(
        containers=[container], volumes=volumes or None, security_context=_pod_security(w),
        init_containers=[_wait_container(x.service, x.port) for x in w.waits] or None,
        host_network=True if w.host_network else None, host_pid=True if w.host_pid else None,
        dns_policy="ClusterFirstWithHostNet" if w.host_network else None,
        tolerations=[client.V1Toleration(operator="Exists", effect="NoSchedule")] if w.kind == DAEMONSET else None)
    return client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=dict(w.labels)), spec=spec)
