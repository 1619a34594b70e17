"""Builders shared by the OTP, MFA and authenticator-app scenario tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from smtp_server import Received, SmtpServer

from satchel.core.app import App
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.tools.datetime import format_dt
from satchel.tools.sql import ir

PASSWORD = "password-123"
OTP_TEMPLATE = {"subject": "Code for {APP_NAME}", "body": "<p>id {OTP_ID}</p><p><strong>{OTP}</strong></p>"}
"""Carries the OTP id too, so a test can pick the mail of one request among several."""


async def configure(client: httpx2.AsyncClient, su: dict[str, str], collection: str = "users", **options: Any) -> None:
    r = await client.patch(f"/api/collections/{collection}", json=options, headers=su)
    assert r.status_code == 200, r.text


async def enable_otp(client: httpx2.AsyncClient, su: dict[str, str], collection: str = "users", **options: Any) -> None:
    otp = {"enabled": True, "emailTemplate": OTP_TEMPLATE, **options.pop("otp", {})}
    await configure(client, su, collection, otp=otp, **options)


async def enable_mfa(client: httpx2.AsyncClient, su: dict[str, str], collection: str = "users", **mfa: Any) -> None:
    await enable_otp(client, su, collection, mfa={"enabled": True, **mfa})


async def request_otp(client: httpx2.AsyncClient, email: str, collection: str = "users") -> str:
    r = await client.post(f"/api/collections/{collection}/request-otp", json={"email": email})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"otpId"}
    otp_id: str = r.json()["otpId"]
    return otp_id


def code_in(mail: Received) -> str:
    m = re.search(r"<strong>(\w+)</strong>", mail.html)
    assert m, mail.html
    return m.group(1)


async def mailed_code(smtp: SmtpServer, email: str, otp_id: str) -> str:
    """The code of the mail whose `{OTP_ID}` is `otp_id`."""
    mail = await smtp.wait_until(lambda m: email in m.envelope_to and otp_id in m.html)
    return code_in(mail)


async def fresh_otp(client: httpx2.AsyncClient, smtp: SmtpServer, email: str) -> tuple[str, str]:
    """(otpId, code) of a new OTP, the code read out of its mail."""
    otp_id = await request_otp(client, email)
    return otp_id, await mailed_code(smtp, email, otp_id)


async def auth_with_otp(
    client: httpx2.AsyncClient, otp_id: Any, password: Any, collection: str = "users", **kw: Any
) -> httpx2.Response:
    body = {"otpId": otp_id, "password": password, **kw.pop("extra", {})}
    return await client.post(f"/api/collections/{collection}/auth-with-otp", json=body, **kw)


async def auth_with_password(
    client: httpx2.AsyncClient, email: str, password: str = PASSWORD, collection: str = "users", **extra: Any
) -> httpx2.Response:
    body = {"identity": email, "password": password, **extra}
    return await client.post(f"/api/collections/{collection}/auth-with-password", json=body)


async def rows(app: App, table: str, record_id: str | None = None) -> list[Record]:
    c = app.collections.get(table)
    assert c is not None
    where = ir.eq(ir.col("recordRef"), ir.Param(record_id)) if record_id else None
    found = await app.db.executor().fetch_all(ir.Select((ir.Star(),), ir.Table(table), where=where))
    return [storage.record_from_row(c, row) for row in found]


async def user_record(app: App, record_id: str, collection: str = "users") -> Record:
    c = app.collections.get(collection)
    assert c is not None
    found = await storage.fetch_by_id(app.db.executor(), c, record_id)
    assert found is not None
    return found


async def backdate(app: App, table: str, row_id: str, seconds: float) -> None:
    """Make a row look `seconds` old: expiry is measured from `created`, as PocketBase does."""
    when = format_dt(datetime.now(UTC) - timedelta(seconds=seconds))
    async with app.db.transaction() as tx:
        await tx.execute(ir.Update(table, {"created": ir.Param(when)}, ir.eq(ir.col("id"), ir.Param(row_id))))
