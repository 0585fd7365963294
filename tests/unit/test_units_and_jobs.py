"""Unit files matched to processes by ExecStart; cron entries split into app and OS jobs."""
from __future__ import annotations

from types import SimpleNamespace

from analyzers.jobs import is_system_job
from analyzers.parsers.unit_files import parse_unit
from analyzers.units import exec_argv, match_unit, unit_dependencies


def unit(name, body):
    return parse_unit(f"/etc/systemd/system/{name}", body)


def proc(cmdline, exe=""):
    return SimpleNamespace(pid=7, cmdline=cmdline, exe=exe or cmdline[0])


def test_exec_argv_strips_prefixes():
    assert exec_argv("-/usr/bin/redis-server /etc/redis.conf") == ["/usr/bin/redis-server", "/etc/redis.conf"]
    assert exec_argv("!! /bin/x 'a b'") == ["/bin/x", "a b"]


def test_best_matching_unit_wins_and_taken_units_are_skipped():
    units = [unit("a.service", "[Service]\nExecStart=/usr/bin/python3 /opt/a/app.py --port 1\n"),
             unit("b.service", "[Service]\nExecStart=/usr/bin/python3 /opt/b/app.py --port 2\n"),
             unit("b.timer", "[Timer]\nOnCalendar=daily\n")]
    found, evidence = match_unit(units, proc(["/usr/bin/python3", "/opt/b/app.py", "--port", "2"]), set())
    assert found.name == "b.service" and evidence.rule == "unit-exec-start"
    found, _ = match_unit(units, proc(["/usr/bin/python3", "/opt/b/app.py", "--port", "2"]), {"b.service"})
    assert found.name == "a.service"
    assert match_unit(units, proc(["/usr/sbin/nginx"]), set()) == (None, None)


def test_dependencies_without_targets():
    u = unit("web.service", "[Unit]\nAfter=network-online.target postgresql.service\nRequires=redis.service\n"
                            "Wants=network-online.target\n[Service]\nExecStart=/bin/web\n")
    assert unit_dependencies(u) == ("postgresql.service", "redis.service")


def test_system_jobs():
    assert is_system_job("test -e /run/systemd/system || SERVICE_MODE=1 /sbin/e2scrub_all -A -r")
    assert is_system_job("cd / && run-parts --report /etc/cron.daily")
    assert not is_system_job("/usr/bin/python3 /opt/webapp/report.py")


def test_timers_become_jobs_with_their_service_command_and_user():
    from analyzers.jobs import scheduled_jobs
    units = [unit("report.timer", "[Timer]\nOnCalendar=*-*-* 02:00:00\n"),
             unit("report.service", "[Service]\nUser=app\nExecStart=/opt/app/bin/report --all\n"),
             unit("sync.timer", "[Timer]\nOnBootSec=5min\nOnUnitActiveSec=1h\nUnit=other.service\n"),
             unit("logrotate.timer", "[Timer]\nOnCalendar=daily\n")]
    jobs = {j.source.rsplit("/", 1)[1]: j for j in scheduled_jobs((), units)}
    assert (jobs["report.timer"].schedule, jobs["report.timer"].user, jobs["report.timer"].command) == \
        ("*-*-* 02:00:00", "app", "/opt/app/bin/report --all")
    assert jobs["sync.timer"].schedule == "OnBootSec=5min OnUnitActiveSec=1h"
    assert jobs["sync.timer"].command == "other.service" and not jobs["sync.timer"].system
    assert jobs["logrotate.timer"].system


def test_template_of_instance_units():
    from analyzers.units import template_of
    assert template_of("postgresql@15-main.service") == "postgresql@.service"
    assert template_of("getty@tty1.service") == "getty@.service"
    assert template_of("redis-server.service") == "redis-server.service"


def test_reboot_entries_and_oneshot_services_run_once():
    from analyzers.jobs import scheduled_jobs
    from analyzers.parsers.crontabs import parse_cron
    cron = parse_cron("/etc/cron.d/warm", "@reboot root /usr/local/bin/warm-cache\n*/5 * * * * root /bin/tick\n", True)
    units = [unit("migrate.service", "[Service]\nType=oneshot\nUser=app\nExecStart=/opt/app/bin/migrate --up\n"),
             unit("report.service", "[Service]\nType=oneshot\nExecStart=/opt/app/bin/report\n"),
             unit("report.timer", "[Timer]\nOnCalendar=daily\n"),
             unit("web.service", "[Service]\nExecStart=/opt/app/bin/web\n")]
    jobs = {(j.command, j.oneshot, j.user) for j in scheduled_jobs([cron], units)}
    assert jobs == {("/usr/local/bin/warm-cache", True, "root"), ("/bin/tick", False, "root"),
                    ("/opt/app/bin/migrate --up", True, "app"), ("/opt/app/bin/report", False, "root")}
