"""Secrets of the settings and of OAuth2 providers at rest: sealed in the database with the key,
opened after a restart with it, and a clear start-up error (changing nothing) without it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from satchel.core.app import App
from satchel.core.collections.store import COLLECTIONS_TABLE
from satchel.core.params import get_param, put_param
from satchel.core.secrets_at_rest import Secrets, SecretsKeyError
from satchel.core.secrets_rotation import reseal
from satchel.core.settings import SETTINGS_KEY
from satchel.testing import running_app
from satchel.tools.jsonutil import dumps, loads
from satchel.tools.secretbox import SecretBox, key_id_of, parse_key
from satchel.tools.sql import ir

KEY = bytes.fromhex("6b" * 32)
OTHER = bytes.fromhex("a5" * 32)
SMTP_PASSWORD = "smtp-pa55word-in-clear"
S3_SECRET = "s3-secret-in-clear"
BACKUPS_SECRET = "backups-secret-in-clear"
CLIENT_SECRET = "oauth2-client-secret-in-clear"
SECRETS = (SMTP_PASSWORD, S3_SECRET, BACKUPS_SECRET, CLIENT_SECRET)
S3 = {"enabled": False, "bucket": "b", "region": "r", "endpoint": "https://s3.example.com", "accessKey": "ak"}


async def _fill(app: App) -> None:
    await app.settings.patch(
        {
            "smtp": {"password": SMTP_PASSWORD, "username": "mailer"},
            "s3": {**S3, "secret": S3_SECRET},
            "backups": {"s3": {**S3, "secret": BACKUPS_SECRET}},
        }
    )
    provider = {"name": "github", "clientId": "gh-id", "clientSecret": CLIENT_SECRET}
    await app.collections_service.update("users", {"oauth2": {"enabled": True, "providers": [provider]}})


async def _raw(app: App) -> str:
    """The stored settings row and the users collection's options, exactly as in the database."""
    settings = await get_param(app.db.executor(), SETTINGS_KEY)
    options = await app.db.executor().fetch_value(
        ir.Select((ir.col("options"),), ir.Table(COLLECTIONS_TABLE), where=ir.eq(ir.col("name"), ir.Param("users")))
    )
    return f"{settings}\n{options}"


def _in_memory(app: App) -> tuple[str, ...]:
    s = app.settings.current
    users = app.collections.get("users")
    assert users is not None
    provider = users.auth["oauth2"]["providers"][0]
    return (s["smtp"]["password"], s["s3"]["secret"], s["backups"]["s3"]["secret"], provider["clientSecret"])


async def test_no_secret_is_stored_in_clear_and_all_open_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    async with running_app(data, encryption_key=KEY) as app:
        await _fill(app)
        raw = await _raw(app)
        assert _in_memory(app) == SECRETS
    for secret in SECRETS:
        assert secret not in raw
    stored = loads(raw.split("\n", 1)[0])
    assert stored["smtp"]["username"] == "mailer"  # only the secrets are sealed
    assert set(stored["smtp"]["password"]) == {"$encrypted"}
    assert key_id_of(KEY) in stored["smtp"]["password"]["$encrypted"]
    async with running_app(data, encryption_key=KEY) as app:
        assert _in_memory(app) == SECRETS
        assert not app.secrets.clear_seen


async def test_without_the_key_the_start_fails_clearly_and_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    async with running_app(data, encryption_key=KEY) as app:
        await _fill(app)
        before = await _raw(app)
    with pytest.raises(SecretsKeyError) as missing:
        async with running_app(data):
            pass
    message = str(missing.value)
    assert key_id_of(KEY) in message and "no encryption key is configured" in message
    assert "SATCHEL_ENCRYPTION_KEY" in message and "Nothing was changed" in message
    with pytest.raises(SecretsKeyError) as wrong:
        async with running_app(data, encryption_key=OTHER):
            pass
    assert key_id_of(KEY) in str(wrong.value) and key_id_of(OTHER) in str(wrong.value)
    assert "rotate-key" in str(wrong.value)
    for secret in SECRETS:
        assert secret not in str(missing.value) + str(wrong.value)
    async with running_app(data, encryption_key=KEY) as app:
        assert await _raw(app) == before  # nothing was reset or rewritten by the failed starts
        assert _in_memory(app) == SECRETS


async def test_without_a_key_secrets_are_stored_in_clear_as_pocketbase_does(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    async with running_app(data) as app:
        await _fill(app)
        raw = await _raw(app)
    assert all(secret in raw for secret in SECRETS)
    async with running_app(data) as app:
        assert app.secrets.clear_seen  # what `serve` warns about
        assert _in_memory(app) == SECRETS


async def test_a_key_set_on_existing_data_seals_its_secrets_at_start(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    async with running_app(data) as app:
        await _fill(app)
    async with running_app(data, encryption_key=KEY) as app:
        raw = await _raw(app)
        assert _in_memory(app) == SECRETS
    assert not any(secret in raw for secret in SECRETS)
    async with running_app(data, encryption_key=KEY) as app:
        assert _in_memory(app) == SECRETS


async def test_reseal_moves_every_secret_to_the_new_key_and_back_to_clear(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    async with running_app(data, encryption_key=KEY) as app:
        await _fill(app)
        version = app.schema.version
        done = await reseal(app, Secrets(SecretBox(OTHER)))
        assert done.settings and "users" in done.collections
        assert app.schema.version != version  # other processes reload
        raw = await _raw(app)
        assert key_id_of(OTHER) in raw and key_id_of(KEY) not in raw
        await app.settings.patch({"smtp": {"password": "changed-after"}})  # sealed with the new key now
        assert "changed-after" not in await _raw(app)
    with pytest.raises(SecretsKeyError):
        async with running_app(data, encryption_key=KEY):
            pass
    async with running_app(data, encryption_key=OTHER) as app:
        assert _in_memory(app) == ("changed-after", *SECRETS[1:])
        await reseal(app, Secrets())
        assert CLIENT_SECRET in await _raw(app)
    async with running_app(data) as app:
        assert _in_memory(app)[3] == CLIENT_SECRET


async def test_a_value_sealed_for_one_place_does_not_open_in_another(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    async with running_app(data, encryption_key=KEY) as app:
        await _fill(app)
        stored: dict[str, Any] = loads(await get_param(app.db.executor(), SETTINGS_KEY))
        stored["s3"]["secret"] = stored["smtp"]["password"]  # an edit made in the database itself
        with pytest.raises(SecretsKeyError, match="damaged or was moved"):
            Secrets(SecretBox(KEY)).open_settings(stored)


def test_the_key_never_appears_in_the_app_config(tmp_path: Path) -> None:
    from satchel.core.app import AppConfig

    config = AppConfig(data_dir=tmp_path, encryption_key=os.urandom(32))
    assert config.encryption_key.hex() not in repr(config) and repr(config.encryption_key) not in repr(config)


def _pocketbase_encrypt(document: dict[str, Any], key: str) -> str:
    """What PocketBase's `security.Encrypt` stores with PB_ENCRYPTION_KEY (written here from its format)."""
    import base64

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key.encode()).encrypt(nonce, dumps(document), None)).decode()


async def test_settings_encrypted_whole_by_pocketbase_open_with_its_key(tmp_path: Path) -> None:
    pb_key = "abcdefghijklmnopqrstuvwxyz012345"  # PocketBase's 32-character key format
    data = tmp_path / "pb_data"
    async with running_app(data) as app:
        document = {**app.settings.current, "smtp": {**app.settings.current["smtp"], "password": SMTP_PASSWORD}}
        async with app.db.transaction() as tx:
            await put_param(tx, SETTINGS_KEY, _pocketbase_encrypt(document, pb_key))
    with pytest.raises(SecretsKeyError, match="PB_ENCRYPTION_KEY"):
        async with running_app(data):
            pass
    with pytest.raises(SecretsKeyError, match="does not decrypt"):
        async with running_app(data, encryption_key=KEY):
            pass
    async with running_app(data, encryption_key=parse_key(pb_key)) as app:
        assert app.settings.current["smtp"]["password"] == SMTP_PASSWORD
        stored = loads(await get_param(app.db.executor(), SETTINGS_KEY))  # saved again, per value
        assert SMTP_PASSWORD not in str(stored) and "$encrypted" in stored["smtp"]["password"]


async def test_the_smtp_config_never_shows_the_password(tmp_path: Path) -> None:
    from satchel.wiring import smtp_config

    async with running_app(tmp_path / "pb_data", encryption_key=KEY) as app:
        await _fill(app)
        config = smtp_config(app)
        assert config.password == SMTP_PASSWORD and SMTP_PASSWORD not in repr(config)
