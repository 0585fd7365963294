"""What can run on a lab VM: a small registry of services.

A `Service` says, for one VM (a `VMContext`):
  prepare(ctx)      write its files into the VM's private directories, from the host side
                    (ctx.path("/var/lib/redis") is where the VM's /var/lib/redis lives on the host)
  mounts(ctx)       extra mounts for init.sh (KIND, SOURCE, TARGET), after the VM's private
                    directories are in place and before /run and /tmp are covered
  start(ctx)        sh lines that init.sh runs inside the VM; they must background the daemon
  ready(ctx)        None when it answers (polled from the host), else why not yet
  after_ready(ctx)  once every service of the lab answers (e.g. write some data)
  needs             host programs it needs (checked by Lab.missing_requirements)
  logs              VM paths worth showing when it does not come up

Add one with `register(Service(...))`. `sshd` is started on every VM, first.
"""
from __future__ import annotations

import http.client
import json
import pwd
import shlex
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from .lab import VMContext

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Service:
    name: str
    ports: tuple[int, ...] = ()
    prepare: Callable[["VMContext"], None] | None = None
    mounts: Callable[["VMContext"], list[tuple[str, str, str]]] | None = None
    start: Callable[["VMContext"], str] | None = None
    ready: Callable[["VMContext"], str | None] | None = None
    after_ready: Callable[["VMContext"], None] | None = None
    needs: tuple[str, ...] = ()
    logs: tuple[str, ...] = ()


REGISTRY: dict[str, Service] = {}


def register(service: Service) -> Service:
    REGISTRY[service.name] = service
    return service


def get(name: str) -> Service:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown lab service {name!r} (known: {', '.join(sorted(REGISTRY))})") from None


# ---------------------------------------------------------------------------------------- helpers

def run_as(user: str) -> str:
    """A command prefix that drops to `user` when this machine has it (else runs as root)."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        return ""
    q = shlex.quote(user)
    return f"setpriv --reuid={q} --regid={q} --init-groups -- "


def chown(path: Path, user: str) -> None:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return
    shutil.chown(path, entry.pw_uid, entry.pw_gid)


def tcp_probe(address: str, port: int, send: bytes | None, expect: bytes, timeout: float = 0.5) -> str | None:
    """None when `address:port` accepts and its first reply starts with `expect`."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            if send:
                sock.sendall(send)
            data = b""
            while len(data) < len(expect):
                chunk = sock.recv(256)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        return f"port {port}: {exc.strerror or exc}"
    if not data.startswith(expect):
        return f"port {port}: answered {data[:40]!r}, expected {expect!r}"
    return None


def http_get(address: str, port: int, path: str, timeout: float = 0.5) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(body)
    except ValueError:
        return resp.status, body


# ------------------------------------------------------------------------------------------ sshd

SSHD_CONFIG = """\
# migrator lab VM {name}: sshd config (the VM's private /etc/ssh)
ListenAddress {address}:22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
# Relative to the user's home: the VM's private /root and /home, directories of the lab workdir.
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
MaxStartups 64:30:128
MaxSessions 32
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel INFO
"""


def _sshd_prepare(ctx: "VMContext") -> None:
    etc_ssh = ctx.path("/etc/ssh")
    (etc_ssh / "sshd_config").write_text(SSHD_CONFIG.format(name=ctx.name, address=ctx.address))
    for name in ("moduli", "ssh_config"):
        if Path("/etc/ssh", name).is_file():
            shutil.copy2(Path("/etc/ssh", name), etc_ssh / name)
    key = etc_ssh / "ssh_host_ed25519_key"
    ctx.lab._cmd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{ctx.name}", "-f", str(key)])


def _sshd_start(ctx: "VMContext") -> str:
    return ("mkdir -p -m 0755 /run/sshd\n"
            "/usr/sbin/sshd -D -f /etc/ssh/sshd_config -E /var/log/sshd.log </dev/null >/dev/null 2>&1 &\n")


register(Service(
    name="sshd", ports=(22,), prepare=_sshd_prepare, start=_sshd_start,
    ready=lambda ctx: tcp_probe(ctx.address, 22, None, b"SSH-2.0-"),
    needs=("/usr/sbin/sshd", "ssh-keygen"), logs=("/var/log/sshd.log",)))


# ----------------------------------------------------------------------------------------- redis

REDIS_SEED = [("MSET", "lab:vm", "{name}", "lab:greeting", "hello from the migrator lab"),
              ("RPUSH", "lab:events", "boot", "seed"),
              ("INCRBY", "lab:counter", "42"),
              ("HSET", "lab:session:1", "user", "alice", "cart", "3")]


def _redis_prepare(ctx: "VMContext") -> None:
    for vm_path, mode in (("/var/lib/redis", 0o750), ("/var/log/redis", 0o2750)):
        path = ctx.path(vm_path)
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
        chown(path, "redis")


def _redis_start(ctx: "VMContext") -> str:
    argv = ["/usr/bin/redis-server", "--bind", "0.0.0.0", "--port", "6379", "--dir", "/var/lib/redis",
            "--appendonly", "yes", "--daemonize", "no", "--protected-mode", "no"]
    return f"{run_as('redis')}{shlex.join(argv)} </dev/null >>/var/log/redis/redis-server.log 2>&1 &\n"


def _redis_after(ctx: "VMContext") -> None:
    """Write a few keys with redis-cli inside the VM; wait until the append-only file has them."""
    for command in REDIS_SEED:
        argv = ["redis-cli", "-h", ctx.address, "-p", "6379"] + [w.format(name=ctx.name) for w in command]
        ctx.lab.exec(ctx.name, argv)
    aof_dir = ctx.path("/var/lib/redis/appendonlydir")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(f.stat().st_size > 0 for f in aof_dir.glob("*.incr.aof")) or \
                (ctx.path("/var/lib/redis/appendonly.aof").is_file()
                 and ctx.path("/var/lib/redis/appendonly.aof").stat().st_size > 0):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{ctx.name}: redis append-only file still empty after writing keys")


register(Service(
    name="redis", ports=(6379,), prepare=_redis_prepare, start=_redis_start,
    ready=lambda ctx: tcp_probe(ctx.address, 6379, b"PING\r\n", b"+PONG"),
    after_ready=_redis_after, needs=("/usr/bin/redis-server", "redis-cli"),
    logs=("/var/log/redis/redis-server.log",)))


# ---------------------------------------------------------------------------------------- webapp

def _webapp_redis(ctx: "VMContext") -> str | None:
    """Option webapp.redis: 'HOST:PORT', a VM name of the lab, or None; default: this VM's redis."""
    target = ctx.option("webapp", "redis", "self" if "redis" in ctx.spec.services else None)
    if target in (None, "", "none"):
        return None
    if target == "self":
        return f"{ctx.address}:6379"
    if ":" not in target:
        return f"{ctx.lab.address_of(target)}:6379"
    return target


def _webapp_prepare(ctx: "VMContext") -> None:
    code = ctx.path("/opt/webapp")
    code.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "apps" / "webapp.py", code / "webapp.py")
    (code / "webapp.py").chmod(0o644)
    logs = ctx.path("/var/log/webapp")
    logs.mkdir(parents=True, exist_ok=True)
    chown(logs, "www-data")


def _webapp_start(ctx: "VMContext") -> str:
    argv = ["/usr/bin/python3", "-u", "/opt/webapp/webapp.py", "--bind", "0.0.0.0", "--port", "8080"]
    redis = _webapp_redis(ctx)
    if redis:
        argv += ["--redis", redis]
    # cwd: the code directory, mounted read-only; no state anywhere.
    return (f"(cd /opt/webapp && exec {run_as('www-data')}{shlex.join(argv)}) "
            "</dev/null >>/var/log/webapp/webapp.log 2>&1 &\n")


def _webapp_ready(ctx: "VMContext") -> str | None:
    try:
        status, body = http_get(ctx.address, 8080, "/healthz")
    except (OSError, http.client.HTTPException) as exc:
        return f"port 8080: {getattr(exc, 'strerror', None) or exc}"
    if status != 200:
        return f"GET /healthz answered {status}"
    if _webapp_redis(ctx) and not (isinstance(body, dict) and body.get("redis") == "connected"):
        return f"not connected to redis yet ({body.get('redis') if isinstance(body, dict) else body!r})"
    return None


register(Service(
    name="webapp", ports=(8080,), prepare=_webapp_prepare,
    mounts=lambda ctx: [("robind", "/opt/webapp", "/opt/webapp")],
    start=_webapp_start, ready=_webapp_ready, needs=("/usr/bin/python3",),
    logs=("/var/log/webapp/webapp.log",)))
