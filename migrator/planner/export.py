"""A plan as files: one multi-document YAML, or a Kustomize tree with the generated Dockerfiles
and a NOTES.md for the reviewer (what, why, waves, data steps, what to finish by hand).

The Kustomize tree has one directory per migration wave (each a kustomization of its own, so a
wave can be built and applied alone: `kubectl kustomize wave-1`), one file per workload inside,
and a root kustomization.yaml that builds them all.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from migrator.planner.model import Plan
from migrator.planner.objects import (default_deny, has_default_deny, has_namespace, namespace, to_objects,
                                      workload_objects)
from migrator.planner.render import render_yaml

KUSTOMIZATION_HEADER = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
POLICY_FILE = "network-policy.yaml"
NAMESPACE_FILE = "namespace.yaml"
NOTES_FILE = "NOTES.md"


# Below this many workloads starting processes costs more than rendering in parallel saves.
PARALLEL_MIN_WORKLOADS = 2000
_CHUNKS_PER_WORKER = 4      # several slices per process even out slices that render slower
_JOB: Plan | None = None    # the plan being rendered, for the forked processes (they inherit it)


def export_plan(plan: Plan, workers: int | None = None) -> str:
    """The plan's objects as one multi-document YAML (to_objects' order).

    workers: processes rendering slices of the workloads at once; by default one per core (at
    most 4) for a plan of PARALLEL_MIN_WORKLOADS workloads or more. The text is the same whatever
    the number. The processes are forked, so this renders serially in a process that runs other
    threads (a web server's: forking one is unsafe) or cannot start processes.
    """
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if len(plan.workloads) >= PARALLEL_MIN_WORKLOADS else 1
    workers = min(workers, len(plan.workloads))
    if workers <= 1 or not _can_fork():
        return render_yaml(to_objects(plan))
    return _render_parallel(plan, workers)


def _can_fork() -> bool:
    return ("fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and not multiprocessing.current_process().daemon)


def _render_parallel(plan: Plan, workers: int) -> str:
    # to_objects' order: the plan's own objects first (rendered here), then each workload's objects,
    # slices of consecutive workloads rendered by the processes and joined in order. Every document
    # starts with '---' and ends with its line break, so joined texts are the text of all documents.
    head = [namespace(plan)] if has_namespace(plan) else []
    if has_default_deny(plan):
        head.append(default_deny(plan))
    count = len(plan.workloads)
    chunks = min(count, workers * _CHUNKS_PER_WORKER)
    bounds = [count * i // chunks for i in range(chunks + 1)]
    global _JOB
    _JOB = plan
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            texts = list(pool.map(_render_slice, bounds[:-1], bounds[1:]))
    finally:
        _JOB = None
    return render_yaml(head) + "".join(texts)


def _render_slice(start: int, stop: int) -> str:
    plan = _JOB
    assert plan is not None, "a rendering process forked without its plan"
    return render_yaml([o for w in plan.workloads[start:stop] for o in workload_objects(w, plan)])


def _kustomization(resources: list[str]) -> str:
    return KUSTOMIZATION_HEADER + "resources:\n" + "".join(f"- {r}\n" for r in resources)


def export_kustomize(plan: Plan) -> dict[str, str]:
    """path -> text of every file of the tree (paths relative to its root, '/' separated)."""
    files: dict[str, str] = generated_files(plan)
    root: list[str] = []
    if has_namespace(plan):
        # In the root, first: a wave built alone (`kubectl kustomize wave-2`) needs it applied before.
        files[NAMESPACE_FILE] = render_yaml([namespace(plan)])
        root.append(NAMESPACE_FILE)
    if has_default_deny(plan):
        files[POLICY_FILE] = render_yaml([default_deny(plan)])
        root.append(POLICY_FILE)
    wave_of = {name: i for i, wave in enumerate(plan.waves, start=1) for name in wave}
    waves: dict[int, list[str]] = {}
    for w in plan.workloads:
        wave = wave_of.get(w.name, max(wave_of.values(), default=1))
        path = f"wave-{wave}/{w.name}.yaml"
        files[path] = render_yaml(workload_objects(w, plan))
        waves.setdefault(wave, []).append(f"{w.name}.yaml")
    for wave in sorted(waves):
        files[f"wave-{wave}/kustomization.yaml"] = _kustomization(waves[wave])
        root.append(f"wave-{wave}")
    files["kustomization.yaml"] = _kustomization(root)
    return dict(sorted(files.items()))


def dockerfile_path(name: str) -> str:
    return f"dockerfiles/{name}/Dockerfile"


def generated_files(plan: Plan) -> dict[str, str]:
    """The files besides the manifests, path -> text: each generated Dockerfile
    (dockerfiles/NAME/Dockerfile) and NOTES.md. Also part of the Kustomize tree."""
    files = {dockerfile_path(w.name): w.dockerfile for w in plan.workloads if w.dockerfile}
    files[NOTES_FILE] = notes_markdown(plan)
    return dict(sorted(files.items()))


def notes_markdown(plan: Plan) -> str:
    """The reviewer's notes: waves, plan notes, each workload's notes, and the data steps."""
    lines = [f"# Migration plan for namespace `{plan.namespace}`", "",
             "Generated by migrator. Every object is annotated with the host and application it replaces "
             "(`migrator.io/source-*`) and why (`migrator.io/evidence`).", ""]
    if has_namespace(plan):
        lines += [f"The plan creates namespace `{plan.namespace}` ({NAMESPACE_FILE} in the Kustomize tree): apply "
                  "it first when applying one wave at a time.", ""]
    if plan.unmatched_overrides:
        lines += ["**Overrides that match no application** (check the ids): "
                  + ", ".join(f"`{o}`" for o in plan.unmatched_overrides), ""]
    lines += ["## Waves", ""]
    for i, wave in enumerate(plan.waves, start=1):
        lines.append(f"{i}. {', '.join(f'`{n}`' for n in wave)}")
    if plan.notes:
        lines += ["", "## Plan notes", ""] + [f"- {n}" for n in plan.notes]
    lines += ["", "## Workloads", ""]
    for w in plan.workloads:
        sources = ", ".join(w.refs) or w.id
        lines.append(f"### {w.kind} `{w.name}`")
        lines += ["", f"From {sources}. Image `{w.image}`."]
        if w.notes:
            lines += [""] + [f"- {n}" for n in w.notes]
        lines.append("")
    if plan.data_steps:
        lines += ["## Data migration", ""]
        for step in plan.data_steps:
            lines += [f"### `{step.workload}` ordinal {step.ordinal} from {step.source} ({step.method})", ""]
            lines += [f"{i}. {s}" for i, s in enumerate(step.steps, start=1)] + [""]
    return "\n".join(lines).rstrip() + "\n"
