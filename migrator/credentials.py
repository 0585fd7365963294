"""Encryption of stored credentials (Fernet). The keys live outside the database.

The keys come from MIGRATOR_CREDENTIAL_KEY (one key, or several separated by commas), else from
MIGRATOR_CREDENTIAL_KEY_FILE, else from instance/credential.key (one key per line), which is
created (mode 0600) the first time a password is stored. The first key encrypts; every key
decrypts, so a key is rotated by putting a new one first, re-encrypting (`migrator credentials
rotate-key`) and then dropping the old one.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

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


def _real(path: Path) -> Path:
    """The file a symlinked key file points to (the one to replace), else the path itself."""
    return path.resolve() if path.is_symlink() else path


def write_key_file(path: Path, keys: list[str] | None = None, *, raw: bytes | None = None) -> None:
    """Replace the key file's content atomically (`keys`, one per line, or exactly `raw`), keeping
    the file's mode and owner (0600 for a new file) and writing through a symlink to its target.
    A failure leaves the file as it was and no temporary file behind."""
    target = _real(path)
    data = raw if raw is not None else "".join(k + "\n" for k in keys or []).encode()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        before = target.stat() if target.exists() else None
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if before is not None:
            os.chmod(tmp, before.st_mode & 0o7777)
            if (before.st_uid, before.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):    # only root may give a file away
                    os.chown(tmp, before.st_uid, before.st_gid)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise InputError(f"cannot write the credential key file {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def key_file_lock(path: Path) -> Iterator[None]:
    """Only one key rotation at a time: a lock on the key file's directory (not on the file, which
    is replaced), refused at once when another process holds it."""
    directory = _real(path).parent
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError as exc:
        raise InputError(f"credential key file {path}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another `migrator credentials rotate-key` is running on this key file; "
                             "run it again when that one has finished") from None
        yield
    finally:
        os.close(fd)        # closing releases the lock


class CredentialCipher:
    def __init__(self, settings: Mapping[str, Any]):
        self._settings = settings
        self._multi: MultiFernet | None = None
        self._keys: list[str] = []

    @property
    def from_environment(self) -> bool:
        return bool(parse_keys(self._settings.get("CREDENTIAL_KEY") or ""))

    def key_file(self) -> Path:
        return Path(self._settings.get("CREDENTIAL_KEY_FILE") or Path(self._settings["INSTANCE_PATH"]) / "credential.key")

    def keys(self, create: bool = False) -> list[str]:
        """The keys, newest first; with `create`, a first key is made when there is none."""
        self._get(create)
        return list(self._keys)

    def _get(self, create: bool) -> MultiFernet:
        if self._multi is None:
            setting = self._settings.get("CREDENTIAL_KEY") or ""
            keys = parse_keys(setting)
            if setting.strip() and not keys:
                raise InputError("MIGRATOR_CREDENTIAL_KEY is set but holds no key (only separators or a "
                                 "comment): set it to the key(s), or unset it to use the key file")
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
