"""The OTP request and auth hooks, called through the service: handlers may change the code, find the
record themselves, or stop the chain, as PocketBase's OnRecordRequestOTPRequest allows."""

from __future__ import annotations

import httpx2
from smtp_server import SmtpServer

from satchel.core.app import App
from satchel.core.auth import otp, refs
from satchel.core.hooks import RecordAuthWithOTPEvent, RecordOTPRequestEvent
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from tests.apis.auth_flows import enable_otp, mailed_code
from tests.apis.helpers import create_user


async def _owner(app: App, user_id: str) -> Record:
    users = app.collections.get("users")
    assert users is not None
    return Record(users, {"id": user_id})


async def test_a_handler_may_choose_the_code_and_find_the_record(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "ann@example.com", name="ann")
    await enable_otp(client, su_headers)
    users = app.collections.get("users")
    assert users is not None

    async def by_name(e: RecordOTPRequestEvent) -> None:
        if e.record is None:  # a custom lookup: "ann" is not an email, but names a record here
            e.record = await app.records.get_by_id(users, user["id"])
        e.password = "24680135"
        await e.next()

    app.hooks.on_record_request_otp_request.bind(by_name)
    result = await otp.request_otp(app, "users", {"email": "someone@example.com"}, RequestInfo(method="POST"))
    assert await mailed_code(smtp, "ann@example.com", result["otpId"]) == "24680135"
    spent: list[str] = []

    async def watch(e: RecordAuthWithOTPEvent) -> None:
        assert e.otp is not None
        spent.append(e.otp.id)
        await e.next()

    app.hooks.on_record_auth_with_otp_request.bind(watch)
    body = {"otpId": result["otpId"], "password": "24680135"}
    answer = await otp.auth_with_otp(app, "users", body, RequestInfo(method="POST", body=body))
    assert answer["record"]["id"] == user["id"] and spent == [result["otpId"]]


async def test_a_handler_that_stops_the_chain_issues_nothing(
    app: App, client: httpx2.AsyncClient, smtp: SmtpServer, su_headers: dict[str, str]
) -> None:
    user = await create_user(client, "bob@example.com")
    await enable_otp(client, su_headers)

    async def refuse(e: RecordOTPRequestEvent) -> None:
        return None

    app.hooks.on_record_request_otp_request.bind(refuse)
    result = await otp.request_otp(app, "users", {"email": "bob@example.com"}, RequestInfo(method="POST"))
    assert len(result["otpId"]) == 15
    await otp.settle()
    assert await refs.find_all(app, refs.OTPS, await _owner(app, user["id"])) == []
    assert smtp.received == []
