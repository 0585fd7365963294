"""Section `configs`: the config files of the running applications, as sub-records.

Sample (``MARK`` is `analyzers.probe_output.MARK`)::

    MARK file /etc/redis/redis.conf
    bind 127.0.0.1 -::1
    port 6379
    dir /var/lib/redis
    MARK file /etc/postgresql/15/main/postgresql.conf
    data_directory = '/var/lib/postgresql/15/main'

The probe reads every path with a config extension named on a process's command line and a
fixed list of well-known config files (at most 64 KiB each, so a long file may arrive cut
short). Each file becomes a `ConfigFile` with its text as it came (after secrets redaction)
and a `format` guessed from its path, then from its content: ini, yaml, json, toml, hcl,
xml, properties, keyvalue (shell-style NAME=value, /etc/default and /etc/sysconfig),
flags (one command-line option a line: memcached), nginx, apache, haproxy, redis,
postgresql, or unknown. A file with no name after the marker is skipped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.base import parser
from analyzers.probe_output import split_records

FORMATS = ("ini", "yaml", "json", "toml", "hcl", "xml", "properties", "keyvalue", "flags", "nginx",
           "apache", "haproxy", "redis", "postgresql", "unknown")


@dataclass(frozen=True)
class ConfigFile:
    path: str
    text: str
    format: str

    def lines(self) -> list[str]:
        return self.text.splitlines()


# (rule name, test on the path) in order: the first that matches decides. Software-specific
# names come before extensions (redis.conf is not "ini"), extensions before directories.
_BY_PATH: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("postgresql", re.compile(r"(^|/)postgresql(\.auto)?\.conf$|/postgresql/.*/conf\.d/[^/]+\.conf$")),
    ("redis", re.compile(r"(^|/)(redis|sentinel|keydb)[^/]*\.conf$|/(redis|keydb)/[^/]+\.conf$")),
    ("nginx", re.compile(r"/nginx/|(^|/)nginx[^/]*\.conf$")),
    ("apache", re.compile(r"/(apache2|httpd)/|(^|/)(httpd|apache2)\.conf$")),
    ("haproxy", re.compile(r"(^|/)haproxy[^/]*\.cfg$")),
    ("flags", re.compile(r"(^|/)memcached\.conf$")),
    ("keyvalue", re.compile(r"^/etc/(default|sysconfig)/|(^|/)rabbitmq-env\.conf$|^/etc/etcd/etcd\.conf$")),
    ("ini", re.compile(r"\.(ini|cnf)$|(^|/)my\.cnf$|(^|/)php-fpm\.conf$|/php-fpm\.d/|/fpm/pool\.d/")),
    ("yaml", re.compile(r"\.ya?ml$|(^|/)mongod(b)?\.conf$")),
    ("json", re.compile(r"\.json$")),
    ("toml", re.compile(r"\.toml$")),
    ("hcl", re.compile(r"\.hcl$")),
    ("xml", re.compile(r"\.xml$")),
    ("properties", re.compile(r"\.(properties|cfg)$|(^|/)rabbitmq\.conf$")),
)
_INI_SECTION = re.compile(r"^\s*\[[^\]\n]+\]\s*$", re.M)
_YAML_KEY = re.compile(r"^[A-Za-z_][\w.-]*:(\s|$)", re.M)
_KEYVALUE = re.compile(r"^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*=", re.M)
_PROPERTY = re.compile(r"^\s*[A-Za-z_][\w.-]*\s*[=:]", re.M)


def guess_format(path: str, text: str = "") -> str:
    """The format of a config file, from its path, else from its first lines."""
    for name, pattern in _BY_PATH:
        if pattern.search(path):
            return name
    head = "\n".join(line for line in text[:4096].splitlines()
                     if line.strip() and not line.lstrip().startswith(("#", ";", "//")))
    if not head:
        return "unknown"
    first = head.lstrip()[:1]
    if first == "{" or re.match(r'\s*\[\s*[{\["0-9]', head):
        return "json"
    if first == "<":
        return "xml"
    if _INI_SECTION.search(head):
        return "ini"
    if _KEYVALUE.search(head) and not re.search(r"^\s*[A-Za-z_][\w.-]*\s+=", head, re.M):
        return "keyvalue"
    if _YAML_KEY.search(head):
        return "yaml"
    if _PROPERTY.search(head):
        return "properties"
    return "unknown"


@parser("configs")
def parse(text: str) -> tuple[ConfigFile, ...]:
    files = []
    for header, body in split_records(text):
        if not header.startswith("file ") or not header[5:].strip():
            continue
        path = header[5:]
        files.append(ConfigFile(path, body, guess_format(path, body)))
    return tuple(files)


# Reading settings: each format flattened to (key, value, line_no), in file order. Keys of
# nested formats are dotted paths ("storage.dbPath", "mysqld.datadir", "paths.data"); a
# YAML/JSON list gives one setting per item under its key. Values are unquoted. These readers
# are lenient (a file may be cut at 64 KiB): a line they cannot read is skipped.

@dataclass(frozen=True)
class Setting:
    key: str
    value: str
    line_no: int


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _strip_comment(value: str, marks: str = "#") -> str:
    """`value` without a trailing comment that is outside quotes."""
    quote = ""
    for i, ch in enumerate(value):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in marks and (i == 0 or value[i - 1] in " \t"):
            return value[:i].rstrip()
    return value.strip()


_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_@][\w.\-@/\[\]]*)\s*(?:=|:(?!//))\s*(.*)$")
_SPACED = re.compile(r"^\s*([A-Za-z_][\w.\-]*)(?:\s+(.*))?$")


def _assignments(text: str, comments: str = "#;", spaced: bool = False) -> list[Setting]:
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in comments:
            continue
        match = _ASSIGN.match(line) or (_SPACED.match(line) if spaced else None)
        if match:
            out.append(Setting(match.group(1), unquote(_strip_comment(match.group(2) or "")), no))
    return out


def _ini(text: str) -> list[Setting]:
    out, section = [], ""
    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip().strip('"')
            continue
        if stripped[0] == "!":                      # !include, !includedir
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            key, sep, value = stripped.partition(":")
        key = key.strip()
        if key and not any(c in key for c in " \t"):
            out.append(Setting(f"{section}.{key}" if section else key,
                               unquote(_strip_comment(value, "#;")) if sep else "", no))
    return out


def _words(text: str) -> list[Setting]:
    """Directive-per-line formats (redis, nginx, apache, haproxy, memcached flags)."""
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip().rstrip(";").strip()
        if not stripped or stripped[0] in "#;" or stripped in ("{", "}"):
            continue
        stripped = stripped.rstrip("{").strip()
        if stripped.startswith("</"):
            continue
        if stripped.startswith("<") and stripped.endswith(">"):
            stripped = stripped[1:-1]
        key, _, value = stripped.partition(" ")
        if "\t" in key:
            key, _, more = key.partition("\t")
            value = f"{more} {value}".strip()
        out.append(Setting(key, value.strip(), no))
    return out


def _flags(text: str) -> list[Setting]:
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped.startswith("-"):
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            key, _, value = stripped.partition(" ")
        out.append(Setting(key.strip(), unquote(value), no))
    return out


_YAML_LINE = re.compile(r"^(\s*)(-\s+)?(?:(['\"]?)([^'\"#:\s][^:#]*?)\3\s*:(?:\s+|$))?(.*)$")


def _yaml(text: str) -> list[Setting]:
    out: list[Setting] = []
    stack: list[tuple[int, str]] = []            # (indent, key)
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith(("#", "---", "...")):
            continue
        match = _YAML_LINE.match(line)
        if not match:
            continue
        indent = len(match.group(1))
        dash, key, rest = match.group(2), match.group(4), _strip_comment(match.group(5))
        if dash:
            indent += len(dash)
        while stack and stack[-1][0] >= indent and not (dash and stack[-1][0] == indent - len(dash or "")):
            stack.pop()
        parent = ".".join(k for _, k in stack)
        if key is None:
            if dash and rest:
                out.extend(Setting(parent, v, no) for v in _flow_list(rest))
            continue
        full = f"{parent}.{key}" if parent else key
        if rest in ("", "|", ">", "|-", ">-", "|+", ">+"):
            stack.append((indent, key))
            continue
        out.extend(Setting(full, v, no) for v in _flow_list(rest))
    return out


def _flow_list(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        return [unquote(v) for v in value[1:-1].split(",") if v.strip()]
    return [unquote(value)]


def _json(text: str) -> list[Setting]:
    import json
    try:
        data = json.loads(text)
    except ValueError:
        return [Setting(m.group(1), unquote(m.group(2).rstrip(",").strip()), no)
                for no, line in enumerate(text.splitlines(), 1)
                for m in [re.match(r'^\s*"([^"]+)"\s*:\s*("(?:\\.|[^"\\])*"|[^"{\[\s,][^,]*),?\s*$', line)] if m]
    lines = text.splitlines()
    out: list[Setting] = []

    def line_of(key: str) -> int:
        needle = f'"{key}"'
        return next((i for i, line in enumerate(lines, 1) if needle in line), 0)

    def walk(node, prefix: str, leaf: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k), str(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, prefix, leaf)
        elif node is not None:
            out.append(Setting(prefix, node if isinstance(node, str) else json.dumps(node), line_of(leaf)))

    walk(data, "", "")
    return out


def _hcl(text: str) -> list[Setting]:
    out: list[Setting] = []
    stack: list[str] = []
    for no, line in enumerate(text.splitlines(), 1):
        stripped = _strip_comment(line.strip(), "#")
        if not stripped or stripped.startswith("//"):
            continue
        if stripped.endswith("{"):
            head = stripped[:-1].strip().rstrip("=").strip()
            stack.append(head.split()[0].strip('"') if head else "")
            continue
        if stripped.startswith("}"):
            if stack:
                stack.pop()
            continue
        key, sep, value = stripped.partition("=")
        if sep and key.strip():
            prefix = ".".join(k for k in stack if k)
            full = f"{prefix}.{key.strip()}" if prefix else key.strip()
            out.extend(Setting(full, v, no) for v in _flow_list(value))
    return out


_READERS = {
    "ini": _ini, "toml": _ini, "yaml": _yaml, "json": _json, "hcl": _hcl,
    "properties": lambda t: _assignments(t, "#!", spaced=False),
    "keyvalue": lambda t: _assignments(t, "#"),
    "postgresql": lambda t: _assignments(t, "#", spaced=True),
    "redis": _words, "nginx": _words, "apache": _words, "haproxy": _words, "flags": _flags,
    "xml": lambda t: [], "unknown": lambda t: _assignments(t, "#;", spaced=True),
}


def settings(config: ConfigFile) -> tuple[Setting, ...]:
    """Every setting of a config file, by its format (see the notes above the readers)."""
    return tuple(_READERS.get(config.format, _READERS["unknown"])(config.text))
