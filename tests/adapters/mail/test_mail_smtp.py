"""The SMTP adapter against a real aiosmtpd server: plain, STARTTLS, implicit TLS, AUTH, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from smtp_server import Certificate, SmtpServer, self_signed_certificate

from satchel.adapters.mail.smtp import SmtpConfig, SmtpMailer
from satchel.ports.mailer import Address, MailError, MailMessage

USER, PASSWORD = "mailer", "s3cret-Pa55word"


def _message(to: str = "ann@example.com", subject: str = "Hello") -> MailMessage:
    return MailMessage(
        sender=Address("support@example.com", "Support"),
        to=(Address(to, "Ann"),),
        subject=subject,
        html="<p>Hi <b>Ann</b></p>",
        text="Hi Ann",
    )


@asynccontextmanager
async def _serving(**options: Any) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(**options).start()
    try:
        yield server
    finally:
        server.stop()


def _mailer(server: SmtpServer, cert: Certificate | None = None, **config: Any) -> SmtpMailer:
    c = SmtpConfig(host=server.host, port=server.port, **config)
    return SmtpMailer(lambda: c, tls_context=cert.client_context() if cert else None)


@pytest.fixture
def cert(tmp_path: Path) -> Certificate:
    return self_signed_certificate(tmp_path)


async def test_plain_delivery_builds_a_multipart_message() -> None:
    async with _serving() as server:
        await _mailer(server).send(_message())
        got = await server.wait_for("ann@example.com")
    assert got.envelope_from == "support@example.com"
    assert got.message["From"] == "Support <support@example.com>"
    assert got.message["To"] == "Ann <ann@example.com>"
    assert got.subject == "Hello"
    assert got.html.strip() == "<p>Hi <b>Ann</b></p>" and got.text.strip() == "Hi Ann"
    assert got.message["Message-ID"].endswith("@example.com>")
    assert not got.tls and got.login == ""


async def test_line_breaks_in_the_subject_cannot_inject_headers() -> None:
    async with _serving() as server:
        await _mailer(server).send(_message(subject="Hi\r\nBcc: eve@example.com"))
        got = await server.wait_for("ann@example.com")
    assert got.subject == "Hi Bcc: eve@example.com"
    assert got.message["Bcc"] is None and got.envelope_to == ["ann@example.com"]


async def test_starttls_when_the_server_offers_it(cert: Certificate) -> None:
    async with _serving(starttls=cert.server_context()) as server:
        await _mailer(server, cert).send(_message())
        got = await server.wait_for("ann@example.com")
    assert got.tls


async def test_starttls_with_an_untrusted_certificate_fails(cert: Certificate) -> None:
    async with _serving(starttls=cert.server_context()) as server:
        with pytest.raises(MailError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            await _mailer(server).send(_message())  # the system CA store does not know the test cert
        assert server.received == []


async def test_implicit_tls(cert: Certificate) -> None:
    async with _serving(implicit_tls=cert.server_context()) as server:
        await _mailer(server, cert, tls=True).send(_message())
        got = await server.wait_for("ann@example.com")
    assert got.tls


@pytest.mark.parametrize(("method", "expected"), [("", "PLAIN"), ("PLAIN", "PLAIN"), ("LOGIN", "LOGIN")])
async def test_auth_uses_the_configured_mechanism(cert: Certificate, method: str, expected: str) -> None:
    async with _serving(credentials=(USER, PASSWORD), starttls=cert.server_context()) as server:
        mailer = _mailer(server, cert, username=USER, password=PASSWORD, auth_method=method)
        await mailer.send(_message())
        got = await server.wait_for("ann@example.com")
    assert got.login == USER and got.tls
    assert server.auth_attempts == [(expected, USER, True)]


async def test_auth_over_implicit_tls(cert: Certificate) -> None:
    async with _serving(credentials=(USER, PASSWORD), implicit_tls=cert.server_context()) as server:
        await _mailer(server, cert, tls=True, username=USER, password=PASSWORD).send(_message())
        got = await server.wait_for("ann@example.com")
    assert got.login == USER and got.tls


async def test_wrong_credentials_fail_without_naming_the_password(cert: Certificate) -> None:
    async with _serving(credentials=(USER, PASSWORD), starttls=cert.server_context()) as server:
        mailer = _mailer(server, cert, username=USER, password="wrong-Pa55word")
        with pytest.raises(MailError) as caught:
            await mailer.send(_message())
        assert server.auth_attempts == [("PLAIN", USER, False)] and server.received == []
    assert "wrong-Pa55word" not in str(caught.value) and "535" in str(caught.value)


async def test_credentials_never_travel_in_clear_to_a_remote_host() -> None:
    # 127.0.0.2 is not one of the names Go's net/smtp (and so PocketBase) trusts without TLS
    async with _serving(credentials=(USER, PASSWORD), host="127.0.0.2") as server:
        mailer = _mailer(server, username=USER, password=PASSWORD)
        with pytest.raises(MailError, match="unencrypted") as caught:
            await mailer.send(_message())
        assert server.auth_attempts == [] and server.received == []
    assert PASSWORD not in str(caught.value)


async def test_loopback_servers_may_take_credentials_without_tls() -> None:
    async with _serving(credentials=(USER, PASSWORD)) as server:
        await _mailer(server, username=USER, password=PASSWORD).send(_message())
        got = await server.wait_for("ann@example.com")
    assert got.login == USER and not got.tls


async def test_local_name_is_the_ehlo_name() -> None:
    async with _serving() as server:
        await _mailer(server, local_name="mail.acme.test").send(_message())
        got = await server.wait_for("ann@example.com")
    assert got.helo == "mail.acme.test"


async def test_unreachable_server_is_a_mail_error() -> None:
    async with _serving() as server:
        port = server.port
    mailer = SmtpMailer(lambda: SmtpConfig(host="127.0.0.1", port=port))
    with pytest.raises(MailError, match=f"127.0.0.1:{port}"):
        await mailer.send(_message())


async def test_disabled_smtp_hands_over_to_the_fallback() -> None:
    disabled: Callable[[], SmtpConfig] = lambda: SmtpConfig(host="", port=0, enabled=False)  # noqa: E731
    async with _serving() as server:
        await SmtpMailer(disabled, fallback=_mailer(server)).send(_message())
        got = await server.wait_for("ann@example.com")
    assert got.subject == "Hello"
    with pytest.raises(MailError, match="SMTP is disabled"):
        await SmtpMailer(disabled).send(_message())
