"""SMTP sends are `smtp.send` probes (against a real aiosmtpd server, and a closed port)."""

from __future__ import annotations

import pytest
from smtp_server import SmtpServer

from satchel.adapters.mail.smtp import SmtpConfig, SmtpMailer
from satchel.ports.mailer import Address, MailError, MailMessage
from tests.probe_recording import recording

PASSWORD = "never-in-a-probe"
MESSAGE = MailMessage(
    sender=Address("a@example.com"), to=(Address("b@example.com"),), subject="Hi", html="<p>Hi</p>", text="Hi"
)


async def test_a_delivered_message_is_one_probe_naming_the_server() -> None:
    server = SmtpServer().start()
    try:
        config = SmtpConfig(host=server.host, port=server.port)
        with recording() as rec:
            await SmtpMailer(lambda: config).send(MESSAGE)
        await server.wait_for("b@example.com")
    finally:
        server.stop()
    [sent] = rec.named("smtp.send")
    assert sent.attrs == {"server.address": server.host, "server.port": server.port}
    assert sent.error is None and sent.end_ns > sent.start_ns


async def test_a_failed_delivery_reports_the_mail_error_without_credentials() -> None:
    config = SmtpConfig(host="127.0.0.1", port=1, username="u", password=PASSWORD)
    with recording() as rec, pytest.raises(MailError):
        await SmtpMailer(lambda: config).send(MESSAGE)
    [failed] = rec.named("smtp.send")
    assert isinstance(failed.error, MailError)
    assert PASSWORD not in str(failed.attrs)
