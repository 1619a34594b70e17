"""First-run setup: the system tables and collections; every run: load collections into memory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.core.auth import api_key_store, totp_store
from satchel.core.collections import store
from satchel.core.collections.schema_sync import create_table
from satchel.core.collections.system import system_collections
from satchel.core.migrations import store as migrations_store
from satchel.tools.datetime import now_str

if TYPE_CHECKING:
    from satchel.core.app import App


async def bootstrap_collections(app: App) -> None:
    async with app.db.transaction() as tx:
        if not await app.db.table_columns(store.COLLECTIONS_TABLE):
            await tx.ddl(store.COLLECTIONS_DDL)
            await tx.ddl(store.COLLECTIONS_NAME_INDEX)
            await tx.ddl(store.PARAMS_DDL)
            now = now_str()
            for c in system_collections():
                c.created = c.updated = now
                await create_table(tx, c)
                await store.save(tx, c, app.secrets)
        await api_key_store.ensure_table(app.db, tx)  # not in the `if`: databases from before keys
        await totp_store.ensure_table(app.db, tx)  # likewise for authenticator apps
        await migrations_store.ensure_table(app.db, tx)  # and for schema migrations
        app.collections.set_all(await store.load_all(tx, app.secrets))
