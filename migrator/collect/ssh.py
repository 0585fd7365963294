"""The only module that speaks SSH (paramiko). It maps paramiko and socket errors to ours.

One `SSHSession` is one TCP connection to one host. The server's key is checked before any
credential is sent: against the key pinned in our database, else the user's known_hosts,
else it is pinned on first use. A key that differs from the expected one is refused.

A target with a `jump` (ssh's ProxyJump) is reached through another host: the session logs in
to the jump host first (its own key check and credentials), opens a `direct-tcpip` channel from
there to the target and runs the target's SSH transport over that channel. Errors name the hop.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import select
import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import paramiko

from migrator.errors import AuthError, ConnectError, HostKeyError, ProbeError
from migrator.text import printable

# paramiko logs every failed handshake with a traceback from its transport thread; each
# failure reaches the user once, as one plain-words error of ours, so its own log stays quiet.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)


def handshake_problem(exc: BaseException, timeout: float, elapsed: float) -> str:
    """What went wrong before login, in plain words (paramiko's messages run together)."""
    text = str(exc)
    if "codec" in text or "Indecipherable" in text:
        return "the server did not answer like an SSH server (unreadable banner)"
    if ("protocol banner" in text or "No existing session" in text) and elapsed >= timeout * 0.9:
        return f"no SSH answer within {timeout:g} s: is an SSH server listening on this port?"
    if "protocol banner" in text:       # at once: something else answers there (a web server, say)
        return "the server did not answer like an SSH server (no SSH banner): is this the SSH port?"
    if isinstance(exc, EOFError) or "No existing session" in text or not text:
        return "the server closed the connection during the SSH handshake"
    if "Incompatible" in text or "no acceptable" in text.lower():
        return f"no SSH algorithm in common with the server ({text[:200]})"
    return f"SSH handshake failed ({text[:200] or type(exc).__name__})"


@dataclass(frozen=True)
class SSHTarget:
    """Where and how to log in. `password` is held in memory only for the connection."""

    address: str
    port: int | None = None
    username: str | None = None
    auth_method: str = "key"  # key | agent | password
    key_path: str | None = None
    password: str | None = field(default=None, repr=False)
    pinned_host_key: str | None = None  # "ssh-ed25519 AAAA..."
    name: str | None = None             # the inventory name, for messages
    jump: "SSHTarget | None" = None     # reach this host through that one (ProxyJump)
    # Called with the key line when a jump host's key is seen for the first time and the login
    # through it worked (the caller pins it on the jump host's own record).
    on_new_host_key: Callable[[str], None] | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.name or self.address


@dataclass(frozen=True)
class ExecResult:
    stdout: bytes
    stderr: bytes
    exit_status: int | None
    truncated: bool
    seconds: float


def key_line(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()}"


def fingerprint(key_text: str) -> str:
    """OpenSSH-style SHA256 fingerprint of a 'type base64' key line."""
    blob = base64.b64decode(key_text.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


MAX_HOPS = 8   # jump hosts behind jump hosts; the inventory allows fewer (services.hosts)


class _Transport(paramiko.Transport):
    """paramiko's Transport, keeping the server's own words when it refuses to open a channel
    (paramiko keeps only the reason code): "Connection refused", "No route to host"..."""

    open_failure_text = ""

    def _parse_channel_open_failure(self, m):
        try:
            m.get_int()
            m.get_int()
            self.open_failure_text = m.get_text()[:200]
            m.rewind()
        except Exception:  # noqa: BLE001 - the words are a nicety; paramiko's handling goes on
            m.rewind()
        return super()._parse_channel_open_failure(m)


def _resolve(target: SSHTarget, ssh_config_path: str | None) -> tuple[str, int, str, list[str]]:
    """Apply ~/.ssh/config (HostName, Port, User, IdentityFile) under the explicit settings."""
    host, port, user, identities = target.address, target.port, target.username, []
    if ssh_config_path and Path(ssh_config_path).is_file():
        try:
            cfg = paramiko.SSHConfig.from_path(ssh_config_path).lookup(target.address)
        except (OSError, paramiko.SSHException, ValueError) as exc:
            raise ConnectError(f"cannot read SSH config {ssh_config_path}: {exc}") from exc
        host = cfg.get("hostname", host)
        if port in (None, 22) and "port" in cfg:   # the inventory's default port: the config may say better
            try:
                port = int(cfg["port"])
            except ValueError:
                raise ConnectError(f"SSH config {ssh_config_path}: Port {printable(cfg['port'], 40)!r} "
                                   f"for {printable(target.address, 80)} is not a number") from None
        user = user or cfg.get("user")
        identities = [str(Path(p).expanduser()) for p in cfg.get("identityfile", [])]
    return host, port or 22, user or "root", identities


_KNOWN_HOSTS: dict[str, tuple[tuple[int, int], paramiko.HostKeys]] = {}
_KNOWN_HOSTS_LOCK = threading.Lock()


def _known_hosts(path: str) -> paramiko.HostKeys:
    """A known_hosts file, parsed once per version of it (its mtime and size), not once per host."""
    st = os.stat(path)
    version = (st.st_mtime_ns, st.st_size)
    with _KNOWN_HOSTS_LOCK:
        cached = _KNOWN_HOSTS.get(path)
        if cached is None or cached[0] != version:
            cached = _KNOWN_HOSTS[path] = (version, paramiko.HostKeys(path))
        return cached[1]


class SSHSession:
    """A connected, authenticated SSH transport to one host."""

    def __init__(self, target: SSHTarget, *, connect_timeout: float = 10.0,
                 ssh_config_path: str | None = None, known_hosts_path: str | None = None):
        self.target = target
        self.connect_timeout = connect_timeout
        self.ssh_config_path = ssh_config_path
        self.known_hosts_path = known_hosts_path
        self.host_key: str | None = None
        self.newly_pinned = False
        self.username = target.username or "root"
        self.bytes_in = 0
        self.bytes_out = 0
        self.exec_count = 0
        self._transport: paramiko.Transport | None = None
        self._hop: SSHSession | None = None     # the connected jump host, when there is one
        self._depth = 0

    # -- connection -------------------------------------------------------------------------
    def connect(self) -> "SSHSession":
        host, port, user, identities = _resolve(self.target, self.ssh_config_path)
        self.username = user
        where = self._where(host, port)
        if self.target.jump is not None:
            sock = self._through_jump(host, port)
        else:
            try:
                sock = socket.create_connection((host, port), timeout=self.connect_timeout)
            except socket.timeout as exc:
                raise ConnectError(f"{where}: no answer within {self.connect_timeout:g} s") from exc
            except socket.gaierror as exc:
                raise ConnectError(f"{where}: host name does not resolve ({exc.strerror})") from exc
            except OSError as exc:
                raise ConnectError(f"{where}: cannot connect ({exc.strerror or exc})") from exc
            # Nagle off: SSH packets are small and paramiko writes them one by one; with Nagle on,
            # each exec (request, stdin, EOF) waits out the server's delayed ACK (40 ms) once or twice.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = _Transport(sock)
        transport.banner_timeout = self.connect_timeout
        transport.handshake_timeout = self.connect_timeout
        self._transport = transport
        started = time.monotonic()
        try:
            transport.start_client(timeout=self.connect_timeout)
            self._check_host_key(host, port, transport.get_remote_server_key())
            self._authenticate(transport, user, identities, where)
        except (HostKeyError, AuthError):
            self.close()
            raise
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self.close()
            problem = handshake_problem(exc, self.connect_timeout, time.monotonic() - started)
            raise ConnectError(f"{where}: {problem}") from exc
        transport.set_keepalive(15)
        return self

    def _where(self, host: str, port: int) -> str:
        """How messages name this hop: "10.0.0.5:22", "jump host bastion-1 (10.0.0.5:22)", and
        "... through jump host bastion-1" when it is reached through another."""
        where = f"{host}:{port}"
        if self._depth:
            where = f"jump host {self.target.label} ({where})"
        if self.target.jump is not None:
            where += f" through jump host {self.target.jump.label}"
        return where

    def _through_jump(self, host: str, port: int) -> paramiko.Channel:
        """Log in to the jump host (its own checks and credentials; it may have a jump host of
        its own), then open a direct-tcpip channel from there to host:port."""
        jump = self.target.jump
        if self._depth >= MAX_HOPS:
            raise ConnectError(f"{host}:{port}: more than {MAX_HOPS} jump hosts in a row")
        hop = SSHSession(jump, connect_timeout=self.connect_timeout, ssh_config_path=self.ssh_config_path,
                         known_hosts_path=self.known_hosts_path)
        hop._depth = self._depth + 1
        hop.connect()
        self._hop = hop
        if hop.newly_pinned and jump.on_new_host_key is not None and hop.host_key:
            try:
                jump.on_new_host_key(hop.host_key)
            except BaseException:
                self._close_hop()
                raise
        via = f"through jump host {jump.label}"
        target = f"the target {host}:{port}"
        transport = hop._transport
        try:
            return transport.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0),
                                          timeout=self.connect_timeout)
        except paramiko.ChannelException as exc:
            self._close_hop()
            words = getattr(transport, "open_failure_text", "") or exc.text or ""
            low = words.lower()
            if exc.code == 1:    # administratively prohibited
                problem = (f"jump host {jump.label} does not allow forwarding to {host}:{port} "
                           f"(AllowTcpForwarding or PermitOpen in its sshd_config; it said: {words or exc.text})")
                raise ConnectError(problem) from exc
            if "refused" in low:
                problem = f"{target} refused the connection"
            elif "resol" in low or "name or service" in low or "getaddrinfo" in low or "not known" in low:
                problem = f"{target}: host name does not resolve on the jump host ({words})"
            elif "timed out" in low:
                problem = f"{target} did not answer (Connection timed out)"
            else:
                problem = f"cannot connect to {target} ({words or exc.text})"
            raise ConnectError(f"{via}: {problem}") from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self._close_hop()
            if "Timeout opening channel" in str(exc):
                raise ConnectError(f"{via}: {target}: no answer within {self.connect_timeout:g} s") from exc
            raise ConnectError(f"{via}: the connection to jump host {jump.label} broke while opening a "
                               f"channel to {target} ({exc or type(exc).__name__})") from exc

    def _close_hop(self) -> None:
        if self._hop is not None:
            self._hop.close()
            self._hop = None

    def _check_host_key(self, host: str, port: int, key: paramiko.PKey) -> None:
        offered = key_line(key)
        expected = self.target.pinned_host_key
        source = "the key pinned for this host"
        if not expected and self.known_hosts_path and Path(self.known_hosts_path).is_file():
            lookup = host if port == 22 else f"[{host}]:{port}"
            try:
                known = _known_hosts(self.known_hosts_path).lookup(lookup)
            except (OSError, paramiko.SSHException) as exc:
                raise HostKeyError(f"cannot read known_hosts {self.known_hosts_path}: {exc}") from exc
            if known:
                if key.get_name() in known:
                    expected = key_line(known[key.get_name()])
                else:
                    expected = key_line(next(iter(known.values())))
                source = f"known_hosts ({self.known_hosts_path})"
        if expected and expected.split()[:2] != offered.split()[:2]:
            accept = (f"accept it with `migrator hosts accept-key {self.target.name}`" if self.target.name
                      else "accept the new key explicitly")
            raise HostKeyError(
                f"{self._where(host, port)}: HOST KEY CHANGED: the server offered {key.get_name()} "
                f"{fingerprint(offered)} but {source} is {fingerprint(expected)}. "
                f"Refusing to log in; if the change is expected, {accept}.")
        self.newly_pinned = not expected
        self.host_key = offered

    def _authenticate(self, transport: paramiko.Transport, user: str, identities: list[str],
                      where: str) -> None:
        method = self.target.auth_method
        try:
            if method == "password":
                if not self.target.password:
                    raise AuthError(f"{where}: password login chosen but no password given")
                transport.auth_password(user, self.target.password)
            elif method == "agent":
                keys = paramiko.Agent().get_keys()
                if not keys:
                    raise AuthError(f"{where}: ssh-agent has no keys (is SSH_AUTH_SOCK set?)")
                self._try_keys(transport, user, keys, where)
            else:
                paths = [self.target.key_path] if self.target.key_path else identities
                if not paths:
                    paths = [str(Path(f"~/.ssh/id_{t}").expanduser()) for t in ("ed25519", "ecdsa", "rsa")]
                    paths = [p for p in paths if Path(p).is_file()]
                if not paths:
                    raise AuthError(f"{where}: no key file given and none found in ~/.ssh")
                self._try_keys(transport, user, [self._load_key(p) for p in paths], where)
        except paramiko.AuthenticationException as exc:
            raise AuthError(f"{where}: login as {user!r} refused ({exc})") from exc
        if not transport.is_authenticated():
            raise AuthError(f"{where}: login as {user!r} refused")

    @staticmethod
    def _load_key(path: str) -> paramiko.PKey:
        """The private key in `path`, or an AuthError saying why it cannot be used."""
        try:
            return paramiko.PKey.from_path(Path(path).expanduser())
        except FileNotFoundError as exc:
            raise AuthError(f"key file {path} does not exist") from exc
        except (paramiko.PasswordRequiredException, TypeError) as exc:
            # cryptography raises TypeError for a passphrase-protected OpenSSH key
            raise AuthError(f"key file {path} is protected by a passphrase; load it into ssh-agent "
                            "and use agent auth") from exc
        except (OSError, paramiko.SSHException, ValueError) as exc:
            raise AuthError(f"key file {path} cannot be read: {exc}") from exc

    @staticmethod
    def _try_keys(transport: paramiko.Transport, user: str, keys, where: str) -> None:
        last: Exception | None = None
        for key in keys:
            try:
                transport.auth_publickey(user, key)
                return
            except paramiko.AuthenticationException as exc:
                last = exc
        raise AuthError(f"{where}: login as {user!r} refused for every key offered") from last

    # -- commands ---------------------------------------------------------------------------
    def run(self, command: str, stdin: bytes = b"", *, timeout: float = 300.0,
            max_bytes: int = 64 * 1024 * 1024) -> ExecResult:
        """Run one command on one exec channel; stop at `timeout` seconds or `max_bytes`."""
        if self._transport is None or not self._transport.is_active():
            raise ProbeError("the SSH connection is closed")
        started = time.monotonic()
        deadline = started + timeout
        try:
            chan = self._transport.open_session(timeout=self.connect_timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ProbeError(f"cannot open a command channel: {exc}") from exc
        self.exec_count += 1
        out, err, truncated = bytearray(), bytearray(), False
        try:
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)
                self.bytes_out += len(stdin)
            chan.shutdown_write()
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ProbeError(f"timed out: the command did not finish within {timeout:g} s "
                                     f"(the per-command limit, MIGRATOR_SSH_COMMAND_TIMEOUT); "
                                     f"{len(out)} bytes of output had arrived")
                while chan.recv_stderr_ready():
                    chunk = chan.recv_stderr(65536)
                    err += chunk[: max(0, 65536 - len(err))]
                if chan.recv_ready():
                    chunk = chan.recv(262144)
                    self.bytes_in += len(chunk)
                    if len(out) + len(chunk) > max_bytes:
                        out += chunk[: max_bytes - len(out)]
                        truncated = True
                        break
                    out += chunk
                    continue
                if chan.eof_received:
                    if chan.exit_status_ready() or chan.status_event.wait(min(left, 1.0)):
                        break
                    continue
                if not self._transport.is_active() or chan.closed:
                    raise ProbeError(f"the connection dropped after {len(out)} bytes of output, before the "
                                     "command finished")
                select.select([chan], [], [], min(left, 1.0))
            status = chan.recv_exit_status() if chan.exit_status_ready() else None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ProbeError(f"the connection broke while reading output: {exc}") from exc
        finally:
            chan.close()
        return ExecResult(bytes(out), bytes(err), status, truncated, time.monotonic() - started)

    def close(self) -> None:
        """Close the transport (its thread ends), then the jump host's, if any."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self._close_hop()

    def __enter__(self) -> "SSHSession":
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.close()
