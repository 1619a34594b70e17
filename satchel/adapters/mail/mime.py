"""A `MailMessage` as the MIME document every transport (SMTP, sendmail) hands on."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from satchel.ports.mailer import MailError, MailMessage

_LINE_BREAKS = re.compile(r"[\r\n]+\s*")


def _header(value: str) -> str:
    # A subject is a template filled with record values: a line break in a user's name must not
    # become a header injection (or an exception), so it folds into a space as mail clients show it.
    return _LINE_BREAKS.sub(" ", value)


def build_message(message: MailMessage) -> EmailMessage:
    """The multipart/alternative message (plain text first, then HTML); MailError if it cannot be."""
    msg = EmailMessage()
    try:
        msg["From"] = formataddr((_header(message.sender.name), message.sender.address))
        msg["To"] = ", ".join(formataddr((_header(a.name), a.address)) for a in message.to)
        msg["Subject"] = _header(message.subject)
        for name, value in message.headers.items():
            del msg[name]
            msg[name] = _header(value)
        if "Message-ID" not in msg:
            msg["Message-ID"] = make_msgid(domain=message.sender.address.rpartition("@")[2] or None)
    except ValueError as exc:  # e.g. a header name the email package refuses
        raise MailError(f"invalid message header: {exc}") from exc
    msg.set_content(message.text or " ")
    msg.add_alternative(message.html, subtype="html")
    return msg
