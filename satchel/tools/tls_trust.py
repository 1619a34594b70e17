"""Which certificate authorities outbound TLS trusts (SMTP, Redis, NATS, PostgreSQL, S3).

One rule for every driver: the system's store (which OpenSSL lets `SSL_CERT_FILE` / `SSL_CERT_DIR`
replace), plus the PEM bundle named by `SATCHEL_CA_FILE` when set, for services whose certificates
come from a private CA. The extra file adds to the system store instead of replacing it, so one
setting serves a private Redis and a public S3 or SMTP relay at once. Verification and host name
checks are never turned off here: opting out is each driver's own, documented URL option.
"""

from __future__ import annotations

import os
import ssl

CA_FILE_ENV = "SATCHEL_CA_FILE"


class TrustStoreError(ValueError):
    """SATCHEL_CA_FILE names a file that cannot be read as PEM certificates."""


def extra_ca_file() -> str:
    """The private CA bundle the operator added (empty when none)."""
    return os.environ.get(CA_FILE_ENV, "").strip()


def client_context() -> ssl.SSLContext:
    """A verifying client context (host names checked, TLS 1.2 or newer) trusting the system's CAs
    and SATCHEL_CA_FILE."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ca_file = extra_ca_file()
    if ca_file:
        try:
            ctx.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise TrustStoreError(f"{CA_FILE_ENV}: cannot load {ca_file!r} as PEM certificates ({exc})") from exc
    return ctx
