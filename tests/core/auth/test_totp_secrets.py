"""Authenticator secrets at rest: sealed with the key ring like the settings and webhook secrets, still
checking codes, old rows in clear still working, and a key that does not open one said (a 400 in
PocketBase's shape, the start stopped) rather than a 500 or a code judged wrong.

Codes come from pyotp at the current time: the server accepts one 30-second step of drift either
way, so "now" and "the next step" are both good whatever the clock does between two requests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pyotp
import pytest

from satchel.core.app import App
from satchel.core.auth import totp, totp_store
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.secrets_at_rest import SecretsKeyError
from satchel.testing import client_for, running_app, superuser_token
from satchel.tools.keyring import KeyRing, parse_sealed, stored_key_id
from satchel.tools.secretbox import key_id_of
from satchel.tools.sql import ir
from tests.apis.auth_flows import auth_with_password, enable_mfa
from tests.apis.helpers import create_user, error, login

KEY = bytes(range(32))
OTHER = bytes(range(200, 232))
EMAIL = "ann@example.com"
PASSWORD = "password-123"


def at(secret: str, offset_s: float = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset_s)


class Env:
    def __init__(self, app: App, client: httpx2.AsyncClient) -> None:
        self.app = app
        self.client = client

    async def post(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> httpx2.Response:
        return await self.client.post(f"/api/collections/users/{path}", json=body or {}, **kw)

    async def first_factor(self) -> str:
        r = await auth_with_password(self.client, EMAIL)
        assert r.status_code == 401, r.text
        mfa_id: str = r.json()["mfaId"]
        return mfa_id

    async def second_factor(self, code: str) -> httpx2.Response:
        return await self.post("auth-with-totp", {"mfaId": await self.first_factor(), "code": code})

    async def row(self) -> dict[str, Any]:
        """The `_totps` row as stored (read through the executor, not the store, which opens it)."""
        found = await self.app.db.executor().fetch_one(ir.Select((ir.Star(),), ir.Table(totp_store.TABLE)))
        assert found is not None
        return dict(found)

    async def store_raw(self, value: str) -> None:
        """Write the column as an older version (in clear) or another key would have."""
        async with self.app.db.transaction() as tx:
            assert await tx.execute(ir.Update(totp_store.TABLE, {"secret": ir.Param(value)}, None)) == 1


@asynccontextmanager
async def started(data_dir: Path, key: bytes = b"") -> AsyncIterator[Env]:
    async with running_app(data_dir, encryption_key=key) as app, client_for(app) as client:
        yield Env(app, client)


async def enrolled(env: Env) -> tuple[dict[str, str], str, list[str]]:
    """A user with MFA on and a verified authenticator app: (auth headers, secret, recovery codes)."""
    su = {"Authorization": await superuser_token(env.app, env.client)}
    await create_user(env.client, EMAIL)
    h = await login(env.client, EMAIL)
    await enable_mfa(env.client, su)
    r = await env.post("totp/enroll", headers=h)
    assert r.status_code == 200, r.text
    secret: str = r.json()["secret"]
    r = await env.post("totp/verify", {"code": at(secret)}, headers=h)
    assert r.status_code == 200, r.text
    return h, secret, r.json()["recoveryCodes"]


async def test_with_a_key_the_stored_secret_is_sealed_and_codes_verify(tmp_path: Path) -> None:
    async with started(tmp_path / "d", KEY) as env:
        _, secret, _ = await enrolled(env)
        row = await env.row()
        assert secret not in str(row["secret"])
        assert parse_sealed(row["secret"]) is not None and stored_key_id(row["secret"]) == key_id_of(KEY)
        r = await env.second_factor(at(secret, 30))  # the step verification spent is refused: the next one
        assert r.status_code == 200 and r.json()["record"]["email"] == EMAIL, r.text
        state = await totp_store.get(env.app, await _record(env))
        assert state is not None and state.secret == secret and not state.secret_error and secret not in repr(state)
        assert await totp_store.check_secrets(env.app) == 0


async def _record(env: Env) -> Record:
    users = env.app.collections.get("users")
    assert users is not None
    record = await storage.fetch_by_id(env.app.db.executor(), users, str((await env.row())["recordRef"]))
    assert record is not None
    return record


async def test_without_a_key_the_secret_is_stored_in_clear_as_settings_secrets_are(tmp_path: Path) -> None:
    async with started(tmp_path / "d") as env:
        _, secret, _ = await enrolled(env)
        assert (await env.row())["secret"] == secret
        assert (await env.second_factor(at(secret, 30))).status_code == 200
        assert await totp_store.check_secrets(env.app) == 1
        assert "stored in clear" in totp_store.clear_warning(env.app, 1)


async def test_a_legacy_row_in_clear_keeps_verifying_under_a_key(tmp_path: Path) -> None:
    async with started(tmp_path / "d", KEY) as env:
        _, secret, _ = await enrolled(env)
        await env.store_raw(secret)  # as written before a key was configured
        assert await totp_store.check_secrets(env.app) == 1
        assert "satchel keys rotate" in totp_store.clear_warning(env.app, 1)
        r = await env.second_factor(at(secret, 30))
        assert r.status_code == 200, r.text


async def test_a_sealed_secret_does_not_open_on_another_row(tmp_path: Path) -> None:
    async with started(tmp_path / "d", KEY) as env:
        _, secret, _ = await enrolled(env)
        row = await env.row()
        other_id = "z" * 15
        assert totp_store.SECRET.open_stored(env.app.keys, str(row["id"]), row["secret"]) == (secret, "")
        opened, why = totp_store.SECRET.open_stored(env.app.keys, other_id, row["secret"])
        assert opened == "" and "does not decrypt" in why and secret not in why


async def test_a_secret_no_configured_key_opens_is_a_400_and_stops_the_start(tmp_path: Path) -> None:
    data = tmp_path / "d"
    async with started(data, KEY) as env:
        _, secret, codes = await enrolled(env)
    async with started(data, OTHER) as env:  # a restored backup, or a sibling started with another key
        with pytest.raises(SecretsKeyError, match=key_id_of(KEY)):
            await totp_store.check_secrets(env.app)

        r = await env.second_factor(at(secret, 30))
        assert r.status_code == 400 and r.json() == error(400, totp.KEY_MISSING), r.text

        r = await env.second_factor(codes[0])  # recovery codes are digests: they still work
        assert r.status_code == 200, r.text
        token = {"Authorization": r.json()["token"]}
        r = await env.post("totp/recovery-codes", {"code": at(secret)}, headers=token)
        assert r.status_code == 400 and r.json() == error(400, totp.KEY_MISSING), r.text
        r = await env.post("totp/disable", {"code": at(secret)}, headers=token)
        assert r.status_code == 400 and r.json() == error(400, totp.KEY_MISSING), r.text
        r = await env.post("totp/disable", {"password": PASSWORD}, headers=token)
        assert r.status_code == 204, r.text

        # a pending app under the other key: verifying says so; enrolling again replaces it
        r = await env.post("totp/enroll", headers=token)
        assert r.status_code == 200, r.text
        fresh = r.json()["secret"]
        await env.store_raw(totp_store.SECRET.seal(KeyRing(KEY), str((await env.row())["id"]), fresh))
        r = await env.post("totp/verify", {"code": at(fresh)}, headers=token)
        assert r.status_code == 400 and r.json() == error(400, totp.PENDING_UNUSABLE), r.text
