"""Webhook secrets and the key commands: `keys rotate` re-seals them under the current key (a row
still in clear too), `settings rotate-key` moves them with the settings (to clear as well), and
`serve` refuses to start without the key they are sealed with."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.plugins.events.webhooks import store
from satchel.testing import running_app
from satchel.tools.keyring import KeyRing, stored_key_id
from satchel.tools.secretbox import key_id_of, parse_key
from satchel.tools.sql import ir
from tests.cli.key_commands import NEW, OLD, key_files, where, without_keys
from tests.plugins.events.conftest import SECRET, start_env


@pytest.fixture
def runner(isolated_env: None, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    without_keys(monkeypatch)
    return CliRunner()


def _seed(data: Path) -> list[str]:
    """Two webhooks made under OLD: one sealed, one left in clear as an older version wrote it."""

    async def run() -> list[str]:
        async with start_env(data, encryption_key=parse_key(OLD)) as env:
            ids = [(await env.webhook("http://127.0.0.1:9/unused", active=False))["id"] for _ in range(2)]
            where = ir.eq(ir.col("id"), ir.Param(ids[1]))
            async with env.app.db.transaction() as tx:
                await tx.execute(ir.Update(store.WEBHOOKS, {"secret": ir.Param(SECRET)}, where))
            return ids

    return asyncio.run(run())


def _stored(data: Path, key: str) -> dict[str, Any]:
    """The raw secret column by webhook id, and what the store opens it to with `key` alone."""

    async def run() -> dict[str, Any]:
        async with running_app(data, encryption_key=parse_key(key) if key else b"") as app:
            ex = app.db.executor()
            rows = await ex.fetch_all(ir.Select((ir.col("id"), ir.col("secret")), ir.Table(store.WEBHOOKS)))
            hooks = await store.all_webhooks(ex, KeyRing(parse_key(key) if key else b""))
            return {
                "raw": {str(r["id"]): r["secret"] for r in rows},
                "opened": {h.id: h.secret for h in hooks},
            }

    return asyncio.run(run())


def test_keys_rotate_reseals_webhook_secrets_under_the_current_key(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "d"
    sealed, clear = _seed(data)
    before = _stored(data, OLD)["raw"]
    assert stored_key_id(before[sealed]) == key_id_of(parse_key(OLD)) and before[clear] == SECRET

    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", NEW)
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEYS_OLD", OLD)
    r = runner.invoke(main, ["keys", "rotate", *where(data)])
    assert r.exit_code == 0, r.output
    assert "Re-encrypting records" in r.output and "2 of 2 webhook secrets re-encrypted" in r.output
    assert SECRET not in r.output
    r = runner.invoke(main, ["keys", "rotate", *where(data)])  # nothing left to do
    assert r.exit_code == 0 and "webhook" not in r.output, r.output

    after = _stored(data, NEW)  # the old key dropped
    assert {stored_key_id(v) for v in after["raw"].values()} == {key_id_of(parse_key(NEW))}
    assert SECRET not in str(after["raw"]) and after["opened"] == {sealed: SECRET, clear: SECRET}


def test_serve_refuses_webhook_secrets_without_their_key(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_granian: list[dict[str, Any]]
) -> None:
    data = tmp_path / "d"
    _seed(data)
    r = runner.invoke(main, ["serve", *where(data)])  # no key at all
    assert r.exit_code == 1 and key_id_of(parse_key(OLD)) in r.output and "webhook" in r.output, r.output
    assert "Traceback" not in r.output and SECRET not in r.output
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", NEW)
    r = runner.invoke(main, ["serve", *where(data)])
    assert r.exit_code == 1 and key_id_of(parse_key(OLD)) in r.output and "SATCHEL_ENCRYPTION_KEYS_OLD" in r.output
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEYS_OLD", OLD)
    r = runner.invoke(main, ["serve", *where(data)])
    assert r.exit_code == 0, r.output
    assert len(fake_granian) == 1
    assert "1 webhook secret(s) written before a key was configured are still in clear" in r.output
    assert "satchel keys rotate" in r.output


def test_serve_warns_when_webhook_secrets_are_kept_in_clear(
    runner: CliRunner, tmp_path: Path, fake_granian: list[dict[str, Any]]
) -> None:
    data = tmp_path / "d"

    async def seed() -> None:
        async with start_env(data) as env:
            await env.webhook("http://127.0.0.1:9/unused")

    asyncio.run(seed())
    r = runner.invoke(main, ["serve", *where(data)])
    assert r.exit_code == 0, r.output
    assert "Warning: 1 webhook secret(s) are stored in clear" in r.output and SECRET not in r.output


def test_settings_rotate_key_moves_webhook_secrets_to_the_new_key_and_to_clear(
    runner: CliRunner, tmp_path: Path
) -> None:
    data = tmp_path / "d"
    sealed, clear = _seed(data)
    files = key_files(tmp_path)
    rotate = ["settings", "rotate-key", *where(data), "--encryption-key-file"]

    r = runner.invoke(main, [*rotate, str(files["other"]), "--new-key-file", str(files["new"])])
    assert r.exit_code == 1 and "Nothing was changed" in r.output and key_id_of(parse_key(OLD)) in r.output
    assert stored_key_id(_stored(data, OLD)["raw"][sealed]) == key_id_of(parse_key(OLD))

    r = runner.invoke(main, [*rotate, str(files["old"]), "--new-key-file", str(files["new"])])
    assert r.exit_code == 0 and "2 webhook(s)" in r.output, r.output
    moved = _stored(data, NEW)
    assert {stored_key_id(v) for v in moved["raw"].values()} == {key_id_of(parse_key(NEW))}
    assert moved["opened"] == {sealed: SECRET, clear: SECRET}

    r = runner.invoke(main, [*rotate, str(files["new"]), "--to-plaintext"])
    assert r.exit_code == 0, r.output
    assert _stored(data, "")["raw"] == {sealed: SECRET, clear: SECRET}
