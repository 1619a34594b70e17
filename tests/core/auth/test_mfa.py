"""The MFA decision and its sessions, called directly: who is asked, where mfaId is read from, expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from satchel.core.app import App
from satchel.core.auth import mfa, refs, totp_store
from satchel.core.collections.model import Collection
from satchel.core.errors import BadRequestError
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from satchel.tools.datetime import format_dt
from satchel.tools.sql import ir


async def _user(app: App, name: str = "") -> Record:
    users = app.collections.get("users")
    assert users is not None
    record = Record(users, {f.name: f.zero() for f in users.fields})
    record.data.update(id="u1aaaaaaaaaaaaa", email="ann@example.com", name=name, tokenKey="k" * 50)
    async with app.db.transaction() as tx:
        await storage.insert(tx, record)
    return record


def _mfa(app: App, **options: object) -> None:
    users = app.collections.get("users")
    assert users is not None
    users.auth["mfa"].update(options)


def test_mfa_id_is_read_from_the_query_then_the_body() -> None:
    assert mfa.requested_id(RequestInfo(query={"mfaId": "q"}, body={"mfaId": "b"})) == "q"
    assert mfa.requested_id(RequestInfo(query={"mfaId": ""}, body={"mfaId": "b"})) == "b"
    assert mfa.requested_id(RequestInfo(body={"mfaId": None})) == ""
    assert mfa.requested_id(RequestInfo()) == ""
    for bad in (1, ["x"], {"a": "b"}, True):
        with pytest.raises(BadRequestError, match=re.escape(mfa.READ_ERROR)):
            mfa.requested_id(RequestInfo(body={"mfaId": bad}))


def test_expiry_is_measured_from_created() -> None:
    created = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    bare = Collection(id="x", name="x")
    row = Record(bare, {"created": format_dt(created)})
    assert not refs.has_expired(row, 60, created + timedelta(seconds=60))
    assert refs.has_expired(row, 60, created + timedelta(seconds=60, milliseconds=1))
    assert refs.has_expired(Record(bare, {"created": ""}), 60)  # no date: treat as stale


async def test_who_is_asked(app: App) -> None:
    user = await _user(app, name="plain")
    password = RequestInfo(method="POST")
    assert not await mfa.wants_mfa(app, user, "password", password)  # MFA off
    _mfa(app, enabled=True, rule="")
    assert await mfa.wants_mfa(app, user, "password", password)
    for method in ("", "refresh", "impersonate"):
        assert not await mfa.wants_mfa(app, user, method, password)
    _mfa(app, rule="name = 'vip'")
    assert not await mfa.wants_mfa(app, user, "password", password)
    _mfa(app, rule="@request.context = 'otp'")
    assert await mfa.wants_mfa(app, user, "otp", password)  # the method sets the context
    assert not await mfa.wants_mfa(app, user, "password", password)
    _mfa(app, rule="nosuchfield = 1")
    with pytest.raises(BadRequestError, match=re.escape(mfa.RULE_ERROR)):
        await mfa.wants_mfa(app, user, "password", password)
    # an active authenticator app overrides the rule; a pending one does not
    _mfa(app, rule="name = 'vip'")
    await totp_store.save_pending(app, user, "JBSWY3DPEHPK3PXP")
    assert not await mfa.wants_mfa(app, user, "password", password)
    state = await totp_store.get(app, user)
    assert state is not None and await totp_store.activate(app, state, 1, [])
    assert await mfa.wants_mfa(app, user, "password", password)


async def test_check_creates_then_spends_a_session(app: App) -> None:
    user = await _user(app)
    _mfa(app, enabled=True, rule="", duration=600)
    with pytest.raises(mfa.MFARequiredError) as raised:
        await mfa.check(app, user, "password", RequestInfo())
    mfa_id = raised.value.mfa_id
    (row,) = await refs.find_all(app, refs.MFAS, user)
    assert row.id == mfa_id and row.get("method") == "password"
    with pytest.raises(BadRequestError, match=re.escape(mfa.SAME_METHOD)):
        await mfa.check(app, user, "password", RequestInfo(body={"mfaId": mfa_id}))
    await mfa.check(app, user, "otp", RequestInfo(body={"mfaId": mfa_id}))
    assert await refs.find_all(app, refs.MFAS, user) == []
    with pytest.raises(BadRequestError, match=re.escape(mfa.INVALID_SESSION)):
        await mfa.check(app, user, "otp", RequestInfo(body={"mfaId": mfa_id}))


async def test_an_expired_session_is_deleted_when_presented(app: App) -> None:
    user = await _user(app)
    _mfa(app, enabled=True, rule="", duration=60)
    row = await refs.create(app, refs.MFAS, user, method="password")
    old = format_dt(datetime.now(UTC) - timedelta(seconds=61))
    async with app.db.transaction() as tx:
        await tx.execute(ir.Update("_mfas", {"created": ir.Param(old)}, ir.eq(ir.col("id"), ir.Param(row.id))))
    with pytest.raises(BadRequestError, match=re.escape(mfa.INVALID_SESSION)):
        await mfa.check(app, user, "otp", RequestInfo(query={"mfaId": row.id}))
    assert await refs.find(app, refs.MFAS, row.id) is None
