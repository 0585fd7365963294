"""build_plan: findings of many hosts (and stored overrides) in, a Plan out. Pure.

The estate is analysed first (analyzers.estate): a cluster of hosts becomes ONE StatefulSet, an
agent found on most hosts ONE DaemonSet, the same stateless app on several hosts ONE Deployment
with replicas, every other application its own workload ("stateful" a StatefulSet, the rest a
Deployment), and every scheduled job a CronJob. Then the estate's connections decide Services,
routes, startup waits and network policies (network.py). Every decision that is a guess leaves a
note on the workload or the plan.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from analyzers.estate import EstateFindings, analyze_estate
from analyzers.findings import HostFindings

from migrator.planner import configs, groups, jobs, network
from migrator.planner.datasteps import data_steps
from migrator.planner.images import with_command
from migrator.planner.model import BATCH, EXPOSURES, KINDS, Plan, PlannedWorkload
from migrator.planner.names import dns1035
from migrator.planner.rewrite import reachable_address
from migrator.planner.workloads import NAME_MAX, exposed_ports, plan_workload, volume_size

__all__ = ["build_plan", "plan_workload", "exposed_ports", "volume_size", "apply_override", "OVERRIDE_KEYS"]

OVERRIDE_KEYS = ("kind", "replicas", "image", "storage_size", "storage_class", "exclude", "expose", "run_as_user")
_QUANTITY = re.compile(r"[1-9][0-9]*(Ki|Mi|Gi|Ti|Pi)")


def build_plan(hosts: Sequence[tuple[str, HostFindings]], overrides: Mapping[str, Mapping] | None = None,
               namespace: str = "default", network_policies: bool = True, now: datetime | None = None) -> Plan:
    """The plan for `hosts` ((host name, findings) pairs); the same input gives the same plan.

    overrides maps a workload id ("<host>/<app key>"; for a cluster, daemon or replicated app any
    member's id) to changes: kind, replicas, image, storage_size, storage_class, exclude, expose,
    run_as_user. An invalid override raises ValueError naming it and the allowed values; one for an
    application no longer found is noted on the plan and listed in Plan.unmatched_overrides.
    `now` (aware) judges certificate expiry; by default each host's scan time does, so the plan
    depends on the findings alone.
    """
    overrides = dict(overrides or {})
    for wid, changes in overrides.items():
        _check_override(wid, changes)
    hosts = sorted(hosts, key=lambda pair: pair[0])
    estate = analyze_estate(hosts)
    findings = dict(hosts)
    notes: list[str] = [f"{host}: not seen by the scan: {', '.join(f.missing)}" for host, f in hosts if f.missing]
    notes += [f"startup cycle between {', '.join(c)}: they start in the same wave" for c in estate.cycles]
    taken: set[str] = set()
    workloads: list[PlannedWorkload] = []
    exposure: dict[str, str] = {}
    for unit in groups.units(hosts, estate):
        workload = _plan_unit(unit, estate)
        changes: dict = {}
        excluded_by = []
        for ref in dict.fromkeys((workload.id,) + workload.refs):
            found = overrides.pop(ref, {})
            changes.update(found)
            if found.get("exclude"):
                excluded_by.append(ref)
        if changes.get("exclude"):
            others = [m for m in dict.fromkeys((workload.id,) + workload.refs) if m not in excluded_by]
            whole = f", and with it {', '.join(others)} (one {workload.kind}: an override of any member is the " \
                    "whole workload's)" if others else ""
            notes.append(f"{', '.join(excluded_by)}: excluded by override{whole}")
            continue
        if changes:
            workload = apply_override(workload, changes)
        workload = _named(workload, taken)
        members = [estate.apps[r] for r in workload.refs if r in estate.apps] or [unit.first]
        workload = configs.with_configs(workload, members, findings, now)
        if "replicas" in changes:
            workload, warnings = groups.resized(workload)
            notes += warnings
        if "expose" in changes:
            exposure[workload.name] = changes["expose"]
        workloads.append(workload)
    for job_workload in jobs.plan_jobs(estate.jobs, hosts, workloads):
        changes = overrides.pop(job_workload.id, {})
        if changes.get("exclude"):
            notes.append(f"{job_workload.id}: excluded by override")
            continue
        if changes:
            job_workload = apply_override(job_workload, changes)
        workloads.append(_named(job_workload, taken))
    unmatched = tuple(sorted(overrides))
    for wid in unmatched:
        notes.append(f"{wid}: override for an application that was not found")
    workloads = network.connect(workloads, estate, hosts, namespace, exposure, network_policies)
    # The image and the pod run the same command: the Dockerfile gets the rewritten arguments.
    workloads = [replace(w, dockerfile=with_command(w.dockerfile, w.command, w.args)) if w.dockerfile else w
                 for w in workloads]
    addresses = {host: reachable_address(findings) for host, findings in hosts}
    return Plan(namespace=namespace, workloads=tuple(workloads), notes=tuple(notes),
                network_policies=network_policies, data_steps=data_steps(workloads, namespace, addresses),
                waves=network.plan_waves(workloads), unmatched_overrides=unmatched)


def _plan_unit(unit: groups.Unit, estate: EstateFindings) -> PlannedWorkload:
    if unit.kind == groups.CLUSTER:
        return groups.cluster_workload(unit, estate)
    if unit.kind == groups.DAEMON:
        return groups.daemon_workload(unit, estate)
    if unit.kind == groups.REPLICAS:
        return groups.replicated_workload(unit, estate)
    host, app = estate.apps.get(unit.refs[0], unit.first)
    return plan_workload(host, app)


def _named(workload: PlannedWorkload, taken: set[str]) -> PlannedWorkload:
    name = _unique(workload.name, taken)
    return replace(workload, name=name, labels={**workload.labels, "app.kubernetes.io/instance": name})


def apply_override(workload: PlannedWorkload, changes: Mapping) -> PlannedWorkload:
    applied = [key for key in OVERRIDE_KEYS if key in changes and key != "exclude"]
    if "kind" in changes and workload.kind not in BATCH:
        workload = replace(workload, kind=changes["kind"])
    if "replicas" in changes:
        workload = replace(workload, replicas=changes["replicas"])
    if "image" in changes:
        workload = replace(workload, image=changes["image"])
    if "run_as_user" in changes:
        workload = replace(workload, run_as_user=changes["run_as_user"])
    if "storage_size" in changes:
        size = changes["storage_size"]
        size = f"{size}Gi" if isinstance(size, int) else size
        workload = replace(workload, volumes=tuple(replace(v, size=size) for v in workload.volumes))
    if "storage_class" in changes:
        workload = replace(workload, volumes=tuple(replace(v, storage_class=changes["storage_class"])
                                                   for v in workload.volumes))
    if not applied:
        return workload
    return replace(workload, annotations={**workload.annotations, "migrator.io/overridden": ",".join(applied)})


def _check_override(wid: str, changes: Mapping) -> None:
    if not isinstance(changes, Mapping):
        raise ValueError(f"override {wid!r}: expected a mapping, got {type(changes).__name__}")
    unknown = sorted(set(changes) - set(OVERRIDE_KEYS))
    if unknown:
        raise ValueError(f"override {wid!r}: unknown key {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(OVERRIDE_KEYS)}")
    for key, value in changes.items():
        check, allowed = _CHECKS[key]
        if not check(value):
            raise ValueError(f"override {wid!r}: invalid {key}: {value!r}; allowed: {allowed}")


def _whole(v, least: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= least


# key -> (check, what is allowed, as the error message says it)
_CHECKS = {
    "kind": (lambda v: v in KINDS, f"one of {', '.join(KINDS)}"),
    "replicas": (lambda v: _whole(v, 0), "a whole number >= 0"),
    "image": (lambda v: isinstance(v, str) and v.strip() == v and bool(v),
              "an image reference such as 'redis:7.2' (not empty, no surrounding spaces)"),
    "storage_size": (lambda v: _whole(v, 1) or (isinstance(v, str) and bool(_QUANTITY.fullmatch(v))),
                     "a whole number of GiB (20) or a quantity such as '20Gi' (units Ki, Mi, Gi, Ti, Pi)"),
    "storage_class": (lambda v: v is None or (isinstance(v, str) and bool(v)),
                      "a storage class name, or null for the cluster's default"),
    "exclude": (lambda v: isinstance(v, bool), "true or false"),
    "expose": (lambda v: v in EXPOSURES, f"one of {', '.join(EXPOSURES)}"),
    "run_as_user": (lambda v: v is None or _whole(v, 0),
                    "a uid (a whole number >= 0), or null for the image's own user"),
}


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        suffix = f"-{n}"
        candidate = dns1035(name, NAME_MAX - len(suffix)).rstrip("-") + suffix
    taken.add(candidate)
    return candidate
