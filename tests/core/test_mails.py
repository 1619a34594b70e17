"""System mails travel the whole way: settings -> SMTP adapter -> a real SMTP server on loopback."""

from __future__ import annotations

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
