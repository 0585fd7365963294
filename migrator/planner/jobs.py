"""Scheduled jobs (cron entries, systemd timers) to CronJobs: the schedule and time zone kept,
the command run by the same user, in the image of the application whose files it runs. Tasks the
VM runs once (cron @reboot, systemd Type=oneshot services) become Jobs.
"""
from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence

from analyzers.findings import HostFindings, ScheduledJob

from migrator.planner.images import placeholder_image
from migrator.planner.model import CRONJOB, JOB, PlannedWorkload, Schedule
from migrator.planner.names import dns1035, label_value
from migrator.planner.workloads import MANAGED_BY, NAME_MAX

DEFAULT_TIME_ZONE = "Etc/UTC"
PLACEHOLDER_SCHEDULE = "0 0 * * *"
MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_CRON_FIELD = re.compile(r"[0-9*/,\-A-Za-z?]+")
SYSTEMD_KEYWORDS = {
    "minutely": "* * * * *", "hourly": "0 * * * *", "daily": "0 0 * * *", "weekly": "0 0 * * 1",
    "monthly": "0 0 1 * *", "yearly": "0 0 1 1 *", "annually": "0 0 1 1 *", "quarterly": "0 0 1 1,4,7,10 *",
    "semiannually": "0 0 1 1,7 *",
}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_CALENDAR = re.compile(
    r"(?:(?P<dow>[A-Za-z]{3}(?:(?:,|\.\.)[A-Za-z]{3})*)\s+)?(?:\*-\*-\*\s+)?"
    r"(?P<h>\*|\d{1,2}(?:/\d{1,2}|(?:,\d{1,2})*)):(?P<m>\*|\d{1,2}(?:/\d{1,2}|(?:,\d{1,2})*))(?::(?P<s>00?))?")
SYSTEM_DIRS = frozenset({"/", "/usr", "/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/lib",
                         "/usr/local", "/usr/local/sbin", "/etc", "/tmp", "/var", "/root", "/home"})
INTERPRETERS = re.compile(r"(ba|da|z)?sh|python[0-9.]*|node|java|php[0-9.]*|perl|ruby|env|nice|ionice|flock|test|\["
                          r"|cd|exec|sudo|timeout|true|export|chronic")


def cron_schedule(text: str) -> str | None:
    """The schedule as a Kubernetes CronJob schedule, or None when it is not a simple one."""
    text = text.strip()
    if text in MACROS:
        return text
    fields = text.split()
    if len(fields) == 5 and all(_CRON_FIELD.fullmatch(f) for f in fields):
        return text
    if text.lower() in SYSTEMD_KEYWORDS:
        return SYSTEMD_KEYWORDS[text.lower()]
    found = _CALENDAR.fullmatch(text)
    if not found:
        return None
    dow = "*"
    if found.group("dow"):
        try:
            dow = ",".join("-".join(str(_DAYS[d.lower()]) for d in part.split(".."))
                           for part in found.group("dow").split(","))
        except KeyError:
            return None
    return f"{_cron_field(found.group('m'))} {_cron_field(found.group('h'))} * * {dow}"


def _cron_field(value: str) -> str:
    if "/" in value:
        start, step = value.split("/")
        return f"*/{int(step)}" if int(start) == 0 else f"{int(start)}/{int(step)}"
    return value if value == "*" else ",".join(str(int(v)) for v in value.split(","))


def plan_jobs(jobs: Sequence[tuple[str, ScheduledJob]], hosts: Sequence[tuple[str, HostFindings]],
              workloads: Sequence[PlannedWorkload]) -> list[PlannedWorkload]:
    """One CronJob per application job (the estate already left the OS's housekeeping out)."""
    findings = dict(hosts)
    return [plan_job(host, job, findings.get(host), workloads) for host, job in jobs]


def plan_job(host: str, job: ScheduledJob, findings: HostFindings | None,
             workloads: Sequence[PlannedWorkload]) -> PlannedWorkload:
    notes: list[str] = []
    cron = None if job.oneshot else cron_schedule(job.schedule)
    suspend = cron is None and not job.oneshot
    if job.oneshot:
        notes.append(f"runs once ({job.schedule or 'a oneshot service'} on the VM): a Job; run it again "
                     "by deleting and re-applying it")
    elif cron is None:
        cron = PLACEHOLDER_SCHEDULE
        notes.append(f"schedule {job.schedule!r} has no simple cron form: placeholder {cron!r}, suspended; "
                     "set the schedule and resume it")
    time_zone = findings.timezone if findings is not None else ""
    if not time_zone and not job.oneshot:
        time_zone = DEFAULT_TIME_ZONE
        notes.append(f"time zone of {host} unknown: {DEFAULT_TIME_ZONE}; set the host's zone if it differs")
    name = dns1035(f"{job_name(job.command)}-{host}", NAME_MAX)
    owner, app = _owner(host, job.command, findings, workloads)
    if owner is not None:
        image = owner.image
        notes.append(f"runs in the image of {owner.name}: the command is under {app.cwd or os.path.dirname(app.exe)}")
        if owner.volumes:
            notes.append(f"the job runs in its own pod: files {owner.name} keeps on its volume are not there")
    else:
        image = placeholder_image(name)
        notes.append(f"the command belongs to no planned application: build an image that has it and "
                     f"replace {image}")
    uid = 0 if job.user == "root" else next((a.uid for a in (findings.applications if findings else ())
                                             if a.user == job.user and a.uid is not None), None)
    if uid is None:
        notes.append(f"uid of user {job.user!r} unknown: set runAsUser")
    source = f"{job.source}:{job.line_no}" if job.line_no else job.source
    return PlannedWorkload(
        id=f"{host}/job:{source}", name=name, kind=JOB if job.oneshot else CRONJOB, host=host,
        app_key=f"job:{source}",
        software=owner.software if owner else "", image=image, command=("/bin/sh", "-c", job.command),
        run_as_user=uid, memory_limit="128Mi",
        labels={"app.kubernetes.io/name": label_value(owner.software if owner and owner.software else "job"),
                "app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": MANAGED_BY},
        annotations={"migrator.io/source-host": host, "migrator.io/source-app": f"job:{source}",
                     "migrator.io/evidence": f"{source}: {job.schedule} {job.user} {job.command}"[:300]},
        notes=tuple(notes), hosts=(host,), category="job",
        schedule=None if job.oneshot else Schedule(cron, time_zone, suspend, job.schedule))


def job_name(command: str) -> str:
    """A name for a job: the program or script it runs ('/opt/web/report.py --x' -> 'report')."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    previous = ""
    for word in words:
        after_cd, previous = previous == "cd", word
        if ("=" in word and not word.startswith("/")) or after_cd:
            continue
        program = os.path.basename(word)
        if not program or INTERPRETERS.fullmatch(program) or word.startswith("-") or word in ("&&", "||", ";", "|"):
            continue
        return os.path.splitext(program)[0] or "job"
    return "job"


def _paths(command: str) -> list[str]:
    return re.findall(r"(?<![\w])/[\w.+@/-]+", command)


def _owner(host: str, command: str, findings: HostFindings | None, workloads: Sequence[PlannedWorkload]):
    """The planned workload of the application whose directory holds a path the command runs."""
    if findings is None:
        return None, None
    paths = _paths(command)
    for app in findings.applications:
        dirs = {d.rstrip("/") for d in (app.cwd, os.path.dirname(app.exe)) if d and d.rstrip("/") not in SYSTEM_DIRS
                and d not in SYSTEM_DIRS}
        if not any(p.startswith(d + "/") for p in paths for d in dirs if d):
            continue
        ref = f"{host}/{app.key}"
        workload = next((w for w in workloads if ref in w.refs), None)
        if workload is not None:
            return workload, app
    return None, None
