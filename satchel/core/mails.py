"""System mails: PocketBase's per-collection templates rendered and handed to the Mailer port.

Placeholders are PocketBase's (`{APP_NAME}`, `{APP_URL}`, `{TOKEN}`, `{OTP}`, `{OTP_ID}`,
`{ALERT_INFO}`, `{RECORD:field}`), so templates exported from PocketBase work unchanged. Values
that land in the HTML body are escaped; the subject is plain text.

Flows that must not reveal whether an account exists (verification, password reset, OTP) send
in the background: the response never waits for, or depends on, the SMTP conversation.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from typing import TYPE_CHECKING, Any

from satchel.core.hooks import MailerEvent, MailerRecordEvent
from satchel.core.records.model import Record
from satchel.ports.mailer import Address, MailError, MailMessage
from satchel.tools.hooks import Hook

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.mails")
_RECORD_PLACEHOLDER = re.compile(r"\{RECORD:(\w+)\}")
_background: set[asyncio.Task[None]] = set()


def _fill(text: str, values: dict[str, str], record: Record | None, escape: bool) -> str:
    quote = html.escape if escape else (lambda s: s)
    for key, value in values.items():
        text = text.replace("{" + key + "}", quote(value))
    if record is not None:

        def field(m: re.Match[str]) -> str:
            # hidden secrets never reach a mail, whatever the template asks for
            if m.group(1) in ("password", "tokenKey"):
                return ""
            value = record.get(m.group(1), "")
            return quote("" if value is None else str(value))

        text = _RECORD_PLACEHOLDER.sub(field, text)
    return text


def render(app: App, template: dict[str, Any], record: Record | None, **values: str) -> tuple[str, str]:
    """(subject, html body) with every placeholder filled in."""
    meta = app.settings.current["meta"]
    all_values = {"APP_NAME": meta["appName"], "APP_URL": meta["appURL"].rstrip("/"), **values}
    subject = _fill(str(template.get("subject", "")), all_values, record, escape=False)
    body = _fill(str(template.get("body", "")), all_values, record, escape=True)
    return subject, body


def message(app: App, to: str, subject: str, body: str) -> MailMessage:
    meta = app.settings.current["meta"]
    return MailMessage(
        sender=Address(meta["senderAddress"], meta["senderName"]),
        to=(Address(to),),
        subject=subject,
        html=body,
        text=_html_to_text(body),
    )


def _html_to_text(body: str) -> str:
    text = re.sub(r"<a [^>]*href=\"([^\"]*)\"[^>]*>(.*?)</a>", r"\2 (\1)", body, flags=re.S)
    text = re.sub(r"<br\s*/?>|</p>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(re.sub(r"\n\s*\n+", "\n\n", text)).strip()


async def send_record_mail(
    app: App, record: Record, template_path: tuple[str, ...], to: str | None = None, **values: str
) -> None:
    """Render the collection's template at `template_path` (e.g. ("otp", "emailTemplate")) and send it."""
    template: Any = record.collection.auth
    for key in template_path:
        template = template.get(key, {})
    subject, body = render(app, template, record, **values)
    event = MailerRecordEvent(
        message=message(app, to or str(record.get("email", "")), subject, body), record=record, meta=dict(values)
    )
    await _record_hook(app, template_path).trigger(event, lambda e: deliver(app, e.message))


async def deliver(app: App, msg: MailMessage) -> None:
    """Hand a mail to the mailer through `on_mailer_send` (every mail Satchel sends passes here)."""

    async def send(e: MailerEvent) -> None:
        await app.mailer.send(e.message)

    await app.hooks.on_mailer_send.trigger(MailerEvent(message=msg), send)


def _record_hook(app: App, template_path: tuple[str, ...]) -> Hook[MailerRecordEvent]:
    hooks = app.hooks
    return {
        "verificationTemplate": hooks.on_mailer_record_verification_send,
        "resetPasswordTemplate": hooks.on_mailer_record_password_reset_send,
        "confirmEmailChangeTemplate": hooks.on_mailer_record_email_change_send,
        "otp": hooks.on_mailer_record_otp_send,
        "authAlert": hooks.on_mailer_record_auth_alert_send,
    }[template_path[0]]


def send_in_background(app: App, record: Record, template_path: tuple[str, ...], **values: str) -> None:
    """Fire and forget (logged on failure): for flows whose answer must not depend on delivery."""

    async def run() -> None:
        try:
            await send_record_mail(app, record, template_path, **values)
        except MailError as exc:
            log.error("system mail %s to record %s failed: %s", "/".join(template_path), record.id, exc)

    task = asyncio.ensure_future(run())
    _background.add(task)
    task.add_done_callback(_background.discard)
