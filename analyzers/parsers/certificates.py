"""Section `certificates`: the PEM certificate blocks of the TLS files the apps' configs name.

Read by migrator's second command (never key material: it prints only the lines from
BEGIN CERTIFICATE to END CERTIFICATE). Sample (``MARK`` is `analyzers.probe_output.MARK`)::

    MARK file /etc/nginx/tls/web.crt
    -----BEGIN CERTIFICATE-----
    MIIB...
    -----END CERTIFICATE-----

Each file gives its first (leaf) certificate; one that cannot be read keeps its path and
the reason, so the finding still says a certificate is expected there.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timezone

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from analyzers.base import parser
from analyzers.probe_output import split_records

_BEGIN = "-----BEGIN CERTIFICATE-----"
_END = "-----END CERTIFICATE-----"


@dataclass(frozen=True)
class Certificate:
    path: str
    subject: str = ""
    issuer: str = ""
    not_before: str = ""        # ISO 8601, UTC
    not_after: str = ""
    dns_names: tuple[str, ...] = ()
    sha256: str = ""
    chain_length: int = 0
    error: str = ""

    @property
    def self_signed(self) -> bool:
        return bool(self.subject) and self.subject == self.issuer


def read_certificate(path: str, text: str) -> Certificate:
    blocks = []
    start = text.find(_BEGIN)
    while start >= 0:
        end = text.find(_END, start)
        if end < 0:
            break
        blocks.append(text[start:end + len(_END)])
        start = text.find(_BEGIN, end)
    if not blocks:
        return Certificate(path, error="no PEM certificate in the file")
    try:
        cert = x509.load_pem_x509_certificate(blocks[0].encode("ascii", "replace"))
    except ValueError as exc:
        return Certificate(path, chain_length=len(blocks), error=f"unreadable certificate: {exc}"[:200])
    try:
        names = tuple(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                      .value.get_values_for_type(x509.DNSName))
    except (x509.ExtensionNotFound, ValueError):
        names = ()
    return Certificate(
        path, subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.astimezone(timezone.utc).isoformat(),
        not_after=cert.not_valid_after_utc.astimezone(timezone.utc).isoformat(), dns_names=names,
        sha256=hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(), chain_length=len(blocks))


@parser("certificates")
def parse(text: str) -> tuple[Certificate, ...]:
    return tuple(read_certificate(header[5:], body) for header, body in split_records(text)
                 if header.startswith("file "))
