"""Putting a checked backup in place, and bringing the running app (and its siblings) up to date.

PocketBase swaps the data directory and restarts its one process. Satchel may run several worker
processes on one database, so it replaces the data *under* them instead: the database contents
through the database port (every open connection sees the new contents at once), the local files
directory by two renames, and then it tells every process to reload what it holds in memory.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from satchel.core.backups.archive import DB_ENTRY, STORAGE_ENTRY, Progress
from satchel.core.collections.bootstrap import bootstrap_collections
from satchel.core.files.storages import STORAGE_DIR
from satchel.core.params import bump_version, get_param, put_param
from satchel.core.settings import default_settings, load_or_create_secret
from satchel.tools.ids import random_string

if TYPE_CHECKING:
    from satchel.core.app import App

RESTORE_KEY = "backupRestore"
"""`_params` row changed by every restore: how sibling processes tell a restore from a schema edit."""
SYSTEM_TABLES = ("_collections", "_params")
"""What makes a database a Satchel (or PocketBase) one."""


async def replace_data(app: App, extracted: Path, progress: Progress | None = None) -> None:
    """Move the extracted storage tree in place and restore the database; all or nothing.

    `extracted` holds `data.db` and maybe `storage/`, inside the data directory (renames do not
    cross file systems). The current storage directory is moved into `extracted` and stays there
    until the caller removes it; if the database restore fails it is moved back. The counters in
    `app.kept_on_restore` keep their live values when higher than the backup's: the numbers they
    handed out after the backup (event ids) are already outside and must not be handed out again.
    """
    storage = app.config.data_dir / STORAGE_DIR
    incoming = extracted / STORAGE_ENTRY.rstrip("/")
    previous = extracted / "previous-storage"
    had_storage = await asyncio.to_thread(storage.exists)
    if had_storage:
        await asyncio.to_thread(os.rename, storage, previous)
    if await asyncio.to_thread(incoming.exists):
        await asyncio.to_thread(os.rename, incoming, storage)
    db_progress = None if progress is None else (lambda done, total: progress("restore", done, total))
    try:
        await app.db.restore(extracted / DB_ENTRY, db_progress, app.kept_on_restore)
    except BaseException:
        if await asyncio.to_thread(storage.exists):
            await asyncio.to_thread(os.rename, storage, incoming)
        if had_storage:
            await asyncio.to_thread(os.rename, previous, storage)
        raise


async def mark_restored(app: App) -> str:
    """Record a restore in the restored database (with a new schema version); the marker."""
    marker = random_string(16)
    async with app.db.transaction() as tx:
        await put_param(tx, RESTORE_KEY, marker)
        version = await bump_version(tx)
    await app.schema_changed(version)  # siblings re-read collections and settings, then see the marker
    return marker


async def read_marker(app: App) -> str:
    return str(await get_param(app.db.executor(), RESTORE_KEY) or "")


async def reload_state(app: App, *, restoring: bool) -> None:
    """Re-read everything this process keeps in memory from the database, as after a restart.

    The restoring process also adds the system tables newer than the backup (a sibling finds them
    there). Realtime clients are disconnected, as PocketBase's restart does: their subscriptions
    and bound auth refer to the data as it was (the SDKs reconnect and resubscribe by themselves).
    """
    if restoring:
        await bootstrap_collections(app)
    app.settings.current = default_settings()  # a backup without a settings row has the defaults
    await app.settings.load()
    app.secret = await load_or_create_secret(app.db)
    app.realtime.disconnect_all()
