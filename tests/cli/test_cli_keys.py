"""`satchel keys rotate`: every encrypted record value, blind index and settings secret moves to the
current key, with a progress bar; a second run has nothing to do; the old key can then go."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from satchel.cli.main import main
from satchel.core.params import get_param
from satchel.core.settings import SETTINGS_KEY
from satchel.testing import client_for, running_app, superuser_token
from satchel.tools.keyring import stored_key_id
from satchel.tools.secretbox import key_id_of, parse_key
from satchel.tools.sql import ir
from tests.cli.key_commands import NEW, OLD, where, without_keys

PASSWORD = "smtp-password-kept-secret"
NOTES = {
    "name": "notes",
    "listRule": "",
    "viewRule": "",
    "fields": [{"name": "ssn", "type": "text", "encrypted": True}, {"name": "doc", "type": "json", "encrypted": True}],
}
ROWS = 25


@pytest.fixture
def runner(isolated_env: None, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    without_keys(monkeypatch)
    return CliRunner()


def _seed(data: Path) -> None:
    async def run() -> None:
        async with running_app(data, encryption_key=parse_key(OLD)) as app, client_for(app) as client:
            su = {"Authorization": await superuser_token(app, client)}
            assert (await client.post("/api/collections", json=NOTES, headers=su)).status_code == 200
            for i in range(ROWS):
                body = {"ssn": f"ssn-{i % 5}", "doc": {"n": i}}
                r = await client.post("/api/collections/notes/records", json=body, headers=su)
                assert r.status_code == 200, r.text
            await app.settings.patch({"smtp": {"password": PASSWORD}})

    asyncio.run(run())


def _inspect(data: Path, key: str, old: tuple[str, ...] = ()) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        olds = tuple(parse_key(k) for k in old)
        async with running_app(data, encryption_key=parse_key(key), old_encryption_keys=olds) as app:
            ex = app.db.executor()
            rows = await ex.fetch_all(ir.Select((ir.Star("notes"),), ir.Table("notes")))
            async with client_for(app) as client:
                r = await client.get(
                    "/api/collections/notes/records", params={"filter": 'ssn = "ssn-3"', "perPage": 100}
                )
                assert r.status_code == 200, r.text
                found = sorted(i["doc"]["n"] for i in r.json()["items"])
            return {
                "key_ids": {stored_key_id(row[c]) for row in rows for c in ("ssn", "doc")},
                "indexes": sorted(row["ssn__bidx"] for row in rows),
                "found": found,
                "password": app.settings.current["smtp"]["password"],
                "settings_row": str(await get_param(ex, SETTINGS_KEY)),
            }

    return asyncio.run(run())


def test_rotate_moves_everything_to_the_new_key_and_the_old_key_can_go(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "d"
    _seed(data)
    old_id, new_id = key_id_of(parse_key(OLD)), key_id_of(parse_key(NEW))
    before = _inspect(data, NEW, (OLD,))  # a server on the new ring reads both keys before the rotation
    assert before["key_ids"] == {old_id} and before["found"] == [3, 8, 13, 18, 23] and before["password"] == PASSWORD

    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", NEW)
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEYS_OLD", OLD)
    r = runner.invoke(main, ["keys", "rotate", *where(data), "--batch-size", "7"])
    assert r.exit_code == 0, r.output
    assert "Re-encrypting records" in r.output
    assert f"{ROWS} of {ROWS} records re-encrypted with the key {new_id}; settings secrets re-encrypted." in r.output
    r = runner.invoke(main, ["keys", "rotate", *where(data)])  # idempotent: nothing left to do
    assert r.exit_code == 0 and f"0 of {ROWS} records re-encrypted" in r.output and "settings" not in r.output

    after = _inspect(data, NEW)  # the old key removed
    assert after["key_ids"] == {new_id} and after["found"] == [3, 8, 13, 18, 23]
    assert after["indexes"] != before["indexes"] and after["password"] == PASSWORD
    assert new_id in after["settings_row"] and old_id not in after["settings_row"]


def test_a_key_file_holds_the_ring(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "d"
    _seed(data)
    ring = tmp_path / "ring.key"
    ring.write_text(f"{NEW}\n{OLD}\n")
    r = runner.invoke(main, ["keys", "rotate", *where(data), "--encryption-key-file", str(ring)])
    assert r.exit_code == 0, r.output
    assert f"{ROWS} of {ROWS} records re-encrypted" in r.output
    assert _inspect(data, NEW)["key_ids"] == {key_id_of(parse_key(NEW))}


def test_without_the_old_key_nothing_starts_and_nothing_changes(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "d"
    _seed(data)
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", NEW)
    r = runner.invoke(main, ["keys", "rotate", *where(data)])
    assert r.exit_code == 1 and key_id_of(parse_key(OLD)) in r.output and "Traceback" not in r.output
    assert _inspect(data, OLD)["key_ids"] == {key_id_of(parse_key(OLD))}


def test_rotate_needs_a_current_key(runner: CliRunner, tmp_path: Path) -> None:
    r = runner.invoke(main, ["keys", "rotate", "--dir", str(tmp_path / "d")])
    assert r.exit_code == 2 and "SATCHEL_ENCRYPTION_KEY" in r.output


def test_new_prints_a_usable_key(runner: CliRunner) -> None:
    r = runner.invoke(main, ["keys", "new"])
    assert r.exit_code == 0 and len(parse_key(r.output)) == 32


def test_settings_rotate_key_sends_encrypted_fields_to_keys_rotate(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "d"
    _seed(data)
    old_file, new_file = tmp_path / "old.key", tmp_path / "new.key"
    old_file.write_text(OLD)
    new_file.write_text(NEW)
    args = ["settings", "rotate-key", *where(data), "--encryption-key-file", str(old_file)]
    r = runner.invoke(main, [*args, "--new-key-file", str(new_file)])
    assert r.exit_code == 1 and "satchel keys rotate" in r.output and "Nothing was changed" in r.output
    assert _inspect(data, OLD)["password"] == PASSWORD


def test_serve_refuses_encrypted_fields_without_their_key_and_passes_the_ring_on(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_granian: list[dict[str, Any]]
) -> None:
    data = tmp_path / "d"
    _seed(data)
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", OLD)  # the settings open; the fields need it too
    r = runner.invoke(main, ["serve", *where(data)])
    assert r.exit_code == 0, r.output
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEY", NEW)
    r = runner.invoke(main, ["serve", *where(data)])
    assert r.exit_code == 1 and key_id_of(parse_key(OLD)) in r.output and "Traceback" not in r.output
    monkeypatch.setenv("SATCHEL_ENCRYPTION_KEYS_OLD", OLD)
    r = runner.invoke(main, ["serve", *where(data)])
    assert r.exit_code == 0, r.output
    assert len(fake_granian) == 2
    assert os.environ["SATCHEL_ENCRYPTION_KEYS_OLD"] == OLD  # what the workers read
