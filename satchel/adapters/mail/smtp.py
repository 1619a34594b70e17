"""SMTP delivery through aiosmtplib, configured live from the runtime settings.

The settings can change while the server runs (`PATCH /api/settings`), so the adapter asks for
its configuration on every send instead of holding a connection: system mails are rare enough
that a connection per message costs nothing that matters, and no stale credentials linger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib

from satchel.ports.mailer import MailError, MailMessage

TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = ""
    tls: bool = False
    """Implicit TLS from the first byte (port 465); otherwise STARTTLS is used when offered."""
    local_name: str = ""


def build_message(message: MailMessage) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((message.sender.name, message.sender.address))
    msg["To"] = ", ".join(formataddr((a.name, a.address)) for a in message.to)
    msg["Subject"] = message.subject
    msg["Message-ID"] = make_msgid(domain=message.sender.address.rpartition("@")[2] or None)
    for name, value in message.headers.items():
        msg[name] = value
    msg.set_content(message.text or " ")
    msg.add_alternative(message.html, subtype="html")
    return msg


class SmtpMailer:
    def __init__(self, config: Callable[[], SmtpConfig]) -> None:
        self._config = config

    async def send(self, message: MailMessage) -> None:
        c = self._config()
        kwargs: dict[str, object] = {
            "hostname": c.host,
            "port": c.port,
            "timeout": TIMEOUT_S,
            "use_tls": c.tls,
            "start_tls": False if c.tls else None,  # None: STARTTLS whenever the server offers it
        }
        if c.local_name:
            kwargs["local_hostname"] = c.local_name
        if c.username:
            kwargs["username"] = c.username
            kwargs["password"] = c.password
        try:
            await aiosmtplib.send(build_message(message), **kwargs)  # type: ignore[arg-type]
        except (aiosmtplib.SMTPException, OSError) as exc:
            # aiosmtplib's messages carry the server reply, never our password
            raise MailError(f"SMTP delivery to {c.host}:{c.port} failed: {type(exc).__name__}: {exc}") from exc
