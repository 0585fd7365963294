"""Settings: defaults, then MIGRATOR_* environment variables, then the caller's mapping.

No IO here: paths are computed, never created, so importing or building an app is free
of side effects. Every setting is documented in docs/configuration.md.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping

from migrator.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    # SQLAlchemy URL; SQLite under instance/ by default, PostgreSQL for teams.
    "DATABASE_URL": None,
    # Where the default SQLite database and the credential key live.
    "INSTANCE_PATH": str(PROJECT_ROOT / "instance"),
    # Flask session signing key; generated per process when unset (sessions then end on restart).
    "SECRET_KEY": None,
    # Key that encrypts stored credentials (Fernet, urlsafe base64); else read from KEY_FILE.
    "CREDENTIAL_KEY": None,
    "CREDENTIAL_KEY_FILE": None,
    # SSH: seconds to open a connection, seconds for one command, bytes kept of one command.
    "SSH_CONNECT_TIMEOUT": 10.0,
    "SSH_COMMAND_TIMEOUT": 300.0,
    "SSH_MAX_OUTPUT": 64 * 1024 * 1024,
    # OpenSSH client config honoured for HostName, Port, User, IdentityFile.
    "SSH_CONFIG": str(Path("~/.ssh/config").expanduser()),
    # known_hosts consulted before pinning a host key on first use.
    "SSH_KNOWN_HOSTS": str(Path("~/.ssh/known_hosts").expanduser()),
    # Hosts scanned in parallel by one scan.
    "SCAN_WORKERS": 8,
    # Tries after a transient failure (timeout, reset, closed handshake), and the first wait in
    # seconds (doubled for each further try).
    "SCAN_RETRIES": 2,
    "SCAN_RETRY_BACKOFF": 2.0,
    # Where scans run: "thread" (inside the service, no other server) or "celery" (workers
    # started with `migrator worker`, sharing the database, jobs passed through CELERY_BROKER_URL).
    "JOBS": "thread",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    # Kubernetes version whose schemas validate plans (None: newest known).
    "KUBERNETES_VERSION": None,
}

_TYPES = {"SSH_CONNECT_TIMEOUT": float, "SSH_COMMAND_TIMEOUT": float, "SSH_MAX_OUTPUT": int,
          "SCAN_WORKERS": int, "SCAN_RETRIES": int, "SCAN_RETRY_BACKOFF": float}
# the least each number may be (1 unless said here): no NaN, no negative time or count
_MINIMUM = {"SSH_CONNECT_TIMEOUT": 0.1, "SSH_COMMAND_TIMEOUT": 0.1, "SCAN_RETRIES": 0, "SCAN_RETRY_BACKOFF": 0}


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge defaults, MIGRATOR_* environment variables and explicit overrides."""
    env = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = env.get(f"MIGRATOR_{key}")
        if raw is not None and raw != "":
            convert = _TYPES.get(key, str)
            try:
                settings[key] = convert(raw)
            except ValueError as exc:
                raise InputError(f"MIGRATOR_{key}={raw[:80]!r} is not a valid value: {exc}", key) from None
            if key in _TYPES and not (settings[key] >= _MINIMUM.get(key, 1) and math.isfinite(settings[key])):
                raise InputError(f"MIGRATOR_{key}={raw[:80]!r}: must be a number of at least "
                                 f"{_MINIMUM.get(key, 1)}", key)
    settings.update(overrides or {})
    if settings["JOBS"] not in ("thread", "celery"):
        raise InputError(f"MIGRATOR_JOBS={str(settings['JOBS'])[:40]!r}: use 'thread' or 'celery'", "JOBS")
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = "sqlite:///" + str(Path(settings["INSTANCE_PATH"]) / "migrator.db")
    return settings
