"""The Mailer port: how core sends a message without knowing the transport.

Core renders system mails (verification, password reset, OTP...) into a `MailMessage`; an adapter
delivers it. Transport failures surface as `MailError` so callers can log them without leaking
driver types (or credentials) into core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class MailError(Exception):
    """Delivery failed (connection, auth, rejected recipient); the message never names secrets."""


@dataclass(frozen=True, slots=True)
class Address:
    address: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class MailMessage:
    sender: Address
    to: tuple[Address, ...]
    subject: str
    html: str
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class Mailer(Protocol):
    async def send(self, message: MailMessage) -> None: ...
