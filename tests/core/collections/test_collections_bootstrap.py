"""First-run bootstrap against a real SQLite database: system tables and PocketBase's system collections."""

from __future__ import annotations

import json
from pathlib import Path

from satchel.adapters.cache.memory import MemoryCache
from satchel.adapters.db.sqlite import SqliteDatabase
from satchel.adapters.mail.smtp import SmtpConfig, SmtpMailer
from satchel.core.app import App, AppConfig
from satchel.core.collections import store
from satchel.core.collections.bootstrap import bootstrap_collections
from satchel.tools.sql import ir

REFERENCE = Path(__file__).parents[2] / "data" / "pocketbase-0.40.6-collections.json"


def _app(db: SqliteDatabase, tmp_path: Path) -> App:
    # bootstrap sends no mail: the mailer points at a closed port
    mailer = SmtpMailer(lambda: SmtpConfig(host="127.0.0.1", port=9))
    return App(db, AppConfig(data_dir=tmp_path), cache=MemoryCache(), mailer=mailer)


def _without_dates(c: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in c.items() if k not in ("created", "updated")}


async def test_bootstrap_creates_pocketbase_system_collections(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "data.db")
    app = _app(db, tmp_path)
    await bootstrap_collections(app)
    reference = json.loads(REFERENCE.read_text())["items"]
    loaded = {c.name: c.to_json() for c in app.collections.all()}
    assert list(loaded) == [c["name"] for c in reference]
    for ref in reference:
        assert _without_dates(loaded[ref["name"]]) == _without_dates(ref), ref["name"]
    # every collection has its table with one column per field, and its indexes
    for c in app.collections.all():
        assert await db.table_columns(c.name) == c.field_names()
    index_names = {
        r["name"]
        for r in await db.executor().fetch_all(
            ir.Select((ir.col("name"),), ir.Table("sqlite_master"), where=ir.eq(ir.col("type"), ir.Param("index")))
        )
    }
    assert {
        "idx_tokenKey__pb_users_auth_",
        "idx_email__pb_users_auth_",
        "idx_mfas_collectionRef_recordRef",
    } <= index_names
    assert await db.table_columns("_params") == ["id", "value", "created", "updated"]
    assert await db.table_columns("_collections") == [
        "id", "system", "type", "name", "fields", "indexes", "listRule", "viewRule", "createRule", "updateRule",
        "deleteRule", "options", "created", "updated",
    ]  # fmt: skip
    await db.close()


async def test_second_bootstrap_keeps_existing_state(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "data.db")
    app = _app(db, tmp_path)
    await bootstrap_collections(app)
    users = app.collections.get("users")
    assert users is not None
    users.listRule = "changed = 1"
    async with db.transaction() as tx:
        await store.save(tx, users)
    again = _app(db, tmp_path)
    await bootstrap_collections(again)
    reloaded = again.collections.get("_pb_users_auth_")
    assert reloaded is not None and reloaded.listRule == "changed = 1"
    assert len(again.collections.all()) == 6
    await db.close()


async def test_store_roundtrip_keeps_every_key(tmp_path: Path) -> None:
    db = SqliteDatabase(":memory:")
    app = _app(db, tmp_path)
    await bootstrap_collections(app)
    before = {c.id: c.to_json() for c in app.collections.all()}
    after = {c.id: c.to_json() for c in await store.load_all(db.executor())}
    assert before == after
    async with db.transaction() as tx:
        await store.delete(tx, "_pb_users_auth_")
    assert "_pb_users_auth_" not in {c.id for c in await store.load_all(db.executor())}
    await db.close()
