"""Section `crontabs`: /etc/crontab, /etc/cron.d/* and the spool files, as sub-records.

Sample (``MARK`` is `analyzers.probe_output.MARK`)::

    MARK file /etc/cron.d/backup
    MAILTO=""
    30 2 * * * root /usr/local/bin/backup --full
    MARK file /var/spool/cron/crontabs/app
    @daily /opt/app/bin/cleanup

/etc/crontab and /etc/cron.d/* have a user column; spool files do not (the user is the file
name). `NAME=value` lines are variables ('=' inside a command is not: a schedule line starts
with a digit, '*' or '@'). Specials: @reboot keeps empty time fields; @yearly, @annually,
@monthly, @weekly, @daily, @midnight, @hourly fill them with their expansion.
`crontab(text, user)` reads `crontab -l` output. Naturally noisy (cron skips lines it
cannot read): such lines are skipped.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from analyzers.base import parser
from analyzers.probe_output import split_records

SPECIALS = {"@reboot": ("", "", "", "", ""), "@yearly": ("0", "0", "1", "1", "*"),
            "@annually": ("0", "0", "1", "1", "*"), "@monthly": ("0", "0", "1", "*", "*"),
            "@weekly": ("0", "0", "*", "*", "0"), "@daily": ("0", "0", "*", "*", "*"),
            "@midnight": ("0", "0", "*", "*", "*"), "@hourly": ("0", "*", "*", "*", "*")}
_VAR_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_FIELD_RE = re.compile(r"^[0-9A-Za-z*/,\-~]+$")


@dataclass(frozen=True)
class CronEntry:
    schedule: str
    minute: str
    hour: str
    day_of_month: str
    month: str
    day_of_week: str
    user: str
    command: str
    line_no: int


@dataclass(frozen=True)
class CronFile:
    path: str
    user: str
    variables: dict = field(default_factory=dict, hash=False)
    entries: tuple[CronEntry, ...] = ()


def has_user_column(path: str) -> bool:
    return path == "/etc/crontab" or path.startswith("/etc/cron.d/")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_cron(path: str, text: str, user_column: bool, user: str = "") -> CronFile:
    variables: dict[str, str] = {}
    entries: list[CronEntry] = []
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line[0] not in "0123456789*@":
            match = _VAR_RE.match(line)
            if match:
                variables[match.group(1)] = _unquote(match.group(2))
            continue
        if line.startswith("@"):
            parts = line.split(None, 2 if user_column else 1)
            if parts[0] not in SPECIALS or len(parts) < (3 if user_column else 2):
                continue
            schedule, times = parts[0], SPECIALS[parts[0]]
        else:
            parts = line.split(None, 6 if user_column else 5)
            if len(parts) < (7 if user_column else 6) or not all(_FIELD_RE.match(p) for p in parts[:5]):
                continue
            times = tuple(parts[:5])
            schedule = " ".join(times)
            parts = [schedule] + parts[5:]
        who = parts[1] if user_column else user
        entries.append(CronEntry(schedule, *times, user=who, command=parts[-1], line_no=line_no))
    return CronFile(path, user, variables, tuple(entries))


def crontab(text: str, user: str = "") -> CronFile:
    """`crontab -l [-u user]` output: a spool file without a user column."""
    return parse_cron("", text, False, user)


@parser("crontabs")
def parse(text: str) -> tuple[CronFile, ...]:
    files = []
    for header, body in split_records(text):
        if not header.startswith("file "):
            continue
        path = header[5:]
        system = has_user_column(path)
        files.append(parse_cron(path, body, system, "" if system else os.path.basename(path)))
    return tuple(files)
