"""Encryption of stored credentials (Fernet). The keys live outside the database.

The keys come from MIGRATOR_CREDENTIAL_KEY (one key, or several separated by commas), else from
MIGRATOR_CREDENTIAL_KEY_FILE, else from instance/credential.key (one key per line), which is
created (mode 0600) the first time a password is stored. The first key encrypts; every key
decrypts, so a key is rotated by putting a new one first, re-encrypting (`migrator credentials
rotate-key`) and then dropping the old one.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from migrator.errors import InputError


def parse_keys(text: str) -> list[str]:
    """Keys from a setting or a key file: separated by commas or lines; '#' starts a comment."""
    keys = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        keys.extend(part.strip() for part in line.split(",") if part.strip())
    return keys


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        raise InputError("a credential key is not a valid Fernet key (32 url-safe base64-encoded bytes)") from None


def write_key_file(path: Path, keys: list[str]) -> None:
    """Replace the key file atomically, mode 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(k + "\n" for k in keys))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class CredentialCipher:
    def __init__(self, settings: Mapping[str, Any]):
        self._settings = settings
        self._multi: MultiFernet | None = None
        self._keys: list[str] = []

    @property
    def from_environment(self) -> bool:
        return bool(self._settings.get("CREDENTIAL_KEY"))

    def key_file(self) -> Path:
        return Path(self._settings.get("CREDENTIAL_KEY_FILE") or Path(self._settings["INSTANCE_PATH"]) / "credential.key")

    def keys(self, create: bool = False) -> list[str]:
        """The keys, newest first; with `create`, a first key is made when there is none."""
        self._get(create)
        return list(self._keys)

    def _get(self, create: bool) -> MultiFernet:
        if self._multi is None:
            keys = parse_keys(self._settings.get("CREDENTIAL_KEY") or "")
            path = self.key_file()
            try:
                if not keys and path.exists():
                    if not path.is_file():
                        raise InputError(f"credential key file {path} is not a file")
                    keys = parse_keys(path.read_text())
                    if not keys:
                        raise InputError(f"credential key file {path} holds no key (only blank or comment "
                                         "lines): restore it from your backup")
                if not keys:
                    if not create:
                        raise InputError("no credential key: set MIGRATOR_CREDENTIAL_KEY or restore the key file "
                                         f"{path}; stored passwords cannot be read without it")
                    keys = [Fernet.generate_key().decode()]
                    path.parent.mkdir(parents=True, exist_ok=True)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "w") as fh:
                        fh.write(keys[0] + "\n")
            except OSError as exc:
                raise InputError(f"credential key file {path}: {exc.strerror or exc}") from None
            self._multi = MultiFernet([_fernet(k) for k in keys])
            self._keys = keys
        return self._multi

    def encrypt(self, secret: str) -> bytes:
        return self._get(create=True).encrypt(secret.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._get(create=False).decrypt(token).decode()
        except InvalidToken as exc:
            raise InputError("a stored password cannot be decrypted with the current credential key") from exc

    def rotate(self, token: bytes) -> bytes:
        """The same secret, encrypted again with the first key."""
        try:
            return self._get(create=False).rotate(token)
        except InvalidToken as exc:
            raise InputError("a stored password cannot be decrypted with any of the credential keys") from exc
