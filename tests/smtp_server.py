"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the mail flows.

Mail tests go through the whole path: runtime settings -> SMTP adapter -> TCP -> this server, and
then read the link or code out of the received message the way a user would.
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _free_port(host: str = "127.0.0.1") -> int:
    # aiosmtpd's Controller probes its own port once started, so it cannot be given port 0
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, made fresh for a test."""

    pem: bytes
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate (and nothing else)."""
        return ssl.create_default_context(cadata=self.pem.decode())


def self_signed_certificate(directory: Path) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "satchel test smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(pem)
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(pem, cert_file, key_file)


@dataclass
class Received:
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage
    tls: bool = False
    """Whether the message travelled over TLS (implicit or after STARTTLS)."""
    login: str = ""
    """The user the client authenticated as ("" when it did not)."""
    helo: str = ""
    """The name the client gave in EHLO/HELO."""

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        return "" if part is None else str(part.get_content())  # type: ignore[attr-defined]

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return "" if part is None else str(part.get_content())  # type: ignore[attr-defined]

    def token(self) -> str:
        """The token at the end of the first `/{TOKEN}` link (PocketBase's default templates)."""
        m = re.search(r"/confirm-[a-z-]+/([A-Za-z0-9_.-]+)", self.html)
        assert m, f"no confirmation link in:\n{self.html}"
        return m.group(1)


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        # STARTTLS fills session.ssl; implicit TLS only shows on the transport
        transport = server.transport
        tls = session.ssl is not None or (transport is not None and transport.get_extra_info("sslcontext") is not None)
        received = Received(str(envelope.mail_from), list(envelope.rcpt_tos), msg, tls, login, session.host_name or "")
        self.received.append(received)
        if self.arrived is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.arrived.set)
        return "250 OK"


class SmtpServer:
    """Runs in aiosmtpd's own thread; `wait_for` is awaited from the test's loop.

    `credentials` turns on AUTH (PLAIN and LOGIN) checked by a real authenticator;
    `starttls` offers STARTTLS with that server context; `implicit_tls` speaks TLS from the first byte.
    """

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        **controller_options: Any,
    ) -> None:
        self._handler = _Handler()
        self.auth_attempts: list[tuple[str, str, bool]] = []
        """(mechanism, login, accepted) for every AUTH the server saw."""
        if credentials is not None:
            controller_options.setdefault("authenticator", self._authenticator(credentials))
            controller_options.setdefault("auth_require_tls", False)
        if starttls is not None:
            controller_options["tls_context"] = starttls
        if implicit_tls is not None:
            controller_options["ssl_context"] = implicit_tls
        self.host = host
        self._controller = Controller(self._handler, hostname=host, port=_free_port(host), **controller_options)

    def _authenticator(self, credentials: tuple[str, str]) -> Any:
        def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
            if not isinstance(data, LoginPassword):
                return AuthResult(success=False, handled=False)
            ok = (data.login.decode(), data.password.decode()) == credentials
            self.auth_attempts.append((mechanism, data.login.decode(), ok))
            return AuthResult(success=ok, handled=False, auth_data=data)

        return check

    def start(self) -> SmtpServer:
        self._handler.loop = asyncio.get_running_loop()
        self._handler.arrived = asyncio.Event()
        self._controller.start()
        return self

    def start_without_loop(self) -> SmtpServer:
        """For tests with no event loop of their own (the browser tests): poll `received` instead of `wait_for`."""
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def received(self) -> list[Received]:
        return self._handler.received

    async def wait_for(self, to: str, timeout: float = 10.0) -> Received:
        """The first message for `to`, waiting for it to arrive."""
        return await self.wait_until(lambda r: to in r.envelope_to, timeout)

    async def wait_until(self, match: Callable[[Received], bool], timeout: float = 10.0) -> Received:
        """The first message `match` accepts, waiting for it to arrive."""

        async def poll() -> Received:
            assert self._handler.arrived is not None
            while True:
                for r in self._handler.received:
                    if match(r):
                        return r
                # no await between the scan and clear(): a later arrival sets the event again
                self._handler.arrived.clear()
                await self._handler.arrived.wait()

        return await asyncio.wait_for(poll(), timeout)

    def settings(self) -> dict[str, Any]:
        """The `smtp` section of the runtime settings that points at this server."""
        return {"enabled": True, "host": self.host, "port": self.port, "tls": False}
