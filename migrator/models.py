"""Database models: hosts, scans, raw snapshots, the findings derived from them, plans.

Snapshots keep the probe's raw output exactly as it came (compressed), so findings can be
recomputed by newer analyzers without rescanning. Timestamps are UTC-aware.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, Float, ForeignKey, Integer,
                        LargeBinary, String, Table, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from migrator.db import Base


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Host(Base):
    """A VM to inventory. The password (if any) is stored encrypted and never read back out."""

    __tablename__ = "hosts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    address: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=22)
    username: Mapped[str | None] = mapped_column(String(64))
    auth_method: Mapped[str] = mapped_column(String(16), default="key")  # key | agent | password
    key_path: Mapped[str | None] = mapped_column(String(1024))
    password_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    become: Mapped[str] = mapped_column(String(16), default="none")  # none | sudo
    host_key: Mapped[str | None] = mapped_column(Text)  # pinned 'type base64' of the server key
    host_key_pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A shared credential; when set it wins over the group's and the host's own fields.
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id", ondelete="SET NULL"),
                                                      index=True)
    # A bastion (another inventory host) to reach this one through, as ssh's ProxyJump; when unset,
    # the first of the host's groups that names one.
    jump_host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id", ondelete="SET NULL"), index=True)

    scan_hosts: Mapped[list["ScanHost"]] = relationship(back_populates="host", cascade="all, delete-orphan")
    credential: Mapped["Credential | None"] = relationship()
    jump_host: Mapped["Host | None"] = relationship(remote_side="Host.id", foreign_keys=[jump_host_id])
    groups: Mapped[list["HostGroup"]] = relationship(secondary="host_group_members", back_populates="hosts",
                                                     order_by="HostGroup.id")


host_group_members = Table(
    "host_group_members", Base.metadata,
    Column("host_id", ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("host_groups.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class HostGroup(Base):
    """A named set of hosts (an Ansible group, a tier): scanned together, sharing a credential."""

    __tablename__ = "host_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id", ondelete="SET NULL"),
                                                      index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    jump_host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id", ondelete="SET NULL"), index=True)

    hosts: Mapped[list[Host]] = relationship(secondary="host_group_members", back_populates="groups",
                                             order_by="Host.id")
    credential: Mapped["Credential | None"] = relationship()
    jump_host: Mapped[Host | None] = relationship(foreign_keys=[jump_host_id])


class Credential(Base):
    """A write-only SSH credential shared by hosts or groups. kind: key | password | agent.
    The password is stored encrypted (CredentialCipher) and never read back out."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    username: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="key")
    key_path: Mapped[str | None] = mapped_column(String(1024))
    password_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A bearer token of the API. Only the SHA-256 of the secret is kept, and a short prefix to
    tell tokens apart. role: viewer | planner | admin."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlanOverride(Base):
    """A stored override of the planner's decisions for one workload ("HOST/APP"); applied to
    every new plan, whatever scans happened since."""

    __tablename__ = "plan_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    workload: Mapped[str] = mapped_column(String(512), unique=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Scan(Base):
    """One run over a set of hosts. status: queued | running | done | partial | failed | cancelled."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # The process that runs it ("HOSTNAME PID STARTTIME"), so a restart marks only its own dead scans.
    runner: Mapped[str | None] = mapped_column(String(300))
    # Set by a cancel: queued hosts are not scanned, running ones stop at their next stage.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    hosts: Mapped[list["ScanHost"]] = relationship(back_populates="scan", cascade="all, delete-orphan",
                                                    order_by="ScanHost.id")


class ScanHost(Base):
    """The scan of one host: its progress (stage), result and error in plain words."""

    __tablename__ = "scan_hosts"
    __table_args__ = (UniqueConstraint("scan_id", "host_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed|cancelled
    stage: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))

    scan: Mapped[Scan] = relationship(back_populates="hosts")
    host: Mapped[Host] = relationship(back_populates="scan_hosts")
    snapshot: Mapped["Snapshot | None"] = relationship(back_populates="scan_host", cascade="all, delete-orphan",
                                                       uselist=False)


class Snapshot(Base):
    """The raw facts of one host in one scan, exactly as the probe returned them."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_host_id: Mapped[int] = mapped_column(ForeignKey("scan_hosts.id", ondelete="CASCADE"), unique=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    nonce: Mapped[str] = mapped_column(String(64))
    probe_output: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed
    measure_output: Mapped[bytes | None] = mapped_column(LargeBinary)  # zlib-compressed
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # name -> {rc, truncated, bytes}
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    duration_s: Mapped[float | None] = mapped_column(Float)
    bytes_in: Mapped[int | None] = mapped_column(BigInteger)

    scan_host: Mapped[ScanHost] = relationship(back_populates="snapshot")
    applications: Mapped[list["Application"]] = relationship(back_populates="snapshot",
                                                             cascade="all, delete-orphan",
                                                             order_by="Application.id")


class Application(Base):
    """An application found in a snapshot, with its verdict and the evidence for it."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("snapshot_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), index=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    software: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str] = mapped_column(String(32), default="app")
    verdict: Mapped[str] = mapped_column(String(16), index=True)
    verdict_reason: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float] = mapped_column(Float, default=0.5)
    user: Mapped[str] = mapped_column(String(64), default="")
    command: Mapped[list[str]] = mapped_column(JSON, default=list)
    exe: Mapped[str] = mapped_column(Text, default="")
    cwd: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(255), default="")
    pids: Mapped[list[int]] = mapped_column(JSON, default=list)
    rss_kib: Mapped[int] = mapped_column(BigInteger, default=0)
    evidence: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)

    snapshot: Mapped[Snapshot] = relationship(back_populates="applications")
    host: Mapped[Host] = relationship()
    ports: Mapped[list["Port"]] = relationship(back_populates="application", cascade="all, delete-orphan",
                                               order_by="Port.id")
    state_locations: Mapped[list["StateLocation"]] = relationship(back_populates="application",
                                                                  cascade="all, delete-orphan",
                                                                  order_by="StateLocation.id")
    peers: Mapped[list["Peer"]] = relationship(back_populates="application", cascade="all, delete-orphan",
                                               order_by="Peer.id")


class Port(Base):
    """A listening socket of an application. scope: loopback | all | address."""

    __tablename__ = "ports"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    protocol: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(64))
    port: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(16))

    application: Mapped[Application] = relationship(back_populates="ports")


class StateLocation(Base):
    """A path where an application keeps state, with its measured size."""

    __tablename__ = "state_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="data")
    fstype: Mapped[str] = mapped_column(String(32), default="")
    filesystem: Mapped[str] = mapped_column(String(16), default="local")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    file_count: Mapped[int | None] = mapped_column(Integer)
    evidence: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)

    application: Mapped[Application] = relationship(back_populates="state_locations")


class Peer(Base):
    """An established connection of an application. direction: outbound | inbound."""

    __tablename__ = "peers"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    protocol: Mapped[str] = mapped_column(String(8), default="tcp")
    local_address: Mapped[str] = mapped_column(String(64))
    local_port: Mapped[int] = mapped_column(Integer)
    remote_address: Mapped[str] = mapped_column(String(64))
    remote_port: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(16))

    application: Mapped[Application] = relationship(back_populates="peers")


class Plan(Base):
    """A generated Kubernetes plan: the YAML and its validation result."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    namespace: Mapped[str] = mapped_column(String(63), default="default")
    host_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    yaml: Mapped[str] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column(Boolean, default=False)
    problems: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The overrides the plan was made with (the stored ones, then the request's), workload id -> changes.
    overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class User(Base):
    """A person who logs in to the web UI. Only a salted hash of the password is kept (werkzeug's
    scrypt). role: viewer | planner | admin, as API tokens; a disabled user cannot log in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who did what to which object, kept for review: scans started, inventory and credential
    changes, plans made and exported, users and tokens managed, logins. actor: "user:NAME",
    "token:NAME" or "cli:OSUSER"; detail never holds a secret."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(512), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(64), default="")  # client address, or "cli"
