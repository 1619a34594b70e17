"""Authenticator secrets and the key commands: `keys rotate` re-seals them under the current key (a row
still in clear too), `settings rotate-key` moves them with the settings (to clear as well), and
`serve` refuses to start without the key they are sealed with, as it does for webhook secrets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pyotp
import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.core.app import App
from satchel.core.auth import totp, totp_store
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.testing import running_app
from satchel.tools.keyring import stored_key_id
from satchel.tools.secretbox import key_id_of, parse_key
from satchel.tools.sql import ir
from tests.cli.key_commands import NEW, OLD, key_files, where, without_keys

SECRETS = ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF")
T = 1_700_000_010.0


@pytest.fixture
def runner(isolated_env: None, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    without_keys(monkeypatch)
    return CliRunner()


async def _users(app: App) -> list[Record]:
    users = app.collections.get("users")
    assert users is not None
    out = []
    for n in range(2):
        record = Record(users, {f.name: f.zero() for f in users.fields})
        record.data.update(id=f"u{n}" + "a" * 13, email=f"u{n}@example.com", tokenKey=f"k{n}" * 25)
        async with app.db.transaction() as tx:
            await storage.insert(tx, record)
        out.append(record)
    return out


def _seed(data: Path, key: str = OLD) -> None:
    """Two authenticator apps made under `key`: the first sealed, the second left in clear as an older
    version wrote it."""

    async def run() -> None:
        async with running_app(data, encryption_key=parse_key(key) if key else b"") as app:
            for record, secret in zip(await _users(app), SECRETS, strict=True):
                await totp_store.save_pending(app, record, secret)
            where = ir.eq(ir.col("recordRef"), ir.Param("u1" + "a" * 13))
            async with app.db.transaction() as tx:
                await tx.execute(ir.Update(totp_store.TABLE, {"secret": ir.Param(SECRETS[1])}, where))

    asyncio.run(run())


def _stored(data: Path, key: str) -> dict[str, Any]:
    """The raw secret column by record, and whether a code of each secret verifies with `key` alone
    (False when the secret does not open with it)."""

    async def run() -> dict[str, Any]:
        async with running_app(data, encryption_key=parse_key(key) if key else b"") as app:
            rows = await app.db.executor().fetch_all(
                ir.Select((ir.col("recordRef"), ir.col("secret")), ir.Table(totp_store.TABLE))
            )
            users = app.collections.get("users")
            assert users is not None
            verifies = {}
            for n, secret in enumerate(SECRETS):
                record = await storage.fetch_by_id(app.db.executor(), users, f"u{n}" + "a" * 13)
                assert record is not None
                state = await totp_store.get(app, record)
                assert state is not None
                code = pyotp.TOTP(secret).at(T)
                opened = not state.secret_error
                verifies[record.id] = opened and totp.matching_step(state.secret, code, T) == int(T // 30)
            return {"raw": {str(r["recordRef"]): r["secret"] for r in rows}, "verifies": verifies}

    return asyncio.run(run())


def test_keys_rotate_reseals_authenticator_secrets_under_the_current_key(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "d"
    _seed(data)
    before = _stored(data, OLD)
    sealed, clear = sorted(before["raw"])
    assert stored_key_id(before["raw"][sealed]) == key_id_of(parse_key(OLD)) and before["raw"][clear] == SECRETS[1]
    assert before["verifies"] == {sealed: True, clear: True}  # the legacy row in clear works under a key

    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", NEW)
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEYS_OLD", OLD)
    r = runner.invoke(main, ["keys", "rotate", *where(data)])
    assert r.exit_code == 0, r.output
    assert "Re-encrypting records" in r.output and "2 of 2 authenticator app secrets re-encrypted" in r.output
    assert all(s not in r.output for s in SECRETS)
    r = runner.invoke(main, ["keys", "rotate", *where(data)])  # nothing left to do
    assert r.exit_code == 0 and "authenticator" not in r.output, r.output

    after = _stored(data, NEW)  # the old key dropped
    assert {stored_key_id(v) for v in after["raw"].values()} == {key_id_of(parse_key(NEW))}
    assert all(s not in str(after["raw"]) for s in SECRETS) and after["verifies"] == {sealed: True, clear: True}


def test_keys_rotate_lists_authenticator_secrets_no_key_opens(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "d"
    _seed(data)
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", NEW)  # OLD forgotten
    r = runner.invoke(main, ["keys", "rotate", *where(data)])
    assert r.exit_code == 1 and "1 values could not be opened" in r.output, r.output
    assert "authenticator app" in r.output and key_id_of(parse_key(OLD)) in r.output
    assert stored_key_id(_stored(data, OLD)["raw"]["u0" + "a" * 13]) == key_id_of(parse_key(OLD))  # left as it was


def test_serve_refuses_authenticator_secrets_without_their_key(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_granian: list[dict[str, Any]]
) -> None:
    data = tmp_path / "d"
    _seed(data)
    r = runner.invoke(main, ["serve", *where(data)])  # no key at all
    assert r.exit_code == 1 and key_id_of(parse_key(OLD)) in r.output and "authenticator app" in r.output, r.output
    assert "Traceback" not in r.output and all(s not in r.output for s in SECRETS)
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", NEW)
    r = runner.invoke(main, ["serve", *where(data)])
    assert r.exit_code == 1 and key_id_of(parse_key(OLD)) in r.output and "SATCHEL_ENCRYPTION_KEYS_OLD" in r.output
    assert fake_granian == []
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEYS_OLD", OLD)
    r = runner.invoke(main, ["serve", *where(data)])
    assert r.exit_code == 0, r.output
    assert len(fake_granian) == 1
    assert "1 authenticator app secret(s) written before a key was configured are still in clear" in r.output


def test_serve_warns_when_authenticator_secrets_are_kept_in_clear(
    runner: CliRunner, tmp_path: Path, fake_granian: list[dict[str, Any]]
) -> None:
    data = tmp_path / "d"
    _seed(data, key="")
    r = runner.invoke(main, ["serve", *where(data)])
    assert r.exit_code == 0, r.output
    assert "Warning: 2 authenticator app secret(s) are stored in clear" in r.output
    assert all(s not in r.output for s in SECRETS)


def test_settings_rotate_key_moves_authenticator_secrets_to_the_new_key_and_to_clear(
    runner: CliRunner, tmp_path: Path
) -> None:
    data = tmp_path / "d"
    _seed(data)
    sealed, clear = "u0" + "a" * 13, "u1" + "a" * 13
    files = key_files(tmp_path)
    rotate = ["settings", "rotate-key", *where(data), "--encryption-key-file"]

    r = runner.invoke(main, [*rotate, str(files["other"]), "--new-key-file", str(files["new"])])
    assert r.exit_code == 1 and "Nothing was changed" in r.output and key_id_of(parse_key(OLD)) in r.output
    assert stored_key_id(_stored(data, OLD)["raw"][sealed]) == key_id_of(parse_key(OLD))

    r = runner.invoke(main, [*rotate, str(files["old"]), "--new-key-file", str(files["new"])])
    assert r.exit_code == 0 and "2 authenticator app(s)" in r.output, r.output
    moved = _stored(data, NEW)
    assert {stored_key_id(v) for v in moved["raw"].values()} == {key_id_of(parse_key(NEW))}
    assert moved["verifies"] == {sealed: True, clear: True}

    r = runner.invoke(main, [*rotate, str(files["new"]), "--to-plaintext"])
    assert r.exit_code == 0, r.output
    assert _stored(data, "") == {
        "raw": {sealed: SECRETS[0], clear: SECRETS[1]},
        "verifies": {sealed: True, clear: True},
    }
