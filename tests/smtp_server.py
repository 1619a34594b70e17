"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the mail flows.

Mail tests go through the whole path: runtime settings -> SMTP adapter -> TCP -> this server, and
then read the link or code out of the received message the way a user would.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def _free_port() -> int:
    # aiosmtpd's Controller probes its own port once started, so it cannot be given port 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage

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
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), msg))
        if self.arrived is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.arrived.set)
        return "250 OK"


class SmtpServer:
    """Runs in aiosmtpd's own thread; `wait_for` is awaited from the test's loop."""

    def __init__(self, **controller_options: Any) -> None:
        self._handler = _Handler()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=_free_port(), **controller_options)

    def start(self) -> SmtpServer:
        self._handler.loop = asyncio.get_running_loop()
        self._handler.arrived = asyncio.Event()
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

        async def poll() -> Received:
            assert self._handler.arrived is not None
            while True:
                for r in self._handler.received:
                    if to in r.envelope_to:
                        return r
                self._handler.arrived.clear()
                await self._handler.arrived.wait()

        return await asyncio.wait_for(poll(), timeout)

    def settings(self) -> dict[str, Any]:
        """The `smtp` section of the runtime settings that points at this server."""
        return {"enabled": True, "host": "127.0.0.1", "port": self.port, "tls": False}
