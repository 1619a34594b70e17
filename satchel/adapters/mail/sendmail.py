"""Delivery through the local `sendmail` command: PocketBase's transport while SMTP is disabled.

A fresh PocketBase install sends its system mails this way, so an instance moved over keeps
working on a host with a local MTA; without one, every send fails with a MailError that says
what to configure instead (the callers log it; nothing crashes).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence

from satchel.adapters.mail.mime import build_message
from satchel.ports.mailer import MailError, MailMessage

DEFAULT_PATHS = ("/usr/sbin/sendmail", "/usr/bin/sendmail", "sendmail")
TIMEOUT_S = 30.0


class SendmailMailer:
    def __init__(self, paths: Sequence[str] = DEFAULT_PATHS) -> None:
        self._paths = tuple(paths)

    def _executable(self) -> str:
        for candidate in self._paths:
            found = shutil.which(candidate)
            if found:
                return found
        raise MailError(
            "SMTP is disabled in the settings and no sendmail executable was found "
            f"(looked for {', '.join(self._paths)}): enable and configure smtp in the settings"
        )

    async def send(self, message: MailMessage) -> None:
        data = build_message(message).as_bytes()
        path = self._executable()
        # -t: recipients from the headers; -i: a line with a single dot does not end the message
        try:
            proc = await asyncio.create_subprocess_exec(
                path,
                "-i",
                "-t",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise MailError(f"could not run {path}: {exc}") from exc
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(data), TIMEOUT_S)
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise MailError(f"{path} did not finish within {TIMEOUT_S:.0f}s") from exc
        if proc.returncode != 0:
            detail = stderr.decode(errors="replace").strip()[:500]
            raise MailError(f"{path} exited with status {proc.returncode}: {detail}")
