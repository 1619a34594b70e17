"""SMTP over STARTTLS and implicit TLS verifies the server against the system store plus SATCHEL_CA_FILE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from smtp_server import SmtpServer
from transit_ca import Leaf, TestCA

from satchel.adapters.mail.smtp import SmtpConfig, SmtpMailer
from satchel.ports.mailer import Address, MailError, MailMessage

MESSAGE = MailMessage(
    sender=Address("support@example.com"), to=(Address("ann@example.com"),), subject="Hi", html="<p>Hi</p>"
)
VERIFY_FAILED = r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"


@asynccontextmanager
async def _smtp(leaf: Leaf, *, implicit: bool) -> AsyncIterator[SmtpServer]:
    ctx = leaf.server_context()
    server = SmtpServer(**({"implicit_tls": ctx} if implicit else {"starttls": ctx})).start()
    try:
        yield server
    finally:
        server.stop()


def _mailer(server: SmtpServer, host: str = "127.0.0.1", **config: Any) -> SmtpMailer:
    c = SmtpConfig(host=host, port=server.port, **config)
    return SmtpMailer(lambda: c)  # no context given: the server's own trust rule applies


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
async def test_a_private_ca_named_in_satchel_ca_file_is_trusted(leaf: Leaf, trust_ca: Path, implicit: bool) -> None:
    async with _smtp(leaf, implicit=implicit) as server:
        await _mailer(server, tls=implicit).send(MESSAGE)
        got = await server.wait_for("ann@example.com")
    assert got.tls


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
async def test_without_it_the_private_ca_is_refused(leaf: Leaf, implicit: bool) -> None:
    async with _smtp(leaf, implicit=implicit) as server:
        with pytest.raises(MailError, match=VERIFY_FAILED):
            await _mailer(server, tls=implicit).send(MESSAGE)
        assert server.received == []


async def test_a_certificate_from_an_unknown_ca_is_refused(stranger: TestCA, trust_ca: Path) -> None:
    async with _smtp(stranger.issue("stranger-smtp"), implicit=False) as server:
        with pytest.raises(MailError, match=VERIFY_FAILED):
            await _mailer(server).send(MESSAGE)
        assert server.received == []


async def test_a_certificate_for_another_host_is_refused(ca: TestCA, trust_ca: Path) -> None:
    async with _smtp(ca.issue("elsewhere", ("mail.example.org",)), implicit=True) as server:
        with pytest.raises(MailError, match=r"IP address mismatch|[Hh]ostname mismatch|doesn.t match"):
            await _mailer(server, tls=True).send(MESSAGE)
        assert server.received == []


async def test_ssl_cert_file_replaces_the_system_store(leaf: Leaf, ca: TestCA, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_file))  # OpenSSL's own variable, honoured as well
    async with _smtp(leaf, implicit=True) as server:
        await _mailer(server, tls=True).send(MESSAGE)
        assert (await server.wait_for("ann@example.com")).tls
