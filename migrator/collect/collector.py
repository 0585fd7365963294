"""Collection over an open session: the probe (exec 1) and the size of state paths (exec 2).

Both commands are fixed strings. Nothing from a user or a host is interpolated into them:
the probe reads its nonce as an argument we generate, and the measurement reads the paths
to measure as data on its standard input.
"""
from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Protocol

from migrator.errors import AuthError, ProbeError

# Exec 2. Reads the probe's nonce, then "U PATH" (measure disk use) and "C PATH" (read a TLS
# certificate) lines on stdin, U lines first. Prints two sections framed like the probe's:
# path_usage ("KIB<TAB>FILES<TAB>PATH", "-" when unreadable) and certificates (only the
# BEGIN/END CERTIFICATE blocks of each file, so a private key in the same file never leaves).
MEASURE_SCRIPT = (
    'LC_ALL=C; export LC_ALL; '
    'if command -v timeout >/dev/null 2>&1; then T="timeout -s KILL 60"; else T=""; fi; '
    'IFS= read -r n || exit 0; M="@@$n@@"; cur=u; '
    'printf "\\n%s begin path_usage\\n" "$M"; '
    'while IFS= read -r line; do '
    'k=${line%% *}; p=${line#* }; '
    'if [ "$k" = C ] && [ "$cur" = u ]; then '
    'printf "\\n%s rc path_usage 0\\n\\n%s end path_usage\\n\\n%s begin certificates\\n" "$M" "$M" "$M"; cur=c; fi; '
    'if [ "$k" = U ]; then '
    '[ -e "$p" ] || { printf "%s\\t%s\\t%s\\n" - - "$p"; continue; }; '
    'kb=$($T du -skx -- "$p" 2>/dev/null | cut -f1); '
    'nf=$($T find "$p" -xdev -type f 2>/dev/null | wc -l); '
    'printf "%s\\t%s\\t%s\\n" "${kb:--}" "$(echo $nf)" "$p"; '
    'elif [ "$k" = C ] && [ -f "$p" ] && [ -r "$p" ]; then '
    'printf "\\n%s file %s\\n" "$M" "$p"; '
    '$T sed -n "/^-----BEGIN CERTIFICATE-----/,/^-----END CERTIFICATE-----/p" "$p" 2>/dev/null | head -c 65536; '
    'fi; done; '
    'if [ "$cur" = u ]; then printf "\\n%s rc path_usage 0\\n\\n%s end path_usage\\n" "$M" "$M"; '
    'else printf "\\n%s rc certificates 0\\n\\n%s end certificates\\n" "$M" "$M"; fi; '
    'printf "\\n%s done\\n" "$M"'
)
MAX_MEASURED_PATHS = 200


class Session(Protocol):
    username: str

    def run(self, command: str, stdin: bytes = b"", *, timeout: float = ..., max_bytes: int = ...): ...


@dataclass(frozen=True)
class ProbeRun:
    nonce: str
    output: bytes
    stderr: bytes
    exit_status: int | None
    truncated: bool
    seconds: float


@lru_cache(maxsize=1)
def probe_script() -> bytes:
    """probe.sh as sent: without its comment lines (a third of it), which every host would
    otherwise receive and its shell read for nothing."""
    text = resources.files("migrator.collect").joinpath("probe.sh").read_bytes()
    return b"".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith(b"#"))


def _become(command: str, username: str, become: str) -> str:
    if become == "sudo" and username != "root":
        return "sudo -n " + command
    return command


def run_probe(session: Session, *, become: str = "none", timeout: float = 300.0,
              max_bytes: int = 64 * 1024 * 1024) -> ProbeRun:
    """Send the probe on stdin to `sh -s` over one exec channel and return its raw output."""
    nonce = secrets.token_hex(12)
    command = _become(f"sh -s -- {nonce}", session.username, become)
    result = session.run(command, probe_script(), timeout=timeout, max_bytes=max_bytes)
    if become == "sudo" and result.exit_status == 1 and not result.stdout:
        detail = result.stderr.decode("utf-8", "replace").strip()[:300]
        raise AuthError(f"sudo refused to run the probe without a password: {detail or 'no detail'}")
    if not result.stdout:
        detail = result.stderr.decode("utf-8", "replace").strip()[:300]
        raise ProbeError(f"the probe printed nothing (exit status {result.exit_status}): {detail or 'no detail'}")
    return ProbeRun(nonce, result.stdout, result.stderr, result.exit_status, result.truncated, result.seconds)


def measure_paths(session: Session, paths: list[str], nonce: str, *, certificates: list[str] = (),
                  become: str = "none", timeout: float = 300.0) -> bytes:
    """Disk use and file count of each path and the certificate blocks of each certificate file,
    in one exec; the paths travel as data on stdin, framed output comes back with `nonce`."""
    def clean(items):
        return [p for p in dict.fromkeys(items) if p.startswith("/") and "\n" not in p and "\0" not in p]
    paths, certificates = clean(paths)[:MAX_MEASURED_PATHS], clean(certificates)[:MAX_MEASURED_PATHS]
    if not paths and not certificates:
        return b""
    command = _become("sh -c " + shlex.quote(MEASURE_SCRIPT), session.username, become)
    lines = [nonce] + [f"U {p}" for p in paths] + [f"C {p}" for p in certificates]
    stdin = "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")
    return session.run(command, stdin, timeout=timeout, max_bytes=4 * 1024 * 1024).stdout
