"""Sections systemctl_units, systemctl_unit_files, unit_files."""
from __future__ import annotations

import pytest

from analyzers.base import ParseError
from analyzers.parsers import systemctl, unit_files
from analyzers.probe_output import MARK
from parser_fixtures import section


def test_units():
    rows = systemctl.parse_units(section("systemctl_units", "debian12"))
    assert rows[0] == systemctl.UnitState("apt-daily-upgrade.timer", "loaded", "active", "waiting",
                                          "Daily apt upgrade and clean activities")
    assert rows[4].unit == "postgresql@15-main.service" and rows[4].sub == "running"
    rows = systemctl.parse_units(section("systemctl_units", "failed_and_missing"))
    assert [(r.unit, r.load, r.active, r.sub) for r in rows[:2]] == [
        ("app-worker.service", "loaded", "failed", "failed"), ("mysql.service", "not-found", "inactive", "dead")]
    assert rows[2].description == "System Logging Service"


def test_units_empty_and_garbage():
    assert systemctl.parse_units("") == ()
    with pytest.raises(ParseError):
        systemctl.parse_units("foo.service loaded\n")


def test_unit_files_preset_and_none():
    rows = systemctl.parse_unit_files(section("systemctl_unit_files", "preset_new"))
    assert len(rows) == 6 and rows[2] == systemctl.UnitFileState("postgresql@.service", "indirect", "enabled")
    assert rows[4].preset is None
    rows = systemctl.parse_unit_files(section("systemctl_unit_files", "no_preset_centos7"))
    assert [(r.unit_file, r.state, r.preset) for r in rows][3] == ("rdisc.service", "disabled", None)
    assert len(rows) == 5


def test_systemctl_unit_files_empty_and_garbage():
    assert systemctl.parse_unit_files("") == ()
    assert systemctl.parse_unit_files("\n0 unit files listed.\n") == ()
    with pytest.raises(ParseError):
        systemctl.parse_unit_files("a.service enabled enabled extra words\n")
    with pytest.raises(ParseError):
        systemctl.parse_unit_files("lonely\n")


def test_unit_files_recorded():
    units = {u.name: u for u in unit_files.parse(section("unit_files", "debian12"))}
    assert "dbus-org.freedesktop.timesync1.service" in units
    assert all(u.path.startswith(("/etc/systemd/system/", "/run/systemd/system/")) for u in units.values())
    timesync = units["dbus-org.freedesktop.timesync1.service"]
    assert timesync.get("Unit", "Description") == ("Network Time Synchronization",)
    assert timesync.after == ("systemd-sysusers.service",)
    assert timesync.get("Unit", "Before") == ("time-set.target sysinit.target shutdown.target",)
    assert any(u.after == ("network.target", "auditd.service") for u in units.values())


def test_unit_files_synthetic_rules():
    app, timer = unit_files.parse(section("unit_files", "synthetic"))
    assert (app.path, app.name, timer.name) == ("/etc/systemd/system/app.service", "app.service", "backup.timer")
    assert app.after == ("network.target", "postgresql.service")
    assert app.requires == ("network-online.target",)          # the empty assignment reset the list
    assert app.wants == ("redis-server.service",)
    assert app.exec_start == ("/srv/app/venv/bin/gunicorn --bind 127.0.0.1:8000 app:wsgi",)
    assert (app.user, app.working_directory) == ("app", "/srv/app")
    assert app.environment == {"APP_ENV": "production", "DSN": "postgres://app@db/app", "LOG_LEVEL": "info"}
    assert app.get("Service", "garbage line without equals") == ()
    assert timer.get("Timer", "OnCalendar") == ("*-*-* 02:30:00",)
    assert timer.exec_start == () and timer.user == "" and timer.environment == {}


def test_unit_files_empty_and_garbage():
    assert unit_files.parse("") == ()
    assert unit_files.parse("no markers at all\n[Service]\nUser=x\n") == ()
    (unit,) = unit_files.parse(f"\n{MARK}file /etc/systemd/system/x.service\n\x00garbage\n=novalue\nKey=before section\n")
    assert unit.sections == {}
