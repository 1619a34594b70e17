"""SMTP delivery through aiosmtplib, configured live from the runtime settings.

The settings can change while the server runs (`PATCH /api/settings`), so the adapter asks for
its configuration on every send instead of holding a connection: system mails are rare enough
that a connection per message costs nothing that matters, and no stale credentials linger.

Like PocketBase (Go's net/smtp), credentials are only ever sent over TLS (implicit or STARTTLS)
or to a server on the loopback interface, and the AUTH mechanism is the configured one (PLAIN by
default, LOGIN for servers such as Outlook's) rather than whatever the server lists first.
When SMTP is disabled the message goes to the fallback mailer (sendmail, as PocketBase does).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import aiosmtplib

from satchel.adapters.mail.mime import build_message
from satchel.ports.mailer import Mailer, MailError, MailMessage
from satchel.tools import probes
from satchel.tools.tls_trust import TrustStoreError, client_context

TIMEOUT_S = 30.0
AUTH_PLAIN = "PLAIN"
AUTH_LOGIN = "LOGIN"
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)  # never in a log line
    tls: bool = False
    """Implicit TLS from the first byte (port 465); otherwise STARTTLS is used when offered."""
    local_name: str = ""
    """The EHLO name (some relays, e.g. Gmail's, require a real one); the machine's name if empty."""
    auth_method: str = ""
    """PLAIN (the default when empty) or LOGIN."""
    enabled: bool = True


class SmtpMailer:
    def __init__(
        self,
        config: Callable[[], SmtpConfig],
        *,
        fallback: Mailer | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._config = config
        self._fallback = fallback
        self._tls_context = tls_context
        """Trust settings for the server certificate (None: the system's CA store and SATCHEL_CA_FILE)."""

    async def send(self, message: MailMessage) -> None:
        c = self._config()
        if not c.enabled:
            if self._fallback is None:
                raise MailError("SMTP is disabled in the settings (smtp.enabled) and there is no other transport")
            await self._fallback.send(message)
            return
        mime = build_message(message)
        try:
            # verifying, and trusting SATCHEL_CA_FILE too (aiosmtplib's own context would not)
            tls_context = self._tls_context or client_context()
        except TrustStoreError as exc:
            raise MailError(f"SMTP delivery to {c.host}:{c.port} failed: {exc}") from exc
        client = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            timeout=TIMEOUT_S,
            use_tls=c.tls,
            start_tls=False if c.tls else None,  # None: STARTTLS whenever the server offers it
            local_hostname=c.local_name or None,
            tls_context=tls_context,
        )
        with probes.probe("smtp.send", {"server.address": c.host, "server.port": c.port}):
            try:
                async with client:
                    if c.username or c.password:
                        await self._login(client, c)
                    await client.send_message(mime)
            except MailError:
                raise
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                # aiosmtplib's messages carry the server's reply, never our password
                raise MailError(f"SMTP delivery to {c.host}:{c.port} failed: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    async def _login(client: aiosmtplib.SMTP, c: SmtpConfig) -> None:
        encrypted = c.tls or client.get_transport_info("sslcontext") is not None
        if not encrypted and c.host not in _LOOPBACK:
            raise MailError(
                f"refusing to send SMTP credentials to {c.host}:{c.port} over an unencrypted connection "
                "(the server offered no STARTTLS; enable smtp.tls for implicit TLS)"
            )
        if client.is_ehlo_or_helo_needed:  # STARTTLS reset the session: greet again before AUTH
            await client.ehlo()
        if c.auth_method.upper() == AUTH_LOGIN:
            await client.auth_login(c.username, c.password)
        else:
            await client.auth_plain(c.username, c.password)
