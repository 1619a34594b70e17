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
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


def httpx_verify() -> ssl.SSLContext | bool:
    """httpx's `verify` for OAuth2 providers and webhooks: its own default (True: verify against
    certifi's roots) unless SATCHEL_CA_FILE is set, then the system store plus that file."""
    return client_context() if extra_ca_file() else True


def redis_options(url: str) -> dict[str, Any]:
    """redis-py's `ssl_ca_certs` for a `rediss://` URL naming no CA of its own, when SATCHEL_CA_FILE is
    set (redis-py adds it to the system store; verification and host names stay on, its defaults)."""
    ca_file = extra_ca_file()
    if not ca_file or not url.lower().startswith("rediss://") or "ssl_ca_certs=" in url:
        return {}
    return {"ssl_ca_certs": ca_file}


def amqp_ssl_context(url: str) -> ssl.SSLContext | None:
    """aio-pika's `ssl_context` for an `amqps://` URL naming no `cafile` of its own, when SATCHEL_CA_FILE
    is set (None: aiormq's own verifying context from the URL)."""
    if not extra_ca_file() or not url.lower().startswith("amqps://") or "cafile=" in url:
        return None
    return client_context()


VERIFYING_SSLMODES = ("verify-ca", "verify-full")


def postgres_ssl(url: str) -> ssl.SSLContext | None:
    """A context for asyncpg when the URL asks for verification (`sslmode=verify-ca|verify-full`) but
    names no `sslrootcert` (nor PGSSLROOTCERT) and SATCHEL_CA_FILE is set; None leaves the URL alone."""
    query = parse_qs(urlsplit(url).query)
    mode = (query.get("sslmode") or [""])[-1]
    if mode not in VERIFYING_SSLMODES or "sslrootcert" in query or os.environ.get("PGSSLROOTCERT"):
        return None
    if not extra_ca_file():
        return None
    ctx = client_context()
    ctx.check_hostname = mode == "verify-full"
    return ctx
