"""Section crontabs and `crontab -l` output."""
from __future__ import annotations

from analyzers.parsers import crontabs
from analyzers.probe_output import MARK
from parser_fixtures import section


def test_recorded_cron_d():
    (e2scrub,) = crontabs.parse(section("crontabs", "debian12"))
    assert e2scrub.path == "/etc/cron.d/e2scrub_all" and len(e2scrub.entries) == 2
    first = e2scrub.entries[0]
    assert (first.schedule, first.day_of_week, first.user, first.line_no) == ("30 3 * * 0", "0", "root", 1)
    assert first.command.startswith("test -e /run/systemd/system || SERVICE_MODE=1 ")


def test_synthetic_system_and_spool():
    etc, app, spool = crontabs.parse(section("crontabs", "synthetic"))
    assert etc.variables["SHELL"] == "/bin/sh" and etc.user == ""
    assert [(e.minute, e.hour, e.user) for e in etc.entries] == [("17", "*", "root"), ("25", "6", "root")]
    assert etc.entries[0].command == "cd / && run-parts --report /etc/cron.hourly"
    assert app.variables == {"MAILTO": "ops@example.com"}
    assert [(e.schedule, e.minute, e.user, e.command) for e in app.entries] == [
        ("@reboot", "", "app", "/srv/app/bin/warmup"), ("*/5 * * * *", "*/5", "app", "/srv/app/bin/poll --since=5m")]
    assert spool.user == "postgres"
    assert [(e.schedule, e.minute, e.hour, e.user) for e in spool.entries] == [
        ("@daily", "0", "0", "postgres"), ("30 2 * * 1-5", "30", "2", "postgres")]
    assert spool.entries[1].command == "PGPASSFILE=/var/lib/postgresql/.pgpass pg_dumpall > /backup/all.sql"
    assert spool.variables == {}


def test_crontab_l():
    cron = crontabs.crontab("MAILTO=''\n@hourly /bin/a --x=1\n0 0 1 1 * /bin/b\n", "deploy")
    assert cron.variables == {"MAILTO": ""}
    assert [(e.schedule, e.minute, e.hour, e.user, e.line_no) for e in cron.entries] == [
        ("@hourly", "0", "*", "deploy", 2), ("0 0 1 1 *", "0", "0", "deploy", 3)]


def test_empty_and_garbage():
    assert crontabs.parse("") == ()
    assert crontabs.crontab("").entries == ()
    (cron,) = crontabs.parse(f"\n{MARK}file /var/spool/cron/bob\n\x00\x01\n* * *\n@bogus x\n1 2 3\n")
    assert cron.user == "bob" and cron.entries == () and cron.variables == {}
