"""Secrets redaction: raw probe output in, the same output with every secret value replaced
by ``<redacted>`` out, plus a `SecretRef` (where, which key — never the value) per secret.

Applied to the probe output before it is stored or analyzed, so no secret value reaches the
database, the findings, an export or a recording:

    redacted, refs = redact_probe_output(raw, nonce)      # bytes; the nonce framing survives
    sections, refs = redact_sections(sections)            # the same on split Sections

What counts as a secret, in the sections `configs`, `unit_files`, `crontabs` (line by line,
per file) and in the command lines of `processes` (argument by argument):

* a setting whose key looks secret (password, passwd, pass, pwd, secret, token, api_key,
  private_key, credentials, auth, key, requirepass, masterauth, client-secret, ...), written
  ``key = v``, ``key: v``, ``key v``, ``"key": "v"``, ``export KEY=v``, also behind a comment
  mark (redacted, but not reported as a ref); a YAML block scalar (``key: |``) loses its whole block, a trailing backslash its
  continuation line;
* inside any line or argument: ``NAME=v`` and ``"NAME=v"`` with a secret NAME (so
  ``Environment="DB_PASSWORD=x"``, ``PGPASSWORD=x cmd``, conninfo ``password=x``,
  ``--password=x``), ``"name": v`` pairs, ``--secret-flag VALUE``, URLs with
  ``user:password@`` (the password only), mysql/mariadb ``-pVALUE``, ``redis-cli -a VALUE``,
  ``sshpass -p VALUE``, ``curl -u user:pass``;
* PEM private key blocks (``-----BEGIN ... PRIVATE KEY-----``): the BEGIN and END lines stay,
  every line between becomes ``<redacted>``; a BEGIN without its END redacts the rest of its file.

Not redacted: a value that is a file path when the key names a file, path, dir, cert or key
(``password_file=/run/secrets/db``, ``ssl_key_file = '/etc/ssl/x.key'``), ``$VAR`` /
``${VAR}`` references, empty values. Line and argument structure is kept: a redacted config
has the same lines, a redacted cmdline the same number of arguments (NUL-separated), quotes
and a trailing ``;`` or ``,`` stay, so the parsers read the result. Redaction is idempotent and
the refs of redacted output equal those of the original, so refs can be recomputed from a
stored snapshot: ``redact_sections(decoded)[1]``.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Mapping

from analyzers.base import Section
from analyzers.probe_output import MARK, frame_sections, split_sections

REDACTED = "<redacted>"
REDACTED_SECTIONS = ("configs", "unit_files", "crontabs", "processes")


@dataclass(frozen=True)
class SecretRef:
    """A secret seen on the host, without its value.

    `source` is the file path (configs, unit_files, crontabs) or "pid N" (processes);
    `line_no` is the 1-based line in that file, or the 0-based argv index in a cmdline."""

    section: str
    source: str
    key: str
    line_no: int

    def as_dict(self) -> dict:
        return {"section": self.section, "source": self.source, "key": self.key, "line_no": self.line_no}


# -- which keys hold secrets -------------------------------------------------------------
_STRONG = ("password", "passwd", "passphrase", "secret", "token", "apikey", "api_key", "api-key",
           "privatekey", "private_key", "private-key", "credential", "requirepass", "masterauth",
           "accesskey", "access_key", "access-key", "authkey", "auth_key", "sessionkey", "session_key")
_TOKENS = {"pass", "pwd", "pw", "auth", "key", "psk", "pin", "creds", "cred", "secrets", "encrypt"}
_REFERENCE_TOKENS = {"file", "files", "path", "dir", "directory", "location", "store", "keystore",
                     "truststore", "cert", "certificate", "key", "keyfile", "ca", "url"}
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _tokens(key: str) -> list[str]:
    return [t.lower() for t in _WORD.findall(key)]


# Settings whose names look secret but never hold one: nginx's upstream directives, switches.
_NOT_SECRET = {"proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass",
               "proxy_pass_header", "proxy_pass_request_body", "proxy_pass_request_headers",
               "fastcgi_pass_header", "fastcgi_pass_request_body", "fastcgi_pass_request_headers",
               "uwsgi_pass_header", "scgi_pass_header", "grpc_pass_header", "server_tokens", "auth_basic",
               "auth_request", "auth_request_set", "passenv", "pass_env", "passthrough", "pass_through"}
# Values that are switches or empty markers, never secrets.
_SWITCHES = {"yes", "no", "on", "off", "true", "false", "none", "null", "nil", "required", "optional",
             "disabled", "enabled", "disable", "enable", "prefer", "allow", "deny", "md5", "scram-sha-256",
             "trust", "peer", "ident", "reject"}


def is_secret_key(key: str) -> bool:
    """True when a setting, variable or flag named `key` holds a secret."""
    name = key.strip().lstrip("-").lower()
    if not name or len(name) > 200 or name in _NOT_SECRET:
        return False
    return any(s in name for s in _STRONG) or any(t in _TOKENS for t in _tokens(key))


_PATH = re.compile(r"(?:/|\./|\.\./|~/)[\w.@+%/:-]*|[\w.-]+\.(?:pem|crt|cer|key|p12|pfx|jks|keystore|der|txt|json)")
_VARREF = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%\([\w.-]+\)s?|\{\{[^{}]*\}\}")


def _keep_value(key: str, value: str) -> bool:
    """Values that are not secrets even under a secret key: nothing, file references, variables.
    An already redacted value is still a secret (so refs are the same after redaction)."""
    bare = value.strip().rstrip(";,").strip().strip("'\"")
    if not bare:
        return True
    if bare == REDACTED:
        return False
    if _VARREF.fullmatch(bare) or bare.lower() in _SWITCHES:
        return True
    if _PATH.fullmatch(bare):
        return bool(set(_tokens(key)) & _REFERENCE_TOKENS) or key.lower().endswith(("file", "path", "dir"))
    return False


# -- one line of text --------------------------------------------------------------------
_LINE_KV = re.compile(r"""^(?P<lead>[ \t]*(?:[#;]+[ \t]*)?(?:-[ \t]+)?(?:export[ \t]+|set[ \t]+)?)
    (?P<kq>["']?)(?P<key>[A-Za-z_$@][\w.\-\[\]@$]*)(?P=kq)
    (?P<sep>[ \t]*[=:][ \t]*|[ \t]+)(?P<val>.*)$""", re.X)
_BLOCK = {"|", ">", "|-", ">-", "|+", ">+"}
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_INLINE = re.compile(r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)(.*?)(-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)")
# Each pattern consumes the name only; the value sits in a lookahead, so a match that is not
# a secret never swallows a secret after it ("Environment=PASSWORD=x").
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s:@/'\"\x00]*:(?=(?P<val>[^\s'\"/\x00]*)@)")
_QUOTED_ASSIGN = re.compile(r"""(?P<q>["'])(?P<name>-{0,2}[A-Za-z_][\w.\-]*)=(?=(?P<val>(?:\\.|(?!(?P=q))[^\\])*))""")
_ASSIGN = re.compile(r"""(?<![\w.\-])(?P<name>-{0,2}[A-Za-z_][\w.\-]*)=(?=(?P<val>"(?:\\.|[^"\\])*"?|'[^']*'?|\S*))""")
_JSON_PAIR = re.compile(r"""(?P<kq>["'])(?P<name>[\w.\-]+)(?P=kq)[ \t]*:[ \t]*(?=(?P<val>"(?:\\.|[^"\\])*"?|'[^']*'?|[^\s,}\]]+))""")
_FLAG_VALUE = re.compile(r"""(?<![\w.\-])(?P<name>--?[A-Za-z][\w.\-]*)[ \t]+(?=(?P<val>"(?:\\.|[^"\\])*"?|'[^']*'?|[^\s\-]\S*))""")
_MYSQL = re.compile(r"(?:^|[\s/'\"=])(?:mysql\w*|mariadb\w*)(?=\s|$|['\"])")
_SHORT_FLAGS = {"redis-cli": "-a", "sshpass": "-p", "curl": "-u", "mongo": "-p", "mongosh": "-p"}
_PROGRAM = re.compile(r"(?:^|[\s/'\"])(redis-cli|sshpass|curl|mongosh|mongo)(?=\s|$)")

Found = list  # of (key, position) pairs


def _quoted(value: str) -> str:
    """`value` redacted, keeping its quotes and a closing quote it does not own."""
    if value[:1] in ("'", '"'):
        q = value[0]
        return q + REDACTED + (q if len(value) > 1 and value.endswith(q) else "")
    if value[-1:] in ("'", '"'):
        return REDACTED + value[-1]
    return REDACTED


def redact_inline(text: str, found: Found, pos: int = 0) -> str:
    """Redact the secrets inside one line or argument (every rule but the key/value line)."""
    if "PRIVATE KEY" in text:
        def pem(m: re.Match) -> str:
            found.append(("private-key", pos))
            return m.group(1) + (REDACTED if m.group(2) else "") + m.group(3)
        text = _PEM_INLINE.sub(pem, text)

    def rule(pattern: re.Pattern, name_group: str | None, label: str | None = None) -> None:
        nonlocal text
        edits: list[tuple[int, int, str]] = []
        for m in pattern.finditer(text):
            if edits and m.start() < edits[-1][1]:
                continue                                   # inside a value already redacted
            name = m.group(name_group) if name_group else label
            value = m.group("val")
            if not value or (name_group and not is_secret_key(name)) or _keep_value(name, value):
                continue
            found.append((name, pos))
            edits.append((m.start("val"), m.end("val"), _quoted(value) if name_group else REDACTED))
        for start, end, new in reversed(edits):
            text = text[:start] + new + text[end:]

    if "://" in text:
        rule(_URL, None, "url-password")
    if "=" in text:
        rule(_QUOTED_ASSIGN, "name")
        rule(_ASSIGN, "name")
    if ":" in text:
        rule(_JSON_PAIR, "name")
    if "-" in text:
        rule(_FLAG_VALUE, "name")
        if _MYSQL.search(text):
            text = _short_flag(text, "-p", found, pos)
        program = _PROGRAM.search(text)
        if program:
            text = _short_flag(text, _SHORT_FLAGS[program.group(1)], found, pos)
    return text


def _short_flag(text: str, flag: str, found: Found, pos: int) -> str:
    pattern = re.compile(rf"(?<!\S){re.escape(flag)}(?P<sp>[ \t]*)(?P<val>[^\s\-]\S*)" if flag != "-p" else
                         r"(?<!\S)-p(?P<sp>)(?P<val>\S+)")

    def sub(m: re.Match) -> str:
        found.append((flag, pos))
        return f"{flag}{m.group('sp')}{_quoted(m.group('val'))}"
    return pattern.sub(sub, text)


class _Lines:
    """Line-by-line redaction of one file, keeping state across lines (PEM, YAML blocks)."""

    def __init__(self) -> None:
        self.pem = False
        self.block_indent: int | None = None
        self.continuation = False

    def line(self, line: str, line_no: int, found: Found) -> str:
        indent = len(line) - len(line.lstrip(" \t"))
        if self.pem:
            end = _PEM_END.search(line)
            if end is None:
                return line[:indent] + REDACTED if line.strip() else line
            self.pem = False
            return line[:indent] + (REDACTED + " " if line[indent:end.start()].strip() else "") + line[end.start():]
        if self.block_indent is not None:
            if not line.strip():
                return line
            if indent > self.block_indent:
                return line[:indent] + REDACTED
            self.block_indent = None
        if self.continuation:
            if not line.strip():
                self.continuation = False
                return line
            self.continuation = line.rstrip().endswith("\\")
            return line[:indent] + REDACTED + (" \\" if self.continuation else "")
        begin = _PEM_BEGIN.search(line)
        if begin and not _PEM_END.search(line, begin.end()):
            self.pem = True
            found.append(("private-key", line_no))
            return line[:begin.end()]
        match = _LINE_KV.match(line)
        if match and is_secret_key(match.group("key")) and not _keep_value(match.group("key"), match.group("val")):
            value = match.group("val").rstrip()
            if not value or value in ("{", "[", "{}", "[]"):
                return redact_inline(line, found, line_no)
            if not re.search(r"[#;]", match.group("lead")):  # a commented-out setting is redacted, not a ref
                found.append((match.group("key"), line_no))
            head = line[:match.start("val")]
            if value in _BLOCK:
                self.block_indent = indent
                return line
            if value.endswith("\\"):
                self.continuation = True
                return head + REDACTED + " \\"
            return head + _value(value, found, line_no)
        return redact_inline(line, found, line_no)


def _value(value: str, found: Found, line_no: int) -> str:
    """A whole setting value redacted: quotes kept, and a trailing ';' or ',' (nginx, JSON)."""
    if value[:1] in ("'", '"'):
        q = value[0]
        close = re.match(rf"{q}(?:\\.|[^{q}\\])*{q}", value)
        rest = value[close.end():] if close else ""
        if re.match(r"\s*[,;]", rest):             # more pairs on the line (JSON): read them too
            rest = redact_inline(rest, found, line_no)
        elif not re.fullmatch(r"\s*", rest):
            rest = ""                                 # 'it''s': the rest may be value
        return q + REDACTED + (q if close else "") + rest
    tail = re.search(r"[;,]\s*$", value)
    return REDACTED + (tail.group(0) if tail else "")


def redact_file(text: str) -> tuple[str, Found]:
    """One config/unit/cron file: its redacted text and (key, line_no) of each secret."""
    found: Found = []
    state = _Lines()
    lines = text.split("\n")
    text = "\n".join(state.line(line, no, found) for no, line in enumerate(lines, 1))
    return text, list(dict.fromkeys(found))


def redact_argv(argv: list[str]) -> tuple[list[str], Found]:
    """A command line, argument by argument (same count): (argv, [(key, index)])."""
    found: Found = []
    out: list[str] = []
    program = argv[0].rsplit("/", 1)[-1] if argv else ""
    mysql = bool(re.match(r"(mysql|mariadb)", program))
    short = _SHORT_FLAGS.get(program)
    for i, arg in enumerate(argv):
        prev = argv[i - 1] if i else ""
        if i and not arg.startswith("-") and arg and (
                (prev.startswith("-") and "=" not in prev and is_secret_key(prev) and not _keep_value(prev, arg))
                or (short and prev == short)):
            found.append((prev, i))
            out.append(REDACTED)
        elif mysql and re.match(r"-p.", arg) and not arg.startswith("--"):
            found.append(("-p", i))
            out.append("-p" + REDACTED)
        elif short and short != "-p" and arg.startswith(short) and len(arg) > len(short):
            found.append((short, i))
            out.append(short + REDACTED)
        elif short == "-p" and arg.startswith("-p") and len(arg) > 2:
            found.append(("-p", i))
            out.append("-p" + REDACTED)
        else:
            out.append(redact_inline(arg, found, i) if arg else arg)
    return out, list(dict.fromkeys(found))


# -- sections ----------------------------------------------------------------------------
def _record_re(nonce: str | None) -> re.Pattern:
    prefixes = [re.escape(MARK)] + ([re.escape(f"@@{nonce}@@ ")] if nonce else [])
    return re.compile(r"^(" + "|".join(prefixes) + r")((?:file|pid|f) [^\n]*)$", re.M)


# A scan redacts each section's text once and then asks for the refs of the result twice
# (analyze_host before and after measuring): recent results by text, the redacted text also
# under its own key (redaction is idempotent, with the same refs). Bounded; a lock for the
# scan's threads. Keys are the texts themselves: a hit compares equal strings, never a prefix.
_RECENT: dict[tuple[str, str, str | None], tuple[str, tuple[SecretRef, ...]]] = {}
_RECENT_MAX = 128
_RECENT_LOCK = threading.Lock()


def _redact_section(section: Section, nonce: str | None, refs: list[SecretRef]) -> Section:
    key = (section.name, section.text, nonce)
    with _RECENT_LOCK:
        known = _RECENT.get(key)
    if known is None:
        mine: list[SecretRef] = []
        text = _redact_section_text(section, nonce, mine)
        known = (text, tuple(mine))
        with _RECENT_LOCK:
            while len(_RECENT) >= _RECENT_MAX:
                del _RECENT[next(iter(_RECENT))]
            _RECENT[key] = known
            if nonce is None or f"@@{nonce}@@ " not in text:
                _RECENT[(section.name, text, None)] = known
    refs.extend(known[1])
    return Section(section.name, known[0], section.rc, section.truncated)


def _redact_section_text(section: Section, nonce: str | None, refs: list[SecretRef]) -> str:
    parts = _record_re(nonce).split(section.text)
    # parts: [before, prefix1, header1, body1, prefix2, header2, body2, ...]
    out = [parts[0] if section.name == "processes" else _redact_body(section.name, "", parts[0], refs)]
    source = ""
    for i in range(1, len(parts), 3):
        prefix, header, body = parts[i], parts[i + 1], parts[i + 2]
        kind, _, value = header.partition(" ")
        if kind == "pid":
            source = f"pid {value}"
        elif kind == "file":
            source = value
        if section.name == "processes":
            if kind == "f" and value == "cmdline":
                body = _redact_cmdline(body, source, refs)
            elif kind == "f" and value == "proc_files":
                body = _redact_proc_files(body, refs)
        else:
            body = _redact_body(section.name, source, body, refs)
        out.append(prefix + header + body)
    return "".join(out)


def _split_body(body: str) -> tuple[str, str, str]:
    """A record body is "\n" (ending the marker line), the content, and the "\n" the probe
    prints before the next marker; both newlines must survive redaction untouched."""
    lead = "\n" if body.startswith("\n") else ""
    rest = body[len(lead):]
    tail = "\n" if rest.endswith("\n") else ""
    return lead, rest[:len(rest) - len(tail)], tail


def _redact_body(section: str, source: str, body: str, refs: list[SecretRef]) -> str:
    lead, content, tail = _split_body(body)
    text, found = redact_file(content)
    refs.extend(SecretRef(section, source, key, no) for key, no in found)
    return lead + text + tail


def _redact_cmdline(body: str, source: str, refs: list[SecretRef]) -> str:
    lead, content, tail = _split_body(body)
    new, found = redact_argv(content.split("\x00"))
    refs.extend(SecretRef("processes", source, key, i) for key, i in found)
    return lead + "\x00".join(new) + tail


_CMDLINE_LINE = re.compile(r"/proc/(\d+)/cmdline:")


def _redact_proc_files(body: str, refs: list[SecretRef]) -> str:
    """The probe's batched process files (`grep -aH` lines, /proc/PID/cmdline:...): each
    process's command line, argument by argument, re-prefixed line by line."""
    lines = body.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _CMDLINE_LINE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        prefix = match.group(0)
        j = i
        while j < len(lines) and lines[j].startswith(prefix):
            j += 1
        new, found = redact_argv("\n".join(line[len(prefix):] for line in lines[i:j]).split("\x00"))
        refs.extend(SecretRef("processes", f"pid {match.group(1)}", key, n) for key, n in found)
        out.extend(prefix + line for line in "\x00".join(new).split("\n"))
        i = j
    return "\n".join(out)


def redact_sections(sections: Mapping[str, Section], nonce: str | None = None
                    ) -> tuple[dict[str, Section], list[SecretRef]]:
    """Every section with its secrets redacted (see the module docstring), and their refs.

    `nonce` is needed only when a file section still carries the probe's raw
    ``@@NONCE@@ file`` markers (a section split_sections does not mark with `MARK`)."""
    refs: list[SecretRef] = []
    out: dict[str, Section] = {}
    for name, section in sections.items():
        out[name] = _redact_section(section, nonce, refs) if name in REDACTED_SECTIONS else section
    return out, refs


def redact_probe_output(raw: bytes, nonce: str) -> tuple[bytes, list[SecretRef]]:
    """The probe's framed output with its secrets redacted, framed again with the same nonce
    (text outside sections and later duplicates of a section are dropped; a run that did not
    finish stays without its `done` marker)."""
    sections = split_sections(raw, nonce)
    redacted, refs = redact_sections(sections, nonce)
    framed = frame_sections(redacted, nonce)
    if not sections.complete:
        framed = framed[:-len(f"\n@@{nonce}@@ done\n".encode())]
    return framed, refs
