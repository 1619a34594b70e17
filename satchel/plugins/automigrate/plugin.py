"""The hook handlers that write one migration file per collection create, update and delete.

Changes made by migrations being applied are not recorded again (`core.migrations.applying`), nor
are updates that change nothing. A file is written only after the change committed (a refused
change leaves none) and is recorded as applied in this database, which has the change already.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from satchel.core.hooks import CollectionEvent
from satchel.core.migrations import applying, mark_applied, new_file_name
from satchel.core.migrations import templates as tpl
from satchel.plugins.automigrate.diff import changed_keys

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.automigrate")


class AutoMigrate:
    def __init__(self, app: App, folder: Path) -> None:
        self.app = app
        self.folder = folder

    async def record(self, name: str, source: str) -> None:
        """Write the file once the change is committed (at once when it already is), and mark it applied
        here: this database has the change already, so the next start must not apply it again."""

        async def committed() -> None:
            path = self.write(name, source)
            await mark_applied(self.app, path.name)

        ex = self.app.db.executor()
        if ex.in_transaction:
            ex.on_commit(committed)
        else:
            await committed()

    def write(self, name: str, source: str) -> Path:
        """Write under a temporary name, then rename: a server starting meanwhile never reads half a file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / new_file_name(self.folder, name)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(source, encoding="utf-8")
        tmp.replace(path)
        log.info("automigrate: wrote %s", path)
        return path

    async def on_create(self, e: CollectionEvent) -> None:
        await e.next()
        if not applying():
            await self.record(f"created_{e.collection.name}", tpl.created(e.collection.to_json()))

    async def on_update(self, e: CollectionEvent) -> None:
        old = self.app.collections.get(e.collection.id)
        before = old.to_json() if old is not None else None
        await e.next()
        if applying() or before is None:
            return
        after = e.collection.to_json()
        old_values, new_values = changed_keys(before, after)
        if new_values or old_values:
            # named for the collection it changed (its former name on a rename), as PocketBase does
            name = f"updated_{before['name']}"
            await self.record(name, tpl.updated(e.collection.id, str(after["name"]), old_values, new_values))

    async def on_delete(self, e: CollectionEvent) -> None:
        before = e.collection.to_json()
        await e.next()
        if not applying():
            await self.record(f"deleted_{e.collection.name}", tpl.deleted(before))


def register(app: App, config: Mapping[str, Any]) -> AutoMigrate:
    """Bind the handlers; `config["dir"]` is the migrations folder (created on the first change)."""
    plugin = AutoMigrate(app, Path(str(config["dir"])))
    app.hooks.on_collection_create.bind(plugin.on_create, id="automigrate")
    app.hooks.on_collection_update.bind(plugin.on_update, id="automigrate")
    app.hooks.on_collection_delete.bind(plugin.on_delete, id="automigrate")
    return plugin
