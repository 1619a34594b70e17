"""The sendmail transport (PocketBase's while SMTP is disabled), run as a real child process.

The "sendmail" here is a small shell script standing in for the host's MTA: what matters is the
contract with it (arguments, the message on stdin, the exit status), which it records.
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from satchel.adapters.mail.sendmail import SendmailMailer
from satchel.ports.mailer import Address, MailError, MailMessage

MESSAGE = MailMessage(
    sender=Address("support@example.com", "Support"),
    to=(Address("ann@example.com"),),
    subject="Reset your password",
    html="<p>Click <a href='https://acme.test/r/tok'>here</a></p>",
    text="Click here (https://acme.test/r/tok)",
)


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sendmail"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


async def test_message_goes_to_sendmail_with_recipients_from_headers(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = _script(tmp_path, f'echo "$@" > "{out}.args"\ncat > "{out}"\n')
    await SendmailMailer(paths=(str(tmp_path / "missing"), str(script))).send(MESSAGE)
    assert (tmp_path / "out.args").read_text().strip() == "-i -t"
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "ann@example.com" and msg["Subject"] == "Reset your password"
    html = msg.get_body(("html",))
    assert html is not None and "https://acme.test/r/tok" in html.get_content()  # type: ignore[attr-defined]


async def test_no_sendmail_is_a_clear_mail_error(tmp_path: Path) -> None:
    with pytest.raises(MailError, match=r"no sendmail executable was found.*configure smtp"):
        await SendmailMailer(paths=(str(tmp_path / "nope"),)).send(MESSAGE)


async def test_a_failing_sendmail_is_a_mail_error_with_its_output(tmp_path: Path) -> None:
    script = _script(tmp_path, 'cat > /dev/null\necho "mail queue is full" >&2\nexit 75\n')
    with pytest.raises(MailError, match="exited with status 75: mail queue is full"):
        await SendmailMailer(paths=(str(script),)).send(MESSAGE)
