"""Configuration and certificates: an application's config files, environment, secrets and TLS
files, so that it runs unchanged in its pod. Pure: no IO.

    with_configs(workload, members, findings, now) -> the workload with:

- its config files (HostFindings.config_texts, redacted by the scan) in ConfigMaps NAME-config
  (NAME-config-2, ... past CONFIGMAP_BUDGET bytes), one key per file, each mounted at its original
  path (subPath). Files inside a data volume travel with the data, EnvironmentFile= files become
  environment variables, files the scan did not read get a note;
- the variables of its unit (Environment=, EnvironmentFile=) on the container: plain values as
  they were, secret ones from the Secret (secretKeyRef); a value with a secret inside (a URL's
  password) is built from a helper variable by Kubernetes' $(VAR) expansion;
- one Secret NAME-secrets with a placeholder key per secret the scan redacted (Application.secrets),
  each key's source file and setting in an annotation, never a value. A `<redacted>` value left
  in a config file gets a note on its ConfigMap (template the file or mount the Secret key);
  a `<redacted>` argument of the command line becomes $(SECRET_...) from the Secret;
- for each certificate its config names (Application.certificates), a kubernetes.io/tls Secret
  NAME-tls-STEM with placeholder tls.crt and tls.key (never the key), the certificate's subject,
  SANs and expiry (HostFindings.certificates) in an annotation and a note when it expired or
  expires within EXPIRY_WARNING_DAYS of `now` (else of the scan), cert and key mounted at their
  original paths (subPath).

A cluster or a replicated app takes the files of its first member (ordinal 0), with a note
when the others' differ.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from analyzers.findings import Application, HostFindings
from analyzers.secrets import REDACTED

from migrator.planner.model import BATCH, EnvVar, FileMount, PlannedConfigMap, PlannedSecret, PlannedWorkload
from migrator.planner.names import dns1123

CONFIGMAP_BUDGET = 900 * 1024       # bytes of files per ConfigMap (the API's limit is 1 MiB)
EXPIRY_WARNING_DAYS = 30
CERT_MODE = 0o644
KEY_MODE = 0o640
SECRET_SOURCES = "migrator.io/secret-sources"
CONFIG_FILES = "migrator.io/config-files"
CERTIFICATE = "migrator.io/certificate"
TLS_FILES = "migrator.io/tls-files"
ETC_ARGS_NOTE = "arguments refer to configuration files under /etc: provide them in the container"
_KEY_CHARS = re.compile(r"[^-._a-zA-Z0-9]+")
_STEM_SUFFIX = re.compile(r"[-_.]?(cert|certificate|crt|key|privkey|private|priv|pub|public|chain|fullchain)$")


def secrets_name(w: PlannedWorkload) -> str:
    return f"{w.name}-secrets"


def object_key(text: str) -> str:
    """A valid ConfigMap or Secret key ([-._a-zA-Z0-9]+, not '.' or '..', at most 253)."""
    key = _KEY_CHARS.sub("_", text)[:253]
    return key if key.strip(".") else "file"


def env_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()
    return f"SECRET_{name or 'VALUE'}"[:120]


def with_configs(w: PlannedWorkload, members: Sequence[tuple[str, Application]],
                 findings: Mapping[str, HostFindings], now: datetime | None = None) -> PlannedWorkload:
    """The workload with its config files, environment, secrets and TLS files (see the module)."""
    if w.kind in BATCH or not members:
        return w
    host, app = members[0]
    found = findings.get(host) or HostFindings()
    plan = _Builder(w, app, found, now)
    plan.environment()
    plan.config_files()
    plan.certificates()
    plan.arguments()
    plan.differences(members, findings)
    return plan.workload()


@dataclass
class _SecretKeys:
    """The keys of the app's Secret: one per redacted secret, each with the setting it replaces."""

    refs: list[tuple[str, str]]                 # (source, setting) of Application.secrets, in order
    keys: dict[str, str]                        # secret key -> "source: setting"
    of: dict[tuple[str, str], str]              # (source, setting) -> secret key

    @classmethod
    def of_app(cls, app: Application) -> "_SecretKeys":
        refs = []
        for ref in app.secrets:
            source, sep, setting = ref.rpartition(": ")
            refs.append((source, setting) if sep else ("", ref))
        return cls(refs, {}, {})

    def key(self, source: str, setting: str, wanted: str | None = None) -> str:
        if (source, setting) in self.of:
            return self.of[(source, setting)]
        base = object_key(wanted or setting)
        key, n = base, 2
        while key in self.keys:
            key, n = f"{base}-{n}", n + 1
        self.keys[key] = f"{source}: {setting}" if source else setting
        self.of[(source, setting)] = key
        return key

    def unused(self, source: str, skip: set[str] = frozenset()) -> tuple[str, str] | None:
        return next((r for r in self.refs if r[0] == source and r not in self.of and r[1] not in skip), None)


class _Builder:
    def __init__(self, w: PlannedWorkload, app: Application, found: HostFindings, now: datetime | None) -> None:
        self.w, self.app, self.found = w, app, found
        self.now = now or _parse_time(found.scanned_at)
        self.now_is_scan = now is None
        self.notes = list(w.notes)
        self.env = list(w.env)
        self.secrets = list(w.secrets)
        self.keys = _SecretKeys.of_app(app)
        self.config_maps: list[PlannedConfigMap] = []
        self.mounts: list[FileMount] = list(w.file_mounts)
        self.args = w.args
        self.secret = secrets_name(w)

    # -- environment ---------------------------------------------------------------------------
    def environment(self) -> None:
        names = {e.name for e in self.env}
        own = {name for name, _, _ in self.app.environment}
        secret_vars = []
        for name, value, source in self.app.environment:
            if name in names:
                self.notes.append(f"{name} of the unit is not used: the plan sets it ({source})")
                continue
            if name == "PATH":
                self.notes.append(f"PATH of the unit ({source}) is not set: the image's PATH finds its programs")
                continue
            names.add(name)
            if value == REDACTED:
                self.env.append(EnvVar(name, secret=self.secret, key=self.keys.key(source, name, name)))
                secret_vars.append(name)
            elif REDACTED in value:
                parts = value.split(REDACTED)
                built = _literal(parts[0])
                helpers = []
                for i, part in enumerate(parts[1:]):
                    helper = f"{name}_SECRET" + (f"_{i + 1}" if i else "")
                    ref = self.keys.unused(source, own) or (source, f"{name} (part {i + 1})")
                    self.env.append(EnvVar(helper, secret=self.secret, key=self.keys.key(*ref, helper)))
                    built += f"$({helper}){_literal(part)}"
                    helpers.append(helper)
                self.env.append(EnvVar(name, value=built))
                secret_vars.append(name)
                self.notes.append(f"{name} held a secret inside its value ({source}): it is built from "
                                  f"{', '.join(helpers)} (Secret {self.secret}) by $(VAR) expansion")
            else:
                self.env.append(EnvVar(name, value=_literal(value)))
        if self.app.environment:
            sources = ", ".join(dict.fromkeys(s for _, _, s in self.app.environment))
            self.notes.append(f"environment of the unit from {sources}"
                              + (f"; {', '.join(secret_vars)} from Secret {self.secret}" if secret_vars else ""))

    # -- config files ----------------------------------------------------------------------------
    def config_files(self) -> None:
        texts = dict(self.found.config_texts)
        env_files = {s for _, _, s in self.app.environment}
        volumes = [v.mount_path.rstrip("/") for v in self.w.volumes]
        files: list[tuple[str, str]] = []
        for path in self.app.config_files:
            if path in env_files:
                continue
            inside = next((v for v in volumes if path.startswith(v + "/")), None)
            if inside is not None:
                self.notes.append(f"config file {path} is inside the volume at {inside}: it moves with the data")
                continue
            if path not in texts:
                self.notes.append(f"config file {path} was not read by the scan: add it to a ConfigMap")
                continue
            files.append((path, texts[path]))
        groups: list[list[tuple[str, str, str]]] = []
        size = 0
        taken: set[str] = set()
        for path, text in files:
            key = _file_key(path, taken)
            length = len(text.encode("utf-8", "surrogatepass"))
            if not groups or (size + length > CONFIGMAP_BUDGET and groups[-1]):
                groups.append([])
                size = 0
            groups[-1].append((key, path, text))
            size += length
        for i, group in enumerate(groups, start=1):
            name = f"{self.w.name}-config" + (f"-{i}" if i > 1 else "")
            volume = "config" + (f"-{i}" if i > 1 else "")
            notes = []
            for key, path, text in group:
                notes += self._redacted_note(path, text)
                if len(text.encode("utf-8", "surrogatepass")) >= 64 * 1024 - 1:
                    notes.append(f"{path} may be cut short (the scan reads 64 KiB of a file): copy it from the host")
                self.mounts.append(FileMount(volume, "configmap", name, key, path))
            notes.append("files mounted with subPath: a change to the ConfigMap reaches the pod when it restarts")
            self.config_maps.append(PlannedConfigMap(
                name, tuple(group), f"config files of {self.w.refs[0] if self.w.refs else self.w.id}: "
                                    + ", ".join(p for _, p, _ in group), tuple(notes)))
        if files:
            self.notes.append(f"config files at their original paths from ConfigMap"
                              f"{'s' if len(groups) > 1 else ''} {', '.join(c.name for c in self.config_maps)}: "
                              + ", ".join(p for p, _ in files))
            mounted = {m.mount_path for m in self.mounts}
            etc = [a for a in self.w.args for a in [a.split("=", 1)[-1]] if a.startswith("/etc/")]
            if all(a in mounted for a in etc):
                self.notes = [n for n in self.notes if n != ETC_ARGS_NOTE]

    def _redacted_note(self, path: str, text: str) -> list[str]:
        if REDACTED not in text:
            return []
        settings = [s for src, s in self.keys.refs if src == path]
        if not settings:
            return [f"{path}: {REDACTED} marks a value the scan removed (a commented-out setting): nothing to set"]
        keys = [self.keys.key(path, s) for s in settings]
        pairs = ", ".join(f"{s} (key {k})" for s, k in zip(settings, keys))
        return [f"{path}: the value of {pairs} is {REDACTED} here; the real one goes in Secret {self.secret}. "
                "Render the file when the pod starts (an initContainer that substitutes the Secret's keys into "
                "it), or mount the Secret's key as a file and point the setting at that file"]

    # -- certificates ----------------------------------------------------------------------------
    def certificates(self) -> None:
        read = {c.path: c for c in self.found.certificates}
        taken: set[str] = set()
        for n, (cert, key) in enumerate(_pairs(self.app.certificates, read), start=1):
            stem = _stem(cert or key) or "tls"
            name = f"{self.w.name}-tls-{dns1123(stem, 20)}"
            base, i = name, 2
            while name in taken:
                name, i = f"{base}-{i}", i + 1
            taken.add(name)
            volume = "tls" + (f"-{n}" if n > 1 else "")
            annotations = [(TLS_FILES, "; ".join(f"{k}: {p}" for k, p in (("tls.crt", cert), ("tls.key", key)) if p))]
            files = ", ".join(p for p in (cert, key) if p)
            notes = [f"put the host's certificate{' and key' if key else ''} here ({files}); "
                     "the plan never holds the key"]
            info = read.get(cert) if cert else None
            if cert and info is not None and info.subject:
                annotations.append((CERTIFICATE, _describe(info)))
                notes += self._expiry(cert, info.not_after)
            elif cert:
                why = info.error if info is not None and info.error else "not read by the scan"
                notes.append(f"certificate {cert}: {why}; check its subject and expiry")
            if not key:
                notes.append(f"no private key is named with {cert} (a CA bundle?): tls.key is not mounted")
            if not cert:
                notes.append(f"no certificate is named with the key {key}: tls.crt is not mounted")
            reason = f"TLS files {', '.join(p for p in (cert, key) if p)} named by the config of {self.app.key}"
            self.secrets.append(PlannedSecret(name, "kubernetes.io/tls", ("tls.crt", "tls.key"), reason,
                                              tuple(annotations), tuple(notes)))
            if cert:
                self.mounts.append(FileMount(volume, "secret", name, "tls.crt", cert, CERT_MODE))
            if key:
                self.mounts.append(FileMount(volume, "secret", name, "tls.key", key, KEY_MODE))
            self.notes.append(f"TLS files {', '.join(p for p in (cert, key) if p)} from Secret {name} "
                              "(placeholders: the host's certificate and key go there, never in the plan)"
                              + (f"; the key is mode {KEY_MODE:04o}: the app's user must own it or be in the "
                                 "pod's fsGroup" if key else ""))
            self.notes += [n for n in notes if n.startswith(("certificate ", "the certificate "))]

    def _expiry(self, path: str, not_after: str) -> list[str]:
        expires = _parse_time(not_after)
        if expires is None or self.now is None:
            return []
        when = f"the scan of {self.w.host} ({self.now.date().isoformat()})" if self.now_is_scan \
            else f"planning ({self.now.date().isoformat()})"
        days = (expires - self.now).total_seconds() / 86400
        if days < 0:
            return [f"the certificate {path} expired on {expires.date().isoformat()}, before {when}: renew it"]
        if days <= EXPIRY_WARNING_DAYS:
            return [f"the certificate {path} expires on {expires.date().isoformat()}, {int(days)} day"
                    f"{'' if int(days) == 1 else 's'} after {when}: renew it before or soon after migrating"]
        return []

    # -- command line ----------------------------------------------------------------------------
    def arguments(self) -> None:
        """`<redacted>` arguments read their secret from the Secret by $(VAR) expansion."""
        count = sum(a.count(REDACTED) for a in self.args)
        if not count:
            return
        leader = f"pid {self.app.pids[0]}" if self.app.pids else ""
        refs = [r for r in self.keys.refs if r[0] == leader]
        if len(refs) != count:
            self.notes.append(f"the command line held {count} secret value(s), now {REDACTED}: set them "
                              f"(e.g. from Secret {self.secret} through $(VAR) references)")
            return
        env_names = []
        for source, setting in refs:
            key = self.keys.key(source, setting, setting.lstrip("-"))
            name = env_name(key)
            if not any(e.name == name for e in self.env):
                self.env.append(EnvVar(name, secret=self.secret, key=key))
            env_names.append(name)
        names = iter(env_names)
        args = []
        for arg in self.args:
            parts = arg.split(REDACTED)
            args.append(_literal(parts[0]) + "".join(f"$({next(names)}){_literal(p)}" for p in parts[1:])
                        if len(parts) > 1 else arg)
        self.args = tuple(args)
        self.notes.append(f"secret argument(s) of the command line read from Secret {self.secret} "
                          f"({', '.join(env_names)})")

    # -- members ---------------------------------------------------------------------------------
    def differences(self, members: Sequence[tuple[str, Application]], findings: Mapping[str, HostFindings]) -> None:
        if len(members) < 2 or not self.config_maps:
            return
        first = dict(self.found.config_texts)
        differ = set()
        for host, app in members[1:]:
            theirs = dict((findings.get(host) or HostFindings()).config_texts)
            for path in app.config_files:
                if path in first and path in theirs and theirs[path] != first[path]:
                    differ.add(path)
            differ.update(p for p in app.config_files if p not in first and p in theirs)
        if differ:
            self.notes.append(f"config files differ between the members ({', '.join(sorted(differ))}): the "
                              f"ConfigMap holds those of {self.w.refs[0] if self.w.refs else self.w.id}; settings "
                              "that name a member itself must be set per pod (e.g. from its name, POD_NAME)")

    # -- result ----------------------------------------------------------------------------------
    def workload(self) -> PlannedWorkload:
        keys = self.keys
        for source, setting in keys.refs:
            keys.key(source, setting)
        secrets = self.secrets
        if keys.keys:
            secrets = [PlannedSecret(
                self.secret, "Opaque", tuple(keys.keys),
                f"secrets the scan found in {', '.join(dict.fromkeys(s.split(': ')[0] for s in keys.keys.values()))} "
                "(values redacted)",
                ((SECRET_SOURCES, json.dumps(keys.keys, sort_keys=True)),),
                ("each key replaces the secret named in " + SECRET_SOURCES + " (file: setting)",))] + secrets
        return replace(self.w, notes=tuple(self.notes), env=tuple(self.env), secrets=tuple(secrets),
                       config_maps=tuple(self.config_maps), file_mounts=tuple(self.mounts), args=self.args)


def _literal(text: str) -> str:
    """A value Kubernetes does not expand: $( written $$(."""
    return text.replace("$(", "$$(")


def _file_key(path: str, taken: set[str]) -> str:
    key = object_key(os.path.basename(path.rstrip("/")) or path)
    if key in taken:
        key = object_key(path.strip("/").replace("/", "-"))
    base, n = key, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    taken.add(key)
    return key


def _stem(path: str) -> str:
    stem = os.path.basename(path)
    stem = stem.split(".", 1)[0] if not stem.startswith(".") else stem
    return _STEM_SUFFIX.sub("", stem.lower())


def _is_key(path: str, read: Mapping) -> bool:
    info = read.get(path)
    if info is not None and info.subject:
        return False
    name = os.path.basename(path).lower()
    return "key" in name or name.startswith("priv") or "/private/" in path


def _pairs(paths: Sequence[str], read: Mapping) -> list[tuple[str | None, str | None]]:
    """(certificate, key) pairs: a key with the certificate's directory and stem, else in order."""
    certs = [p for p in dict.fromkeys(paths) if not _is_key(p, read)]
    keys = [p for p in dict.fromkeys(paths) if _is_key(p, read)]
    pairs: dict[str, str | None] = {}
    for cert in certs:
        match = next((k for k in keys if os.path.dirname(k) == os.path.dirname(cert) and _stem(k) == _stem(cert)), None)
        if match is not None:
            keys.remove(match)
        pairs[cert] = match
    lone = [c for c in certs if pairs[c] is None]
    if lone and len(lone) == len(keys):
        for cert, key in zip(lone, keys):
            pairs[cert] = key
        keys = []
    return [(c, k) for c, k in pairs.items()] + [(None, k) for k in keys]


def _describe(info) -> str:
    parts = [f"subject {info.subject}", f"SANs {', '.join(info.dns_names) or '(none)'}",
             f"expires {info.not_after}", f"issuer {'(self-signed)' if info.self_signed else info.issuer}"]
    if info.sha256:
        parts.append(f"sha256 {info.sha256}")
    return "; ".join(parts)[:1000]


def _parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
