"""Factories of findings with configuration: config texts with redacted values, a unit's environment
with a password, a certificate that expires soon (for test_planner_configs and the golden file)."""
from __future__ import annotations

from planner_factories import gen_host, gen_redis, gen_webapp

from analyzers.parsers.certificates import Certificate

UNIT = "/etc/systemd/system/webapp.service"
ENV_FILE = "/etc/default/webapp"
APP_INI = "/etc/webapp/app.ini"
LOGGING = "/etc/webapp/logging.yaml"
CERT, KEY = "/etc/webapp/tls/server.crt", "/etc/webapp/tls/server.key"
SCANNED_AT = "2024-12-31T12:00:00+00:00"
APP_INI_TEXT = "[db]\nhost = db1\nuser = shop\npassword = <redacted>\n# password = <redacted>\n"
LOGGING_TEXT = "version: 1\nroot:\n  level: INFO\n"
ENV_TEXT = "DATABASE_URL=postgres://shop:<redacted>@db1:5432/shop\nWORKERS=4\n"
REDIS_CONF = "port 6379\ndir /var/lib/redis\nrequirepass <redacted>\n"


def soon_certificate(not_after: str = "2025-01-10T00:00:00+00:00") -> Certificate:
    return Certificate(CERT, subject="CN=shop.example.com", issuer="CN=Example CA",
                       not_before="2024-01-10T00:00:00+00:00", not_after=not_after,
                       dns_names=("shop.example.com", "www.shop.example.com"), sha256="ab" * 32, chain_length=2)


def gen_configured_webapp(**changes):
    fields = dict(
        config_files=(APP_INI, LOGGING, ENV_FILE), certificates=(CERT, KEY),
        secrets=(f"{APP_INI}: password", f"{UNIT}: DB_PASSWORD", f"{ENV_FILE}: url-password"),
        environment=(("LOG_LEVEL", "info", UNIT), ("DB_PASSWORD", "<redacted>", UNIT),
                     ("DATABASE_URL", "postgres://shop:<redacted>@db1:5432/shop", ENV_FILE),
                     ("WORKERS", "4", ENV_FILE)))
    fields.update(changes)
    return gen_webapp(**fields)


def configured_web_host(certificate: Certificate | None = None, **changes):
    return gen_host("web1", gen_configured_webapp(**changes),
                    config_texts=((ENV_FILE, ENV_TEXT), (APP_INI, APP_INI_TEXT), (LOGGING, LOGGING_TEXT)),
                    certificates=(certificate or soon_certificate(),), scanned_at=SCANNED_AT)


def configured_redis_host():
    redis = gen_redis(config_files=("/etc/redis/redis.conf",),
                      command=("/usr/bin/redis-server", "/etc/redis/redis.conf", "--masterauth", "<redacted>"),
                      secrets=("/etc/redis/redis.conf: requirepass", "pid 812: --masterauth"))
    return gen_host("db1", redis, config_texts=(("/etc/redis/redis.conf", REDIS_CONF),), scanned_at=SCANNED_AT)


def configured_estate():
    return [configured_redis_host(), configured_web_host()]
