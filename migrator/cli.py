"""The `migrator` command: thin commands over the services, with plain-words errors."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from migrator import migrate
from migrator.config import load_settings
from migrator.db import Database
from migrator.collect.replay import read_case, write_case
from migrator.credentials import CredentialCipher
from migrator.errors import InputError, MigratorError
from migrator.cli_admin import register as register_admin_commands
from migrator.services import findings, hosts, scans, tokens, users
from migrator.text import printable


class Context:
    """What a command works with: the settings and the database (upgraded on first use). No Flask
    app: only `serve` builds one, so the other commands start without the web's imports."""

    def __init__(self, database: str | None):
        self.overrides = {"DATABASE_URL": database} if database else {}
        self.config = load_settings(self.overrides)
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            url = self.config["DATABASE_URL"]
            try:
                migrate.upgrade(url)
                self._db = Database(url)
            except (ImportError, ValueError, ArgumentError) as exc:   # no driver, an unreadable URL
                raise InputError(f"cannot use the database {_hide_password(url)}: {_first_line(exc)}",
                                 "database") from None
        return self._db


class Group(click.Group):
    """Turns migrator's errors into one line on stderr and exit status 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MigratorError as exc:
            click.secho(f"error: {exc}", err=True, fg="red")
            sys.exit(1)
        except SQLAlchemyError as exc:
            click.secho(f"error: database {_safe_url(ctx)}: {_first_line(exc)}", err=True, fg="red")
            sys.exit(1)
        except BrokenPipeError:  # `migrator apps | head`: the reader left; stop quietly, as on SIGPIPE
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except OSError as exc:   # a file or directory named on the command line or in the settings
            where = f"{exc.filename}: " if exc.filename else ""
            click.secho(f"error: {where}{exc.strerror or exc}", err=True, fg="red")
            sys.exit(1)


def listed_as_json_or_empty(rows: list, as_json: bool, empty: str) -> bool:
    """The start every listing shares: the rows as JSON, or what to do when there are none. True
    when that was all there is to print."""
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return True
    if not rows:
        click.echo(empty)
        return True
    return False


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        click.secho(f"warning: {w}", err=True, fg="yellow")


def _safe_url(ctx: click.Context) -> str:
    """The database URL being used, with any password hidden."""
    obj = ctx.obj
    return _hide_password(obj.config["DATABASE_URL"] if isinstance(obj, Context)
                          else ctx.params.get("database") or "")


def _hide_password(url: str) -> str:
    """A database or broker URL with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unreadable URL)"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database", envvar="MIGRATOR_DATABASE_URL",
              help="SQLAlchemy URL; default $MIGRATOR_DATABASE_URL, else SQLite under instance/.")
@click.pass_context
def main(ctx: click.Context, database: str | None) -> None:
    """Inventory VMs over SSH and plan their move to Kubernetes."""
    from migrator.services import audit

    audit.act_as(audit.cli_actor())
    ctx.obj = Context(database)


register_admin_commands(main, Context)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: Context) -> None:
    """Upgrade the database to the newest migration."""
    obj.db
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256), help="Request threads.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, threads: int) -> None:
    """Upgrade the database, then serve the web UI and the API."""
    from waitress import create_server

    from migrator import create_app

    obj: Context = ctx.obj
    db = obj.db
    app = create_app(obj.overrides)
    try:
        server = create_server(app, host=host, port=port, threads=threads)
    except ValueError:
        raise InputError(f"cannot listen on {printable(host, 80)!r}: not an address or host name", "host") from None
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", "port") from None
    interrupted = scans.mark_interrupted(db)
    if interrupted:
        click.echo(f"{interrupted} host scan(s) left unfinished by a stopped process were marked failed")
    click.echo(f"migrator serving on http://{host}:{port}/ (database {_safe_url(ctx)})")
    server.run()


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Scans this worker runs at once (each scans its hosts in parallel too).")
@click.pass_obj
def worker(obj: Context, concurrency: int) -> None:
    """Run scans handed over by services with MIGRATOR_JOBS=celery (Celery over MIGRATOR_CELERY_BROKER_URL)."""
    from migrator.tasks import celery_app

    obj.db     # the database is upgraded before the first scan arrives
    broker = obj.config["CELERY_BROKER_URL"]
    click.echo(f"migrator worker: scans from {_hide_password(broker)}, database {_safe_url(click.get_current_context())}")
    celery_app(broker).worker_main(["worker", "--loglevel=WARNING", f"--concurrency={concurrency}",
                                    "--queues=migrator-scans", "--without-gossip", "--without-mingle"])


@main.group("hosts")
def hosts_group() -> None:
    """Add and list the hosts to inventory."""


@hosts_group.command("add")
@click.argument("name")
@click.option("--address", help="IP address or DNS name (default: NAME).")
@click.option("--port", type=int, default=22, show_default=True)
@click.option("--user", "username", help="Login name (default: from ~/.ssh/config, else root).")
@click.option("--key", "key_path", type=click.Path(dir_okay=False), help="Private key file.")
@click.option("--agent", is_flag=True, help="Authenticate with the keys in ssh-agent.")
@click.option("--password", "ask_password", is_flag=True, help="Prompt for a password (stored encrypted).")
@click.option("--sudo", is_flag=True, help="Run the probe through `sudo -n` (non-root login).")
@click.option("--jump", help="Reach it through this host of the inventory (name or id), as ssh's ProxyJump.")
@click.pass_obj
def hosts_add(obj: Context, name, address, port, username, key_path, agent, ask_password, sudo, jump) -> None:
    """Add a host to the inventory."""
    data = {"name": name, "address": address or name, "port": port, "username": username,
            "key_path": str(Path(key_path).expanduser().resolve()) if key_path else None,
            "auth_method": "password" if ask_password else ("agent" if agent else "key"),
            "become": "sudo" if sudo else "none"}
    if jump:
        data["jump"] = jump
    if ask_password:
        data["password"] = _secret(f"password for {username or 'root'}@{data['address']}")
    with obj.db.session() as s:
        host = hosts.add_host(s, CredentialCipher(obj.config), data)
        via = f" through jump host {host.jump_host.name}" if host.jump_host else ""
        click.echo(f"added host {host.id}: {host.name} ({host.address}:{host.port}){via}")
        _warn(hosts.same_machine_warnings(s, [host]))


@hosts_group.command("jump")
@click.argument("host_refs", nargs=-1)
@click.option("--via", "jump", help="The jump host (name or id of another host).")
@click.option("--group", "group_refs", multiple=True,
              help="Set the jump host of these groups (repeatable) instead: for members without their own.")
@click.option("--clear", is_flag=True, help="Remove the jump host: connect directly.")
@click.pass_obj
def hosts_jump(obj: Context, host_refs: tuple[str, ...], jump: str | None, group_refs: tuple[str, ...],
               clear: bool) -> None:
    """Reach hosts (names or ids) through a jump host (ssh's ProxyJump), or connect directly again.

    \b
    migrator hosts jump db-1 db-2 --via bastion-1
    migrator hosts jump --group private --via bastion-1   (members without their own jump host)
    migrator hosts jump db-1 --clear"""
    from migrator.services import groups as groups_service

    if bool(jump) == clear:
        raise InputError("give --via JUMP_HOST or --clear", "jump")
    if not host_refs and not group_refs:
        raise InputError("name the hosts, or groups with --group", "hosts")
    refs = list(host_refs)
    with obj.db.session() as s:
        targets = hosts.find_hosts(s, refs) if refs else []
        chosen_groups = groups_service.find_groups(s, list(group_refs)) if group_refs else []
        cipher = CredentialCipher(obj.config)
        for host in targets:
            hosts.update_host(s, cipher, host, {"jump": None if clear else jump})
        for group in chosen_groups:
            groups_service.update_group(s, group, {"jump": None if clear else jump})
    names = ", ".join([*(h.name for h in targets), *(f"group {g.name}" for g in chosen_groups)])
    click.echo(f"{names}: {'connect directly' if clear else f'through jump host {jump}'}")


@hosts_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(hosts.FORMATS),
              help="The file's format (default: from its suffix and content).")
@click.pass_obj
def hosts_import(obj: Context, file: str, fmt: str | None) -> None:
    """Add the hosts of an inventory file, all or none: JSON or YAML ({"hosts": [...]} or a list,
    as the test lab's inventory.json), CSV with a header (name,address,port,username,key_path,groups,...),
    or an Ansible inventory, INI or YAML (ansible_host, ansible_user, ansible_port,
    ansible_ssh_private_key_file; its groups are created and the hosts put in them). A jump host
    comes from a `jump` column or key, or -J NAME / -o ProxyJump=NAME in ansible_ssh_common_args
    or ansible_ssh_extra_args: a host of the same file or of the inventory."""
    if fmt:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{file} is not UTF-8 text", "file") from None
        records = hosts.read_inventory(text, fmt, file)
    else:
        records = hosts.read_inventory_file(Path(file))
    with obj.db.session() as s:
        added = hosts.import_hosts(s, CredentialCipher(obj.config), records)
        click.echo(f"added {len(added)} host(s): {', '.join(h.name for h in added)}")
        _warn(hosts.same_machine_warnings(s, added))


@hosts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def hosts_list(obj: Context, as_json: bool) -> None:
    """List hosts with the result of their last scan."""
    with obj.db.session() as s:
        rows = [findings.host_summary(s, h) for h in hosts.find_hosts(s, None)]
    if listed_as_json_or_empty(rows, as_json,
                               "no hosts yet: add one with `migrator hosts add NAME --address ADDRESS --key KEYFILE`"):
        return
    width = max(len("NAME"), *(len(r["name"]) for r in rows))
    target_width = max(len("ADDRESS"), *(len(f"{r['address']}:{r['port']}") for r in rows))
    jumps = [_jump_column(r) for r in rows]       # a JUMP column once some host has a jump host
    jump_width = max(len("JUMP"), *(len(j) for j in jumps)) if any(j != "-" for j in jumps) else 0
    head = f"{'JUMP':<{jump_width}}  " if jump_width else ""
    _echo(f"{'ID':>4}  {'NAME':<{width}}  {'ADDRESS':<{target_width}}  {head}LAST SCAN")
    for r, jump in zip(rows, jumps):
        via = f"{jump:<{jump_width}}  " if jump_width else ""
        line = (f"{r['id']:>4}  {r['name']:<{width}}  {r['address'] + ':' + str(r['port']):<{target_width}}  "
                f"{via}{r['last_scan']}")
        click.echo(line + (f"  ({r['last_error']})" if r["last_error"] else ""))


def _jump_column(row: dict) -> str:
    """The jump host a scan goes through: NAME (its own), NAME (group) from a group, '-' directly."""
    jump = row.get("effective_jump")
    if not jump:
        return "-"
    return jump["name"] if row.get("jump") else f"{jump['name']} (group)"


@hosts_group.command("remove")
@click.argument("host_refs", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def hosts_remove(obj: Context, host_refs: tuple[str, ...], yes: bool) -> None:
    """Remove hosts (ids or names) with their scans and findings."""
    with obj.db.session() as s:
        selected = hosts.find_hosts(s, list(host_refs))
        names = ", ".join(h.name for h in selected)
        if not yes and not click.confirm(f"remove {names} and every scan and finding of them?"):
            raise click.Abort()
        hosts.remove_hosts(s, selected)
    click.echo(f"removed {names}")


@hosts_group.command("accept-key")
@click.argument("host_ref")
@click.pass_obj
def hosts_accept_key(obj: Context, host_ref: str) -> None:
    """After a host's SSH key changed on purpose: unpin it; the next scan pins the new key."""
    with obj.db.session() as s:
        (host,) = hosts.find_hosts(s, [host_ref])
        old = hosts.accept_new_host_key(s, host)
    if old is None:
        click.echo(f"{host_ref}: no key was pinned; the next scan pins the key the host presents")
    else:
        click.echo(f"{host_ref}: key {old} unpinned; the next scan pins the key the host presents")


@main.group("groups")
def groups_group() -> None:
    """Host groups: scanned together, sharing a credential or a jump host."""


@groups_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def groups_list(obj: Context, as_json: bool) -> None:
    """List groups with their hosts, credential and jump host."""
    from migrator.models import HostGroup
    from migrator.services import groups as groups_service

    with obj.db.session() as s:
        rows = [groups_service.group_dict(g) for g in s.query(HostGroup).order_by(HostGroup.name)]
    if listed_as_json_or_empty(rows, as_json, "no groups yet: `migrator groups add NAME --host HOST ...`, "
                                              "or import an inventory with groups"):
        return
    for r in rows:
        extra = "".join(f"  {k} {r[k]['name']}" for k in ("credential", "jump") if r[k])
        members = (f"{len(r['hosts'])} host(s): {', '.join(h['name'] for h in r['hosts'][:10])}"
                   f"{' ...' if len(r['hosts']) > 10 else ''}") if r["hosts"] else "no hosts"
        _echo(f"{r['id']:>4}  {r['name']}  ({members}){extra}")


@groups_group.command("add")
@click.argument("name")
@click.option("--host", "host_refs", multiple=True, help="A member (name or id; repeatable).")
@click.option("--description", default="", help="What the group is.")
@click.option("--jump", help="The group's jump host (name or id): for members without their own.")
@click.pass_obj
def groups_add(obj: Context, name: str, host_refs: tuple[str, ...], description: str, jump: str | None) -> None:
    """Create a group."""
    from migrator.services import groups as groups_service

    data = {"name": name, "description": description, "hosts": list(host_refs)}
    if jump:
        data["jump"] = jump
    with obj.db.session() as s:
        group = groups_service.create_group(s, data)
        click.echo(f"group {group.id} ({group.name}) created with {len(group.hosts)} host(s)")


@groups_group.command("remove")
@click.argument("group_refs", nargs=-1, required=True)
@click.pass_obj
def groups_remove(obj: Context, group_refs: tuple[str, ...]) -> None:
    """Remove groups (names or ids); their hosts stay."""
    from migrator.services import groups as groups_service

    with obj.db.session() as s:
        chosen = groups_service.find_groups(s, list(group_refs))
        for group in chosen:
            groups_service.delete_group(s, group)
    click.echo(f"removed {', '.join(g.name for g in chosen)}; their hosts stay")


@main.group("tokens")
def tokens_group() -> None:
    """API tokens (local admin access: no token needed here)."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(tokens.ROLES), required=True,
              help="viewer: read; planner: + scans, plans, overrides; admin: everything.")
@click.pass_obj
def tokens_create(obj: Context, name: str, role: str) -> None:
    """Create an API token and print its secret (shown this once; only its hash is stored)."""
    with obj.db.session() as s:
        token, secret = tokens.create_token(s, name, role)
        click.echo(f"token {token.id} ({token.name}, {token.role}) created; its secret, shown this once:", err=True)
    click.echo(secret)


@tokens_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def tokens_list(obj: Context, as_json: bool) -> None:
    """List API tokens (prefix, role, last use; never the secrets)."""
    with obj.db.session() as s:
        rows = [tokens.token_dict(t) for t in tokens.list_tokens(s)]
    if listed_as_json_or_empty(rows, as_json, "no tokens yet: `migrator tokens create NAME --role viewer|planner|admin`"):
        return
    width = max(len(r["name"]) for r in rows)
    _echo(f"{'ID':>4}  {'NAME':<{width}}  {'ROLE':<7}  {'PREFIX':<12}  LAST USED")
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked"] else (r["last_used_at"] or "never")
        _echo(f"{r['id']:>4}  {r['name']:<{width}}  {r['role']:<7}  {r['prefix']:<12}  {state}")


@tokens_group.command("revoke")
@click.argument("token_id", type=click.IntRange(0, 2 ** 31 - 1))
@click.pass_obj
def tokens_revoke(obj: Context, token_id: int) -> None:
    """Revoke an API token: it stops working at once."""
    with obj.db.session() as s:
        token = tokens.revoke_token(s, tokens.get_token(s, token_id))
        click.echo(f"token {token.id} ({token.name}) revoked")


@main.group("users")
def users_group() -> None:
    """Users of the web UI (local admin access: no login needed here)."""


def _secret(prompt: str, confirm: bool = False) -> str:
    """A password: asked for on a terminal (twice with `confirm`), else read as a line (twice) from
    stdin, as a script pipes it, without getpass's warning that it cannot hide what is typed."""
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    first = sys.stdin.readline().rstrip("\r\n")
    if confirm and sys.stdin.readline().rstrip("\r\n") != first:
        raise InputError("the two passwords read from stdin differ", "password")
    if not first:
        raise InputError("no password on stdin", "password")
    return first


def _ask_password() -> str:
    return _secret("password", confirm=True)


@users_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(tokens.ROLES), required=True,
              help="viewer: read; planner: + scans, plans, overrides; admin: everything.")
@click.pass_obj
def users_create(obj: Context, name: str, role: str) -> None:
    """Create a user of the web UI; the password is asked for (twice) and only its hash is stored."""
    users.check_username(name)
    password = _ask_password()
    with obj.db.session() as s:
        user = users.create_user(s, name, password, role)
        click.echo(f"user {user.id} ({user.username}, {user.role}) created")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def users_list(obj: Context, as_json: bool) -> None:
    """List users (role, whether disabled, last login; never the password hashes)."""
    with obj.db.session() as s:
        rows = [users.user_dict(u) for u in users.list_users(s)]
    if listed_as_json_or_empty(rows, as_json, "no users yet: `migrator users create NAME --role viewer|planner|admin`"):
        return
    width = max(len(r["username"]) for r in rows)
    _echo(f"{'ID':>4}  {'NAME':<{width}}  {'ROLE':<7}  {'STATE':<8}  LAST LOGIN")
    for r in rows:
        state = "disabled" if r["disabled"] else "active"
        _echo(f"{r['id']:>4}  {r['username']:<{width}}  {r['role']:<7}  {state:<8}  {r['last_login_at'] or 'never'}")


@users_group.command("password")
@click.argument("name")
@click.pass_obj
def users_password(obj: Context, name: str) -> None:
    """Set a user's password (asked for twice)."""
    with obj.db.session() as s:
        users.get_user(s, name)
    password = _ask_password()
    with obj.db.session() as s:
        user = users.set_password(s, users.get_user(s, name), password)
        click.echo(f"password of {user.username} changed")


@users_group.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
@click.pass_obj
def users_disable(obj: Context, name: str, enable: bool) -> None:
    """Disable a user: their login is refused and open sessions end at their next request."""
    with obj.db.session() as s:
        user = users.set_disabled(s, users.get_user(s, name), not enable)
        click.echo(f"user {user.username} {'enabled' if enable else 'disabled'}")


@main.command()
@click.argument("host_refs", nargs=-1)
@click.pass_obj
def scan(obj: Context, host_refs: tuple[str, ...]) -> None:
    """Scan hosts (ids or names; all hosts when none given), showing progress per host."""
    db = obj.db
    with db.session() as s:
        scan_row = scans.create_scan(s, hosts.find_hosts(s, list(host_refs)))
        scan_id, count = scan_row.id, len(scan_row.hosts)
    click.echo(f"scan {scan_id}: {count} host(s)")

    def progress(host: str, stage: str, detail: str) -> None:
        color = {"done": "green", "failed": "red"}.get(stage)
        _secho(f"  {host:<24} {stage:<10} {detail}", fg=color)

    status = scans.run_scan(db, dict(obj.config), scan_id, progress)
    click.echo(f"scan {scan_id} {status}")
    if status != "done":
        sys.exit(1 if status == "failed" else 2)


@main.command()
@click.option("--host", help="Only this host (name).")
@click.option("--verdict", type=click.Choice(findings.VERDICTS), help="Only stateful or stateless apps.")
@click.option("--software", help="Only this software (e.g. redis, postgresql, python-app).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with all evidence.")
@click.pass_obj
def apps(obj: Context, host, verdict, software, as_json) -> None:
    """List applications found by the latest scan of each host, with verdict and evidence."""
    with obj.db.session() as s:
        rows = [findings.application_dict(a)
                for a in findings.list_applications(s, host=host, verdict=verdict, software=software)]
    empty = "no applications match these filters" if host or verdict or software else \
        "no applications yet: add hosts with `migrator hosts add`, then run `migrator scan`"
    if listed_as_json_or_empty(rows, as_json, empty):
        return
    for r in rows:
        # one line per port: a listener on both 0.0.0.0 and :: is one port to a client
        ports = ", ".join(dict.fromkeys(f"{p['port']}/{p['protocol']} ({p['scope']})" for p in r["ports"])) \
            or "no ports"
        _secho(f"{r['host']}/{r['key']}: {r['software']} {r['version']}".rstrip(), bold=True)
        _echo(f"  {r['verdict'].upper()}: {r['verdict_reason']}")
        _echo(f"  ports: {ports}")
        for st in r["state"]:
            size = "unmeasured" if st["size_bytes"] is None else _size(st["size_bytes"])
            _echo(f"  {st['kind']}: {st['path']} ({st['filesystem']}, {size})")
        for e in r["evidence"][:4]:
            _echo(f"  evidence [{e['rule']}]: {e['detail']}")


@main.command("estate")
@click.option("--host", "host_refs", multiple=True, help="Only these hosts (repeatable; default all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with all evidence.")
@click.pass_obj
def estate_cmd(obj: Context, host_refs: tuple[str, ...], as_json: bool) -> None:
    """The estate as a whole: peers, routes, clusters, node daemons, scheduled jobs, start waves."""
    from migrator.services import estate

    with obj.db.session() as s:
        result = estate.estate_findings(s, hosts.find_hosts(s, list(host_refs)))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, default=str))
        return
    if not result.apps:
        click.echo("no scanned hosts yet: add hosts with `migrator hosts add`, then run `migrator scan`")
        return
    external = [f"{e.address} -> {e.app}:{e.port} (a client outside the inventory)" if e.direction == "in"
                else f"{e.app} -> {e.address}:{e.port} (a server outside the inventory)" for e in result.external]
    sections = [
        ("peers (client -> server:port)", [f"{p.client} -> {p.server}:{p.port}" for p in result.peers] + external),
        ("routes (local: loopback only; internal: only inventoried clients seen; external: clients from "
         "outside seen; unseen: reachable, no client seen during the scan)",
         [f"{r.app}:{r.port}/{r.protocol} {r.route}" for r in result.routes]),
        ("clusters", [f"{c.software}: " + ", ".join(f"{ref} ({role})" for ref, role in c.members)
                      for c in result.clusters]),
        ("node daemons", [f"{d.software} on {len(d.hosts)} hosts: {', '.join(d.hosts)}" for d in result.daemons]),
        ("scheduled jobs", [f"{host}: {job.schedule} {job.user} {job.command}  ({job.source})"
                            for host, job in result.jobs]),
        ("start waves", [f"{i}: {', '.join(wave)}" for i, wave in enumerate(result.waves, 1)]
         + [f"cycle (started together): {', '.join(cycle)}" for cycle in result.cycles]),
    ]
    for title, lines in sections:
        click.secho(title, bold=True)
        for line in lines or ["(none)"]:
            _echo(f"  {line}")


@main.command()
@click.argument("truth_file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--brief", is_flag=True, help="Only the table, not each missed or extra finding.")
@click.pass_obj
def score(obj: Context, truth_file: str, as_json: bool, brief: bool) -> None:
    """Compare the findings of the hosts named in TRUTH_FILE with it: precision and recall per kind."""
    from migrator import scoring
    from migrator.services import estate

    truth = scoring.load_truth(Path(truth_file))
    names = [h["name"] for h in truth.get("hosts", [])] or sorted({a["host"] for a in truth["applications"]})
    with obj.db.session() as s:
        inventory = hosts.find_hosts(s, names)
        scanned = estate.host_findings(s, inventory)
    unscanned = sorted(set(names) - {name for name, _ in scanned})
    results = scoring.score(truth, scanned)
    if as_json:
        click.echo(json.dumps({"unscanned": unscanned, "kinds": [r.as_dict() for r in results]}, indent=2))
        return
    if unscanned:
        click.secho(f"not scanned yet: {', '.join(unscanned)}", fg="yellow")
    click.echo(scoring.render(results, details=not brief))


@main.command()
@click.argument("host_ref")
@click.argument("directory", type=click.Path(file_okay=False))
@click.pass_obj
def record(obj: Context, host_ref: str, directory: str) -> None:
    """Record a host's probe output as a test case: one file per section in DIRECTORY."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)      # fails here, before the scan, when it cannot be made
    if not os.access(target, os.W_OK):
        raise InputError(f"{directory} is not writable", "directory")
    with obj.db.session() as s:       # the scan reads the host's credential, groups and jump hosts
        (host,) = hosts.find_hosts(s, [host_ref])
        name = host.name
        sections = scans.record_host(dict(obj.config), host)
    write_case(Path(directory), sections)
    click.echo(f"recorded {len(sections)} sections of {name} in {directory}")


@main.command("import")
@click.argument("host_ref")
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.pass_obj
def import_cmd(obj: Context, host_ref: str, directory: str) -> None:
    """Store a recorded probe output (from `migrator record`) as a scan of an inventoried host."""
    try:
        sections = read_case(Path(directory))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{directory} is not a recording made by `migrator record`: {exc}", "directory") from None
    with obj.db.session() as s:
        (host,) = hosts.find_hosts(s, [host_ref])
        scan_row = scans.import_case(s, host, sections)
        click.echo(f"scan {scan_row.id}: imported {len(sections)} sections for {host.name}")


def _echo(text: str, **kw) -> None:
    """Echo text that holds what hosts sent: control characters never reach the terminal."""
    click.echo(printable(text, 20000), **kw)


def _secho(text: str, **kw) -> None:
    click.secho(printable(text, 20000), **kw)


def _size(n: float) -> str:
    """Bytes in the largest binary unit that keeps the number below 1024 (TiB at most)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n, i = n / 1024, i + 1
    return f"{int(n)} B" if i == 0 else f"{n:.1f} {units[i]}"


def _read_overrides(path: str) -> dict:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"overrides file {path}: {printable(str(exc), 300)}", "overrides") from None
    if not isinstance(data, dict):
        raise InputError(f"overrides file {path}: expected a mapping of workload ids to changes", "overrides")
    return data


@main.group("plan")
def plan_group() -> None:
    """Kubernetes plans built from the findings."""


@plan_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True),
              help="File (default, or -: stdout); NOTES.md and the Dockerfiles go beside a regular file.")
@click.option("--kustomize", "kustomize_dir", type=click.Path(file_okay=False, writable=True),
              help="Also write the plan as a Kustomize tree (one folder per start wave) into this directory.")
@click.option("--host", "host_refs", multiple=True, help="Only these hosts (repeatable; default all).")
@click.option("--namespace", default="default", show_default=True)
@click.option("--overrides", "overrides_file", type=click.Path(dir_okay=False, exists=True),
              help='YAML or JSON file: {"HOST/APP": {"kind": ..., "replicas": ..., "image": ..., '
                   '"storage_size": ..., "storage_class": ..., "expose": ..., "run_as_user": ..., "exclude": true}}.')
@click.option("--no-network-policies", is_flag=True, help="Leave out the NetworkPolicies.")
@click.pass_obj
def plan_export(obj: Context, output, kustomize_dir, host_refs, namespace, overrides_file, no_network_policies) -> None:
    """Build a plan from the latest findings, validate it and write it as multi-document YAML."""
    from migrator.services import plans

    overrides = _read_overrides(overrides_file) if overrides_file else None
    output = None if output == "-" else output
    if output and not Path(output).resolve().parent.is_dir():
        raise InputError(f"cannot write {output}: the directory {Path(output).resolve().parent} does not exist",
                         "output")
    with obj.db.session() as s:
        selected = hosts.find_hosts(s, list(host_refs))
        plan = plans.create_plan(s, selected, namespace=namespace, overrides=overrides,
                                 network_policies=not no_network_policies,
                                 kubernetes_version=obj.config.get("KUBERNETES_VERSION"))
        text, problems, plan_id = plan.yaml, plan.problems, plan.id
        files, warnings = plans.plan_files(plan), plan.summary.get("warnings", [])
        tree = plans.kustomize_files(s, selected, namespace=namespace, overrides=overrides,
                                     network_policies=not no_network_policies) if kustomize_dir else {}
        plans.exported(s, plan, ", ".join(w for w, on in (("yaml", output or not kustomize_dir),
                                                          ("kustomize", kustomize_dir)) if on))
    beside = bool(output) and (not Path(output).exists() or Path(output).is_file())
    if output:
        Path(output).write_text(text)
    if beside:      # beside a regular file only: never next to /dev/null or another device
        for rel, content in sorted(files.items()):
            target = Path(output).resolve().parent / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
    if output:
        extra = f" with {', '.join(sorted(files))} beside it" if beside and files else ""
        click.echo(f"plan {plan_id} written to {output}{extra}", err=True)
    elif not kustomize_dir:
        click.echo(text, nl=False)
    if files and not beside:
        click.echo(f"({len(files)} more file(s), NOTES.md and Dockerfiles, are written beside the plan "
                   f"with -o FILE)", err=True)
    if kustomize_dir:
        root = Path(kustomize_dir)
        for rel, content in sorted(tree.items()):
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        click.echo(f"plan {plan_id}: {len(tree)} files written under {root} (kubectl apply -k {root})", err=True)
    _warn(warnings)
    for p in problems:
        click.secho(f"invalid: {p['kind']}/{p['name']}: {p['path']}: {p['message']}", err=True, fg="red")
    if problems:
        sys.exit(1)
    click.echo(f"plan {plan_id} is valid against the Kubernetes schemas", err=True)
