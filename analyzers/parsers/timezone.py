"""Section `timezone`: the host's time zone, for CronJob schedules that keep their wall clock.

Samples: ``Europe/Berlin`` (/etc/timezone, Debian), or the `ls -l /etc/localtime` line whose
link target ends in ``zoneinfo/America/New_York`` (RHEL, Alpine). Anything else reads as ''.
"""
from __future__ import annotations

import re

from analyzers.base import parser

_ZONE = re.compile(r"^[A-Za-z_]+(?:/[A-Za-z0-9_+\-]+){0,2}$")


@parser("timezone")
def parse(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    if "zoneinfo/" in line:
        line = line.rsplit("zoneinfo/", 1)[1].strip()
    return line if _ZONE.match(line) and len(line) <= 64 else ""
