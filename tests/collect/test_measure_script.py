"""The second command, run by the local sh exactly as it runs on a host: sizes, and certificate
blocks only (a private key in the same file never comes out)."""
from __future__ import annotations

import datetime
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from analyzers.host import analyze_host
from analyzers.parsers.certificates import read_certificate
from analyzers.probe_output import split_sections
from migrator.collect.collector import MEASURE_SCRIPT

NONCE = "0123abcd"


def _run(lines: list[str]) -> bytes:
    stdin = "".join(line + "\n" for line in [NONCE, *lines]).encode()
    return subprocess.run(["sh", "-c", MEASURE_SCRIPT], input=stdin, capture_output=True, timeout=30, check=True).stdout


def _cert_and_key(cn: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
            .sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def test_sizes_and_certificates_framed_with_the_nonce(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a").write_bytes(b"x" * 5000)
    (data / "b").write_bytes(b"y")
    cert, key = _cert_and_key("web.example.test")
    combined = tmp_path / "combined.pem"
    combined.write_bytes(key + cert)
    (tmp_path / "only.key").write_bytes(key)
    out = _run([f"U {data}", f"U {tmp_path}/missing", f"C {combined}", f"C {tmp_path}/only.key", "C /nonexistent"])
    assert b"PRIVATE KEY" not in out and key.split(b"\n")[1] not in out
    sections = split_sections(out, NONCE)
    assert sections.complete and set(sections) == {"path_usage", "certificates"}
    usage = sections["path_usage"].text.splitlines()
    assert usage[0].split("\t")[1:] == ["2", str(data)] and int(usage[0].split("\t")[0]) >= 4
    assert usage[1] == f"-\t-\t{tmp_path}/missing"
    findings = analyze_host(dict(sections))
    by_path = {c.path: c for c in findings.certificates}
    good = by_path[str(combined)]
    assert good.subject == "CN=web.example.test" and good.self_signed and good.dns_names == ("web.example.test",)
    assert good.not_after.startswith("2027-01-01") and not good.error
    assert by_path[f"{tmp_path}/only.key"].error == "no PEM certificate in the file"


def test_only_sizes_and_hostile_paths(tmp_path):
    odd = tmp_path / "a b;$(touch pwned)"
    odd.mkdir()
    out = _run([f"U {odd}"])
    sections = split_sections(out, NONCE)
    assert set(sections) == {"path_usage"} and sections["path_usage"].text.split("\t")[1:] == ["0", f"{odd}\n"]
    assert not (tmp_path / "pwned").exists() and not list(tmp_path.glob("pwned*"))


def test_unreadable_certificate_keeps_its_path():
    assert read_certificate("/x.crt", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----").error
