"""System mails travel the whole way: settings -> SMTP adapter -> a real SMTP server on loopback."""

from __future__ import annotations

from dataclasses import replace

from smtp_server import SmtpServer

from satchel.core import mails
from satchel.core.app import App
from satchel.core.records.model import Record


async def _user(app: App) -> Record:
    users = app.collections.get("users")
    assert users is not None
    return Record(users, {"id": "u1", "email": "ann@example.com", "name": "Ann <b>", "tokenKey": "secret-key"})


async def test_record_mail_fills_placeholders_and_escapes_record_values(app: App, smtp: SmtpServer) -> None:
    await app.settings.patch({"meta": {"appName": "Acme & Co", "appURL": "https://acme.test/"}})
    user = await _user(app)
    template = ("verificationTemplate",)
    user.collection.auth["verificationTemplate"] = {
        "subject": "Hi {RECORD:name} at {APP_NAME}",
        "body": "<p>{RECORD:name} {RECORD:tokenKey}</p><a href=\"{APP_URL}/v/{TOKEN}\">go</a>",
    }
    await mails.send_record_mail(app, user, template, TOKEN="t.o.k")
    got = await smtp.wait_for("ann@example.com")
    assert got.subject == "Hi Ann <b> at Acme & Co"
    assert "<p>Ann &lt;b&gt; </p>" in got.html  # escaped, and no tokenKey
    assert 'href="https://acme.test/v/t.o.k"' in got.html
    assert "go (https://acme.test/v/t.o.k)" in got.text
    assert got.envelope_from == "support@example.com"


async def test_mailer_hooks_wrap_every_system_mail(app: App, smtp: SmtpServer) -> None:
    """The record hook of the mail's kind runs first and may rewrite it; `on_mailer_send` sees every mail."""
    from satchel.core.hooks import MailerEvent, MailerRecordEvent

    seen: list[str] = []

    async def on_otp(e: MailerRecordEvent) -> None:
        assert e.record is not None
        seen.append(f"otp:{e.record.id}:{e.meta['OTP']}")
        e.message = replace(e.message, subject="rewritten")
        await e.next()

    async def on_any(e: MailerEvent) -> None:
        seen.append(f"send:{e.message.subject}")
        if "ann" in e.message.to[0].address:
            await e.next()  # anything else is swallowed: never delivered

    app.hooks.on_mailer_record_otp_send.bind(on_otp)
    app.hooks.on_mailer_send.bind(on_any)
    user = await _user(app)
    await mails.send_record_mail(app, user, ("otp", "emailTemplate"), OTP="123456", OTP_ID="x")
    got = await smtp.wait_for("ann@example.com")
    assert got.subject == "rewritten" and "123456" in got.html
    await mails.send_record_mail(app, user, ("verificationTemplate",), to="bob@example.com", TOKEN="t")
    assert seen == ["otp:u1:123456", "send:rewritten", f"send:Verify your {app.settings.current['meta']['appName']} email"]
    assert [r.envelope_to for r in smtp.received] == [["ann@example.com"]]
