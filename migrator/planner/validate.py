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

Speed (a plan of 10,000 hosts has 40,000 documents): the text is read by libyaml where PyYAML has
it (PyYAML's own reader reads it again when libyaml finds it broken, so the message is the same),
each schema is read and its validator built once (kubernetes_validate.validate reads two JSON
files per document), the cross-checks look objects up by name and label instead of scanning all,
and a large text is checked in forked processes, a slice of its documents each (validate_yaml's
workers). The problems and their order are the same either way.
"""
from __future__ import annotations

import multiprocessing
import os
import re
import threading
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, VersionNotSupportedError, all_versions, major_minor
from kubernetes_validate.utils import schema_contents
from referencing import Registry, Resource

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"


@dataclass(frozen=True)
class Problem:
    kind: str       # the object's kind ("" when the document has none)
    name: str       # the object's name ("" when unknown)
    path: str       # where in the object (spec.replicas), or where in the text (line 3)
    message: str


# Below this many documents starting processes costs more than checking in parallel saves.
PARALLEL_MIN_DOCUMENTS = 4000
_CHUNKS_PER_WORKER = 4
_JOB: tuple[list[str], str] | None = None    # (slices of the text, version), for the forked processes
_CLOADER = getattr(yaml, "CSafeLoader", None)
# A line that starts a document: PyYAML and libyaml end whatever came before at such a line.
_DOCUMENT_START = re.compile(r"^---(?=[ \t\n]|$)", re.MULTILINE)
# Lines after which a document start may not be where a slice can begin: directives (%YAML,
# %TAG) belong to the document after them; anything that is no plain '\n' line break.
_NO_SLICING = re.compile(r"^[%.]|[\r\x85\u2028\u2029]", re.MULTILINE)


def validate_yaml(text: str, kubernetes_version: str | None = None, workers: int | None = None) -> list[Problem]:
    """Every problem found in `text`; [] when the plan is valid for `kubernetes_version` (default: latest).

    workers: processes checking slices of the documents at once; by default one per core (at most
    4) for PARALLEL_MIN_DOCUMENTS documents or more. The problems are the same whatever the number.
    The processes are forked, so this checks serially in a process that runs other threads.
    """
    version = kubernetes_version or kubernetes_validate.latest_version()
    starts = [m.start() for m in _DOCUMENT_START.finditer(text)]
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if len(starts) >= PARALLEL_MIN_DOCUMENTS else 1
    if workers > 1 and len(starts) > 1 and _can_fork() and not _NO_SLICING.search(text):
        checked = _check_parallel(text, starts, version, workers)
        if checked is not None:
            return checked
    try:
        docs = _load_all(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return [Problem("", "", where, f"YAML does not parse: {getattr(exc, 'problem', None) or exc}")]
    return _problems(docs, [_check_document(index, doc, version) for index, doc in enumerate(docs, start=1)])


def _problems(docs: list, found: list[list[Problem]]) -> list[Problem]:
    problems = [p for per_doc in found for p in per_doc]
    return problems + cross_check([doc for doc, per_doc in zip(docs, found) if not per_doc])


def _load_all(text: str) -> list:
    """The documents of `text` but empty ones; a broken text raises PyYAML's own error."""
    if _CLOADER is not None:
        try:
            return [d for d in yaml.load_all(text, Loader=_CLOADER) if d is not None]
        except yaml.YAMLError:
            pass
    return [d for d in yaml.safe_load_all(text) if d is not None]


def _can_fork() -> bool:
    return ("fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and not multiprocessing.current_process().daemon)


def _check_parallel(text: str, starts: list[int], version: str, workers: int) -> list[Problem] | None:
    """validate_yaml in slices cut at document starts, or None when a slice does not parse (the
    whole text is then read again for the error)."""
    if text[:starts[0]].strip():
        return None        # something before the first '---': leave it to the serial reading
    chunks = min(len(starts), workers * _CHUNKS_PER_WORKER)
    cuts = [starts[len(starts) * i // chunks] for i in range(chunks)] + [len(text)]
    cuts[0] = 0
    global _JOB
    _JOB = ([text[a:b] for a, b in zip(cuts, cuts[1:])], version)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_check_slice, range(chunks)))
    finally:
        _JOB = None
    if any(r is None for r in results):
        return None
    docs = [doc for slice_docs, _ in results for doc in slice_docs]
    found = [per_doc for _, slice_found in results for per_doc in slice_found]
    # The processes numbered documents within their slice: the few with problems are checked
    # again under their number in the whole text.
    found = [_check_document(index, doc, version) if per_doc else per_doc
             for index, (doc, per_doc) in enumerate(zip(docs, found), start=1)]
    return _problems(docs, found)


def _check_slice(i: int) -> tuple[list, list[list[Problem]]] | None:
    assert _JOB is not None, "a checking process forked without its text"
    chunks, version = _JOB
    try:
        docs = _load_all(chunks[i])
    except yaml.YAMLError:
        return None
    return docs, [_check_document(index, doc, version) for index, doc in enumerate(docs, start=1)]


def _check_document(index: int, doc: object, version: str) -> list[Problem]:
    if not isinstance(doc, dict):
        return [Problem("", "", f"document {index}", f"expected a mapping, got {type(doc).__name__}")]
    kind, name = _kind_name(doc)
    missing = [key for key in ("apiVersion", "kind") if not isinstance(doc.get(key), str) or not doc.get(key)]
    if missing:
        return [Problem(kind, name, f"document {index}", f"missing {', '.join(missing)}")]
    try:
        _validate_strict(doc, version)
    except jsonschema.ValidationError as exc:
        path = ".".join(str(p) for p in exc.absolute_path) or f"document {index}"
        return [Problem(kind, name, path, exc.message)]
    except (SchemaNotFoundError, VersionNotSupportedError) as exc:
        return [Problem(kind, name, f"document {index}", exc.message)]
    return []


def _validate_strict(data: dict, desired_version: str) -> None:
    """kubernetes_validate.validate(data, desired_version, strict=True), step by step, with each
    schema read and its validator built once; raises the same errors (jsonschema's
    ValidationError, that kubernetes_validate wraps)."""
    if desired_version.startswith("v"):
        desired_version = desired_version[1:]
    versions = _all_versions()
    if major_minor(desired_version) > versions[-1]:
        raise VersionNotSupportedError(version=major_minor(desired_version))
    version = [v for v in versions if major_minor(v) <= major_minor(desired_version)][-1]
    api_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", data["apiVersion"])
    validator = _validator(f"v{version}-local-strict", f"{data['kind'].lower()}-{api_version}", desired_version)
    if validator is None:
        raise SchemaNotFoundError(version=major_minor(desired_version), kind=data["kind"],
                                  api_version=data["apiVersion"])
    validator.validate(data)


@lru_cache(maxsize=1)
def _all_versions() -> tuple[str, ...]:
    return tuple(all_versions())


@lru_cache(maxsize=64)
def _validator(schema_dir: str, name: str, desired_version: str):
    """The validator of one schema file; None when there is none. Raises VersionNotSupportedError
    as kubernetes_validate does (not remembered: it is raised again)."""
    try:
        schema = schema_contents(f"kubernetes-json-schema/{schema_dir}/{name}.json", desired_version)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(_definitions(schema_dir, desired_version)) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@lru_cache(maxsize=2)
def _definitions(schema_dir: str, desired_version: str):
    return schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", desired_version)


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
    named: dict[tuple[str, str], dict] = {}     # (name, namespace) -> the first Service of that name
    for s in services:
        named.setdefault((_kind_name(s)[1], _namespace(s)), s)
    for w in workloads:
        match = (w.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
        if match and not _selects(match, _pod_labels(w)):
            problems.append(Problem(w["kind"], _kind_name(w)[1], "spec.selector",
                                    "selector does not match the pod template's labels"))
        if w["kind"] == "StatefulSet":
            problems += _check_service_name(w, services, named)
    candidates = _label_index(workloads)
    for s in services:
        selector = s.get("spec", {}).get("selector") or {}
        if selector and not any(_selects(_pod_selector(selector, w), _pod_labels(w))
                                for w in candidates(_namespace(s), selector)):
            problems.append(Problem("Service", _kind_name(s)[1], "spec.selector",
                                    "selector matches the pods of no workload in the plan"))
    return problems + check_references(docs)


def _label_index(workloads: list[dict]):
    """A function (namespace, selector) -> the workloads in that namespace whose pod labels hold
    the selector's rarest pair (all of the namespace's when no pair can be looked up): a short
    list that holds every workload the selector matches, found without scanning them all."""
    by_label: dict[tuple, list[dict]] = defaultdict(list)
    in_namespace: dict[str, list[dict]] = defaultdict(list)
    for w in workloads:
        ns = _namespace(w)
        in_namespace[ns].append(w)
        for key, value in _pod_labels(w).items():
            try:
                by_label[(ns, key, value)].append(w)
            except TypeError:       # unhashable: equal to no value a selector can look up
                pass

    def candidates(namespace: str, selector: dict) -> list[dict]:
        best = in_namespace.get(namespace, [])
        for key, value in selector.items():
            # the pod-name label is left out of a StatefulSet's selector; None matches a missing label
            if key != POD_NAME_LABEL and value is not None:
                try:
                    holding = by_label.get((namespace, key, value), [])
                except TypeError:
                    continue
                if len(holding) < len(best):     # the rarest pair: each pair alone finds every match
                    best = holding
        return best
    return candidates


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

    candidates = _label_index([d for d in docs if d["kind"] in WORKLOAD_KINDS])
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
            if match and not any(_selects(match, _pod_labels(d)) for d in candidates(_namespace(doc), match)):
                problems.append(Problem("PodDisruptionBudget", _kind_name(doc)[1], "spec.selector",
                                        "selector matches the pods of no workload in the plan"))
    return problems


def _check_service_name(sts: dict, services: list[dict], named: dict[tuple[str, str], dict]) -> list[Problem]:
    name = _kind_name(sts)[1]
    wanted = sts.get("spec", {}).get("serviceName")
    if not wanted:
        return [Problem("StatefulSet", name, "spec.serviceName", "no serviceName: pods get no stable DNS names")]
    try:
        found = [named[(wanted, _namespace(sts))]] if (wanted, _namespace(sts)) in named else []
    except TypeError:
        found = [s for s in services if _kind_name(s)[1] == wanted and _namespace(s) == _namespace(sts)]
    for s in found[:1]:
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
