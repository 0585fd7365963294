"""Problems in a plan's YAML: unparsable text, schema errors, and references that do not meet.

Schemas come from the kubernetes-validate package (strict: unknown fields are errors).
Cross-checks run on documents that passed their schema:
- a StatefulSet's serviceName names a headless Service in its namespace;
- a Service's selector picks the pods of some workload in its namespace;
- a workload's selector matches its own pod template;
- every Secret, ConfigMap and claim a pod refers to, every Service an Ingress routes to, every
  target of a HorizontalPodAutoscaler exists in the plan; a PodDisruptionBudget selects some pods;
- no two objects share kind, namespace and name.

A Service may narrow a StatefulSet's pods to one ordinal (statefulset.kubernetes.io/pod-name):
Kubernetes sets that label on each pod, so it is not looked for in the template.
"""
from __future__ import annotations

from dataclasses import dataclass

import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, VersionNotSupportedError

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"


@dataclass(frozen=True)
class Problem:
    kind: str       # the object's kind ("" when the document has none)
    name: str       # the object's name ("" when unknown)
    path: str       # where in the object (spec.replicas), or where in the text (line 3)
    message: str


def validate_yaml(text: str, kubernetes_version: str | None = None) -> list[Problem]:
    """Every problem found in `text`; [] when the plan is valid for `kubernetes_version` (default: latest)."""
    version = kubernetes_version or kubernetes_validate.latest_version()
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return [Problem("", "", where, f"YAML does not parse: {getattr(exc, 'problem', None) or exc}")]
    problems: list[Problem] = []
    valid: list[dict] = []
    for index, doc in enumerate(docs, start=1):
        found = _check_document(index, doc, version)
        problems += found
        if not found:
            valid.append(doc)
    return problems + cross_check(valid)


def _check_document(index: int, doc: object, version: str) -> list[Problem]:
    if not isinstance(doc, dict):
        return [Problem("", "", f"document {index}", f"expected a mapping, got {type(doc).__name__}")]
    kind, name = _kind_name(doc)
    missing = [key for key in ("apiVersion", "kind") if not isinstance(doc.get(key), str) or not doc.get(key)]
    if missing:
        return [Problem(kind, name, f"document {index}", f"missing {', '.join(missing)}")]
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.absolute_path) or f"document {index}"
        return [Problem(kind, name, path, exc.message)]
    except (SchemaNotFoundError, VersionNotSupportedError) as exc:
        return [Problem(kind, name, f"document {index}", exc.message)]
    return []


def cross_check(docs: list[dict]) -> list[Problem]:
    """Checks between schema-valid documents (see the module docstring)."""
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for doc in docs:
        key = (doc["kind"], _namespace(doc), _kind_name(doc)[1])
        if key in seen:
            problems.append(Problem(key[0], key[2], "metadata.name", "another object has this kind and name"))
        seen.add(key)
    workloads = [d for d in docs if d["kind"] in WORKLOAD_KINDS]
    services = [d for d in docs if d["kind"] == "Service"]
    for w in workloads:
        match = (w.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
        if match and not _selects(match, _pod_labels(w)):
            problems.append(Problem(w["kind"], _kind_name(w)[1], "spec.selector",
                                    "selector does not match the pod template's labels"))
        if w["kind"] == "StatefulSet":
            problems += _check_service_name(w, services)
    for s in services:
        selector = s.get("spec", {}).get("selector") or {}
        if selector and not any(_namespace(w) == _namespace(s) and _selects(_pod_selector(selector, w), _pod_labels(w))
                                for w in workloads):
            problems.append(Problem("Service", _kind_name(s)[1], "spec.selector",
                                    "selector matches the pods of no workload in the plan"))
    return problems + check_references(docs)


def _pod_selector(selector: dict, workload: dict) -> dict:
    """The selector without the label Kubernetes gives each StatefulSet pod (pod-name: NAME-N)."""
    pod = selector.get(POD_NAME_LABEL)
    if workload["kind"] != "StatefulSet" or pod is None:
        return selector
    name, _, ordinal = str(pod).rpartition("-")
    if name != _kind_name(workload)[1] or not ordinal.isdigit():
        return {**selector, POD_NAME_LABEL: None}
    return {k: v for k, v in selector.items() if k != POD_NAME_LABEL}


def _pod_specs(doc: dict) -> list[tuple[str, dict]]:
    """(path, pod spec) of a workload or CronJob."""
    spec = doc.get("spec") or {}
    if doc["kind"] == "CronJob":
        pod = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
        return [("spec.jobTemplate.spec.template.spec", pod)] if pod else []
    pod = (spec.get("template") or {}).get("spec")
    return [("spec.template.spec", pod)] if pod else []


def check_references(docs: list[dict]) -> list[Problem]:
    """Objects named by other objects must be in the plan (see the module docstring)."""
    have = {(d["kind"], _namespace(d), _kind_name(d)[1]) for d in docs}
    problems: list[Problem] = []

    def need(doc: dict, kind: str, name: str | None, path: str) -> None:
        if name and (kind, _namespace(doc), name) not in have:
            problems.append(Problem(doc["kind"], _kind_name(doc)[1], path, f"refers to {kind} {name!r}, not in the plan"))

    for doc in docs:
        templates = {v.get("metadata", {}).get("name") for v in (doc.get("spec") or {}).get("volumeClaimTemplates") or []}
        for base, pod in _pod_specs(doc):
            for i, volume in enumerate(pod.get("volumes") or []):
                where = f"{base}.volumes.{i}"
                need(doc, "Secret", (volume.get("secret") or {}).get("secretName"), where)
                need(doc, "ConfigMap", (volume.get("configMap") or {}).get("name"), where)
                claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                if claim not in templates:
                    need(doc, "PersistentVolumeClaim", claim, where)
            for group in ("initContainers", "containers"):
                for c_i, container in enumerate(pod.get(group) or []):
                    for e_i, env in enumerate(container.get("env") or []):
                        source = env.get("valueFrom") or {}
                        where = f"{base}.{group}.{c_i}.env.{e_i}"
                        need(doc, "Secret", (source.get("secretKeyRef") or {}).get("name"), where)
                        need(doc, "ConfigMap", (source.get("configMapKeyRef") or {}).get("name"), where)
                    for f_i, env_from in enumerate(container.get("envFrom") or []):
                        where = f"{base}.{group}.{c_i}.envFrom.{f_i}"
                        need(doc, "Secret", (env_from.get("secretRef") or {}).get("name"), where)
                        need(doc, "ConfigMap", (env_from.get("configMapRef") or {}).get("name"), where)
        spec = doc.get("spec") or {}
        if doc["kind"] == "Ingress":
            for i, tls in enumerate(spec.get("tls") or []):
                need(doc, "Secret", tls.get("secretName"), f"spec.tls.{i}.secretName")
            for r_i, rule in enumerate(spec.get("rules") or []):
                for p_i, path in enumerate((rule.get("http") or {}).get("paths") or []):
                    service = (path.get("backend") or {}).get("service") or {}
                    need(doc, "Service", service.get("name"), f"spec.rules.{r_i}.http.paths.{p_i}.backend.service.name")
        if doc["kind"] == "HorizontalPodAutoscaler":
            target = spec.get("scaleTargetRef") or {}
            need(doc, target.get("kind", ""), target.get("name"), "spec.scaleTargetRef")
        if doc["kind"] == "PodDisruptionBudget":
            match = (spec.get("selector") or {}).get("matchLabels") or {}
            if match and not any(d["kind"] in WORKLOAD_KINDS and _namespace(d) == _namespace(doc)
                                 and _selects(match, _pod_labels(d)) for d in docs):
                problems.append(Problem("PodDisruptionBudget", _kind_name(doc)[1], "spec.selector",
                                        "selector matches the pods of no workload in the plan"))
    return problems


def _check_service_name(sts: dict, services: list[dict]) -> list[Problem]:
    name = _kind_name(sts)[1]
    wanted = sts.get("spec", {}).get("serviceName")
    if not wanted:
        return [Problem("StatefulSet", name, "spec.serviceName", "no serviceName: pods get no stable DNS names")]
    for s in services:
        if _kind_name(s)[1] == wanted and _namespace(s) == _namespace(sts):
            if s.get("spec", {}).get("clusterIP") == "None":
                return []
            return [Problem("StatefulSet", name, "spec.serviceName", f"Service {wanted!r} is not headless")]
    return [Problem("StatefulSet", name, "spec.serviceName", f"no headless Service named {wanted!r}")]


def _kind_name(doc: dict) -> tuple[str, str]:
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    kind = doc.get("kind")
    return (kind if isinstance(kind, str) else "", name if isinstance(name, str) else "")


def _namespace(doc: dict) -> str:
    return (doc.get("metadata") or {}).get("namespace") or "default"


def _pod_labels(workload: dict) -> dict:
    return ((workload.get("spec", {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
