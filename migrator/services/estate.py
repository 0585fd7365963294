"""The estate view: the latest findings of each host, analysed together."""
from __future__ import annotations

from sqlalchemy.orm import Session

from analyzers.estate import EstateFindings, analyze_estate
from analyzers.findings import HostFindings
from migrator.models import Host
from migrator.services.findings import latest_snapshots
from migrator.services.scans import findings_of


def host_findings(session: Session, hosts: list[Host]) -> list[tuple[str, HostFindings]]:
    """(host name, findings of its newest snapshot) for each given host that has been scanned."""
    names = {h.id: h.name for h in hosts}
    return [(names[s.host_id], findings_of(s)) for s in latest_snapshots(session, list(names))]


def estate_findings(session: Session, hosts: list[Host]) -> EstateFindings:
    return analyze_estate(host_findings(session, hosts))
