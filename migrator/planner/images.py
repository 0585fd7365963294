"""Container images: the official image of known software at the detected version, a pinned
default tag when the version is unknown, and a generated Dockerfile for everything else.
"""
from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analyzers.findings import Application

PLACEHOLDER_REGISTRY = "migrator.invalid"


def version_tag(version: str) -> str | None:
    """'1:10.11.6-0+deb12u1' -> '10.11.6'; None when no version number is there."""
    found = re.match(r"(?:\d+:)?(\d+(?:\.\d+)*)", version.strip())
    return found.group(1) if found else None


def _postgres_major(tag: str) -> str:
    parts = tag.split(".")
    return ".".join(parts[:2]) if int(parts[0]) < 10 and len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class OfficialImage:
    repository: str
    pinned: str                             # tag used when the version is unknown
    tag: Callable[[str], str] = lambda v: v  # detected version -> tag


# Official (upstream) images, so the software runs unchanged. Pinned tags are current stable
# releases, chosen when the scan could not tell the version: the reviewer should match the host's.
OFFICIAL_IMAGES: dict[str, OfficialImage] = {
    "postgresql": OfficialImage("postgres", "15", _postgres_major),
    "mysql": OfficialImage("mysql", "8.0"),
    "mariadb": OfficialImage("mariadb", "10.11"),
    "mongodb": OfficialImage("mongo", "6.0"),
    "redis": OfficialImage("redis", "7.0"),
    "valkey": OfficialImage("valkey/valkey", "7.2"),
    "memcached": OfficialImage("memcached", "1.6"),
    "etcd": OfficialImage("quay.io/coreos/etcd", "v3.4.23", lambda v: f"v{v}"),
    "consul": OfficialImage("hashicorp/consul", "1.15"),
    "minio": OfficialImage("quay.io/minio/minio", "RELEASE.2023-09-30T07-02-29Z",
                           lambda v: "RELEASE.2023-09-30T07-02-29Z"),
    "elasticsearch": OfficialImage("docker.elastic.co/elasticsearch/elasticsearch", "8.11.3"),
    "opensearch": OfficialImage("opensearchproject/opensearch", "2.11.1"),
    "cassandra": OfficialImage("cassandra", "4.1"),
    "kafka": OfficialImage("apache/kafka", "3.7.0"),
    "zookeeper": OfficialImage("zookeeper", "3.8"),
    "tomcat": OfficialImage("tomcat", "10.1"),
    "rabbitmq": OfficialImage("rabbitmq", "3.12"),
    "nginx": OfficialImage("nginx", "1.22"),
    "apache-httpd": OfficialImage("httpd", "2.4"),
    "haproxy": OfficialImage("haproxy", "2.8"),
    "prometheus": OfficialImage("prom/prometheus", "v2.48.1", lambda v: f"v{v}"),
    "grafana": OfficialImage("grafana/grafana", "10.2.3"),
    "node_exporter": OfficialImage("quay.io/prometheus/node-exporter", "v1.7.0", lambda v: f"v{v}"),
    "fluent-bit": OfficialImage("fluent/fluent-bit", "2.2"),
    "fluentd": OfficialImage("fluent/fluentd", "v1.16-1", lambda v: f"v{v}-1"),
    "filebeat": OfficialImage("docker.elastic.co/beats/filebeat", "8.11.3"),
}

# Environment the official image refuses to start (or initialise) without: from a Secret.
REQUIRED_SECRET_ENV: dict[str, tuple[str, ...]] = {
    "postgresql": ("POSTGRES_PASSWORD",),
    "mysql": ("MYSQL_ROOT_PASSWORD",),
    "mariadb": ("MARIADB_ROOT_PASSWORD",),
}

# The user (uid, gid) an official image runs its server as, so a new volume can be made theirs with the
# pod's fsGroup; None: the image runs as root (nothing to do). The uid on the VM (redis is often 104 or
# 102 there) is NOT the image's: the image's entrypoint and files expect its own user, so the plan keeps
# the image's default user (no runAsUser) and sets fsGroup to the image's gid. Sources: the images'
# Dockerfiles (docker-library/{redis,postgres,mysql,mariadb,mongo,cassandra,rabbitmq,zookeeper,memcached}:
# `groupadd ... 999` / `useradd ... 999`, postgres Debian variants; memcached 11211; zookeeper 1000),
# valkey-io/valkey-container (999, as redis); Elastic's "Install Elasticsearch with Docker" (uid 1000) and
# OpenSearch's Docker docs (1000); Grafana's "Configure a Docker image" (uid 472, since 7.3);
# prom/prometheus runs as nobody (65534, USER nobody); etcd's and MinIO's images run as root.
IMAGE_USERS: dict[str, tuple[int, int] | None] = {
    "redis": (999, 999),
    "valkey": (999, 999),
    "postgresql": (999, 999),
    "mysql": (999, 999),
    "mariadb": (999, 999),
    "mongodb": (999, 999),
    "cassandra": (999, 999),
    "rabbitmq": (999, 999),
    "zookeeper": (1000, 1000),
    "memcached": (11211, 11211),
    "elasticsearch": (1000, 1000),
    "opensearch": (1000, 1000),
    "grafana": (472, 472),
    "prometheus": (65534, 65534),
    "etcd": None,
    "minio": None,
}

# Runtimes of the applications the scan names by interpreter: base image of the generated Dockerfile.
RUNTIMES: dict[str, tuple[str, str]] = {          # software -> (base image, interpreter in the image)
    "python-app": ("python:3.11-slim", "/usr/local/bin/python3"),
    "node-app": ("node:20-slim", "/usr/local/bin/node"),
    "java-app": ("eclipse-temurin:17-jre", "/opt/java/openjdk/bin/java"),
    "php-fpm": ("php:8.2-fpm", "/usr/local/sbin/php-fpm"),
}
GENERIC_BASE = "debian:12-slim"


def official_image(app: Application, notes: list[str]) -> str | None:
    """The official image at the detected version; the pinned tag (with a note) when unknown."""
    official = OFFICIAL_IMAGES.get(app.software)
    if official is None:
        return None
    tag = version_tag(app.version)
    if tag is None:
        notes.append(f"version of {app.software} unknown: pinned {official.repository}:{official.pinned}; "
                     "use the version the host runs")
        return f"{official.repository}:{official.pinned}"
    return f"{official.repository}:{official.tag(tag)}"


def placeholder_image(name: str) -> str:
    return f"{PLACEHOLDER_REGISTRY}/{name}:latest"


def _runtime_base(app: Application) -> tuple[str, str | None]:
    base, interpreter = RUNTIMES.get(app.software, (GENERIC_BASE, None))
    if app.software == "python-app":
        found = re.search(r"python(3\.\d+)", os.path.basename(app.exe))
        if found:
            base = f"python:{found.group(1)}-slim"
    return base, interpreter


def dockerfile(host: str, app: Application, ports: Sequence[int], gid: int | None = None) -> str:
    """A Dockerfile that runs the application as the host ran it: same runtime, files, user, command.

    It ends with ENTRYPOINT (the program) and CMD (its arguments) as observed; the planner replaces
    them with with_command() once the arguments are rewritten for the cluster.
    """
    base, interpreter = _runtime_base(app)
    program = app.command[0] if app.command else app.exe
    workdir = app.cwd if app.cwd and app.cwd != "/" else ""
    lines = [f"# Generated by migrator from {host}/{app.key} ({app.software or 'unknown software'}): review "
             "before building.",
             f"# Build context: a copy of {workdir or 'the application directory'} from {host}, e.g.",
             f"#   rsync -a {host}:{workdir or '/path/to/app'}/ ./",
             f"FROM {base}",
             f'LABEL io.migrator.source-host="{_label(host)}" io.migrator.source-app="{_label(app.key)}"']
    if interpreter and program and program.startswith("/") and program != interpreter:
        # The command line names the host's interpreter path: make it exist in the image.
        lines.append(f"RUN mkdir -p {shlex.quote(os.path.dirname(program))} && "
                     f"ln -sf {interpreter} {shlex.quote(program)}")
    elif not interpreter and program and program.startswith("/"):
        lines.append(f"COPY {os.path.basename(program)} {program}")
    if workdir:
        lines += [f"WORKDIR {workdir}", f"COPY . {workdir}"]
    if app.uid is not None:
        lines.append(f"USER {app.uid}:{gid if gid is not None else app.uid}")
    for port in ports:
        lines.append(f"EXPOSE {port}")
    return with_command("\n".join(lines) + "\n", app.command[:1], app.command[1:])


COMMAND_COMMENT = ("# ENTRYPOINT is the program the host ran; CMD its arguments as the pod runs them (addresses of\n"
                   "# other hosts rewritten to Service names), the same as the workload's command and args, which\n"
                   "# Kubernetes passes explicitly: the image alone runs the same way. Keep them in step.")

EXPANSION_COMMENT = "# $(VAR) in the arguments is expanded by Kubernetes only: set it by hand to run the image alone"


def with_command(text: str, command: Sequence[str], args: Sequence[str]) -> str:
    """The Dockerfile with its ENTRYPOINT and CMD set to `command` and `args` (and why, in a comment).

    One command for the image and the pod: a CMD that kept the VM's addresses would start a
    container that talks to the old hosts while the pod talks to the Services.
    """
    ours = set(COMMAND_COMMENT.splitlines()) | {EXPANSION_COMMENT}
    lines = [l for l in text.splitlines() if not l.startswith(("ENTRYPOINT ", "CMD ")) and l not in ours]
    if command or args:
        lines += COMMAND_COMMENT.splitlines()
    if any("$(" in a for a in (*command, *args)):
        lines.append(EXPANSION_COMMENT)
    if command:
        lines.append("ENTRYPOINT " + _json_array(command))
    if args:
        lines.append("CMD " + _json_array(args))
    return "\n".join(lines) + "\n"


def _label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _json_array(items: Sequence[str]) -> str:
    return json.dumps(list(items))
