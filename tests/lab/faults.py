"""Fault-injection services for lab VMs (issue 9): hosts that lack tools, drop the connection in the
middle of the probe's output, or take longer than the scan allows.

    busybox      the VM sees busybox and nothing else: /usr/bin and /usr/sbin hold only busybox's
                 applets (and /usr/sbin/sshd, so the running sshd can start its sessions), /usr/local
                 is empty; root's and the lab users' login shell is /bin/sh (busybox ash). No ss,
                 systemctl, dpkg-query, getent, python. It serves a page with busybox httpd on 8088.
    tools        an overlay over /usr/bin: options `hide` (tools that are not there, e.g.
                 ["dpkg-query", "systemctl"]) and `slow` ({"dpkg-query": 600}: that tool hangs so many
                 seconds before answering, like a tool reading a dead NFS mount). The rest of the system
                 is untouched.
    sshfault     every SSH command goes through a wrapper (sshd ForceCommand). Option `mode`:
                   "drop"   the command's first `bytes` (default 20000) bytes of output reach the
                            client, then the VM's sshd session is killed: the TCP connection drops
                            mid-output, with no exit status;
                   "stall"  the first `bytes` bytes arrive, then the output stops and the command
                            never ends (the client's time limit must end it).

Each one is a real process layout in the VM's own mount namespace, set up after sshd has started
where it matters; nothing on the machine running the lab changes.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .services import Service, http_get, register, tcp_probe

if TYPE_CHECKING:  # pragma: no cover
    from .lab import VMContext

BUSYBOX = "/bin/busybox"
BUSYBOX_PORT = 8088
SHELL_USERS = ("root", "mglab", "mgplain")


def _login_shell(ctx: "VMContext", shell: str) -> None:
    """Give the lab's login users `shell` in the VM's own /etc/passwd."""
    path = ctx.path("/etc/passwd")
    lines = []
    for line in path.read_text().splitlines():
        fields = line.split(":")
        if len(fields) == 7 and fields[0] in SHELL_USERS:
            fields[6] = shell
        lines.append(":".join(fields))
    path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------ busybox

def _busybox_applets() -> list[str]:
    out = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout
    return [a for a in out.split() if a and "/" not in a]


def _busybox_prepare(ctx: "VMContext") -> None:
    root = ctx.path("/opt/busybox")
    bindir, empty = root / "bin", root / "empty"
    for d in (bindir, empty):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)
    shutil.copy2(BUSYBOX, root / "busybox")
    shutil.copy2("/usr/sbin/sshd", root / "sshd")      # sshd re-executes itself for each connection
    for applet in _busybox_applets():
        (bindir / applet).symlink_to("/opt/busybox/busybox")
    (bindir / "sshd").symlink_to("/opt/busybox/sshd")
    _login_shell(ctx, "/bin/sh")
    www = ctx.path("/srv/www")
    www.mkdir(parents=True, exist_ok=True)
    (www / "index.html").write_text(f"busybox host {ctx.name}\n")


def _busybox_start(ctx: "VMContext") -> str:
    # /usr/bin last: until then /usr/bin/mount is util-linux's. /bin and /sbin are symlinks into /usr
    # on this machine (merged /usr); they are covered too when they are not.
    lines = ["# from here on this VM has busybox only"]
    for target in ("/usr/local/bin", "/usr/local/sbin"):
        lines.append(f"/usr/bin/mount --bind /opt/busybox/empty {target}")
    targets = ["/usr/sbin"] + [d for d in ("/bin", "/sbin") if not os.path.islink(d)] + ["/usr/bin"]
    for target in targets:
        lines.append(f"/usr/bin/mount --bind /opt/busybox/bin {target}")
    lines.append(f"httpd -f -p {BUSYBOX_PORT} -h /srv/www </dev/null >/dev/null 2>&1 &")
    return "\n".join(lines) + "\n"


def _busybox_ready(ctx: "VMContext") -> str | None:
    try:
        status, _ = http_get(ctx.address, BUSYBOX_PORT, "/")
    except OSError as exc:
        return f"port {BUSYBOX_PORT}: {exc.strerror or exc}"
    if status != 200:
        return f"port {BUSYBOX_PORT}: HTTP {status}"
    if ctx.lab.exec(ctx.name, ["/usr/bin/ss", "-V"], check=False).returncode == 0:
        return "/usr/bin/ss still visible"
    return None


register(Service(
    name="busybox", ports=(BUSYBOX_PORT,), prepare=_busybox_prepare, start=_busybox_start,
    ready=_busybox_ready, needs=(BUSYBOX, "/usr/sbin/sshd")))


# -------------------------------------------------------------------------------------- tools

def _tools_prepare(ctx: "VMContext") -> None:
    layer = ctx.path("/opt/mgf-tools/layer")
    layer.mkdir(parents=True, exist_ok=True)
    layer.chmod(0o755)
    for tool in ctx.option("tools", "hide", ()):
        os.mknod(layer / tool, 0o600 | 0o020000, os.makedev(0, 0))   # an overlayfs whiteout: "no such file"
    real = ctx.path("/opt/mgf-tools/real")
    real.mkdir(parents=True, exist_ok=True)
    for tool, seconds in (ctx.option("tools", "slow", {}) or {}).items():
        shutil.copy2(Path("/usr/bin") / tool, real / tool)
        script = layer / tool
        script.write_text(f"#!/bin/sh\n# {tool} that hangs (a dead network mount), then answers\n"
                          f"sleep {int(seconds)}\nexec /opt/mgf-tools/real/{tool} \"$@\"\n")
        script.chmod(0o755)


def _tools_start(ctx: "VMContext") -> str:
    return ("mount -t overlay mgf-tools -o lowerdir=/opt/mgf-tools/layer:/usr/bin /usr/bin\n")


def _tools_ready(ctx: "VMContext") -> str | None:
    for tool in ctx.option("tools", "hide", ()):
        cp = ctx.lab.exec(ctx.name, ["sh", "-c", f"command -v {shlex.quote(tool)}"], check=False)
        if cp.returncode == 0:
            return f"{tool} still visible at {cp.stdout.strip()}"
    return None


register(Service(name="tools", prepare=_tools_prepare, start=_tools_start, ready=_tools_ready))


# ----------------------------------------------------------------------------------- sshfault

WRAPPER = """#!/bin/sh
# migrator lab fault ({mode}): sshd's ForceCommand for every login of this VM.
# The client's command ($SSH_ORIGINAL_COMMAND) runs; {bytes} bytes of its output get through.
sh -c "$SSH_ORIGINAL_COMMAND" | head -c {bytes}
{after}
"""
# drop: find this session's sshd process (the nearest ancestor named sshd) and kill it.
DROP = """sleep 0.5                     # the bytes above reach the client first
p=$PPID
while [ "$p" -gt 1 ] && [ "$(cat /proc/$p/comm)" != sshd ]; do
  p=$(cut -d' ' -f4 /proc/$p/stat)
done
echo "$(date +%s) drop: killing sshd session $p" >>/var/log/mgf-fault.log
kill -9 "$p"
sleep 5"""
STALL = """echo "$(date +%s) stall" >>/var/log/mgf-fault.log
exec sleep 3600               # the output stays open and silent"""


def _sshfault_prepare(ctx: "VMContext") -> None:
    mode = ctx.option("sshfault", "mode", "drop")
    if mode not in ("drop", "stall"):
        raise ValueError(f"sshfault mode {mode!r}: use 'drop' or 'stall'")
    size = int(ctx.option("sshfault", "bytes", 20000))
    wrapper = ctx.path("/opt/mgf-fault/wrapper.sh")
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(WRAPPER.format(mode=mode, bytes=size, after=DROP if mode == "drop" else STALL))
    wrapper.chmod(0o755)
    config = ctx.path("/etc/ssh/sshd_config")
    config.write_text(config.read_text().rstrip("\n") + f"\n# fault injection ({mode})\n"
                      "ForceCommand /opt/mgf-fault/wrapper.sh\n")


register(Service(
    name="sshfault", prepare=_sshfault_prepare,
    ready=lambda ctx: tcp_probe(ctx.address, 22, None, b"SSH-2.0-")))
