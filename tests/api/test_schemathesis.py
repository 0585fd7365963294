"""Every operation of the served OpenAPI document, fuzzed by schemathesis with an admin token: no
500, and every response (status, media type, headers, body) as the document says.

Nothing fuzzed here may leave the machine: scans are queued but never run (the job runner is
replaced), and any socket connect to a non-loopback address fails the test. Real scans are
covered by tests/integration."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from migrator import get_db
from migrator.services import hosts as host_service
from migrator.services import credentials, groups, overrides, plans, scans
from tests.conftest import make_token
from migrator.collect.replay import read_case
from migrator.credentials import CredentialCipher

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "hosts" / "lab-app-1"
OUTSIDE: list = []


class _NoJobs:
    """Stands in for the job runner: scans are recorded as queued, never executed."""

    scan_runner = None

    def __init__(self):
        self.submitted = []

    def start_scan(self, db, settings, scan_id):
        self.submitted.append(("run_scan", scan_id))

    def shutdown(self, wait=True):
        pass


@pytest.fixture
def no_outside_packets(monkeypatch):
    real_connect = socket.socket.connect

    def guarded(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                OUTSIDE.append(address)
                raise OSError("test_schemathesis: no packet may leave the machine")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex",
                        lambda sock, address: guarded(sock, address) or 0)
    yield
    assert not OUTSIDE, f"connections attempted to {OUTSIDE}"


@pytest.fixture
def api_schema(app, no_outside_packets):
    app.extensions["migrator.jobs"] = _NoJobs()
    with get_db(app).session() as s:    # something to find: a recorded host, its scan, a plan
        host = host_service.add_host(s, CredentialCipher(app.config), {"name": "app-1", "address": "10.213.66.10"})
        scans.import_case(s, host, read_case(CASE))
        plans.create_plan(s, [host], namespace="shop")
        credentials.create_credential(s, CredentialCipher(app.config), {"name": "agent", "kind": "agent"})
        groups.create_group(s, {"name": "web", "hosts": ["app-1"], "credential": "agent"})
        overrides.create_override(s, {"workload": "app-1/redis", "changes": {"replicas": 1}})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # the operations' examples use id 1, so DELETE /tokens/1 revokes the fixture's token: fuzz with another
    schema.app_token = make_token(app, "admin", "schemathesis")
    return schema


CHECKS = [schemathesis.checks.not_a_server_error,
          schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance,
          schemathesis.checks.response_headers_conformance,
          schemathesis.checks.response_schema_conformance]
EXAMPLES = 15       # per operation and generation mode: the whole run stays well under a minute


def test_every_operation_conforms(api_schema):
    headers = {"Authorization": f"Bearer {api_schema.app_token}"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def run(case):
                case.call_and_validate(headers=headers, checks=CHECKS)
            try:
                run()
            except Unsatisfiable:       # nothing to break: no parameters, no body (GET /health, negative)
                continue
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - gather every failure, then report
                failures[f"{operation.label} ({mode.value})"] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
