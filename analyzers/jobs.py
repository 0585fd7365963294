"""Cron entries and systemd timers to scheduled jobs; the OS's own housekeeping is told apart."""
from __future__ import annotations

import re
from typing import Iterable

from analyzers.findings import ScheduledJob

# Commands Debian, Ubuntu and RHEL ship in their own cron files: not the estate's workloads.
_SYSTEM_COMMANDS = re.compile(
    r"e2scrub_all|run-parts|anacron|/usr/lib/php/sessionclean|debian-sa1|sa1 |popularity-contest"
    r"|/usr/sbin/logrotate|/usr/lib/sysstat/|mdadm/checkarray|/usr/sbin/ntpdate-debian|0anacron")


def is_system_job(command: str) -> bool:
    return bool(_SYSTEM_COMMANDS.search(command))


# Timers the distributions ship (apt, logrotate, fstrim, ...), when found outside /lib.
_SYSTEM_TIMERS = re.compile(r"^(apt-daily|apt-daily-upgrade|logrotate|man-db|fstrim|e2scrub_all|dpkg-db-backup"
                            r"|systemd-tmpfiles-clean|motd-news|sysstat-.*|certbot|snapd\..*)\.timer$")


def timer_jobs(unit_files: Iterable) -> list[ScheduledJob]:
    """One job per .timer: its calendar (or monotonic) schedule and the service it starts."""
    units = {u.name: u for u in unit_files}
    jobs = []
    for unit in units.values():
        if not unit.name.endswith(".timer"):
            continue
        schedule = " ".join(unit.get("Timer", "OnCalendar")) or " ".join(
            f"{key}={value}" for key in ("OnBootSec", "OnUnitActiveSec", "OnUnitInactiveSec", "OnActiveSec")
            for value in unit.get("Timer", key))
        target = (unit.get("Timer", "Unit") or (unit.name[:-len(".timer")] + ".service",))[-1]
        service = units.get(target)
        command = service.exec_start[-1] if service is not None and service.exec_start else target
        user = (service.user if service is not None else "") or "root"
        jobs.append(ScheduledJob(schedule=schedule, user=user, command=command, source=unit.path,
                                 system=bool(_SYSTEM_TIMERS.match(unit.name)) or is_system_job(command)))
    return jobs


def oneshot_jobs(unit_files: Iterable) -> list[ScheduledJob]:
    """Type=oneshot services in /etc or /run that no timer starts: tasks that run once at boot."""
    units = list(unit_files)
    timed = {(u.get("Timer", "Unit") or (u.name[:-len(".timer")] + ".service",))[-1]
             for u in units if u.name.endswith(".timer")}
    jobs = []
    for unit in units:
        if (not unit.name.endswith(".service") or unit.name in timed or not unit.exec_start
                or unit.get("Service", "Type")[-1:] != ("oneshot",) or not unit.path.startswith(("/etc/", "/run/"))):
            continue
        command = " && ".join(unit.exec_start)
        jobs.append(ScheduledJob(schedule="", user=unit.user or "root", command=command, source=unit.path,
                                 system=is_system_job(command), oneshot=True))
    return jobs


def scheduled_jobs(cron_files: Iterable, unit_files: Iterable = ()) -> tuple[ScheduledJob, ...]:
    jobs = [ScheduledJob(schedule=e.schedule, user=e.user, command=e.command, source=f.path, line_no=e.line_no,
                         system=is_system_job(e.command), oneshot=e.schedule == "@reboot")
            for f in cron_files for e in f.entries]
    jobs += timer_jobs(unit_files)
    jobs += oneshot_jobs(unit_files)
    return tuple(sorted(jobs, key=lambda j: (j.system, j.source, j.line_no)))
