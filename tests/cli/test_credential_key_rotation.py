"""Rotating the key that encrypts stored passwords: every password readable with the new key
only, the old key gone, nothing lost, under a key file and under MIGRATOR_CREDENTIAL_KEY."""
from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from migrator import create_app, get_db, migrate
from migrator.credentials import CredentialCipher
from migrator.models import AuditEvent, Credential, Host
from migrator.services import credentials, hosts

PASSWORDS = {"h1": "pw-one", "h2": "pw-two"}


def _stored(settings) -> dict[str, bytes]:
    app = create_app(settings)
    with get_db(app).session() as s:
        out = {h.name: h.password_encrypted for h in s.query(Host)}
        out.update({f"cred:{c.name}": c.password_encrypted for c in s.query(Credential)})
    get_db(app).engine.dispose()
    return out


def _populate(settings) -> None:
    migrate.upgrade(settings["DATABASE_URL"])
    app = create_app(settings)
    cipher = CredentialCipher(app.config)
    with get_db(app).session() as s:
        for name, pw in PASSWORDS.items():
            hosts.add_host(s, cipher, {"name": name, "address": "10.213.66.10", "auth_method": "password",
                                       "password": pw})
        hosts.add_host(s, cipher, {"name": "keyed", "address": "10.213.66.12"})
        credentials.create_credential(s, cipher, {"name": "ops", "kind": "password", "password": "pw-cred"})
    get_db(app).engine.dispose()


def _decrypt_all(key_text: str, stored: dict[str, bytes]) -> dict[str, str]:
    fernet = Fernet(key_text.encode())
    return {k: fernet.decrypt(v).decode() for k, v in stored.items() if v is not None}


def test_rotate_with_the_key_file(cli, settings):
    _populate(settings)
    key_file = Path(settings["INSTANCE_PATH"]) / "credential.key"
    old_key = key_file.read_text().strip()
    before = _stored(settings)
    r = cli("credentials", "rotate-key")
    assert r.exit_code == 0 and "3 stored passwords re-encrypted with a new key" in r.output, r.output
    new_key = key_file.read_text().strip()
    assert new_key != old_key and "\n" not in new_key and oct(key_file.stat().st_mode & 0o777) == "0o600"
    after = _stored(settings)
    assert after["keyed"] is None and set(after) == set(before)
    assert _decrypt_all(new_key, after) == {"h1": "pw-one", "h2": "pw-two", "cred:ops": "pw-cred"}
    with pytest.raises(Exception):
        _decrypt_all(old_key, {"h1": after["h1"]})
    # the service reads them with the file as it is now
    app = create_app(settings)
    with get_db(app).session() as s:
        host = s.query(Host).filter_by(name="h2").one()
        assert CredentialCipher(app.config).decrypt(host.password_encrypted) == "pw-two"
        event = s.query(AuditEvent).filter_by(action="credential.rotate_key").one()
        assert event.detail == {"passwords": 3} and event.actor.startswith("cli:")
    get_db(app).engine.dispose()


def test_rotate_with_keys_in_the_environment(cli, settings, monkeypatch):
    old_key = Fernet.generate_key().decode()
    monkeypatch.setenv("MIGRATOR_CREDENTIAL_KEY", old_key)
    _populate({**settings, "CREDENTIAL_KEY": old_key})
    r = cli("credentials", "rotate-key")
    assert r.exit_code == 1 and "set it to NEW,OLD" in r.output, r.output
    new_key = cli("credentials", "new-key").output.strip()
    Fernet(new_key.encode())                       # a valid key
    monkeypatch.setenv("MIGRATOR_CREDENTIAL_KEY", f"{new_key},{old_key}")
    r = cli("credentials", "rotate-key")
    assert r.exit_code == 0 and "3 stored passwords now encrypted with the first key" in r.output, r.output
    assert _decrypt_all(new_key, _stored(settings)) == {"h1": "pw-one", "h2": "pw-two", "cred:ops": "pw-cred"}
    assert not (Path(settings["INSTANCE_PATH"]) / "credential.key").exists()   # nothing written to disk


def test_a_password_no_key_reads_stops_the_rotation_with_nothing_changed(cli, settings, monkeypatch):
    _populate(settings)
    before = _stored(settings)
    stranger = Fernet(Fernet.generate_key()).encrypt(b"x")
    app = create_app(settings)
    with get_db(app).session() as s:
        s.query(Host).filter_by(name="h2").one().password_encrypted = stranger
    get_db(app).engine.dispose()
    key_file = Path(settings["INSTANCE_PATH"]) / "credential.key"
    key_before = key_file.read_text()
    for _ in range(2):                    # each failed attempt leaves the key file as it was
        r = cli("credentials", "rotate-key")
        assert r.exit_code == 1, r.output
        assert "host 'h2': a stored password cannot be decrypted with any of the credential keys" in r.output
        assert "nothing was re-encrypted" in r.output
        assert key_file.read_text() == key_before
    after = _stored(settings)
    assert after["h1"] == before["h1"] and after["h2"] == stranger       # rolled back: nothing half-done
    assert _decrypt_all(key_before.strip(), {"h1": after["h1"]}) == {"h1": "pw-one"}


def test_no_key_file_is_an_error_and_makes_no_key(cli, settings):
    _populate(settings)
    key_file = Path(settings["INSTANCE_PATH"]) / "credential.key"
    key_file.unlink()
    r = cli("credentials", "rotate-key")
    assert r.exit_code == 1 and "no credential key: set MIGRATOR_CREDENTIAL_KEY or restore the key file" in r.output
    assert not key_file.exists()


@pytest.mark.parametrize("content", ["", "\n\n", "# the old key was here\n"])
def test_a_key_file_without_keys_is_named_not_replaced(cli, settings, content):
    _populate(settings)
    key_file = Path(settings["INSTANCE_PATH"]) / "credential.key"
    key_file.write_text(content)
    r = cli("credentials", "rotate-key")
    assert r.exit_code == 1 and f"credential key file {key_file} holds no key" in r.output, r.output
    assert key_file.read_text() == content
    # adding a host with a password does not quietly start a new key either
    r = cli("hosts", "list")
    assert r.exit_code == 0
    app = create_app(settings)
    with pytest.raises(Exception, match="holds no key"):
        CredentialCipher(app.config).encrypt("x")
    get_db(app).engine.dispose()


def test_a_key_file_that_is_a_directory_is_named(cli, settings):
    _populate(settings)
    key_file = Path(settings["INSTANCE_PATH"]) / "credential.key"
    key_file.unlink()
    key_file.mkdir()
    r = cli("credentials", "rotate-key")
    assert r.exit_code == 1 and f"credential key file {key_file} is not a file" in r.output, r.output


def _break_one_password(settings) -> None:
    app = create_app(settings)
    with get_db(app).session() as s:
        s.query(Host).filter_by(name="h2").one().password_encrypted = Fernet(Fernet.generate_key()).encrypt(b"x")
    get_db(app).engine.dispose()


def test_a_failed_rotation_leaves_the_key_file_exactly_as_it_was(cli, settings):
    """Comments, CRLF, mode and a symlink to a secrets directory all survive a failed rotation."""
    _populate(settings)
    key_file = Path(settings["INSTANCE_PATH"]) / "credential.key"
    real = Path(settings["INSTANCE_PATH"]) / "secrets" / "key"
    real.parent.mkdir()
    content = b"# production key (ticket OPS-123)\r\n" + key_file.read_text().strip().encode() + b"\r\n"
    real.write_bytes(content)
    real.chmod(0o640)
    key_file.unlink()
    key_file.symlink_to(real)
    _break_one_password(settings)
    r = cli("credentials", "rotate-key")
    assert r.exit_code == 1 and "host 'h2'" in r.output, r.output
    assert key_file.is_symlink() and real.read_bytes() == content and oct(real.stat().st_mode & 0o777) == "0o640"
    assert not [p for p in real.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_key_file_that_cannot_be_replaced_leaves_no_temporary_file(cli, settings, monkeypatch):
    _populate(settings)
    key_file = Path(settings["INSTANCE_PATH"]) / "credential.key"
    before = key_file.read_bytes()

    def refuse(src, dst):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr("migrator.credentials.os.replace", refuse)
    r = cli("credentials", "rotate-key")
    assert r.exit_code == 1 and f"cannot write the credential key file {key_file}: Operation not permitted" in r.output
    assert key_file.read_bytes() == before
    assert not [p for p in key_file.parent.iterdir() if p.name.endswith(".tmp")]


def test_one_rotation_at_a_time(cli, settings):
    from migrator.credentials import key_file_lock
    _populate(settings)
    key_file = Path(settings["INSTANCE_PATH"]) / "credential.key"
    before = key_file.read_bytes()
    with key_file_lock(key_file):
        r = cli("credentials", "rotate-key")
    assert r.exit_code == 1 and "another `migrator credentials rotate-key` is running" in r.output, r.output
    assert key_file.read_bytes() == before
    assert cli("credentials", "rotate-key").exit_code == 0


@pytest.mark.parametrize("value", [",", " , ", "#", "# KEY"])
def test_a_key_setting_without_a_key_is_named(cli, settings, monkeypatch, value):
    _populate(settings)
    monkeypatch.setenv("MIGRATOR_CREDENTIAL_KEY", value)
    key_file = Path(settings["INSTANCE_PATH"]) / "credential.key"
    before = key_file.read_bytes()
    r = cli("credentials", "rotate-key")
    assert r.exit_code == 1 and "MIGRATOR_CREDENTIAL_KEY is set but holds no key" in r.output, r.output
    assert key_file.read_bytes() == before
