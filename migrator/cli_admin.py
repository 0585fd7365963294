"""`migrator audit` and `migrator credentials`: reading the audit log and rotating the key that
encrypts stored passwords. Registered on the main command by migrator.cli."""
from __future__ import annotations

import click
from cryptography.fernet import Fernet

from migrator.credentials import CredentialCipher, key_file_lock, write_key_file
from migrator.errors import InputError
from migrator.text import printable
from migrator.services import audit, credentials


def register(main: click.Group, context_type: type) -> None:
    pass_obj = click.make_pass_decorator(context_type)

    @main.command("audit")
    @click.option("--actor", help='Only this actor: "user:NAME", "token:NAME", "cli:OSUSER".')
    @click.option("--action", help='Only this action, or a prefix ending in "." ("host.").')
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1, audit.MAX_LIMIT))
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_obj
    def audit_cmd(obj, actor, action, limit, as_json) -> None:
        """Show the audit log, newest first: who scanned, changed and exported what."""
        from migrator.cli import listed_as_json_or_empty   # here: migrator.cli imports this module

        with obj.db.session() as s:
            rows = [audit.event_dict(e) for e in audit.list_events(s, limit=limit, actor=actor, action=action)]
        if listed_as_json_or_empty(rows, as_json, "no audit events" + (" match" if actor or action else " yet")):
            return
        for r in rows:
            detail = " ".join(f"{k}={_shown(v)}" for k, v in r["detail"].items())
            click.echo(f"{r['at'][:19]}  {printable(r['actor'], 128):<20}  {r['action']:<22}  "
                       f"{printable(r['target'], 300)}  {printable(detail, 1000)}".rstrip())

    @main.group("credentials")
    def credentials_group() -> None:
        """The key that encrypts stored passwords."""

    @credentials_group.command("new-key")
    def credentials_new_key() -> None:
        """Print a new key (to put first in MIGRATOR_CREDENTIAL_KEY before `rotate-key`)."""
        click.echo(Fernet.generate_key().decode())

    @credentials_group.command("rotate-key")
    @pass_obj
    def credentials_rotate_key(obj) -> None:
        """Encrypt every stored password with a new key.

        With a key file (the default): a new key is made, every password re-encrypted with it in
        one transaction, and then the old key removed from the file. With MIGRATOR_CREDENTIAL_KEY:
        put a new key first (`migrator credentials new-key`, comma, the old key), run this, then
        remove the old key from the setting."""
        cipher = CredentialCipher(obj.config)
        db = obj.db
        if cipher.from_environment:
            keys = cipher.keys()
            if len(keys) < 2:
                raise InputError("the key comes from MIGRATOR_CREDENTIAL_KEY: set it to NEW,OLD (a new key from "
                                 "`migrator credentials new-key`, a comma, the current key), then run this again")
            with db.session() as s:
                count = credentials.rotate_secrets(s, cipher)
            click.echo(f"{count} stored passwords now encrypted with the first key; remove the other "
                       f"{len(keys) - 1} key(s) from MIGRATOR_CREDENTIAL_KEY")
            return
        path = cipher.key_file()
        with key_file_lock(path):
            old = cipher.keys()                   # no key file: an error, never a fresh useless key
            original = path.read_bytes()
            new = Fernet.generate_key().decode()
            write_key_file(path, [new, *old])     # both until the database says otherwise
            try:
                with db.session() as s:
                    count = credentials.rotate_secrets(s, CredentialCipher(obj.config))
            except BaseException:
                write_key_file(path, raw=original)   # the file exactly as it was: nothing re-encrypted
                raise
            write_key_file(path, [new])
        click.echo(f"{count} stored passwords re-encrypted with a new key; {path} holds only the new key")


def _shown(value) -> str:
    """A detail value on one line: lists as their first ten items, comma-separated."""
    if not isinstance(value, list):
        return str(value)
    more = f",+{len(value) - 10} more" if len(value) > 10 else ""
    return ",".join(map(str, value[:10])) + more
