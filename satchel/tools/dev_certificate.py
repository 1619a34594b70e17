"""A self-signed certificate for trying HTTPS locally (`satchel serve --https ... --tls-self-signed`).

Kept in the data directory and reused while it is valid for a while longer and names every host
asked for, so a browser exception granted once keeps working across restarts. Nothing trusts it:
it exists so that HTTPS-only behaviour (secure cookies, HSTS, mixed content) can be exercised in
development, never to protect real traffic.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FOLDER = "tls"
CERT_FILE = "dev-cert.pem"
KEY_FILE = "dev-key.pem"
VALID_DAYS = 90
RENEW_BEFORE = datetime.timedelta(days=7)
"""A certificate this close to its end is replaced rather than reused."""
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
_UNSPECIFIED = ("", "0.0.0.0", "::")  # noqa: S104 (addresses recognised, not bound)


@dataclass(frozen=True, slots=True)
class DevCertificate:
    cert_file: Path
    key_file: Path
    created: bool
    """False when an existing certificate was reused."""


def subject_names(host: str) -> list[str]:
    """localhost, 127.0.0.1 and ::1, plus the host the server listens on when it is a real name."""
    names = list(DEFAULT_NAMES)
    if host not in _UNSPECIFIED and host not in names:
        names.append(host)
    return names


def ensure_dev_certificate(data_dir: Path, host: str, *, now: datetime.datetime | None = None) -> DevCertificate:
    """The development certificate for `host` in `data_dir/tls/`, made when missing, expiring or
    lacking a name."""
    now = now or datetime.datetime.now(datetime.UTC)
    folder = data_dir / FOLDER
    cert_file, key_file = folder / CERT_FILE, folder / KEY_FILE
    names = subject_names(host)
    if _reusable(cert_file, key_file, names, now):
        return DevCertificate(cert_file, key_file, created=False)
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    _write_private(
        key_file,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    cert_file.write_bytes(_certificate(key, names, now).public_bytes(serialization.Encoding.PEM))
    return DevCertificate(cert_file, key_file, created=True)


def _certificate(key: ec.EllipticCurvePrivateKey, names: list[str], now: datetime.datetime) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Satchel development"),
            x509.NameAttribute(NameOID.COMMON_NAME, names[-1]),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _reusable(cert_file: Path, key_file: Path, names: list[str], now: datetime.datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key_file.stat()
    except (OSError, ValueError):
        return False
    if cert.not_valid_after_utc - RENEW_BEFORE < now:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return all(_general_name(n) in san for n in names)


def _write_private(path: Path, data: bytes) -> None:
    """The key readable by its owner only, from the moment it exists."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
