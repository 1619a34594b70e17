"""HTTPS for `satchel serve`: granian's TLS options, the development certificate, and the plain-HTTP
listener that only redirects.

Granian terminates TLS with rustls, which implements neither TLS 1.0/1.1 nor any CBC, RC4, 3DES or
static-RSA cipher suite: only ECDHE key exchange with AES-GCM or ChaCha20-Poly1305, so "TLS 1.2 or
newer with modern ciphers" holds by construction. Granian's own default minimum is TLS 1.3; Satchel
asks for 1.2 (--tls-min-version 1.3 to refuse it) so that older Android and Java clients connect.

The redirecting listener is a second granian (one worker, a tiny ASGI app) in a child process
rather than a hand-written asyncio server in the main process: granian serves one address per
server, and this keeps both listeners on the same HTTP implementation (request parsing, limits,
keep-alive). It lives and dies with `satchel serve` (same process group; stopped in `finally`).
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from satchel.config import BootConfig, parse_http
from satchel.tools.dev_certificate import ensure_dev_certificate

REDIRECT_TARGET = "satchel.asgi_redirect:app"
REDIRECT_START_TIMEOUT = 30.0
"""Seconds the redirecting listener may take to bind before the start is given up."""
SELF_SIGNED_WARNING = (
    "Warning: --tls-self-signed serves HTTPS with a development certificate ({cert}) that no browser or "
    "client trusts. Never use it in production: give --tls-cert and --tls-key (e.g. from Let's Encrypt)."
)


def public_base(cfg: BootConfig) -> str:
    """The URL users should open: the HTTPS listener when there is one."""
    scheme, address = ("https", cfg.https) if cfg.https else ("http", cfg.http)
    host, port = parse_http(address)
    shown = "127.0.0.1" if host in {"", "0.0.0.0", "::"} else host  # noqa: S104 (an address shown, not bound)
    return f"{scheme}://{shown}:{port}"


def granian_tls_options(cfg: BootConfig) -> dict[str, Any]:
    """Granian's TLS keyword arguments for the main server (empty without --https)."""
    if not cfg.https:
        return {}
    from granian.constants import SSLProtocols

    if cfg.tls_self_signed:
        host, _ = parse_http(cfg.https)
        dev = ensure_dev_certificate(cfg.dir, host)
        click.echo(SELF_SIGNED_WARNING.format(cert=dev.cert_file), err=True)
        cert, key = dev.cert_file, dev.key_file
    else:
        cert, key = Path(cfg.tls_cert), Path(cfg.tls_key)
    for what, path in (("--tls-cert", cert), ("--tls-key", key)):
        if not path.is_file():
            raise click.UsageError(f"{what}: {str(path)!r} is not a readable file")
    try:  # what granian does first, here with a message instead of a traceback
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        message = f"--tls-cert/--tls-key: {cert} and {key} are not a PEM certificate and its key ({exc})"
        raise click.UsageError(message) from exc
    minimum = SSLProtocols.tls13 if cfg.tls_min_version == "1.3" else SSLProtocols.tls12
    return {"ssl_cert": cert.resolve(), "ssl_key": key.resolve(), "ssl_protocol_min": minimum}


def start_redirect_listener(cfg: BootConfig) -> subprocess.Popen[bytes] | None:
    """The plain-HTTP listener redirecting to HTTPS, when both --http and --https are given; it is
    listening when this returns (a port already taken fails the start here)."""
    if not (cfg.http and cfg.https):
        return None
    host, port = parse_http(cfg.http)
    command = [
        sys.executable, "-m", "granian", "--interface", "asgi", "--host", host, "--port", str(port),
        "--workers", "1", "--no-ws", "--log-level", "warning", REDIRECT_TARGET,
    ]  # fmt: skip
    child = subprocess.Popen(command, env=os.environ.copy())  # noqa: S603 (fixed arguments)
    deadline = time.monotonic() + REDIRECT_START_TIMEOUT
    while not _accepting(host, port):
        if child.poll() is not None or time.monotonic() > deadline:
            stop_redirect_listener(child)
            raise click.ClickException(f"the HTTP listener at {cfg.http} (redirecting to HTTPS) did not start")
        time.sleep(0.05)
    return child


def stop_redirect_listener(child: subprocess.Popen[bytes] | None) -> None:
    if child is None or child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _accepting(host: str, port: int) -> bool:
    target = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host  # noqa: S104
    try:
        with socket.create_connection((target, port), timeout=1):
            return True
    except OSError:
        return False
