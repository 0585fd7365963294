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
  software          its id in the truth file (e.g. "python-app"); None: plumbing, not an application
  truth(ctx)        its part of the lab's truth file, from what was actually set up: a dict with any of
                    "applications", "peers", "order", "clusters", "daemons", "jobs" (see Lab.write_truth)

Add one with `register(Service(...))`. `sshd` is started on every VM, first.
"""
from __future__ import annotations

import base64
import contextlib
import http.client
import json
import pwd
import shlex
import shutil
import socket
import ssl
import struct
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
    software: str | None = None
    truth: Callable[["VMContext"], dict[str, list]] | None = None


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


def _request(conn: http.client.HTTPConnection, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """(status, JSON body or raw bytes) of one request; the connection is closed after it."""
    try:
        conn.request(method, path, **kwargs)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(body)
    except ValueError:
        return resp.status, body


def http_get(address: str, port: int, path: str, timeout: float = 0.5) -> tuple[int, Any]:
    return _request(http.client.HTTPConnection(address, port, timeout=timeout), "GET", path)


def https_get(address: str, port: int, path: str, timeout: float = 1.0) -> tuple[int, Any]:
    """GET over TLS without verifying the (self-signed) certificate."""
    return _request(http.client.HTTPSConnection(address, port, timeout=timeout,
                                                context=ssl._create_unverified_context()),  # noqa: S323 - lab cert
                    "GET", path)


def http_post_json(address: str, port: int, path: str, body: dict, timeout: float = 1.0) -> tuple[int, Any]:
    return _request(http.client.HTTPConnection(address, port, timeout=timeout), "POST", path,
                    body=json.dumps(body), headers={"Content-Type": "application/json"})


def wait_for(what: str, check: Callable[[], str | None], timeout: float = 20.0, interval: float = 0.1) -> None:
    """Poll `check` (None: done, else why not) until done; RuntimeError with the last reason."""
    deadline = time.monotonic() + timeout
    while True:
        reason = check()
        if reason is None:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: {reason}")
        time.sleep(interval)


def ref(host: str, service: str) -> str:
    """The truth file's name of an application: HOST/SOFTWARE."""
    return f"{host}/{get(service).software}"


def app_truth(ctx: "VMContext", service: str, *, name: str | None = None, state_paths: tuple[str, ...] = (),
              ports: tuple[tuple[int, str], ...] = (), unit: str, user: str) -> dict[str, Any]:
    return {"host": ctx.name, "software": get(service).software, "name": name or get(service).software,
            "stateful": bool(state_paths), "state_paths": list(state_paths),
            "ports": [{"port": port, "protocol": "tcp", "scope": scope} for port, scope in ports],
            "unit": unit, "user": user}


def lab_target(ctx: "VMContext", value: str | None, port: int) -> tuple[str, str | None] | None:
    """A service option naming a peer - a VM of the lab or ADDRESS[:PORT] - as (address, VM name or None)."""
    if value in (None, "", "none"):
        return None
    if value == "self":
        return ctx.address, ctx.name
    host = value.rpartition(":")[0] if ":" in value else value
    try:
        return ctx.lab.address_of(host), host
    except Exception:  # noqa: BLE001 - not a VM name: an address
        return host, ctx.lab.name_of(host)


def private_etc(ctx: "VMContext", vm_dir: str, copy_host: bool = True) -> Path:
    """Give the VM its own `vm_dir` (under /etc): a copy of the host's (or an empty directory)
    that the service's `mounts` binds over it. Returns the host-side path to write into."""
    if not Path(vm_dir).is_dir():
        raise RuntimeError(f"{vm_dir} does not exist on this machine (run tests/lab/install-deps.sh)")
    dst = ctx.path(vm_dir)
    if not dst.exists():
        if copy_host:
            shutil.copytree(vm_dir, dst, symlinks=True)
        else:
            dst.mkdir(parents=True)
    return dst


def etc_mounts(*dirs: str) -> Callable[["VMContext"], list[tuple[str, str, str]]]:
    return lambda ctx: [("bind", str(ctx.path(d)), d) for d in dirs]


def write_unit(ctx: "VMContext", unit: str, description: str, exec_start: str, *, user: str | None = None,
               after: tuple[str, ...] = ("network.target",), wants: tuple[str, ...] = (),
               requires: tuple[str, ...] = (), environment_file: str | None = None,
               service_type: str = "simple", extra: str = "") -> None:
    """A systemd unit in the VM's /etc/systemd/system (systemd does not run; the unit says how
    the lab's start line would be started on a real machine)."""
    lines = ["[Unit]", f"Description={description}"]
    lines += [f"After={' '.join(after)}"] if after else []
    lines += [f"Wants={' '.join(wants)}"] if wants else []
    lines += [f"Requires={' '.join(requires)}"] if requires else []
    lines += ["", "[Service]", f"Type={service_type}"]
    lines += [f"User={user}", f"Group={user}"] if user else []
    lines += [f"EnvironmentFile={environment_file}"] if environment_file else []
    lines += [f"ExecStart={exec_start}"]
    lines += [extra.rstrip("\n")] if extra else []
    lines += ["Restart=on-failure", "", "[Install]", "WantedBy=multi-user.target", ""]
    path = ctx.path("/etc/systemd/system") / unit
    path.write_text("\n".join(lines))
    path.chmod(0o644)


def mkdirs(ctx: "VMContext", user: str | None, *specs: tuple[str, int]) -> None:
    """Create VM directories (path, mode), owned by `user` when it exists."""
    for vm_path, mode in specs:
        path = ctx.path(vm_path)
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
        if user:
            chown(path, user)


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


REDIS_ARGV = ["/usr/bin/redis-server", "--bind", "0.0.0.0", "--port", "6379", "--dir", "/var/lib/redis",
              "--appendonly", "yes", "--daemonize", "no", "--protected-mode", "no"]


def _redis_prepare_unit(ctx: "VMContext") -> None:
    _redis_prepare(ctx)
    write_unit(ctx, "redis-server.service", "Advanced key-value store (migrator lab)", shlex.join(REDIS_ARGV),
               user="redis", extra="LimitNOFILE=65535\nReadWritePaths=-/var/lib/redis -/var/log/redis")


def _redis_start(ctx: "VMContext") -> str:
    return f"{run_as('redis')}{shlex.join(REDIS_ARGV)} </dev/null >>/var/log/redis/redis-server.log 2>&1 &\n"


def _redis_truth(ctx: "VMContext") -> dict:
    return {"applications": [app_truth(ctx, "redis", state_paths=("/var/lib/redis",), ports=((6379, "all"),),
                                       unit="redis-server.service", user="redis")]}


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
    name="redis", ports=(6379,), prepare=_redis_prepare_unit, start=_redis_start,
    ready=lambda ctx: tcp_probe(ctx.address, 6379, b"PING\r\n", b"+PONG"),
    after_ready=_redis_after, needs=("/usr/bin/redis-server", "redis-cli"),
    logs=("/var/log/redis/redis-server.log",), software="redis", truth=_redis_truth))


# ---------------------------------------------------------------------------------------- webapp
# Options (VMSpec.options["webapp"]):
#   redis     'HOST:PORT', a VM name of the lab, 'self', or None; default: this VM's redis if it has one
#   postgres  a VM name of the lab running postgresql (or ADDRESS), or None (default): one connection
#             as user webapp to database app; the password is in the VM's /etc/default/webapp
#   cron      a schedule ('*/5 * * * *'): /etc/cron.d/webapp-report runs `webapp.py --report` as www-data

WEBAPP_DB_PASSWORD = "lab-webapp-db-password"
WEBAPP_REPORT = "/usr/bin/python3 /opt/webapp/webapp.py --report >>/var/log/webapp/report.log 2>&1"


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


def _webapp_postgres(ctx: "VMContext") -> tuple[str, str | None] | None:
    return lab_target(ctx, ctx.option("webapp", "postgres"), 5432)


def _webapp_argv(ctx: "VMContext") -> list[str]:
    argv = ["/usr/bin/python3", "-u", "/opt/webapp/webapp.py", "--bind", "0.0.0.0", "--port", "8080"]
    redis = _webapp_redis(ctx)
    if redis:
        argv += ["--redis", redis]
    pg = _webapp_postgres(ctx)
    if pg:
        argv += ["--postgres", f"host={pg[0]} port=5432 dbname=app user=webapp application_name={ctx.name}"]
    return argv


def _webapp_prepare(ctx: "VMContext") -> None:
    code = ctx.path("/opt/webapp")
    code.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "apps" / "webapp.py", code / "webapp.py")
    (code / "webapp.py").chmod(0o644)
    logs = ctx.path("/var/log/webapp")
    logs.mkdir(parents=True, exist_ok=True)
    chown(logs, "www-data")
    env_file = None
    if _webapp_postgres(ctx):
        env_file = "/etc/default/webapp"
        path = private_etc(ctx, "/etc/default") / "webapp"
        path.write_text(f"# webapp: the database password (libpq reads PGPASSWORD)\nPGPASSWORD={WEBAPP_DB_PASSWORD}\n")
        path.chmod(0o640)
        with contextlib.suppress(LookupError, OSError):
            shutil.chown(path, "root", "www-data")
    write_unit(ctx, "webapp.service", "migrator lab web app", shlex.join(_webapp_argv(ctx)), user="www-data",
               after=("network-online.target",), wants=("network-online.target",),
               requires=("network-online.target",), environment_file=env_file,
               extra="WorkingDirectory=/opt/webapp")
    schedule = ctx.option("webapp", "cron")
    if schedule:
        cron = ctx.path("/etc/cron.d/webapp-report")
        cron.write_text("# webapp: health report of the web app\nSHELL=/bin/sh\n"
                        "PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n"
                        f"{schedule} www-data {WEBAPP_REPORT}\n")
        cron.chmod(0o644)


def _webapp_mounts(ctx: "VMContext") -> list[tuple[str, str, str]]:
    mounts = [("robind", "/opt/webapp", "/opt/webapp")]
    if _webapp_postgres(ctx):
        mounts.append(("bind", str(ctx.path("/etc/default")), "/etc/default"))
    return mounts


def _webapp_start(ctx: "VMContext") -> str:
    env = "set -a && . /etc/default/webapp && set +a && " if _webapp_postgres(ctx) else ""
    # cwd: the code directory, mounted read-only; no state anywhere.
    return (f"(cd /opt/webapp && {env}exec {run_as('www-data')}{shlex.join(_webapp_argv(ctx))}) "
            "</dev/null >>/var/log/webapp/webapp.log 2>&1 &\n")


def _webapp_ready(ctx: "VMContext") -> str | None:
    try:
        status, body = http_get(ctx.address, 8080, "/healthz")
    except (OSError, http.client.HTTPException) as exc:
        return f"port 8080: {getattr(exc, 'strerror', None) or exc}"
    if status != 200:
        return f"GET /healthz answered {status}"
    for link, wanted in (("redis", _webapp_redis(ctx)), ("postgres", _webapp_postgres(ctx))):
        if wanted and not (isinstance(body, dict) and body.get(link) == "connected"):
            return f"not connected to {link} yet ({body.get(link) if isinstance(body, dict) else body!r})"
    return None


def _webapp_truth(ctx: "VMContext") -> dict:
    me = ref(ctx.name, "webapp")
    out: dict[str, list] = {"applications": [app_truth(ctx, "webapp", name="webapp", ports=((8080, "all"),),
                                                       unit="webapp.service", user="www-data")],
                            "peers": [], "order": [], "jobs": []}
    redis = _webapp_redis(ctx)
    targets = []
    if redis:
        host = ctx.lab.name_of(redis.rpartition(":")[0])
        if host:
            targets.append((ref(host, "redis"), int(redis.rpartition(":")[2])))
    pg = _webapp_postgres(ctx)
    if pg and pg[1]:
        targets.append((ref(pg[1], "postgresql"), 5432))
    for server, port in targets:
        out["peers"].append({"client": me, "server": server, "port": port})
        out["order"].append({"before": server, "after": me})
    schedule = ctx.option("webapp", "cron")
    if schedule:
        out["jobs"].append({"host": ctx.name, "schedule": schedule, "user": "www-data", "command": WEBAPP_REPORT})
    return out


register(Service(
    name="webapp", ports=(8080,), prepare=_webapp_prepare, mounts=_webapp_mounts,
    start=_webapp_start, ready=_webapp_ready, needs=("/usr/bin/python3",),
    logs=("/var/log/webapp/webapp.log",), software="python-app", truth=_webapp_truth))


# ------------------------------------------------------------------------------------ postgresql
# PostgreSQL 15 laid out as Debian's postgresql-common does (config in /etc/postgresql/15/main,
# data in /var/lib/postgresql/15/main), both private to the VM. Option (VMSpec.options["postgresql"]):
#   primary   a VM name: this VM is that primary's streaming-replication standby (pg_basebackup, then
#             standby.signal + primary_conninfo); absent: a primary with users replicator and webapp
#             and the database app, made with initdb + single-user mode at first start.

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_DATA = "/var/lib/postgresql/15/main"
PG_ETC = "/etc/postgresql/15/main"
PG_CONF = f"{PG_ETC}/postgresql.conf"
PG_LOG = "/var/log/postgresql/postgresql-15-main.log"
PG_PASSFILE = "/var/lib/postgresql/.pgpass"
PG_REPL_PASSWORD = "lab-replication-password"
PG_ARGV = [f"{PG_BIN}/postgres", "-D", PG_DATA, "-c", f"config_file={PG_CONF}"]

PG_CONF_TEXT = """\
# migrator lab VM {name}: PostgreSQL 15 ({role})
data_directory = '{data}'
hba_file = '{etc}/pg_hba.conf'
ident_file = '{etc}/pg_ident.conf'
external_pid_file = '/var/run/postgresql/15-main.pid'
listen_addresses = '*'
port = 5432
max_connections = 50
unix_socket_directories = '/var/run/postgresql'
shared_buffers = 16MB
dynamic_shared_memory_type = posix
wal_level = replica
max_wal_senders = 5
wal_keep_size = 64MB
hot_standby = on
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
cluster_name = '15/main'
datestyle = 'iso, mdy'
lc_messages = 'C.UTF-8'
default_text_search_config = 'pg_catalog.english'
"""

PG_HBA_TEXT = """\
# migrator lab VM {name}: client authentication
# TYPE  DATABASE     USER        ADDRESS        METHOD
local   all          postgres                   peer
local   all          all                        peer
host    replication  replicator  {subnet}  scram-sha-256
host    app          webapp      {subnet}  scram-sha-256
host    all          all         127.0.0.1/32   scram-sha-256
"""

PG_INIT_SQL = [f"CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '{PG_REPL_PASSWORD}';",
               f"CREATE ROLE webapp WITH LOGIN PASSWORD '{WEBAPP_DB_PASSWORD}';",
               "CREATE DATABASE app OWNER webapp;"]


def _pg_primary_of(ctx: "VMContext") -> str | None:
    return ctx.option("postgresql", "primary")


def _pg_standbys(ctx: "VMContext") -> list[str]:
    return [s.name for s in ctx.lab.specs
            if "postgresql" in s.services and (s.options.get("postgresql") or {}).get("primary") == ctx.name]


def _pg_prepare(ctx: "VMContext") -> None:
    primary = _pg_primary_of(ctx)
    etc = private_etc(ctx, "/etc/postgresql", copy_host=False) / "15" / "main"
    etc.mkdir(parents=True, exist_ok=True)
    conf = PG_CONF_TEXT.format(name=ctx.name, role=f"standby of {primary}" if primary else "primary",
                               data=PG_DATA, etc=PG_ETC)
    if primary:
        conf += (f"primary_conninfo = 'host={ctx.lab.address_of(primary)} port=5432 user=replicator "
                 f"passfile={PG_PASSFILE} application_name={ctx.name}'\n")
    (etc / "postgresql.conf").write_text(conf)
    (etc / "pg_hba.conf").write_text(PG_HBA_TEXT.format(name=ctx.name, subnet=ctx.lab.subnet))
    (etc / "pg_ident.conf").write_text("# MAPNAME  SYSTEM-USERNAME  PG-USERNAME\n")
    for path in (ctx.path("/etc/postgresql"), ctx.path("/etc/postgresql/15"), etc, *etc.iterdir()):
        chown(path, "postgres")
    (etc / "pg_hba.conf").chmod(0o640)
    mkdirs(ctx, "postgres", ("/var/lib/postgresql", 0o755), ("/var/lib/postgresql/15", 0o755),
           ("/var/log/postgresql", 0o755))
    if primary:
        passfile = ctx.path(PG_PASSFILE)
        passfile.write_text(f"{ctx.lab.address_of(primary)}:5432:*:replicator:{PG_REPL_PASSWORD}\n")
        passfile.chmod(0o600)
        chown(passfile, "postgres")
    write_unit(ctx, "postgresql.service", f"PostgreSQL 15 {'standby' if primary else 'primary'} (migrator lab)",
               shlex.join(PG_ARGV), user="postgres", after=("network-online.target",),
               wants=("network-online.target",), service_type="notify",
               extra="RuntimeDirectory=postgresql\nKillMode=mixed\nKillSignal=SIGINT\nTimeoutSec=infinity")


def _pg_start(ctx: "VMContext") -> str:
    run = run_as("postgres")
    primary = _pg_primary_of(ctx)
    if primary:
        make = (f"until {run}env PGPASSFILE={PG_PASSFILE} {PG_BIN}/pg_basebackup -h {ctx.lab.address_of(primary)} "
                f"-p 5432 -U replicator -w -D {PG_DATA} -X stream -c fast --no-sync; do\n"
                f"    {run}rm -rf {PG_DATA}; sleep 0.3\n  done\n"
                f"  {run}touch {PG_DATA}/standby.signal\n")
    else:
        sql = " ".join(shlex.quote(line) for line in PG_INIT_SQL)
        make = (f"{run}{PG_BIN}/initdb -D {PG_DATA} -U postgres -E UTF8 --locale=C.UTF-8 --no-sync "
                "--auth-local=peer --auth-host=scram-sha-256\n"
                f"  rm -f {PG_DATA}/postgresql.conf {PG_DATA}/pg_hba.conf {PG_DATA}/pg_ident.conf\n"
                f"  printf '%s\\n' {sql} | {run}{shlex.join(PG_ARGV[:1])} --single {shlex.join(PG_ARGV[1:])} "
                "postgres >/dev/null\n")
    return ("mkdir -p -m 2775 /run/postgresql && chown postgres:postgres /run/postgresql\n"
            f"(if [ ! -s {PG_DATA}/PG_VERSION ]; then\n  {make}fi\n"
            f" exec {run}{shlex.join(PG_ARGV)}) </dev/null >>{PG_LOG} 2>&1 &\n")


def pg_probe(address: str, port: int = 5432, user: str = "webapp", database: str = "app",
             timeout: float = 0.5) -> str | None:
    """None when PostgreSQL at address:port accepts connections (asks `user` to authenticate)."""
    params = f"user\0{user}\0database\0{database}\0application_name\0lab-probe\0\0".encode()
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
            data = b""
            while len(data) < 5:
                chunk = sock.recv(1024)
                if not chunk:
                    break
                data += chunk
            if data[:1] == b"E":
                length = struct.unpack("!i", data[1:5])[0]
                while len(data) < length + 1:
                    chunk = sock.recv(1024)
                    if not chunk:
                        break
                    data += chunk
    except OSError as exc:
        return f"port {port}: {exc.strerror or exc}"
    if data[:1] == b"R":
        return None
    if data[:1] == b"E":
        fields = dict((f[:1].decode(), f[1:].decode(errors="replace")) for f in data[5:].split(b"\0") if f)
        return f"port {port}: {fields.get('C')} {fields.get('M')}"
    return f"port {port}: answered {data[:20]!r}"


def pg_query(ctx: "VMContext", vm: str, sql: str, database: str = "postgres") -> str:
    """Run `sql` with psql as postgres over the unix socket inside VM `vm`; its unaligned output."""
    argv = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--",
            "env", "HOME=/var/lib/postgresql", "psql", "-X", "-At", "-h", "/run/postgresql", "-d", database,
            "-v", "ON_ERROR_STOP=1", "-c", sql]
    return ctx.lab.exec(vm, argv).stdout.strip()


def _pg_after(ctx: "VMContext") -> None:
    primary = _pg_primary_of(ctx)
    if not primary:
        return
    sql = f"SELECT state FROM pg_stat_replication WHERE application_name = '{ctx.name}'"

    def streaming() -> str | None:
        state = pg_query(ctx, primary, sql)
        return None if state == "streaming" else f"pg_stat_replication on {primary} says {state or 'nothing'!r}"
    wait_for(f"{ctx.name}: replication from {primary}", streaming, timeout=20, interval=0.2)


def _pg_truth(ctx: "VMContext") -> dict:
    me = ref(ctx.name, "postgresql")
    out: dict[str, list] = {"applications": [app_truth(ctx, "postgresql", state_paths=(PG_DATA,),
                                                       ports=((5432, "all"),), unit="postgresql.service",
                                                       user="postgres")]}
    primary = _pg_primary_of(ctx)
    if primary:
        server = ref(primary, "postgresql")
        out["peers"] = [{"client": me, "server": server, "port": 5432}]
        out["order"] = [{"before": server, "after": me}]
        out["clusters"] = [{"software": "postgresql", "members": {server: "primary", me: "standby"}}]
    elif _pg_standbys(ctx):
        out["clusters"] = [{"software": "postgresql", "members": {me: "primary"}}]
    return out


register(Service(
    name="postgresql", ports=(5432,), prepare=_pg_prepare, mounts=etc_mounts("/etc/postgresql"),
    start=_pg_start, ready=lambda ctx: pg_probe(ctx.address), after_ready=_pg_after,
    needs=(f"{PG_BIN}/postgres", f"{PG_BIN}/initdb", f"{PG_BIN}/pg_basebackup", "psql", "setpriv"),
    logs=(PG_LOG,), software="postgresql", truth=_pg_truth))


# ----------------------------------------------------------------------------------------- nginx
# nginx with a self-signed certificate (made by `openssl req` at prepare time), on 80 and 443,
# proxying to the web apps through a keep-alive upstream. Option (VMSpec.options["nginx"]):
#   upstreams   VM names running webapp (default: every VM of the lab that runs webapp)

NGINX_EXEC = "/usr/sbin/nginx -g 'daemon on; master_process on;'"

NGINX_CONF = """\
# migrator lab VM {name}: nginx (the VM's private /etc/nginx)
user www-data;
worker_processes 2;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
include /etc/nginx/modules-enabled/*.conf;

events {{
    worker_connections 256;
}}

http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    server_tokens off;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log /var/log/nginx/access.log;
    include /etc/nginx/conf.d/*.conf;
    include /etc/nginx/sites-enabled/*;
}}
"""

NGINX_SITE = """\
# migrator lab VM {name}: the web tier in front of the lab's web apps
upstream webapp {{
{servers}
    keepalive 16;
    keepalive_timeout 1h;
    keepalive_requests 100000;
}}

server {{
    listen 80 default_server;
    listen 443 ssl default_server;
    server_name {name};
    ssl_certificate /etc/nginx/ssl/{name}.crt;
    ssl_certificate_key /etc/nginx/ssl/{name}.key;

    location = /nginx-health {{
        access_log off;
        default_type text/plain;
        return 200 "ok\n";
    }}

    location / {{
        proxy_pass http://webapp;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }}
}}
"""


def _nginx_upstreams(ctx: "VMContext") -> list[str]:
    return list(ctx.option("nginx", "upstreams", None) or ctx.lab.vms_running("webapp"))


def _nginx_prepare(ctx: "VMContext") -> None:
    etc = private_etc(ctx, "/etc/nginx")
    (etc / "nginx.conf").write_text(NGINX_CONF.format(name=ctx.name))
    for default in (etc / "sites-enabled" / "default", etc / "sites-available" / "default"):
        default.unlink(missing_ok=True)
    (etc / "sites-enabled").mkdir(exist_ok=True)
    (etc / "sites-available").mkdir(exist_ok=True)
    servers = "\n".join(f"    server {ctx.lab.address_of(vm)}:8080;  # {vm}" for vm in _nginx_upstreams(ctx))
    (etc / "sites-available" / "lab-webapp").write_text(NGINX_SITE.format(name=ctx.name, servers=servers))
    (etc / "sites-enabled" / "lab-webapp").symlink_to("/etc/nginx/sites-available/lab-webapp")
    ssl_dir = etc / "ssl"
    ssl_dir.mkdir(exist_ok=True)
    ctx.lab._cmd(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-days", "365", "-subj", f"/O=migrator lab/CN={ctx.name}",
                  "-addext", f"subjectAltName=DNS:{ctx.name},IP:{ctx.address}",
                  "-keyout", str(ssl_dir / f"{ctx.name}.key"), "-out", str(ssl_dir / f"{ctx.name}.crt")])
    (ssl_dir / f"{ctx.name}.key").chmod(0o600)
    mkdirs(ctx, None, ("/var/log/nginx", 0o755), ("/var/lib/nginx", 0o755))
    write_unit(ctx, "nginx.service", "A high performance web server and a reverse proxy server (migrator lab)",
               NGINX_EXEC, after=("network-online.target", "remote-fs.target", "nss-lookup.target"),
               wants=("network-online.target",), service_type="forking",
               extra="PIDFile=/run/nginx.pid\nExecStartPre=/usr/sbin/nginx -t -q -g 'daemon on; master_process on;'")


def _nginx_start(ctx: "VMContext") -> str:
    return f"{NGINX_EXEC} </dev/null >>/var/log/nginx/startup.log 2>&1 &\n"


def _nginx_ready(ctx: "VMContext") -> str | None:
    """nginx itself answers on 80 and 443 (not through the proxy: a request while the apps are not
    up yet would mark them failed in that worker for fail_timeout; after_ready goes through it)."""
    for get_, port in ((https_get, 443), (http_get, 80)):
        try:
            status, body = get_(ctx.address, port, "/nginx-health")
        except (OSError, http.client.HTTPException) as exc:
            return f"port {port}: {getattr(exc, 'strerror', None) or exc}"
        if status != 200:
            return f"GET /nginx-health on {port} answered {status} {str(body)[:80]}"
    return None


def established(ctx: "VMContext", vm: str) -> set[tuple[str, str]]:
    """(local ADDRESS:PORT, peer ADDRESS:PORT) of the established TCP connections inside VM `vm`."""
    out = ctx.lab.exec(vm, ["ss", "-tnH", "state", "established"]).stdout
    pairs = set()
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 4:
            pairs.add((cols[2].replace("::ffff:", ""), cols[3].replace("::ffff:", "")))
    return pairs


def _nginx_after(ctx: "VMContext") -> None:
    """Warm the upstream keep-alive pool: requests until every app answered and nginx holds a
    connection to each."""
    upstreams = {ctx.lab.address_of(vm): vm for vm in _nginx_upstreams(ctx)}
    seen: set[str] = set()

    def warm() -> str | None:
        for get_ in (https_get, http_get):
            status, body = get_(ctx.address, 443 if get_ is https_get else 80, "/")
            if status == 200 and isinstance(body, dict):
                seen.add(body.get("host"))
        conns = {peer for _, peer in established(ctx, ctx.name)}
        missing = [vm for addr, vm in upstreams.items() if f"{addr}:8080" not in conns or vm not in seen]
        return f"no kept connection to {missing}" if missing else None
    wait_for(f"{ctx.name}: nginx upstream connections", warm, timeout=15, interval=0.05)


def _nginx_truth(ctx: "VMContext") -> dict:
    me = ref(ctx.name, "nginx")
    apps = [ref(vm, "webapp") for vm in _nginx_upstreams(ctx)]
    return {"applications": [app_truth(ctx, "nginx", ports=((80, "all"), (443, "all")), unit="nginx.service",
                                       user="root")],
            "peers": [{"client": me, "server": app, "port": 8080} for app in apps],
            "order": [{"before": app, "after": me} for app in apps]}


register(Service(
    name="nginx", ports=(80, 443), prepare=_nginx_prepare, mounts=etc_mounts("/etc/nginx"),
    start=_nginx_start, ready=_nginx_ready, after_ready=_nginx_after, needs=("/usr/sbin/nginx", "openssl", "ss"),
    logs=("/var/log/nginx/error.log", "/var/log/nginx/startup.log"), software="nginx", truth=_nginx_truth))


# ------------------------------------------------------------------------------------------ etcd
# One member of the lab's etcd cluster (every VM that runs etcd is a member), configured the
# Debian way: DAEMON_ARGS in the VM's private /etc/default/etcd, data in /var/lib/etcd/default,
# client port 2379 and peer port 2380 on the VM's address.

ETCD_DATA = "/var/lib/etcd/default"


def _etcd_url(ctx: "VMContext", vm: str, port: int) -> str:
    return f"http://{ctx.lab.address_of(vm)}:{port}"


def _etcd_args(ctx: "VMContext") -> list[str]:
    members = ctx.lab.vms_running("etcd")
    return ["--name", ctx.name, "--data-dir", ETCD_DATA,
            "--listen-peer-urls", _etcd_url(ctx, ctx.name, 2380),
            "--listen-client-urls", _etcd_url(ctx, ctx.name, 2379),
            "--initial-advertise-peer-urls", _etcd_url(ctx, ctx.name, 2380),
            "--advertise-client-urls", _etcd_url(ctx, ctx.name, 2379),
            "--initial-cluster", ",".join(f"{vm}={_etcd_url(ctx, vm, 2380)}" for vm in members),
            "--initial-cluster-token", f"{ctx.lab.prefix}-etcd", "--initial-cluster-state", "new"]


def _etcd_prepare(ctx: "VMContext") -> None:
    default = private_etc(ctx, "/etc/default") / "etcd"
    default.write_text(f"# etcd member {ctx.name} of the migrator lab (read by etcd.service)\n"
                       f"DAEMON_ARGS=\"{' '.join(_etcd_args(ctx))}\"\n")
    default.chmod(0o644)
    mkdirs(ctx, "etcd", ("/var/lib/etcd", 0o700), ("/var/log/etcd", 0o755))
    write_unit(ctx, "etcd.service", "etcd - highly-available key value store (migrator lab)",
               "/usr/bin/etcd $DAEMON_ARGS", user="etcd", after=("network-online.target",),
               wants=("network-online.target",), requires=("network-online.target",),
               environment_file="-/etc/default/etcd", service_type="notify", extra="LimitNOFILE=65536")


def _etcd_start(ctx: "VMContext") -> str:
    return (f"(. /etc/default/etcd && exec {run_as('etcd')}/usr/bin/etcd $DAEMON_ARGS) "
            "</dev/null >>/var/log/etcd/etcd.log 2>&1 &\n")


def _etcd_ready(ctx: "VMContext") -> str | None:
    try:
        status, body = http_get(ctx.address, 2379, "/health")
    except (OSError, http.client.HTTPException) as exc:
        return f"port 2379: {getattr(exc, 'strerror', None) or exc}"
    if status != 200 or not (isinstance(body, dict) and body.get("health") == "true"):
        return f"/health answered {status} {str(body)[:80]}"
    return None


def _etcd_after(ctx: "VMContext") -> None:
    members = ctx.lab.vms_running("etcd")

    def joined() -> str | None:
        status, body = http_post_json(ctx.address, 2379, "/v3/cluster/member/list", {})
        names = sorted(m.get("name", "") for m in (body.get("members", []) if isinstance(body, dict) else []))
        if names != sorted(members):
            return f"members {names}, expected {sorted(members)}"
        conns = {peer for _, peer in established(ctx, ctx.name)}
        missing = [vm for vm in members if vm != ctx.name and f"{ctx.lab.address_of(vm)}:2380" not in conns]
        return f"no peer connection to {missing}" if missing else None
    wait_for(f"{ctx.name}: etcd cluster", joined, timeout=20, interval=0.1)
    key, value = f"/lab/members/{ctx.name}", ctx.address
    status, body = http_post_json(ctx.address, 2379, "/v3/kv/put",
                                  {"key": base64.b64encode(key.encode()).decode(),
                                   "value": base64.b64encode(value.encode()).decode()})
    if status != 200:
        raise RuntimeError(f"{ctx.name}: etcd put answered {status} {body}")


def _etcd_truth(ctx: "VMContext") -> dict:
    me = ref(ctx.name, "etcd")
    others = [vm for vm in ctx.lab.vms_running("etcd") if vm != ctx.name]
    return {"applications": [app_truth(ctx, "etcd", state_paths=(ETCD_DATA,),
                                       ports=((2379, "address"), (2380, "address")),
                                       unit="etcd.service", user="etcd")],
            # every member dials every other member's peer port (raft streams): both directions exist
            "peers": [{"client": me, "server": ref(vm, "etcd"), "port": 2380} for vm in others],
            "clusters": [{"software": "etcd", "members": {me: "member"}}]}


register(Service(
    name="etcd", ports=(2379, 2380), prepare=_etcd_prepare, mounts=etc_mounts("/etc/default"),
    start=_etcd_start, ready=_etcd_ready, after_ready=_etcd_after, needs=("/usr/bin/etcd", "etcdctl", "ss"),
    logs=("/var/log/etcd/etcd.log",), software="etcd", truth=_etcd_truth))


# --------------------------------------------------------------------------------- node_exporter
# The monitoring agent of every estate VM: Debian's prometheus-node-exporter as user prometheus
# on :9100, ARGS from the VM's private /etc/default/prometheus-node-exporter.

NODE_EXPORTER_ARGS = "--web.listen-address=:9100 --collector.textfile.directory=/var/lib/prometheus/node-exporter"


def _node_exporter_prepare(ctx: "VMContext") -> None:
    default = private_etc(ctx, "/etc/default") / "prometheus-node-exporter"
    default.write_text("# Set the command-line arguments to pass to the server.\n"
                       f"ARGS=\"{NODE_EXPORTER_ARGS}\"\n")
    default.chmod(0o644)
    mkdirs(ctx, "prometheus", ("/var/lib/prometheus", 0o755), ("/var/lib/prometheus/node-exporter", 0o755),
           ("/var/log/prometheus", 0o755))
    write_unit(ctx, "prometheus-node-exporter.service", "Prometheus exporter for machine metrics (migrator lab)",
               "/usr/bin/prometheus-node-exporter $ARGS", user="prometheus",
               environment_file="/etc/default/prometheus-node-exporter")


def _node_exporter_start(ctx: "VMContext") -> str:
    return (f"(. /etc/default/prometheus-node-exporter && exec {run_as('prometheus')}"
            "/usr/bin/prometheus-node-exporter $ARGS) </dev/null "
            ">>/var/log/prometheus/prometheus-node-exporter.log 2>&1 &\n")


def _node_exporter_ready(ctx: "VMContext") -> str | None:
    try:
        status, _ = http_get(ctx.address, 9100, "/")
    except (OSError, http.client.HTTPException) as exc:
        return f"port 9100: {getattr(exc, 'strerror', None) or exc}"
    return None if status == 200 else f"GET / answered {status}"


def _node_exporter_truth(ctx: "VMContext") -> dict:
    return {"applications": [app_truth(ctx, "node_exporter", ports=((9100, "all"),),
                                       unit="prometheus-node-exporter.service", user="prometheus")],
            "daemons": [{"software": "node_exporter", "hosts": [ctx.name]}]}


register(Service(
    name="node_exporter", ports=(9100,), prepare=_node_exporter_prepare, mounts=etc_mounts("/etc/default"),
    start=_node_exporter_start, ready=_node_exporter_ready, needs=("/usr/bin/prometheus-node-exporter",),
    logs=("/var/log/prometheus/prometheus-node-exporter.log",), software="node_exporter",
    truth=_node_exporter_truth))


# --------------------------------------------------------------------------------------- hostile
# A VM whose processes, arguments, sockets, unit files, cron lines and configs are made to break
# parsers, pages, YAML and terminals (issue 9): HTML/JS, YAML and JSON metacharacters, ANSI
# escapes, invalid UTF-8, NUL bytes, a megabyte-long line, thousands of processes and sockets.
# Options: processes (default 1000), sockets (default 1000).
HOSTILE_NAME = "<img src=x onerror=alert('unit')>"   # no '/': it is a file name


def _hostile_prepare(ctx: "VMContext") -> None:
    code = ctx.path("/opt/hostile")
    code.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "apps" / "hostile.py", code / "hostile.py")
    conf = code / "hostile.conf"
    conf.write_bytes(b"# hostile configuration\nname = <b>bold</b>\npassword = hostile-planted-secret\n"
                     b"nul = a\x00b\nansi = \x1b[2J\x1b[31m\nyaml = {a: [b, *c]}\n" + b"long = " + b"y" * 1_100_000 + b"\n"
                     + b"bad = \xff\xfe\xc3\x28\n")
    write_unit(ctx, f"{HOSTILE_NAME}.service", "hostile\x1b[31m <i>unit</i>", shlex.join(_hostile_argv(ctx)))
    cron = ctx.path("/etc/cron.d/hostile")
    cron.write_bytes(b"*/1 * * * * root /bin/echo '<script>alert(2)</script>' \x1b[31m \xff --password=hostile-planted-secret\n")
    cron.chmod(0o644)


def _hostile_argv(ctx: "VMContext") -> list[str]:
    return ["/usr/bin/python3", "/opt/hostile/hostile.py", "--config", "/opt/hostile/hostile.conf",
            "--processes", str(ctx.option("hostile", "processes", 1000)),
            "--sockets", str(ctx.option("hostile", "sockets", 1000))]


def _hostile_ready(ctx: "VMContext") -> str | None:
    ready = ctx.path("/run/hostile.ready")
    return None if ctx.lab.exec(ctx.name, ["test", "-e", "/run/hostile.ready"], check=False).returncode == 0 \
        else f"{ready}: not yet"


register(Service(
    name="hostile", prepare=_hostile_prepare,
    start=lambda ctx: f"{shlex.join(_hostile_argv(ctx))} </dev/null >/dev/null 2>&1 &\n",
    ready=_hostile_ready, needs=("/usr/bin/python3",)))
