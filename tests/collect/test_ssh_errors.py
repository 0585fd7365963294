"""Connection failures become clear errors, on real loopback sockets."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from migrator.collect.ssh import SSHSession, SSHTarget, fingerprint
from migrator.errors import AuthError, ConnectError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_names_the_host():
    port = _free_port()
    with pytest.raises(ConnectError, match=rf"127\.0\.0\.1:{port}: cannot connect \(Connection refused\)"):
        SSHSession(SSHTarget("127.0.0.1", port), connect_timeout=2).connect()


def test_unresolvable_name():
    with pytest.raises(ConnectError, match="does not resolve"):
        SSHSession(SSHTarget("no-such-host.invalid", 22), connect_timeout=2).connect()


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never says a word: a host that hangs after connect."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    conns = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    for c in conns:
        c.close()
    srv.close()


def test_host_that_hangs_after_connect_times_out(silent_server):
    started = time.monotonic()
    with pytest.raises(ConnectError, match="no SSH answer within 1.5 s: is an SSH server listening"):
        SSHSession(SSHTarget("127.0.0.1", silent_server), connect_timeout=1.5).connect()
    assert time.monotonic() - started < 10


def _serve_once(payload: bytes) -> int:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def answer():
        conn, _ = srv.accept()
        conn.sendall(payload)
        time.sleep(3)
        conn.close()
        srv.close()
    threading.Thread(target=answer, daemon=True).start()
    return srv.getsockname()[1]


def test_garbage_banner_says_not_ssh():
    port = _serve_once(b"HTTP/1.1 400 Bad Request\r\n\xff\xfe\x1b[31mred\r\n" * 3)
    with pytest.raises(ConnectError) as caught:
        SSHSession(SSHTarget("127.0.0.1", port), connect_timeout=2).connect()
    assert "did not answer like an SSH server" in str(caught.value) or "no SSH answer" in str(caught.value)
    assert "\x1b" not in str(caught.value)


def test_a_web_server_on_the_ssh_port_is_named_at_once():
    """Something else answers and hangs up at once: said so, not 'no answer within 10 s'."""
    import socket as socket_

    srv = socket_.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def answer():
        conn, _ = srv.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()
        srv.close()
    threading.Thread(target=answer, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(ConnectError, match="did not answer like an SSH server .no SSH banner.: is this the SSH port"):
        SSHSession(SSHTarget("127.0.0.1", srv.getsockname()[1]), connect_timeout=10).connect()
    assert time.monotonic() - started < 5


def test_passphrase_protected_key_is_named(tmp_path):
    import subprocess
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass123", "-f", str(key)], check=True)
    with pytest.raises(AuthError, match="protected by a passphrase; load it into ssh-agent"):
        SSHSession._load_key(str(key))


def test_fingerprint_matches_openssh_format():
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    assert fingerprint(key).startswith("SHA256:") and "=" not in fingerprint(key)


def test_known_hosts_is_parsed_once_per_version_of_the_file(tmp_path):
    import os

    from migrator.collect.ssh import _known_hosts
    path = tmp_path / "known_hosts"
    key_a = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C7okWi0dh2l9GKJl"
    key_b = "AAAAC3NzaC1lZDI1NTE5AAAAIA6pyT/t5WVeYD6VvWeKhjEM/G8mb12Y7HHhIpl9Hqzz"
    path.write_text(f"10.213.66.10 ssh-ed25519 {key_a}\n")
    parsed = _known_hosts(str(path))
    assert _known_hosts(str(path)) is parsed                 # the same file: not parsed again
    assert parsed.lookup("10.213.66.10")["ssh-ed25519"].get_base64() == key_a
    path.write_text(f"10.213.66.10 ssh-ed25519 {key_b}\n")   # changed (size or mtime): read again
    os.utime(path, ns=(1, 1))
    assert _known_hosts(str(path)).lookup("10.213.66.10")["ssh-ed25519"].get_base64() == key_b


def test_ssh_config_port_applies_to_hosts_on_the_default_port(tmp_path):
    from migrator.collect.ssh import _resolve
    config = tmp_path / "config"
    config.write_text("Host cfghost\n  HostName 127.0.0.1\n  Port 18422\n  User ops\n\nHost badport\n  Port x\n")
    assert _resolve(SSHTarget(address="cfghost", port=22), str(config))[:3] == ("127.0.0.1", 18422, "ops")
    assert _resolve(SSHTarget(address="cfghost", port=2200), str(config))[:3] == ("127.0.0.1", 2200, "ops")
    with pytest.raises(ConnectError, match="Port 'x' for badport is not a number"):
        _resolve(SSHTarget(address="badport", port=22), str(config))
