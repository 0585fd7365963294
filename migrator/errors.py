"""The one exception tree of migrator. Every failure a user can cause or meet is one of these.

    MigratorError
    ├── InputError            bad input from a user or a file (names the field)
    │   ├── NotFound          a referenced record does not exist
    │   └── Conflict          the change clashes with other records (a bastion still in use)
    ├── CollectionError       a host could not be inventoried (kind says why)
    │   ├── ConnectError      unreachable, refused, DNS, connect timeout
    │   ├── AuthError         login refused, no usable key, sudo refused
    │   ├── HostKeyError      host key changed (or unverifiable)
    │   └── ProbeError        the probe failed, hung or returned unreadable output
    └── PlanError             a plan could not be built or validated
"""
from __future__ import annotations


class MigratorError(Exception):
    """Root of migrator's errors; `str(error)` is a message fit for a user."""

    kind = "error"


class InputError(MigratorError):
    kind = "invalid-input"

    def __init__(self, message: str, field: str | None = None, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.field = field
        self.errors = errors or ({field: message} if field else {})


class NotFound(InputError):
    kind = "not-found"


class Conflict(InputError):
    kind = "conflict"


class CollectionError(MigratorError):
    kind = "collection"


class ConnectError(CollectionError):
    kind = "unreachable"


class AuthError(CollectionError):
    kind = "auth"


class HostKeyError(CollectionError):
    kind = "host-key"


class ProbeError(CollectionError):
    kind = "probe"


class PlanError(MigratorError):
    kind = "plan"
