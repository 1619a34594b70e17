"""Authenticator-app codes at explicit times: the drift window, replays, recovery codes, and the store's
conditional updates (the guard against two requests spending one code)."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest

from satchel.core.app import App
from satchel.core.auth import totp, totp_store
from satchel.core.errors import BadRequestError, ValidationError
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from satchel.tools.passwords import hash_password
from satchel.tools.sql import ir

T = 1_700_000_010.0  # 10 s into a 30-second step
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def code_at(when: float) -> str:
    return pyotp.TOTP(SECRET).at(when)


def test_matching_step_accepts_one_step_of_drift_either_way() -> None:
    step = int(T // 30)
    assert totp.matching_step(SECRET, code_at(T), T) == step
    assert totp.matching_step(SECRET, code_at(T - 30), T) == step - 1
    assert totp.matching_step(SECRET, code_at(T + 30), T) == step + 1
    assert totp.matching_step(SECRET, code_at(T - 60), T) is None
    assert totp.matching_step(SECRET, code_at(T + 60), T) is None
    # the window moves with the clock: the same code ages out
    assert totp.matching_step(SECRET, code_at(T), T + 60) is None


def test_matching_step_refuses_malformed_codes() -> None:
    code = code_at(T)
    assert totp.matching_step(SECRET, f"{code[:3]} {code[3:]}", T) == int(T // 30)  # as apps display it
    for bad in ("", code[:5], code + "0", "abcdef", "\uff11\uff12\uff13\uff14\uff15\uff16", f"+{code[1:]}"):
        assert totp.matching_step(SECRET, bad, T) is None, bad


def test_recovery_codes_format_and_digest() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"([a-hjkmnp-z2-9]{4}-){3}[a-hjkmnp-z2-9]{4}", c) for c in codes)
    digest = totp.recovery_digest(codes[0])
    assert re.fullmatch(r"[0-9a-f]{64}", digest) and codes[0] not in digest
    assert totp.recovery_digest(codes[0].upper().replace("-", " ")) == digest


async def _user(app: App) -> Record:
    users = app.collections.get("users")
    assert users is not None
    users.auth["mfa"]["enabled"] = True
    record = Record(users, {f.name: f.zero() for f in users.fields})
    record.data.update(
        id="u1aaaaaaaaaaaaa",
        email="ann@example.com",
        password=hash_password("password-123"),
        tokenKey="k" * 50,
    )
    async with app.db.transaction() as tx:
        await storage.insert(tx, record)
    return record


def _as(record: Record, body: dict[str, Any] | None = None) -> RequestInfo:
    return RequestInfo(auth=record, method="POST", body=body or {}, ip="192.0.2.1")


async def test_verify_then_replay_and_recovery_codes_at_explicit_times(app: App) -> None:
    user = await _user(app)
    enrolment = await totp.enroll(app, "users", _as(user))
    secret = enrolment["secret"]
    pending = await totp_store.get(app, user)
    assert pending is not None and pending.secret == secret and not pending.active and pending.recovery_codes == ()

    with pytest.raises(ValidationError):
        await totp.verify(app, "users", {"code": pyotp.TOTP(secret).at(T - 90)}, _as(user), now=T)
    codes = (await totp.verify(app, "users", {"code": pyotp.TOTP(secret).at(T)}, _as(user), now=T))["recoveryCodes"]
    state = await totp_store.get(app, user)
    assert state is not None and state.active and state.last_step == int(T // 30) and len(state.recovery_codes) == 10

    # the step verification used is spent; the one before it too (never go back); the next one is good once
    assert not await totp._spend(app, state, pyotp.TOTP(secret).at(T), T)
    assert not await totp._spend(app, state, pyotp.TOTP(secret).at(T - 30), T)
    assert await totp._spend(app, state, pyotp.TOTP(secret).at(T + 30), T)
    assert not await totp._spend(app, state, pyotp.TOTP(secret).at(T + 30), T + 30)

    state = await totp_store.get(app, user)
    assert state is not None
    assert await totp._spend(app, state, codes[0], T)
    assert not await totp._spend(app, state, codes[0], T)  # the stale list still holds it: the CAS refuses
    fresh = await totp_store.get(app, user)
    assert fresh is not None and len(fresh.recovery_codes) == 9
    assert not await totp._spend(app, fresh, codes[0], T)
    assert not await totp._spend(app, fresh, codes[1], T, recovery=False)


async def test_enrolling_again_replaces_a_pending_secret_but_not_an_active_one(app: App) -> None:
    user = await _user(app)
    first = (await totp.enroll(app, "users", _as(user)))["secret"]
    second = (await totp.enroll(app, "users", _as(user)))["secret"]
    assert first != second
    with pytest.raises(ValidationError):  # the first secret is gone
        await totp.verify(app, "users", {"code": pyotp.TOTP(first).at(T)}, _as(user), now=T)
    await totp.verify(app, "users", {"code": pyotp.TOTP(second).at(T)}, _as(user), now=T)
    with pytest.raises(BadRequestError):
        await totp.enroll(app, "users", _as(user))
    assert await totp_store.is_active(app, user)


async def test_activation_happens_once(app: App) -> None:
    user = await _user(app)
    await totp.enroll(app, "users", _as(user))
    state = await totp_store.get(app, user)
    assert state is not None
    assert await totp_store.activate(app, state, 5, [])
    assert not await totp_store.activate(app, state, 6, [])  # a racing second verify loses


async def test_the_table_is_created_on_databases_from_before_authenticator_apps(app: App) -> None:
    async with app.db.transaction() as tx:
        await tx.ddl(ir.DropTable(totp_store.TABLE))
    assert await app.db.table_columns(totp_store.TABLE) == []
    await app.bootstrap()
    assert "lastStep" in await app.db.table_columns(totp_store.TABLE)
    assert [c.name for c in app.collections.all() if c.name == totp_store.TABLE] == []
