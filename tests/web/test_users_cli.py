"""`migrator users`: create (password asked twice, only its hash stored), list, password, disable."""
from __future__ import annotations

from migrator import get_db
from migrator.models import User

PW = "a long enough password"


def test_users_create_list_password_disable(cli, app):
    r = cli("users", "create", "alice", "--role", "planner", input=f"{PW}\n{PW}\n")
    assert r.exit_code == 0 and "user 1 (alice, planner) created" in r.output and PW not in r.output
    with get_db(app).session() as s:
        stored = s.get(User, 1).password_hash
    assert PW not in stored and stored.startswith("scrypt:")
    r = cli("users", "list")
    assert "alice" in r.output and "planner" in r.output and "active" in r.output and "never" in r.output
    assert cli("users", "password", "alice", input="another password!\nanother password!\n").exit_code == 0
    assert cli("users", "disable", "alice").exit_code == 0
    assert "disabled" in cli("users", "list", "--json").output
    assert cli("users", "disable", "alice", "--enable").exit_code == 0


def test_users_create_refuses_bad_input(cli):
    assert cli("users", "list").output.startswith("no users yet")
    r = cli("users", "create", "bob", "--role", "admin", input="short\nshort\n")
    assert r.exit_code == 1 and "password must be" in r.output
    r = cli("users", "create", "bad name!", "--role", "admin")
    assert r.exit_code == 1 and "username must be" in r.output
    assert cli("users", "create", "bob", "--role", "root").exit_code == 2
    cli("users", "create", "bob", "--role", "admin", input=f"{PW}\n{PW}\n")
    r = cli("users", "create", "BOB", "--role", "viewer", input=f"{PW}\n{PW}\n")
    assert r.exit_code == 1 and "exists already" in r.output
    assert cli("users", "disable", "nobody").exit_code == 1
    r = cli("users", "create", "carol", "--role", "viewer", input=f"{PW}\n{PW}x\n")
    assert r.exit_code == 1 and "the two passwords read from stdin differ" in r.output
    r = cli("users", "create", "carol", "--role", "viewer", input="")
    assert r.exit_code == 1 and "no password on stdin" in r.output


def test_a_piped_password_gives_no_terminal_warning(cli):
    r = cli("users", "create", "dave", "--role", "viewer", input=f"{PW}\n{PW}\n")
    assert r.exit_code == 0 and "echo" not in r.output.lower() and "Warning" not in r.output, r.output
