"""What the page views share: the database, the credential cipher, plain-words hints for scan errors."""
from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from migrator import get_db
from migrator.credentials import CredentialCipher


def db():
    return get_db(current_app)


def cipher() -> CredentialCipher:
    return CredentialCipher(current_app.config)


# What to do about a failed host scan, by the error's kind (migrator.errors); the error itself is
# already in plain words.
HINTS = {
    "unreachable": "Check the address and port, and that this server can reach the host (firewall, VPN).",
    "auth": "Check the user name and the key or password (the host's, its credential's or its group's); "
            "a non-root user needs sudo without a password and the sudo option.",
    "host-key": "The host presents another SSH key than the one pinned. If the change was deliberate, an "
                "admin accepts the new key; otherwise find out why before scanning again.",
    "probe": "The host answered but the read-only probe failed; the error says which step. Scanning again "
             "may help; otherwise record the host on a machine that reaches it (migrator record).",
    "interrupted": "The service stopped during the scan: scan the host again.",
    "cancelled": "The scan was cancelled.",
}


def hint(kind: str | None) -> str:
    return HINTS.get(kind or "", "") if kind else ""


def error_page(title: str, message: str, status: int):
    return render_template("error.html", title=title, message=message), status


def form_value(form: Any, name: str, limit: int = 4096) -> str:
    return (form.get(name) or "").strip()[:limit]


def size(n: int | float | None) -> str:
    if n is None:
        return "not measured"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
