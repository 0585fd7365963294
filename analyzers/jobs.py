"""Cron entries to scheduled jobs; the OS's own housekeeping is told apart from application jobs."""
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


def scheduled_jobs(cron_files: Iterable) -> tuple[ScheduledJob, ...]:
    jobs = [ScheduledJob(schedule=e.schedule, user=e.user, command=e.command, source=f.path, line_no=e.line_no,
                         system=is_system_job(e.command))
            for f in cron_files for e in f.entries]
    return tuple(sorted(jobs, key=lambda j: (j.system, j.source, j.line_no)))
