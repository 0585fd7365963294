"""Text from hosts made safe to show: no control characters (ANSI escapes, NUL, bell) reach a
terminal, a log line or a page, and one-line fields stay on one line."""
from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NEWLINES = re.compile(r"[\r\n\t]+")


def printable(text: str, limit: int = 2000) -> str:
    """One line: control characters become U+FFFD, newlines and tabs a space, at most `limit` chars."""
    cleaned = _CONTROL.sub("\ufffd", _NEWLINES.sub(" ", str(text)))
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 1] + "\u2026"
