"""analyzers.secrets: secret values never survive; structure, framing and refs do."""
from __future__ import annotations

import time

import pytest

from analyzers.base import Section
from analyzers.parsers import crontabs, unit_files
from analyzers.parsers.configs import parse as parse_configs
from analyzers.probe_output import MARK, frame_sections, split_sections
from analyzers.secrets import REDACTED, SecretRef, is_secret_key, redact_argv, redact_file, \
    redact_probe_output, redact_sections

PLANTED = "Pl4nted-S3cret"


def file_section(name: str, files: dict[str, str]) -> Section:
    return Section(name, "".join(f"\n{MARK}file {p}\n{body}" for p, body in files.items()))


@pytest.mark.parametrize("line, expected", [
    (f"requirepass {PLANTED}", "requirepass <redacted>"),
    (f'masterauth "{PLANTED} with space"', 'masterauth "<redacted>"'),
    (f"password = '{PLANTED}' # comment", "password = '<redacted>'"),
    (f"password: 'it''s {PLANTED}'", "password: '<redacted>'"),
    (f'  "api_key": "{PLANTED}\\"x", "user": "u"', '  "api_key": "<redacted>", "user": "u"'),
    (f"secret_key = a=b={PLANTED}==", "secret_key = <redacted>"),
    (f"primary_conninfo = 'host=db port=5432 user=rep password={PLANTED} sslmode=require'",
     "primary_conninfo = 'host=db port=5432 user=rep password=<redacted> sslmode=require'"),
    (f'Environment="A=1" "DB_PASSWORD={PLANTED} x" LOG=info', 'Environment="A=1" "DB_PASSWORD=<redacted>" LOG=info'),
    (f"Environment=PGPASSWORD={PLANTED}", "Environment=PGPASSWORD=<redacted>"),
    (f"ExecStart=/usr/bin/app --password {PLANTED} --port 80 --client-secret={PLANTED}",
     "ExecStart=/usr/bin/app --password <redacted> --port 80 --client-secret=<redacted>"),
    (f"30 2 * * * root mysqldump -uroot -p{PLANTED} db | gzip", "30 2 * * * root mysqldump -uroot -p<redacted> db | gzip"),
    (f"DATABASE_URL=postgres://app:{PLANTED}@db:5432/app", "DATABASE_URL=postgres://app:<redacted>@db:5432/app"),
    (f"url = redis://:{PLANTED}@cache:6379/0", "url = redis://:<redacted>@cache:6379/0"),
    (f"export AWS_SECRET_ACCESS_KEY={PLANTED}", "export AWS_SECRET_ACCESS_KEY=<redacted>"),
    (f"credentials {{ token = \"{PLANTED}\" }}", "credentials <redacted>"),
])
def test_secret_lines(line, expected):
    out, found = redact_file(line)
    assert out == expected and PLANTED not in out and found


@pytest.mark.parametrize("line", [
    "ssl_key_file = '/etc/ssl/private/x.key'", "\tssl_certificate_key /etc/ssl/a.key;",
    "auth_basic_user_file /etc/nginx/.htpasswd;", "password_file=/run/secrets/db", "api_key = ${API_KEY}",
    "data_directory = '/var/lib/postgresql/15/main'", "listen_addresses = '*'", "port 6379",
    "ExecStart=/usr/bin/redis-server /etc/redis/redis.conf --supervised systemd", "bypass_cache = on",
    "ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:2379", "password =", "",
])
def test_not_secrets_stay(line):
    assert redact_file(line) == (line, [])


def test_pem_private_key_body_goes_begin_end_stay():
    text = "a: 1\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIB" + PLANTED + "\nQUJD\n-----END RSA PRIVATE KEY-----\nb: 2\n"
    out, found = redact_file(text)
    assert out == "a: 1\n-----BEGIN RSA PRIVATE KEY-----\n<redacted>\n<redacted>\n-----END RSA PRIVATE KEY-----\nb: 2\n"
    assert found == [("private-key", 2)]
    inline, _ = redact_file(f'{{"pk": "-----BEGIN PRIVATE KEY-----\\n{PLANTED}\\n-----END PRIVATE KEY-----\\n"}}')
    assert PLANTED not in inline and "-----BEGIN PRIVATE KEY-----" in inline


def test_fake_pem_without_end_redacts_the_rest_of_its_file_only():
    sections = {"configs": file_section("configs", {
        "/etc/a.conf": f"# -----BEGIN OPENSSH PRIVATE KEY----- (not really)\nname = {PLANTED}\n",
        "/etc/b.conf": "port = 1\n"})}
    out, refs = redact_sections(sections)
    files = {f.path: f.text for f in parse_configs(out["configs"].text)}
    assert PLANTED not in out["configs"].text and files["/etc/b.conf"] == "port = 1\n"
    assert refs == [SecretRef("configs", "/etc/a.conf", "private-key", 1)]


def test_certificates_are_not_secrets():
    text = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    assert redact_file(text) == (text, [])


def test_commented_settings_are_redacted_without_a_ref():
    assert redact_file(f"# requirepass {PLANTED}") == ("# requirepass <redacted>", [])


def test_yaml_block_and_unit_continuation():
    out, found = redact_file(f"token: |\n  {PLANTED}\n  more\nnext: 1\n")
    assert out == "token: |\n  <redacted>\n  <redacted>\nnext: 1\n" and found == [("token", 1)]
    out, _ = redact_file(f"password = {PLANTED}-a \\\n  {PLANTED}-b\nUser=x\n")
    assert PLANTED not in out and out.endswith("User=x\n") and out.count("\n") == 3


@pytest.mark.parametrize("argv, expected", [
    (["redis-server", "*:6379", "--requirepass", PLANTED, "--masterauth=" + PLANTED],
     ["redis-server", "*:6379", "--requirepass", REDACTED, "--masterauth=" + REDACTED]),
    (["/usr/bin/mysql", "-uroot", "-p" + PLANTED, "-h", "db"], ["/usr/bin/mysql", "-uroot", "-p" + REDACTED, "-h", "db"]),
    (["redis-cli", "-a", PLANTED, "ping"], ["redis-cli", "-a", REDACTED, "ping"]),
    (["env", "PGPASSWORD=" + PLANTED, "psql"], ["env", "PGPASSWORD=" + REDACTED, "psql"]),
    (["sh", "-c", f"PGPASSWORD={PLANTED} psql 'host=a password={PLANTED}'"],
     ["sh", "-c", f"PGPASSWORD={REDACTED} psql 'host=a password={REDACTED}'"]),
    (["java", f"-Djavax.net.ssl.keyStorePassword={PLANTED}", "-jar", "a.jar"],
     ["java", f"-Djavax.net.ssl.keyStorePassword={REDACTED}", "-jar", "a.jar"]),
    (["app", "--token", "--verbose", ""], ["app", "--token", "--verbose", ""]),
    (["python", "app.py", "--db", f"postgres://u:{PLANTED}@h/db"], ["python", "app.py", "--db", f"postgres://u:{REDACTED}@h/db"]),
])
def test_argv_keeps_argument_count(argv, expected):
    out, found = redact_argv(argv)
    assert out == expected and len(out) == len(argv)


def processes_section(argv: list[str], pid: int = 42) -> Section:
    cmdline = "\x00".join(argv) + "\x00"
    return Section("processes", f"\n{MARK}pid {pid}\n{MARK}f stat\n{pid} (x) S 1 {pid} {pid} 0 -1 0\n"
                                f"{MARK}f cmdline\n{cmdline}\n{MARK}f cgroup\n0::/\n")


def test_processes_cmdline_redacted_and_still_parses():
    section = processes_section(["redis-server", "--requirepass", PLANTED, "--port", "6379"])
    out, refs = redact_sections({"processes": section})
    text = out["processes"].text
    assert PLANTED not in text
    assert refs == [SecretRef("processes", "pid 42", "--requirepass", 2)]
    assert f"{MARK}f cmdline\nredis-server\x00--requirepass\x00{REDACTED}\x00--port\x006379\x00\n{MARK}f cgroup" in text


def test_sections_keep_their_files_and_refs_say_where():
    sections = {
        "unit_files": file_section("unit_files", {"/etc/systemd/system/app.service":
                                                  f"[Service]\nEnvironment=API_TOKEN={PLANTED}\nExecStart=/bin/app\n"}),
        "crontabs": file_section("crontabs", {"/etc/cron.d/backup": f"PGPASSWORD={PLANTED}\n0 1 * * * root pg_dump db\n"}),
        "hostname": Section("hostname", "password=not-redacted-here\n"),
    }
    out, refs = redact_sections(sections)
    (unit,) = unit_files.parse(out["unit_files"].text)
    assert unit.environment == {"API_TOKEN": REDACTED} and unit.exec_start == ("/bin/app",)
    (cron,) = crontabs.parse(out["crontabs"].text)
    assert cron.variables == {"PGPASSWORD": REDACTED} and len(cron.entries) == 1
    assert out["hostname"] == sections["hostname"]
    assert refs == [SecretRef("unit_files", "/etc/systemd/system/app.service", "API_TOKEN", 2),
                    SecretRef("crontabs", "/etc/cron.d/backup", "PGPASSWORD", 1)]


def probe_output(nonce: str, configs_raw_markers: bool = True, done: bool = True) -> bytes:
    sections = {
        "hostname": Section("hostname", "h1\n"),
        "processes": processes_section(["mysqld", "--password=" + PLANTED]),
        "configs": Section("configs", f"\n@@{nonce}@@ file /etc/app.ini\n[db]\npassword = {PLANTED}\nport = 1\n"),
        "crontabs": file_section("crontabs", {"/etc/crontab": f"* * * * * root curl -u admin:{PLANTED} http://x\n"}),
        "mounts": Section("mounts", "cut", None, True),
    }
    raw = frame_sections(sections, nonce)
    return raw if done else raw[:-len(f"\n@@{nonce}@@ done\n")]


@pytest.mark.parametrize("done", [True, False])
def test_probe_output_redacted_framing_survives(done):
    nonce = "n0nceX"
    raw = probe_output(nonce, done=done) + b"\xff\xfe invalid utf-8 after\n"
    out, refs = redact_probe_output(raw, nonce)
    assert PLANTED.encode() not in out
    again = split_sections(out, nonce)
    before = split_sections(raw, nonce)
    assert list(again) == list(before) and again.complete == before.complete == done
    assert again["mounts"] == Section("mounts", "cut", None, True)
    assert "[db]\npassword = <redacted>\nport = 1\n" in again["configs"].text
    assert {(r.section, r.key) for r in refs} == {("processes", "--password"), ("configs", "password"),
                                                  ("crontabs", "-u")}
    # idempotent, and the refs can be recomputed from the stored (redacted) output
    assert redact_probe_output(out, nonce) == (out, refs)


def test_planted_value_appears_nowhere_with_hostile_inputs():
    hostile = "\n".join([
        f'password="{PLANTED}"', f"PASSWORD='{PLANTED}\"'", f"pass {PLANTED}", f"token: {PLANTED}  # x",
        f'  - "secret={PLANTED}"', f"key = {PLANTED}", "x" * 300_000 + f" --password {PLANTED}",
        f"auth={PLANTED};", f"--api-key={PLANTED}", f"credentials: {PLANTED}",
        f"-----BEGIN EC PRIVATE KEY-----\n{PLANTED}\n-----END EC PRIVATE KEY-----",
        f"mysql -h db -p{PLANTED}", f"https://user:{PLANTED}@host/path",
    ])
    raw = frame_sections({"configs": Section("configs", f"\n{MARK}file /etc/x.conf\n{hostile}\n"),
                          "unit_files": Section("unit_files", f"\n{MARK}file /etc/systemd/system/x.service\n{hostile}\n")},
                         "hN0nce") + b"\n\x00\xff\xc3\x28\n"
    started = time.monotonic()
    out, refs = redact_probe_output(raw, "hN0nce")
    assert time.monotonic() - started < 5
    assert PLANTED.encode() not in out and len(refs) >= 26


@pytest.mark.parametrize("key, secret", [
    ("password", True), ("DB_PASS", True), ("dbPass", True), ("requirepass", True), ("masterauth", True),
    ("api-key", True), ("client_secret", True), ("GITHUB_TOKEN", True), ("credentials", True),
    ("bypass", False), ("passive", False), ("port", False), ("author", False), ("keepalive", False), ("", False),
])
def test_is_secret_key(key, secret):
    assert is_secret_key(key) is secret


def test_lookalike_settings_and_switches_are_kept():
    from analyzers.secrets import redact_file
    text = ("server_tokens off;\nproxy_pass http://lab_webapp;\nfastcgi_pass unix:/run/php/php-fpm.sock;\n"
            "PasswordAuthentication no\nauth_basic \"Restricted\";\nrequirepass hunter2-planted\n"
            "password_encryption = scram-sha-256\n")
    out, found = redact_file(text)
    assert "server_tokens off;" in out and "proxy_pass http://lab_webapp;" in out
    assert "fastcgi_pass unix:/run/php/php-fpm.sock;" in out and "PasswordAuthentication no" in out
    assert "password_encryption = scram-sha-256" in out
    assert "hunter2-planted" not in out and [k for k, _ in found] == ["requirepass"]
