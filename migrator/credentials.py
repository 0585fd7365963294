"""Encryption of stored credentials (Fernet). The key lives outside the database.

The key comes from MIGRATOR_CREDENTIAL_KEY, else from MIGRATOR_CREDENTIAL_KEY_FILE, else from
instance/credential.key, which is created (mode 0600) the first time a password is stored.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from cryptography.fernet import Fernet, InvalidToken

from migrator.errors import InputError


class CredentialCipher:
    def __init__(self, settings: Mapping[str, Any]):
        self._settings = settings
        self._fernet: Fernet | None = None

    def _key_file(self) -> Path:
        return Path(self._settings.get("CREDENTIAL_KEY_FILE") or Path(self._settings["INSTANCE_PATH"]) / "credential.key")

    def _get(self, create: bool) -> Fernet:
        if self._fernet is None:
            key = self._settings.get("CREDENTIAL_KEY")
            path = self._key_file()
            try:
                if not key and path.is_file():
                    key = path.read_text().strip()
                if not key:
                    if not create:
                        raise InputError("no credential key: set MIGRATOR_CREDENTIAL_KEY or restore the key file "
                                         f"{path}; stored passwords cannot be read without it")
                    key = Fernet.generate_key().decode()
                    path.parent.mkdir(parents=True, exist_ok=True)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "w") as fh:
                        fh.write(key + "\n")
            except OSError as exc:
                raise InputError(f"credential key file {path}: {exc.strerror or exc}") from None
            try:
                self._fernet = Fernet(key.encode() if isinstance(key, str) else key)
            except ValueError as exc:
                raise InputError("the credential key is not a valid Fernet key") from exc
        return self._fernet

    def encrypt(self, secret: str) -> bytes:
        return self._get(create=True).encrypt(secret.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._get(create=False).decrypt(token).decode()
        except InvalidToken as exc:
            raise InputError("a stored password cannot be decrypted with the current credential key") from exc
