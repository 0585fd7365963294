"""The lab: real Linux "VMs" made of namespaces on this machine, reached over a private bridge.

A VM named NAME is
  * a network namespace PREFIX-NAME whose eth0 (a veth pair, host end PREFIXvN on the bridge
    PREFIXbr that holds the subnet's .1) has the VM's address; no default route, so a VM can
    reach the lab's subnet and nothing else;
  * a PID/mount/UTS/IPC namespace made by `unshare`, whose PID 1 is init.sh: it bind-mounts
    the VM's private directories (they live under WORKDIR/vms/NAME/fs), puts tmpfs on /run,
    /tmp and /dev/shm, sets the hostname, starts a real sshd and the VM's services, and waits.

The host keeps a permanent `unreachable SUBNET metric 4242` route: while the lab is up the
bridge's own route wins; when it is down any connection to a lab address fails at once, locally.

Everything the lab creates is recorded, before or right after it is made, in WORKDIR/state.json,
so `down()` - from this process or any other - kills exactly those processes (by PID, checked
against their start time), deletes those namespaces and links, and removes the files.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import services as svc
from . import faults as _faults  # noqa: F401,E402 - registers the fault-injection services

HERE = Path(__file__).resolve().parent
INIT = HERE / "init.sh"

DEFAULT_PREFIX = "mglab"
DEFAULT_SUBNET = "10.213.66.0/24"
GUARD_METRIC = 4242
FIRST_HOST = 10            # VM n (0-based) gets subnet[FIRST_HOST + n] unless it names an address
SUDO_USER = "mglab"       # key login, passwordless sudo
PLAIN_USER = "mgplain"    # key login, no sudo rights (for "sudo refused" tests)
STATE_FILE = "state.json"
TRUTH_FILE = "truth.json"
TRUTH_VERSION = 1
STATE_VERSION = 1
VM_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "LANG": "C.UTF-8", "HOME": "/root", "TERM": "dumb"}
# Directories every VM has of its own (created empty under its fs/, bind-mounted over the host's).
PRIVATE_DIRS = ("/var/lib", "/var/log", "/var/spool", "/etc/ssh", "/etc/systemd/system", "/etc/cron.d",
                "/etc/sudoers.d", "/root", "/home", "/opt", "/srv")
PRIVATE_FILES = ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/hostname", "/etc/hosts",
                 "/etc/machine-id")
TMPFS = (("/run", "mode=0755,nosuid,nodev"), ("/tmp", "mode=1777,nosuid,nodev"),
         ("/dev/shm", "mode=1777,nosuid,nodev"))
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{0,9}$")


class LabError(RuntimeError):
    """The lab could not do what was asked; the message says what and where to look."""


@dataclass(frozen=True)
class VMSpec:
    """One VM: a name (its hostname), the services it runs, and optionally a fixed address and
    per-service options, e.g. VMSpec("app-2", ("webapp",), options={"webapp": {"redis": "app-1"}})."""

    name: str
    services: tuple[str, ...] = ()
    address: str | None = None
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.services, str):
            object.__setattr__(self, "services", (self.services,))
        object.__setattr__(self, "services", tuple(self.services))
        if not NAME_RE.match(self.name):
            raise ValueError(f"VM name {self.name!r}: use lowercase letters, digits and '-' (max 32)")
        for name in self.services:
            if name == "sshd":
                raise ValueError("sshd runs on every VM; do not list it")
            svc.get(name)
        if len(set(self.services)) != len(self.services):
            raise ValueError(f"VM {self.name}: a service is listed twice: {self.services}")

    def to_json(self) -> dict:
        return {"name": self.name, "services": list(self.services), "address": self.address,
                "options": {k: dict(v) for k, v in self.options.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "VMSpec":
        return cls(name=data["name"], services=tuple(data.get("services", ())), address=data.get("address"),
                   options=data.get("options") or {})


@dataclass
class VMContext:
    """What a service sees of the VM it is set up on."""

    lab: "Lab"
    spec: VMSpec
    index: int
    address: str
    netns: str
    vmdir: Path

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def fs(self) -> Path:
        """Host-side root of the VM's private files (same layout as inside the VM)."""
        return self.vmdir / "fs"

    def path(self, vm_path: str) -> Path:
        """Host-side path of a path in one of the VM's private directories."""
        return self.fs / vm_path.lstrip("/")

    def option(self, service: str, key: str, default: Any = None) -> Any:
        return (self.spec.options.get(service) or {}).get(key, default)


# ----------------------------------------------------------------------------------- processes

def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) of a live PID, None when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw.rsplit(")", 1)[1].split()
    return fields[0], int(fields[19])


def _is_same_process(rec: Mapping[str, Any]) -> bool:
    st = _proc_stat(rec["pid"])
    return st is not None and st[1] == rec["start"]


def running(rec: Mapping[str, Any]) -> bool:
    """The recorded process still runs (same PID and start time, not a zombie)."""
    st = _proc_stat(rec["pid"])
    return st is not None and st[1] == rec["start"] and st[0] not in ("Z", "X")


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    """Running (zombies are dead; ours are reaped on the way)."""
    _reap(pid)
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# ----------------------------------------------------------------------------------------- Lab

class Lab:
    """A set of lab VMs kept in `workdir`. See the module docstring; the API:

    lab = Lab(workdir=Path(...), prefix=None, subnet=None)  # None: $MIGRATOR_LAB_PREFIX/SUBNET, defaults
    lab.up([VMSpec("app-1", ("redis", "webapp"))])        # returns lab.hosts once everything answers
    lab.hosts; lab.write_inventory(path); lab.status(); lab.exec("app-1", ["redis-cli", ...])
    lab.down()                                            # idempotent; works from any process
    """

    def __init__(self, workdir: Path | str | None = None, prefix: str | None = None,
                 subnet: str | None = None):
        self.prefix = prefix or os.environ.get("MIGRATOR_LAB_PREFIX") or DEFAULT_PREFIX
        if not PREFIX_RE.match(self.prefix):
            raise LabError(f"lab prefix {self.prefix!r}: 1-10 of [a-z0-9-], starting with a letter "
                           "(interface names must stay within 15 characters)")
        text = subnet or os.environ.get("MIGRATOR_LAB_SUBNET") or DEFAULT_SUBNET
        try:
            self.subnet = ipaddress.IPv4Network(text, strict=True)
        except ValueError as exc:
            raise LabError(f"lab subnet {text!r}: {exc}") from exc
        if not self.subnet.is_private or self.subnet.is_loopback or self.subnet.is_link_local \
                or not 16 <= self.subnet.prefixlen <= 28:
            raise LabError(f"lab subnet {self.subnet}: must be a private IPv4 network, /16 to /28 "
                           "(e.g. 10.213.66.0/24)")
        default_workdir = Path(os.environ.get("MIGRATOR_LAB_WORKDIR") or f"/tmp/migrator-lab-{self.prefix}")
        self.workdir = Path(workdir or default_workdir).absolute()
        if any(c in str(self.workdir) for c in "\t\n"):
            raise LabError(f"lab workdir {self.workdir!r}: no tabs or newlines, please")
        self._procs: dict[int, subprocess.Popen] = {}
        self._state: dict[str, Any] | None = None
        self._planned: dict[str, str] = {}      # name -> address while up() prepares the VMs
        self.last_up_seconds: float | None = None

    # ------------------------------------------------------------------------- names and paths
    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    @property
    def gateway(self) -> str:
        return str(self.subnet[1])

    @property
    def state_path(self) -> Path:
        return self.workdir / STATE_FILE

    @property
    def key_path(self) -> Path:
        """The lab's SSH private key (ed25519); its public half is authorized for root and mglab."""
        return self.workdir / "ssh" / "id_ed25519"

    @property
    def known_hosts_path(self) -> Path:
        return self.workdir / "ssh" / "known_hosts"

    def netns_of(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def vmdir(self, name: str) -> Path:
        return self.workdir / "vms" / name

    def vm_path(self, name: str, vm_path: str) -> Path:
        """Host-side path of a file in a VM's private directories, e.g. ("app-1", "/var/lib/redis")."""
        return self.vmdir(name) / "fs" / vm_path.lstrip("/")

    # ------------------------------------------------------------------------------------ state
    def _load_state(self) -> dict[str, Any] | None:
        try:
            state = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise LabError(f"cannot read lab state {self.state_path}: {exc}") from exc
        if state.get("version") != STATE_VERSION:
            raise LabError(f"lab state {self.state_path} has version {state.get('version')}, "
                           f"expected {STATE_VERSION}")
        return state

    def _save_state(self) -> None:
        assert self._state is not None
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state, indent=2) + "\n")
        os.replace(tmp, self.state_path)

    @property
    def state(self) -> dict[str, Any] | None:
        """The recorded state (from the state file when this object did not start the lab)."""
        if self._state is None:
            self._state = self._load_state()
        return self._state

    @contextlib.contextmanager
    def _locked(self, create: bool):
        if not self.workdir.is_dir():
            if not create:
                yield False
                return
            self.workdir.mkdir(parents=True)
            created = True
        else:
            created = False
        fd = os.open(self.workdir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LabError(f"lab {self.workdir} is locked by another process") from None
                    time.sleep(0.1)
            yield created
        finally:
            os.close(fd)

    # ------------------------------------------------------------------------- requirements
    @staticmethod
    def missing_requirements(specs: Iterable[VMSpec] = ()) -> list[str]:
        """Why the lab cannot run here (empty when it can)."""
        problems = []
        if os.geteuid() != 0:
            problems.append("not root (the lab needs network, PID and mount namespaces)")
        needed = ["ip", "unshare", "nsenter", "mount", "setpriv", "hostname", "ssh-keygen", "/bin/sh"]
        for name in ["sshd"] + sorted({s for spec in specs for s in spec.services}):
            needed += svc.get(name).needs
        for prog in dict.fromkeys(needed):
            if not (os.access(prog, os.X_OK) if prog.startswith("/") else shutil.which(prog)):
                problems.append(f"{prog} not found (run tests/lab/install-deps.sh)")
        if not Path("/proc/self/ns/net").exists():
            problems.append("no network namespaces in this kernel")
        return problems

    # -------------------------------------------------------------------------------- helpers
    def _cmd(self, argv: list[str], *, check: bool = True, input: str | None = None,
             timeout: float = 30) -> subprocess.CompletedProcess:
        try:
            cp = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
        except FileNotFoundError as exc:
            raise LabError(f"{argv[0]}: not found") from exc
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"timed out after {timeout}s: {shlex.join(argv)}") from exc
        if check and cp.returncode != 0:
            raise LabError(f"`{shlex.join(argv)}` failed ({cp.returncode}): "
                           f"{(cp.stderr or cp.stdout).strip()}")
        return cp

    def _ip_json(self, *args: str) -> list[dict]:
        out = self._cmd(["ip", "-j", *args]).stdout.strip()
        return json.loads(out) if out else []

    def _link_exists(self, name: str) -> bool:
        return self._cmd(["ip", "link", "show", "dev", name], check=False).returncode == 0

    def _netns_list(self) -> set[str]:
        out = self._cmd(["ip", "netns", "list"], check=False).stdout
        return {line.split()[0] for line in out.splitlines() if line.strip()}

    def address_of(self, name: str) -> str:
        state = self.state or {}
        for vm in state.get("vms", []):
            if vm["name"] == name:
                return vm["address"]
        if name in self._planned:            # a VM prepared later in the same up()
            return self._planned[name]
        raise LabError(f"no VM named {name!r} in the lab")

    def name_of(self, address: str) -> str | None:
        """The VM that has `address`, None when no VM of this lab has it."""
        for vm in (self.state or {}).get("vms", []):
            if vm["address"] == address:
                return vm["name"]
        return next((n for n, a in self._planned.items() if a == address), None)

    def vms_running(self, service: str) -> list[str]:
        """Names of the lab's VMs that run `service`, in the order they were given to up()."""
        return [spec.name for spec in self.specs if service in spec.services]

    @property
    def truth_path(self) -> Path:
        return self.workdir / TRUTH_FILE

    @property
    def truth(self) -> dict[str, Any] | None:
        """The truth file of the lab that is up (see write_truth), None when there is none."""
        try:
            return json.loads(self.truth_path.read_text())
        except FileNotFoundError:
            return None

    def _init_pid(self, name: str) -> int:
        state = self.state
        for vm in (state or {}).get("vms", []):
            if vm["name"] == name:
                for rec in vm.get("pids", []):
                    if rec["role"] == "init" and running(rec):
                        return rec["pid"]
                raise LabError(f"VM {name} is not running")
        raise LabError(f"no VM named {name!r} in the lab")

    def exec(self, name: str, argv: list[str], *, check: bool = True, input: str | None = None,
             timeout: float = 30) -> subprocess.CompletedProcess:
        """Run `argv` inside VM `name` (all its namespaces) as root, from the host."""
        pid = self._init_pid(name)
        return self._cmd(["nsenter", f"--target={pid}", "--mount", "--uts", "--ipc", "--net", "--pid",
                          "--wd=/", "--", "env", "-i", *[f"{k}={v}" for k, v in VM_ENV.items()], *argv],
                         check=check, input=input, timeout=timeout)

    # ------------------------------------------------------------------------------------- up
    def up(self, specs: Iterable[VMSpec], timeout: float = 60) -> list[dict]:
        """Start the VMs; return when every sshd and service answers (else LabError, lab cleaned)."""
        specs = [s if isinstance(s, VMSpec) else VMSpec(**s) for s in specs]
        if not specs:
            raise LabError("up() needs at least one VMSpec")
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise LabError(f"VM names must be unique: {names}")
        problems = self.missing_requirements(specs)
        if problems:
            raise LabError("the lab cannot run here: " + "; ".join(problems))
        addresses = self._allocate(specs)
        t0 = time.monotonic()
        with self._locked(create=True) as created:
            if self._load_state() is not None or self._state is not None:
                prior = self._load_state() or self._state or {}
                self._down_locked(keep_workdir=True)      # already up (or half up): clean first
                created = created or bool(prior.get("workdir_created"))
            self._state = {"version": STATE_VERSION, "status": "starting", "prefix": self.prefix,
                           "subnet": str(self.subnet), "bridge": self.bridge, "bridge_created": False,
                           "workdir": str(self.workdir), "workdir_created": bool(created),
                           "started_at": time.time(), "owner_pid": os.getpid(),
                           "specs": [s.to_json() for s in specs], "vms": []}
            self._save_state()
            try:
                self._up_locked(specs, addresses, deadline=t0 + timeout)
            except BaseException as exc:
                report = self._diagnose(exc)
                if isinstance(self._state, dict):
                    self._state["status"] = "failed"
                    with contextlib.suppress(Exception):
                        self._save_state()
                if os.environ.get("MIGRATOR_LAB_KEEP_ON_FAILURE") != "1":
                    try:
                        self._down_locked()
                    except Exception as down_exc:  # noqa: BLE001 - report both
                        report += f"\n(and tearing the lab down failed too: {down_exc})"
                else:
                    report += f"\n(lab kept for inspection: python -m tests.lab down --workdir {self.workdir})"
                if isinstance(exc, Exception):
                    raise LabError(report) from exc
                raise
        self.last_up_seconds = time.monotonic() - t0
        return self.hosts

    def _allocate(self, specs: list[VMSpec]) -> list[str]:
        hosts_avail = self.subnet.num_addresses - 2
        taken = {self.gateway}
        out = []
        for i, spec in enumerate(specs):
            if spec.address:
                addr = ipaddress.IPv4Address(spec.address)
                if addr not in self.subnet or addr in (self.subnet.network_address, self.subnet.broadcast_address):
                    raise LabError(f"VM {spec.name}: address {addr} is not a host address of {self.subnet}")
            else:
                if FIRST_HOST + i > hosts_avail:
                    raise LabError(f"subnet {self.subnet} too small for {len(specs)} VMs")
                addr = self.subnet[FIRST_HOST + i]
            if str(addr) in taken:
                raise LabError(f"VM {spec.name}: address {addr} already used")
            taken.add(str(addr))
            out.append(str(addr))
        return out

    def _up_locked(self, specs: list[VMSpec], addresses: list[str], deadline: float) -> None:
        state = self._state
        assert state is not None
        self._guard_route()
        self._check_free(specs)
        self._make_client_key()
        # The bridge, with the subnet's .1.
        self._cmd(["ip", "link", "add", self.bridge, "type", "bridge", "forward_delay", "0", "stp_state", "0"])
        state["bridge_created"] = True
        self._save_state()
        self._cmd(["ip", "addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.bridge])
        self._cmd(["ip", "link", "set", self.bridge, "up"])

        self._planned = {s.name: a for s, a in zip(specs, addresses)}
        contexts = []
        for i, (spec, address) in enumerate(zip(specs, addresses)):
            ctx = VMContext(self, spec, i, address, self.netns_of(spec.name), self.vmdir(spec.name))
            state["vms"].append({"name": spec.name, "address": address, "netns": None, "veth": None,
                                 "services": ["sshd", *spec.services], "host_key": None,
                                 "sudo_user": None, "pids": []})
            self._save_state()
            self._prepare_vm(ctx, state["vms"][-1], [s.name for s in specs], addresses)
            contexts.append(ctx)
        self._write_known_hosts()
        for ctx in contexts:
            self._plug_vm(ctx, state["vms"][ctx.index])
        for ctx in contexts:
            self._boot_vm(ctx, state["vms"][ctx.index])
        self._wait_ready(contexts, deadline)
        for ctx in contexts:
            for name in state["vms"][ctx.index]["services"]:
                hook = svc.get(name).after_ready
                if hook:
                    hook(ctx)
        self.write_truth(contexts)
        state["status"] = "up"
        state["up_seconds"] = round(time.time() - state["started_at"], 3)
        self._save_state()

    def _guard_route(self) -> None:
        """The permanent safety net: lab addresses never leave the machine, lab up or not."""
        self._cmd(["ip", "route", "replace", "unreachable", str(self.subnet), "metric", str(GUARD_METRIC)])
        routes = self._ip_json("route", "show", "exact", str(self.subnet))
        if not any(r.get("type") == "unreachable" and r.get("metric") == GUARD_METRIC for r in routes):
            raise LabError(f"could not install the guard route 'unreachable {self.subnet} metric {GUARD_METRIC}'")

    def _check_free(self, specs: list[VMSpec]) -> None:
        """Refuse a subnet that reaches anything real, and names another lab holds."""
        for route in self._ip_json("-4", "route", "show", "table", "all"):
            dst = route.get("dst")
            if not dst or dst == "default" or route.get("table") == "local":
                continue
            try:
                net = ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False)
            except ValueError:
                continue
            if not net.overlaps(self.subnet):
                continue
            if net == self.subnet and route.get("type") == "unreachable":
                continue
            raise LabError(f"lab subnet {self.subnet} overlaps the host route {dst} "
                           f"(dev {route.get('dev', '?')}): another lab is up, or choose another "
                           "MIGRATOR_LAB_SUBNET")
        for entry in self._ip_json("-4", "addr", "show"):
            for addr in entry.get("addr_info", []):
                if ipaddress.IPv4Address(addr["local"]) in self.subnet:
                    raise LabError(f"{addr['local']} on {entry['ifname']} is inside the lab subnet {self.subnet}")
        if self._link_exists(self.bridge):
            raise LabError(f"bridge {self.bridge} exists but is not this lab's ({self.workdir}): another lab "
                           f"with prefix {self.prefix!r} is up; down it, or `python -m tests.lab down --purge`")
        existing = self._netns_list()
        for spec in specs:
            if self.netns_of(spec.name) in existing:
                raise LabError(f"network namespace {self.netns_of(spec.name)} already exists (another lab?)")
        for i in range(len(specs)):
            if self._link_exists(f"{self.prefix}v{i}"):
                raise LabError(f"interface {self.prefix}v{i} already exists (another lab?)")

    def _make_client_key(self) -> None:
        ssh_dir = self.key_path.parent
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        for p in (self.key_path, self.key_path.with_suffix(".pub")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self._cmd(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"migrator-lab@{self.prefix}",
                   "-f", str(self.key_path)])

    # -------------------------------------------------------------------------- one VM's files
    def _prepare_vm(self, ctx: VMContext, rec: dict, names: list[str], addresses: list[str]) -> None:
        vmdir = ctx.vmdir
        if vmdir.exists():
            shutil.rmtree(vmdir)
        vmdir.mkdir(parents=True)
        for d in PRIVATE_DIRS:
            ctx.path(d).mkdir(parents=True, exist_ok=True)
            ctx.path(d).chmod(0o755)      # whatever the umask: sshd's StrictModes checks these
        ctx.path("/root").chmod(0o700)
        ctx.path("/var/spool/cron/crontabs").mkdir(parents=True, mode=0o730)
        ctx.path("/var/lib/dpkg").mkdir()
        if Path("/etc/cron.d").is_dir():
            for f in Path("/etc/cron.d").iterdir():
                if f.is_file():
                    shutil.copy2(f, ctx.path("/etc/cron.d") / f.name)
        pub = self.key_path.with_suffix(".pub").read_text()

        # Accounts: the host's, plus the sudo user.
        passwd = Path("/etc/passwd").read_text()
        group = Path("/etc/group").read_text()
        shadow = Path("/etc/shadow").read_text() if Path("/etc/shadow").exists() else ""
        uid = self._free_id(passwd, group)
        plain_uid = self._free_id(passwd + f"x:x:{uid}:\n", group)
        home, plain_home = f"/home/{SUDO_USER}", f"/home/{PLAIN_USER}"
        ctx.path("/etc/passwd").write_text(
            _nl(passwd) + f"{SUDO_USER}:x:{uid}:{uid}:migrator lab:{home}:/bin/bash\n"
            f"{PLAIN_USER}:x:{plain_uid}:{plain_uid}:migrator lab, no sudo:{plain_home}:/bin/sh\n")
        ctx.path("/etc/group").write_text(_nl(group) + f"{SUDO_USER}:x:{uid}:\n{PLAIN_USER}:x:{plain_uid}:\n")
        ctx.path("/etc/shadow").write_text(_nl(shadow) + f"{SUDO_USER}:*:19000:0:99999:7:::\n"
                                           f"{PLAIN_USER}:*:19000:0:99999:7:::\n")
        ctx.path("/etc/passwd").chmod(0o644)
        ctx.path("/etc/group").chmod(0o644)
        ctx.path("/etc/shadow").chmod(0o640)
        with contextlib.suppress(LookupError, OSError):
            shutil.chown(ctx.path("/etc/shadow"), "root", "shadow")
        for home_dir, owner in ((ctx.path("/root"), (0, 0)), (ctx.path(home), (uid, uid)),
                                (ctx.path(plain_home), (plain_uid, plain_uid))):
            home_dir.mkdir(exist_ok=True)
            home_dir.chmod(0o750 if owner[0] else 0o700)
            for skel in (".bashrc", ".profile"):
                if Path("/etc/skel", skel).is_file():
                    shutil.copy2(Path("/etc/skel", skel), home_dir / skel)
            ssh = home_dir / ".ssh"
            ssh.mkdir(mode=0o700)
            (ssh / "authorized_keys").write_text(pub)
            (ssh / "authorized_keys").chmod(0o600)
            for p in (home_dir, ssh, *home_dir.iterdir(), ssh / "authorized_keys"):
                os.chown(p, *owner)
        has_sudo = bool(shutil.which("sudo")) and Path("/etc/sudoers.d").is_dir()
        if Path("/etc/sudoers.d").is_dir():
            for f in Path("/etc/sudoers.d").iterdir():
                if f.is_file():
                    shutil.copy2(f, ctx.path("/etc/sudoers.d") / f.name)
        if has_sudo:
            entry = ctx.path(f"/etc/sudoers.d/{SUDO_USER}")
            entry.write_text(f"{SUDO_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n")
            entry.chmod(0o440)
        rec["sudo_user"] = SUDO_USER if has_sudo else None

        # Identity.
        ctx.path("/etc/hostname").write_text(ctx.name + "\n")
        ctx.path("/etc/machine-id").write_text(uuid.uuid4().hex + "\n")
        ctx.path("/etc/machine-id").chmod(0o444)
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                 f"{self.gateway}\tlab-gateway"]
        lines += [f"{a}\t{n}" for n, a in zip(names, addresses)]
        ctx.path("/etc/hosts").write_text("\n".join(lines) + "\n")

        # Services (sshd first).
        start_lines = []
        service_mounts: list[tuple[str, str, str]] = []
        for name in rec["services"]:
            service = svc.get(name)
            if service.prepare:
                service.prepare(ctx)
            if service.mounts:
                service_mounts += service.mounts(ctx)
            if service.start:
                start_lines.append(f"# {name}\n{service.start(ctx)}")
        host_key = ctx.path("/etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
        rec["host_key"] = f"{host_key[0]} {host_key[1]}"

        # init.sh's inputs.
        (vmdir / "vm.env").write_text(f"NAME={shlex.quote(ctx.name)}\nADDRESS={shlex.quote(ctx.address)}\n")
        (vmdir / "services.sh").write_text("".join(start_lines))
        mounts: list[tuple[str, str, str]] = []
        if Path("/var/lib/dpkg").is_dir():   # package queries work in the VM, read-only
            mounts.append(("robind", "/var/lib/dpkg", str(ctx.path("/var/lib/dpkg"))))
        for d in PRIVATE_DIRS:
            if Path(d).is_dir():
                mounts.append(("rbind" if d == "/var/lib" else "bind", str(ctx.path(d)), d))
            elif d in ("/var/lib", "/var/log", "/etc/ssh", "/root", "/home"):
                raise LabError(f"{d} does not exist on this machine; a lab VM needs it as a mount point")
        for f in PRIVATE_FILES:
            if Path(f).exists():
                mounts.append(("bind", str(ctx.path(f)), f))
            elif f in ("/etc/passwd", "/etc/group"):
                raise LabError(f"{f} does not exist on this machine")
        mounts += list(dict.fromkeys(service_mounts))    # two services may share e.g. /etc/default
        mounts += [("tmpfs", opts, target) for target, opts in TMPFS]   # last: may hide the workdir
        (vmdir / "mounts").write_text("".join("\t".join(m) + "\n" for m in mounts))
        self._save_state()

    @staticmethod
    def _free_id(passwd: str, group: str) -> int:
        used = {int(line.split(":")[2]) for text in (passwd, group) for line in text.splitlines()
                if line.count(":") >= 3 and line.split(":")[2].isdigit()}
        for candidate in range(4242, 60000):
            if candidate not in used:
                with contextlib.suppress(KeyError):
                    pwd.getpwuid(candidate)
                    continue
                return candidate
        raise LabError("no free uid for the lab user")

    def _write_known_hosts(self) -> None:
        lines = [f"{vm['address']} {vm['host_key']}" for vm in self._state["vms"] if vm.get("host_key")]
        self.known_hosts_path.write_text("\n".join(lines) + "\n")
        self.known_hosts_path.chmod(0o644)

    # ------------------------------------------------------------------------ network, boot
    def _plug_vm(self, ctx: VMContext, rec: dict) -> None:
        ns, veth = ctx.netns, f"{self.prefix}v{ctx.index}"
        self._cmd(["ip", "netns", "add", ns])
        rec["netns"] = ns
        self._save_state()
        self._cmd(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        rec["veth"] = veth
        self._save_state()
        self._cmd(["ip", "link", "set", veth, "master", self.bridge, "up"])
        self._cmd(["ip", "-n", ns, "addr", "add", f"{ctx.address}/{self.subnet.prefixlen}", "dev", "eth0"])
        self._cmd(["ip", "-n", ns, "link", "set", "eth0", "up"])
        self._cmd(["ip", "-n", ns, "link", "set", "lo", "up"])

    def _boot_vm(self, ctx: VMContext, rec: dict) -> None:
        argv = ["ip", "netns", "exec", ctx.netns,
                "unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--mount", "--uts", "--ipc",
                "--propagation", "private", "/bin/sh", str(INIT), str(ctx.vmdir)]
        with open(ctx.vmdir / "console.log", "ab") as console:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                    env=VM_ENV, cwd="/", start_new_session=True, close_fds=True)
        self._procs[proc.pid] = proc
        st = _proc_stat(proc.pid)
        rec["pids"].append({"role": "unshare", "pid": proc.pid, "start": st[1] if st else None})
        self._save_state()
        # `ip netns exec` execs unshare, which forks the VM's PID 1: find it.
        deadline = time.monotonic() + 5
        children: list[str] = []
        while time.monotonic() < deadline:
            try:
                children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            except FileNotFoundError:
                children = []
            if children or proc.poll() is not None:
                break
            time.sleep(0.005)
        if not children:
            raise LabError(f"VM {ctx.name}: init did not start (exit {proc.poll()}); "
                           f"console: {_tail(ctx.vmdir / 'console.log')}")
        pid = int(children[0])
        st = _proc_stat(pid)
        rec["pids"].insert(0, {"role": "init", "pid": pid, "start": st[1] if st else None})
        self._save_state()

    def _wait_ready(self, contexts: list[VMContext], deadline: float) -> None:
        pending = {(ctx.index, name) for ctx in contexts for name in self._state["vms"][ctx.index]["services"]}
        reasons: dict[tuple[int, str], str] = {}
        while True:
            for ctx in contexts:
                rec = self._state["vms"][ctx.index]
                if not all(_alive(p["pid"]) for p in rec["pids"]):
                    raise LabError(f"VM {ctx.name}: init exited; console: {_tail(ctx.vmdir / 'console.log')}")
            for key in sorted(pending):
                ctx = contexts[key[0]]
                check = svc.get(key[1]).ready
                reason = check(ctx) if check else None
                if reason is None:
                    pending.discard(key)
                else:
                    reasons[key] = reason
            if not pending:
                return
            if time.monotonic() > deadline:
                what = "; ".join(f"{contexts[i].name} ({contexts[i].address}) {name}: {reasons.get((i, name))}"
                                 for i, name in sorted(pending))
                raise LabError(f"not up in time: {what}")
            time.sleep(0.03)

    def _diagnose(self, exc: BaseException) -> str:
        lines = [f"lab up failed: {exc}"]
        for vm in (self._state or {}).get("vms", []):
            vmdir = self.vmdir(vm["name"])
            logs = [vmdir / "console.log"]
            for name in vm.get("services", []):
                logs += [self.vm_path(vm["name"], p) for p in svc.get(name).logs]
            for log in logs:
                text = _tail(log)
                if text:
                    lines.append(f"--- {vm['name']}: {log}\n{text}")
        return "\n".join(lines)

    # ----------------------------------------------------------------------------------- down
    def down(self, purge: bool = False) -> None:
        """Kill what the lab started, delete its namespaces, links and files. Idempotent.
        purge=True also removes every namespace and link named after this prefix, recorded or not."""
        with self._locked(create=False) as _:
            if self.workdir.is_dir():
                self._down_locked()
        if purge:
            self._purge_prefix()
        for proc in list(self._procs.values()):      # reap our children whoever killed them
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)
        self._procs.clear()

    def _down_locked(self, keep_workdir: bool = False) -> None:
        state = self._state if self._state is not None else self._load_state()
        problems: list[str] = []
        if state is not None:
            vms = state.get("vms", [])
            # 1. Processes: PID 1 of each VM (its death kills the whole PID namespace), then unshare,
            #    then anything else still in the VM's network namespace.
            victims: set[int] = set()
            for vm in vms:
                for rec in vm.get("pids", []):
                    if rec.get("start") is not None and _is_same_process(rec):
                        _kill(rec["pid"])
                        victims.add(rec["pid"])
            existing = self._netns_list()
            for vm in vms:
                if vm.get("netns") and vm["netns"] in existing:
                    out = self._cmd(["ip", "netns", "pids", vm["netns"]], check=False).stdout
                    for pid in map(int, out.split()):
                        _kill(pid)
                        victims.add(pid)
            for pid, proc in self._procs.items():
                if pid in victims:
                    with contextlib.suppress(Exception):
                        proc.wait(timeout=5)
            deadline = time.monotonic() + 10
            while any(_alive(p) for p in victims) and time.monotonic() < deadline:
                time.sleep(0.02)
            left = sorted(p for p in victims if _alive(p))
            if left:
                problems.append(f"processes still alive after SIGKILL: {left}")
            # 2. Network: namespaces (their veth ends go with them), host veths, the bridge.
            #    The guard route stays.
            for vm in vms:
                if vm.get("netns") and vm["netns"] in existing:
                    cp = self._cmd(["ip", "netns", "del", vm["netns"]], check=False)
                    if cp.returncode and vm["netns"] in self._netns_list():
                        problems.append(f"ip netns del {vm['netns']}: {cp.stderr.strip()}")
                if vm.get("veth") and self._link_exists(vm["veth"]):
                    self._cmd(["ip", "link", "del", vm["veth"]], check=False)
            if state.get("bridge_created") and self._link_exists(state["bridge"]):
                self._cmd(["ip", "link", "del", state["bridge"]], check=False)
        # 3. Files (never through a mount point).
        if self.workdir.is_dir():
            mounted = _mounts_under(self.workdir)
            if mounted:
                problems.append(f"mounts left under {self.workdir}: {mounted}; not deleting files")
            elif not problems:
                for entry in ("vms", "ssh"):
                    shutil.rmtree(self.workdir / entry, ignore_errors=True)
                for entry in ("state.tmp", TRUTH_FILE, TRUTH_FILE + ".tmp", "inventory.json"):
                    with contextlib.suppress(FileNotFoundError):
                        (self.workdir / entry).unlink()
                with contextlib.suppress(FileNotFoundError):
                    self.state_path.unlink()
                if state and state.get("workdir_created") and not keep_workdir:
                    with contextlib.suppress(FileNotFoundError):
                        (self.workdir / ".lock").unlink()
                    with contextlib.suppress(OSError):
                        self.workdir.rmdir()
        self._state = None
        if problems:
            raise LabError("lab down incomplete: " + "; ".join(problems))

    def _purge_prefix(self) -> None:
        """Remove every namespace and link named after this prefix (for labs whose state is lost)."""
        for ns in sorted(self._netns_list()):
            if ns.startswith(f"{self.prefix}-"):
                out = self._cmd(["ip", "netns", "pids", ns], check=False).stdout
                pids = [int(p) for p in out.split()]
                for pid in pids:
                    _kill(pid)
                deadline = time.monotonic() + 10
                while any(_alive(p) for p in pids) and time.monotonic() < deadline:
                    time.sleep(0.02)
                self._cmd(["ip", "netns", "del", ns], check=False)
        for link in self._ip_json("link", "show"):
            name = link.get("ifname", "")
            if name == self.bridge or re.fullmatch(rf"{re.escape(self.prefix)}v\d+", name):
                self._cmd(["ip", "link", "del", name], check=False)

    # ---------------------------------------------------------------------------- reporting
    @property
    def hosts(self) -> list[dict]:
        """One dict per VM: name, address, port, user, key_path, host_key, sudo_user, plain_user."""
        state = self.state
        if not state:
            return []
        return [{"name": vm["name"], "address": vm["address"], "port": 22, "user": "root",
                 "key_path": str(self.key_path), "host_key": vm["host_key"], "sudo_user": vm.get("sudo_user"),
                 "plain_user": PLAIN_USER}
                for vm in state.get("vms", [])]

    @property
    def specs(self) -> list[VMSpec]:
        """The VMSpecs of the lab that is up (to bring the same lab up again)."""
        return [VMSpec.from_json(s) for s in (self.state or {}).get("specs", [])]

    def write_truth(self, contexts: list[VMContext] | None = None) -> Path:
        """WORKDIR/truth.json: what runs where, built from each service's own `truth(ctx)`
        (applications, peers, order, clusters, daemons, jobs) for the VMs of this lab:

          {"version": 1, "hosts": [{"name", "address"}], "applications": [{"host", "software", "name",
           "stateful", "state_paths", "ports": [{"port", "protocol", "scope"}], "unit", "user"}],
           "peers": [{"client": "HOST/SOFTWARE", "server": "HOST/SOFTWARE", "port"}],
           "order": [{"before": REF, "after": REF}],
           "clusters": [{"software", "members": {REF: ROLE}}], "daemons": [{"software", "hosts"}],
           "jobs": [{"host", "schedule", "user", "command"}]}

        Clusters and daemons of the same software from several VMs are merged into one entry."""
        state = self.state or {}
        if contexts is None:
            specs = {s.name: s for s in self.specs}
            contexts = [VMContext(self, specs.get(vm["name"], VMSpec(vm["name"])), i, vm["address"],
                                  vm.get("netns") or "", self.vmdir(vm["name"]))
                        for i, vm in enumerate(state.get("vms", []))]
        truth: dict[str, Any] = {"version": TRUTH_VERSION,
                                 "hosts": [{"name": c.name, "address": c.address} for c in contexts],
                                 "applications": [], "peers": [], "order": [], "clusters": [], "daemons": [],
                                 "jobs": []}
        clusters: dict[str, dict[str, str]] = {}
        daemons: dict[str, list[str]] = {}
        for ctx in contexts:
            for name in ctx.spec.services:
                service = svc.get(name)
                if not service.truth:
                    continue
                part = service.truth(ctx)
                for key in ("applications", "peers", "order", "jobs"):
                    for item in part.get(key, []):
                        if item not in truth[key]:
                            truth[key].append(item)
                for cluster in part.get("clusters", []):
                    clusters.setdefault(cluster["software"], {}).update(cluster["members"])
                for daemon in part.get("daemons", []):
                    hosts = daemons.setdefault(daemon["software"], [])
                    hosts += [h for h in daemon["hosts"] if h not in hosts]
        truth["clusters"] = [{"software": sw, "members": members} for sw, members in clusters.items()]
        truth["daemons"] = [{"software": sw, "hosts": hosts} for sw, hosts in daemons.items()]
        tmp = self.truth_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(truth, indent=2) + "\n")
        os.replace(tmp, self.truth_path)
        return self.truth_path

    def write_inventory(self, path: Path | str) -> Path:
        """The hosts as JSON (path ending .json) or YAML (anything else): {"hosts": [...]}."""
        path = Path(path)
        hosts = self.hosts
        if path.suffix == ".json":
            text = json.dumps({"hosts": hosts}, indent=2) + "\n"
        else:   # YAML by hand: every scalar as a JSON scalar, which YAML reads the same
            out = ["# migrator lab inventory", "hosts:"]
            for host in hosts:
                for i, (key, value) in enumerate(host.items()):
                    out.append(f"{'  - ' if i == 0 else '    '}{key}: {json.dumps(value)}")
            if not hosts:
                out[-1] = "hosts: []"
            text = "\n".join(out) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def status(self) -> dict[str, Any]:
        state = self.state
        if not state:
            return {"status": "down", "workdir": str(self.workdir), "prefix": self.prefix,
                    "subnet": str(self.subnet), "vms": []}
        vms = []
        for i, vm in enumerate(state.get("vms", [])):
            alive = bool(vm.get("pids")) and all(running(p) for p in vm["pids"])
            entry = {"name": vm["name"], "address": vm["address"], "netns": vm.get("netns"),
                     "running": alive, "services": {}}
            if alive:
                spec = next((VMSpec.from_json(s) for s in state.get("specs", []) if s["name"] == vm["name"]),
                            VMSpec(vm["name"]))
                ctx = VMContext(self, spec, i, vm["address"], vm.get("netns") or "", self.vmdir(vm["name"]))
                for name in vm.get("services", []):
                    check = svc.get(name).ready
                    entry["services"][name] = (check(ctx) if check else None) or "ready"
            vms.append(entry)
        return {"status": state.get("status"), "workdir": str(self.workdir), "prefix": state["prefix"],
                "subnet": state["subnet"], "bridge": state["bridge"], "up_seconds": state.get("up_seconds"),
                "key_path": str(self.key_path), "known_hosts": str(self.known_hosts_path), "vms": vms}

    def ssh_command(self, name: str, user: str = "root") -> list[str]:
        """An `ssh` argv (real OpenSSH client, lab key, strict host key checking) for VM `name`."""
        return ["ssh", "-F", "/dev/null", "-i", str(self.key_path), "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts_path}", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", f"{user}@{self.address_of(name)}"]


# ------------------------------------------------------------------------------------- helpers

def _nl(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].encode().decode("unicode_escape")
            if point.startswith(prefix) or point == str(root):
                found.append(point)
    return found


def connect_error(address: str, port: int = 22, timeout: float = 5.0) -> tuple[int | None, float]:
    """Try one TCP connect from the host: (errno or None when it connected, seconds it took)."""
    t0 = time.monotonic()
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return None, time.monotonic() - t0
    except socket.timeout:
        return errno.ETIMEDOUT, time.monotonic() - t0
    except OSError as exc:
        return exc.errno, time.monotonic() - t0
