"""Scanning: connect, probe, measure, store the raw snapshot, analyze, store the findings.

Each host's scan is independent: its failure is recorded on its ScanHost row in plain words
and the other hosts go on. Progress (the stage) is committed as it happens, so a poller or
a person watching sees it live.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import socket
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, object_session, selectinload

from analyzers.base import Section
from analyzers.findings import HostFindings
from analyzers.host import analyze_host, certificate_paths, state_paths
from analyzers.probe_output import frame_sections, split_sections
from analyzers.secrets import SecretRef, redact_probe_output, redact_sections
from migrator import models
from migrator.collect.collector import ProbeRun, measure_paths, run_probe
from migrator.collect.ssh import SSHSession, SSHTarget
from migrator.credentials import CredentialCipher
from migrator.db import Database
from migrator.errors import CollectionError, ConnectError, InputError, MigratorError, ProbeError
from migrator.models import Host, HostGroup, Scan, ScanHost, Snapshot, utcnow
from migrator.text import printable
from migrator.services import audit
from migrator.services.scan_progress import ScanProgress

log = logging.getLogger(__name__)
Progress = Callable[[str, str, str], None]  # (host name, stage or status, detail)


def create_scan(session, hosts: list[Host], runner: str | None = None) -> Scan:
    """A queued scan of `hosts`. runner: who will run it (default: this process; "celery": a worker,
    which writes its own id when it starts)."""
    if not hosts:
        raise InputError("no hosts to scan: add hosts first", "hosts")
    scan = Scan(status="queued", runner=runner or runner_id())
    scan.hosts = [ScanHost(host_id=h.id, status="queued") for h in hosts]
    session.add(scan)
    session.flush()
    audit.record(session, "scan.start", f"scan {scan.id}", scan_id=scan.id, hosts=[h.name for h in hosts])
    return scan


def _target(host: Host, cipher: CredentialCipher) -> SSHTarget:
    """Where and how to log in: the host's credential, else its first group's, else its own fields.
    With a jump host (the host's own, else its first group's), the target carries the chain of
    jump hosts, each with its own login and pinned key; a jump host's key seen for the first time
    is pinned on the jump host's own row once a login through it worked."""
    from sqlalchemy.orm import Session

    from migrator.services.credentials import effective_credential
    from migrator.services.hosts import jump_chain

    def login(row: Host, jump: SSHTarget | None, pin: Callable[[str], None] | None) -> SSHTarget:
        cred = effective_credential(row)
        if cred is not None:
            password = cipher.decrypt(cred.password_encrypted) if cred.password_encrypted else None
            return SSHTarget(address=row.address, port=row.port, username=cred.username or row.username,
                             auth_method=cred.kind, key_path=cred.key_path, password=password,
                             pinned_host_key=row.host_key, name=row.name, jump=jump, on_new_host_key=pin)
        password = cipher.decrypt(row.password_encrypted) if row.password_encrypted else None
        return SSHTarget(address=row.address, port=row.port, username=row.username,
                         auth_method=row.auth_method, key_path=row.key_path, password=password,
                         pinned_host_key=row.host_key, name=row.name, jump=jump, on_new_host_key=pin)

    session = object_session(host)
    engine = session.get_bind() if session is not None else None

    def pinner(host_id: int) -> Callable[[str], None] | None:
        if engine is None:
            return None

        def pin(key: str) -> None:      # only when still unpinned: a concurrent pin or accept wins
            with Session(engine) as s, s.begin():
                s.execute(update(Host).where(Host.id == host_id, Host.host_key.is_(None))
                          .values(host_key=key, host_key_pinned_at=utcnow()))
        return pin

    try:
        chain = jump_chain(host)
    except InputError as exc:
        raise ConnectError(str(exc).removeprefix("jump: ")) from None
    jump: SSHTarget | None = None
    for row in reversed(chain):         # the outermost jump host first
        jump = login(row, jump, pinner(row.id))
    return login(host, jump, None)


class ScanCancelled(CollectionError):
    """The scan was cancelled while this host was being scanned (checked between stages)."""

    kind = "cancelled"


def enter_stage(db: Database, scan_host_id: int, label: str) -> None:
    """Record that a host's scan reached stage `label`, in one transaction with the check that
    its scan was not cancelled (ScanCancelled when it was: the host stops there)."""
    with db.session() as s:
        if s.scalar(select(Scan.cancel_requested_at).join(ScanHost, ScanHost.scan_id == Scan.id)
                    .where(ScanHost.id == scan_host_id)) is not None:
            raise ScanCancelled("scan cancelled")
        s.execute(update(ScanHost).where(ScanHost.id == scan_host_id).values(stage=label))


def cancel_scan(session, scan: Scan) -> Scan:
    """Ask a scan to stop: queued hosts are marked cancelled now, running ones stop at their next
    stage. A scan that already finished is left as it is."""
    if scan.status not in ("queued", "running"):
        return scan
    now = utcnow()
    if scan.cancel_requested_at is None:
        audit.record(session, "scan.cancel", f"scan {scan.id}", scan_id=scan.id)
    scan.cancel_requested_at = scan.cancel_requested_at or now
    runner_gone = scan.status == "running" and _runner_gone(scan.runner)   # nobody will stop them
    # One conditional statement, as a worker claims a host (_claim): a host claimed meanwhile is
    # not overwritten, so what this reports cancelled is never scanned.
    session.execute(update(ScanHost).where(ScanHost.scan_id == scan.id,
                                           ScanHost.status.in_(("queued", "running") if runner_gone else ("queued",)))
                    .values(status="cancelled", error_kind="cancelled", error="scan cancelled", finished_at=now,
                            stage=None), execution_options={"synchronize_session": False})
    for row in scan.hosts:          # read again, all in the one query that reloads the list
        session.expire(row)
    session.expire(scan, ["hosts"])
    if not any(row.status == "running" for row in scan.hosts):
        scan.status, scan.finished_at = "cancelled", scan.finished_at or now
    session.flush()
    return scan


def _set(db: Database, scan_host_id: int, **fields: Any) -> None:
    with db.session() as s:
        row = s.get(ScanHost, scan_host_id)
        if row is None:         # its host was removed during the scan (the row went with it)
            return
        for k, v in fields.items():
            setattr(row, k, v)


def decode_snapshot(snapshot: Snapshot) -> dict[str, Section]:
    """The sections of a stored snapshot (the probe's and the second command's), ready for analysis."""
    sections = split_sections(zlib.decompress(snapshot.probe_output), snapshot.nonce)
    if snapshot.measure_output:
        sections.update(measured_sections(zlib.decompress(snapshot.measure_output), snapshot.nonce))
    return sections


def measured_sections(measured: bytes, nonce: str) -> dict[str, Section]:
    """path_usage and certificates from the second command (plain usage lines in older snapshots)."""
    framed = split_sections(measured, nonce)
    if framed:
        return dict(framed)
    return {"path_usage": Section("path_usage", measured.decode("utf-8", "replace"), 0, False)}


def findings_of(snapshot: Snapshot) -> HostFindings:
    """Recompute a snapshot's findings from its raw output, without rescanning."""
    return analyze_host(decode_snapshot(snapshot))


def store_findings(session, snapshot: Snapshot, findings: HostFindings) -> None:
    snapshot.applications.clear()
    session.flush()
    for app in findings.applications:
        row = models.Application(
            host_id=snapshot.host_id, key=app.key[:255], name=app.name[:255], software=app.software,
            version=app.version[:64], category=app.category, verdict=app.verdict,
            verdict_reason=app.verdict_reason, confidence=app.confidence, user=app.user[:64],
            command=list(app.command), exe=app.exe, cwd=app.cwd, unit=app.unit[:255], pids=list(app.pids),
            rss_kib=app.rss_kib, evidence=[e.as_dict() for e in app.evidence])
        row.ports = [models.Port(protocol=l.protocol, address=l.address, port=l.port, scope=l.scope)
                     for l in app.listeners]
        row.state_locations = [models.StateLocation(path=s.path, kind=s.kind, fstype=s.fstype,
                                                    filesystem=s.filesystem, size_bytes=s.size_bytes,
                                                    file_count=s.file_count,
                                                    evidence=[e.as_dict() for e in s.evidence])
                               for s in app.state]
        row.peers = [models.Peer(protocol=c.protocol, local_address=c.local_address, local_port=c.local_port,
                                 remote_address=c.remote_address, remote_port=c.remote_port,
                                 direction="inbound" if c.local_port in {l.port for l in app.listeners}
                                 else "outbound")
                     for c in app.connections]
        snapshot.applications.append(row)


@dataclass(frozen=True)
class Collected:
    probe: ProbeRun                 # probe.output is already redacted (analyzers.secrets)
    sections: dict[str, Section]
    measured: bytes
    bytes_in: int
    host_key: str | None
    newly_pinned: bool
    secrets: tuple[SecretRef, ...] = ()   # where secrets were found and redacted (no values)
    findings: HostFindings | None = None  # the analysis of `sections`, when collecting made it
    execs: int = 0                  # commands run over the one connection (the goal: 2)
    bytes_out: int = 0              # bytes sent (the probe script and the paths to measure)


def collect(settings: Mapping[str, Any], target: SSHTarget, become: str,
            stage: Callable[[str, str], None] = lambda *a: None) -> Collected:
    """One connection, two fixed commands: the probe, then the size of the state it found."""
    session = SSHSession(target, connect_timeout=settings["SSH_CONNECT_TIMEOUT"],
                         ssh_config_path=settings.get("SSH_CONFIG"),
                         known_hosts_path=settings.get("SSH_KNOWN_HOSTS"))
    try:
        session.connect()
        stage("probing", "")
        probe = run_probe(session, become=become, timeout=settings["SSH_COMMAND_TIMEOUT"],
                          max_bytes=settings["SSH_MAX_OUTPUT"])
        # Secrets leave the raw output here, before anything stores, records or analyzes it.
        redacted, secret_refs = redact_probe_output(probe.output, probe.nonce)
        probe = dataclasses.replace(probe, output=redacted)
        sections = split_sections(probe.output, probe.nonce)
        first = analyze_host(sections)
        paths, certificates = state_paths(first), certificate_paths(first)
        stage("measuring", f"{len(paths)} state path(s), {len(certificates)} certificate file(s)")
        measured = measure_paths(session, paths, probe.nonce, certificates=certificates, become=become,
                                 timeout=settings["SSH_COMMAND_TIMEOUT"])
        if measured:        # sizes and certificates change the findings: analyzed again later
            sections, first = {**sections, **measured_sections(measured, probe.nonce)}, None
    finally:
        session.close()
    return Collected(probe, sections, measured, session.bytes_in, session.host_key, session.newly_pinned,
                     tuple(secret_refs), findings=first, execs=session.exec_count, bytes_out=session.bytes_out)


def is_transient(exc: CollectionError) -> bool:
    """Worth another try: the network or the server hiccupped (a connection that dropped in the
    middle of the output included). Refused connections and logins, missing routes, changed host
    keys, unresolvable names, probe failures and commands that ran out of time are answers, and
    trying again changes nothing."""
    text = str(exc)
    if isinstance(exc, ScanCancelled):
        return False
    if isinstance(exc, ProbeError):
        return "connection dropped" in text
    return isinstance(exc, ConnectError) and (
        "timed out" in text or "no SSH answer" in text or "closed the connection" in text
        or "Connection reset" in text)


def _collect_with_retries(settings: Mapping[str, Any], target: SSHTarget, become: str,
                          stage: Callable[[str, str], None]) -> Collected:
    """collect(), tried again after transient failures: SCAN_RETRIES more times, waiting
    SCAN_RETRY_BACKOFF seconds, doubled each time. A cancel stops it before and after each wait
    (the stage callback raises ScanCancelled)."""
    retries, delay = int(settings["SCAN_RETRIES"]), float(settings["SCAN_RETRY_BACKOFF"])
    attempt = 0
    while True:
        try:
            return collect(settings, target, become, stage)
        except ScanCancelled:
            raise
        except CollectionError as exc:
            if attempt >= retries or not is_transient(exc):
                raise
            stage("retrying", f"{printable(str(exc), 200)}; again in {delay:g} s")
        time.sleep(delay)
        stage("connecting", f"attempt {attempt + 2}")
        attempt, delay = attempt + 1, delay * 2


def record_host(settings: Mapping[str, Any], host: Host) -> dict[str, Section]:
    """Every section of a live host (probe and second command), for `migrator record`."""
    return collect(settings, _target(host, CredentialCipher(settings)), host.become).sections


@dataclass(frozen=True)
class Prepared:
    """What scanning one host needs from the database, read before its turn: its name, its row's
    host id, how to log in (or why that cannot be worked out)."""
    name: str
    host_id: int
    become: str
    target: SSHTarget | None
    error: MigratorError | None = None


def _prepare(host: Host, cipher: CredentialCipher) -> Prepared:
    try:
        return Prepared(host.name, host.id, host.become, _target(host, cipher))
    except MigratorError as exc:
        return Prepared(host.name, host.id, host.become, None, exc)


_LOGIN = (joinedload(ScanHost.host).options(joinedload(Host.credential), joinedload(Host.jump_host),
                                            selectinload(Host.groups).joinedload(HostGroup.credential)),)


def prepare_all(db: Database, settings: Mapping[str, Any], scan_host_ids: list[int]) -> dict[int, Prepared]:
    """Every host's login for run_scan, in a few queries instead of several per host."""
    cipher, out = CredentialCipher(settings), {}
    with db.session() as s:
        for i in range(0, len(scan_host_ids), 500):
            chunk = scan_host_ids[i:i + 500]
            for row in s.scalars(select(ScanHost).where(ScanHost.id.in_(chunk)).options(*_LOGIN)):
                out[row.id] = _prepare(row.host, cipher)
    return out


def scan_host(db: Database, settings: Mapping[str, Any], scan_host_id: int, progress: Progress | None = None,
              tracker: ScanProgress | None = None, prepared: Prepared | None = None) -> bool:
    """Scan one host; record the outcome on its ScanHost row. True when it succeeded. Its login
    was `prepared` by prepare_all (None: its row was gone by then), the host is claimed (queued ->
    running) in one statement, and its `tracker` writes stage changes and reads the cancel flag in
    batches (without one, each stage goes to the database as it happens)."""
    notify = progress or (lambda *a: None)
    if prepared is None:                    # its host was removed before the scan began
        return False
    if not _claim(db, scan_host_id, utcnow()):
        notify(prepared.name, "cancelled", "not scanned: cancelled (or removed) before its turn")
        return False
    name, target = prepared.name, prepared.target
    if target is None:
        message = printable(str(prepared.error))
        _set(db, scan_host_id, status="failed", error=message, error_kind=prepared.error.kind, finished_at=utcnow())
        notify(name, "failed", message)
        return False
    hops, jump = [], target.jump
    while jump is not None:             # the bastions, nearest to this machine first
        hops.insert(0, jump.name or f"{jump.address}:{jump.port}")
        jump = jump.jump
    notify(name, "connecting", f"{target.address}:{target.port}" + (f" via {' → '.join(hops)}" if hops else ""))

    def stage(label: str, detail: str) -> None:
        if tracker is not None:
            tracker.stage(scan_host_id, label)
        else:
            enter_stage(db, scan_host_id, label)
        notify(name, label, detail)

    try:
        return _scan_connected(db, settings, scan_host_id, prepared, stage, notify)
    finally:
        if tracker is not None:
            tracker.forget(scan_host_id)


def _claim(db: Database, scan_host_id: int, started_at: datetime) -> bool:
    """Take a queued host for scanning, in one statement: False when it is no longer queued (a
    cancel marked it cancelled meanwhile, or its host was removed), and then it is left alone.
    A claimed host is `running` at once, so a cancel never reports the scan over while it runs."""
    with db.session() as s:
        result = s.execute(update(ScanHost).where(ScanHost.id == scan_host_id, ScanHost.status == "queued")
                           .values(status="running", stage="connecting", started_at=started_at))
        return result.rowcount == 1


def _scan_connected(db: Database, settings: Mapping[str, Any], scan_host_id: int, prepared: Prepared,
                    stage: Callable[[str, str], None], notify: Progress) -> bool:
    """scan_host's part once the host is running: collect, analyze, store; every outcome recorded."""
    name, started = prepared.name, time.monotonic()
    try:
        got = _collect_with_retries(settings, prepared.target, prepared.become, stage)
    except CollectionError as exc:
        message = printable(str(exc))
        status = "cancelled" if isinstance(exc, ScanCancelled) else "failed"
        _set(db, scan_host_id, status=status, stage=None, error=message, error_kind=exc.kind, finished_at=utcnow())
        notify(name, status, message)
        return False
    try:
        stage("analyzing", "")
    except ScanCancelled:
        _set(db, scan_host_id, status="cancelled", stage=None, error="scan cancelled", error_kind="cancelled",
             finished_at=utcnow())
        notify(name, "cancelled", "scan cancelled")
        return False
    if got.newly_pinned:
        with db.session() as s:
            h = s.get(Host, prepared.host_id)
            if h is not None:
                h.host_key, h.host_key_pinned_at = got.host_key, utcnow()
    with db.session() as s:
        row = s.get(ScanHost, scan_host_id)
        if row is None:
            notify(name, "failed", "the host was removed during its scan: nothing stored")
            return False
        findings = store_snapshot(s, row, got.probe.nonce, got.probe.output, got.sections, got.measured,
                                  duration_s=round(time.monotonic() - started, 3), bytes_in=got.bytes_in,
                                  findings=got.findings)
        row.status, row.stage, row.finished_at = "done", None, utcnow()
    stateful = sum(1 for a in findings.applications if a.stateful)
    unseen = f"; not seen: {'; '.join(findings.missing)}" if findings.missing else ""
    notify(name, "done", f"{len(findings.applications)} application(s), {stateful} stateful{unseen}")
    return True


def store_snapshot(session, row: ScanHost, nonce: str, raw: bytes, sections: Mapping[str, Section],
                   measured: bytes, *, duration_s: float | None = None, bytes_in: int | None = None,
                   findings: HostFindings | None = None) -> HostFindings:
    """Keep the raw output of one host's probe, analyze it (unless `findings` already is the
    analysis of `sections`), and store the findings."""
    findings = findings if findings is not None else analyze_host(sections)
    snapshot = Snapshot(host_id=row.host_id, nonce=nonce, scan_host=row, applications=[],  # new: nothing to load
                        probe_output=zlib.compress(raw, 6),
                        measure_output=zlib.compress(measured, 6) if measured else None,
                        sections={n: {"rc": sec.rc, "truncated": sec.truncated, "bytes": len(sec.text)}
                                  for n, sec in sections.items()},
                        missing=list(findings.missing), duration_s=duration_s, bytes_in=bytes_in)
    session.add(snapshot)
    session.flush()
    store_findings(session, snapshot, findings)
    return findings


def import_case(session, host: Host, sections: Mapping[str, Section]) -> Scan:
    """Store a recorded probe output (`migrator record`, or the probe run by hand) as a finished
    scan of `host`, exactly as if it had been scanned over SSH now."""
    nonce = secrets.token_hex(12)
    sections, _refs = redact_sections(sections)
    scan = create_scan(session, [host])
    (row,) = scan.hosts
    now = utcnow()
    scan.started_at = row.started_at = now
    store_snapshot(session, row, nonce, frame_sections(sections, nonce), sections, b"")
    scan.status, row.status, scan.finished_at, row.finished_at = "done", "done", utcnow(), utcnow()
    return scan


def run_scan(db: Database, settings: Mapping[str, Any], scan_id: int,
             progress: Progress | None = None) -> str:
    """Scan every host of a scan in parallel (up to SCAN_WORKERS); return the final status."""
    with db.session() as s:
        scan = s.get(Scan, scan_id)
        cancelled = scan.cancel_requested_at is not None
        if not cancelled:                         # a scan cancelled while queued stays cancelled
            scan.status, scan.started_at = "running", utcnow()
            scan.runner = runner_id()
        ids = [h.id for h in scan.hosts]
    workers = max(1, min(int(settings["SCAN_WORKERS"]), len(ids) or 1))
    prepared: dict[int, Prepared] = {}

    def one(scan_host_id: int) -> bool:
        try:
            return scan_host(db, settings, scan_host_id, progress, tracker, prepared.get(scan_host_id))
        except Exception as exc:  # a bug must fail one host, not the scan: record it and go on
            log.exception("scan of scan_host %s failed unexpectedly", scan_host_id)
            _set(db, scan_host_id, status="failed", stage=None, error_kind="internal",
                 error=f"internal error while scanning: {type(exc).__name__}", finished_at=utcnow())
            return False

    results: list[bool] = []
    finished = False
    try:
        prepared.update(prepare_all(db, settings, ids))
        with ScanProgress(db, scan_id, cancelled=cancelled) as tracker, \
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scan") as pool:
            results = list(pool.map(one, ids))
        finished = True
    finally:            # whatever happened, the scan ends with a final status, its hosts too
        status = "done" if finished and all(results) else ("partial" if any(results) else "failed")
        with db.session() as s:
            scan = s.get(Scan, scan_id)
            if scan is not None:
                if not finished:
                    for row in scan.hosts:
                        if row.status in ("queued", "running"):
                            row.status, row.stage, row.error_kind = "failed", None, "internal"
                            row.error, row.finished_at = "internal error: the scan stopped", utcnow()
                if scan.cancel_requested_at is not None:
                    status = "cancelled"
                scan.status = status
                scan.finished_at = scan.finished_at if status == "cancelled" and scan.finished_at else utcnow()
    return status


def runner_id() -> str:
    """This process, as "HOSTNAME PID STARTTIME" (the start time tells a reused PID apart)."""
    return f"{socket.gethostname()} {os.getpid()} {_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    """The process's start time (in clock ticks since boot); "?" when it is gone or a zombie
    (dead, only not yet reaped by its parent)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return "?" if fields[0] in ("Z", "X") else fields[19]
    except (OSError, IndexError):
        return "?"


def _runner_gone(runner: str | None) -> bool:
    """True when the process that ran a scan is known to be dead (it ran on this machine)."""
    if not runner:
        return True
    parts = runner.split()
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False      # another machine's: it may well be running
    return _start_time(int(parts[1])) != parts[2]


def mark_interrupted(db: Database) -> int:
    """Scans whose process died before they finished are marked failed, host by host.
    Scans of live processes (another service, a `migrator scan` in a terminal) are left alone."""
    with db.session() as s:
        dead = [scan for scan in s.scalars(select(Scan).where(Scan.status.in_(("queued", "running"))))
                if _runner_gone(scan.runner)]
        count = 0
        for scan in dead:
            for row in scan.hosts:
                if row.status in ("queued", "running"):
                    row.status, row.error_kind, row.stage = "failed", "interrupted", None
                    row.error, row.finished_at = "the service stopped before this host's scan finished", utcnow()
                    count += 1
            scan.status, scan.finished_at = "failed", utcnow()
            scan.error = "interrupted: the process running it stopped"
        return count


def scan_dict(scan: Scan) -> dict[str, Any]:
    """A scan with each host's progress; host names and snapshot ids in two queries, not two per host."""
    session = object_session(scan)
    names = dict(session.execute(select(Host.id, Host.name).join(ScanHost, ScanHost.host_id == Host.id)
                                 .where(ScanHost.scan_id == scan.id)).all())
    snapshots = {row.scan_host_id: (row.id, list(row.missing or []))
                 for row in session.execute(select(Snapshot.scan_host_id, Snapshot.id, Snapshot.missing)
                                            .join(ScanHost).where(ScanHost.scan_id == scan.id))}
    counts = {state: 0 for state in ("queued", "running", "done", "failed", "cancelled")}
    for h in scan.hosts:
        counts[h.status] = counts.get(h.status, 0) + 1
    return {"id": scan.id, "status": scan.status, "created_at": scan.created_at.isoformat(),
            "started_at": scan.started_at.isoformat() if scan.started_at else None,
            "finished_at": scan.finished_at.isoformat() if scan.finished_at else None,
            "error": scan.error,
            "cancel_requested_at": scan.cancel_requested_at.isoformat() if scan.cancel_requested_at else None,
            "progress": {"total": len(scan.hosts), **counts},
            "hosts": [{"host_id": h.host_id, "host": names.get(h.host_id), "status": h.status, "stage": h.stage,
                       "error": h.error, "error_kind": h.error_kind,
                       "snapshot_id": snapshots.get(h.id, (None, []))[0],
                       # what the host's scan could not see (a tool missing, output cut), in plain words
                       "missing": snapshots.get(h.id, (None, []))[1]} for h in scan.hosts]}
