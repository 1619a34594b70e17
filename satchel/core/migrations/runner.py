"""Applying and reverting migration files, each in its own transaction.

A file's `up` (or `down`) and its `_migrations` row commit together or not at all. The transaction
first claims the schema version (`app.schema.claim`): on PostgreSQL write transactions already take
one cluster-wide lock, and the claim makes a node that waited for another node's migration see it
(its copy is then stale: it reloads and finds the file applied). So `satchel serve` on several nodes,
or `--workers N`, applies each file once.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from satchel.core.collections.store import load_all
from satchel.core.errors import SatchelError
from satchel.core.migrations import store
from satchel.core.migrations.files import MigrationFile, MigrationFileError, Step, discover
from satchel.core.schema_events import SchemaConflict
from satchel.tools.jsonutil import dumps

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.migrations")

ATTEMPTS = 5
"""How many times a file is tried again after another node changed the schema first."""

_applying: contextvars.ContextVar[bool] = contextvars.ContextVar("satchel_migrations_applying", default=False)


def applying() -> bool:
    """True while a migration's `up` or `down` runs in this task: its collection changes are not new
    changes to record (automigrate skips them)."""
    return _applying.get()


class SchemaMigrationError(Exception):
    """A migration could not be applied or reverted; nothing of that file was kept."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"migration {file} failed: {message}")
        self.file = file


def describe(exc: BaseException) -> str:
    """What went wrong, with the field errors of a rejected collection change."""
    if isinstance(exc, SatchelError):
        details = f" {dumps(exc.data).decode()}" if exc.data else ""
        return f"{exc.message}{details}"
    return f"{type(exc).__name__}: {exc}"


async def _ensure_table(app: App) -> None:
    if await app.db.table_columns(store.MIGRATIONS_TABLE):
        return
    async with app.db.transaction() as tx:
        await store.ensure_table(app.db, tx)


async def _reload(app: App) -> None:
    """Undo what a rolled-back migration left in this process's copy of collections and settings."""
    app.collections.set_all(await load_all(app.db.executor(), app.secrets))
    await app.settings.load()


async def _step(app: App, file: str, step: Step, should_run: Callable[[bool], bool], done: bool) -> bool:
    """Run `step` for `file` in one transaction, unless the file's state (read under the lock) says not.
    `done` is what to record: True after up (a row), False after down (no row)."""
    for _attempt in range(ATTEMPTS):
        await app.schema.refresh()
        token = _applying.set(True)
        try:
            async with app.db.transaction() as tx:
                await app.schema.claim(tx)  # first: the lock other nodes wait on
                if not should_run(await store.is_applied(tx, file)):
                    return False
                await step(app)
                await (store.record(tx, file) if done else store.forget(tx, file))
            return True
        except SchemaConflict:
            log.info("schema changed by another node while applying %s: trying again", file)
            await _reload(app)
        except SchemaMigrationError:
            await _reload(app)
            raise
        except Exception as exc:
            await _reload(app)
            raise SchemaMigrationError(file, describe(exc)) from exc
        finally:
            _applying.reset(token)
    raise SchemaMigrationError(file, "the schema kept changing on another node; try again")


def _load(f: MigrationFile) -> tuple[Step, Step | None]:
    try:
        return f.load()
    except MigrationFileError as exc:
        raise SchemaMigrationError(f.name, str(exc)) from exc


async def run_pending(app: App, folder: Path) -> list[str]:
    """Apply the files of `folder` not applied yet, in order; returns the names applied here.

    Stops at the first failure (raising SchemaMigrationError): that file left nothing behind, the ones
    before it stay applied.
    """
    files = discover(folder)
    if not files:
        return []
    await _ensure_table(app)
    done = set(await store.applied(app.db.executor()))
    out: list[str] = []
    for f in files:
        if f.name in done:
            continue
        up, _ = _load(f)
        if await _step(app, f.name, up, lambda applied: not applied, done=True):
            out.append(f.name)
            log.info("applied migration %s", f.name)
    return out


async def revert(app: App, folder: Path, count: int = 1) -> list[str]:
    """Revert the last `count` applied files (most recent first) with their `down`; returns their names."""
    await _ensure_table(app)
    # PocketBase's rows (its .go/.js files, in a copied database) are not ours to revert
    history = [name for name in await store.applied(app.db.executor()) if name.endswith(".py")]
    present = {f.name: f for f in discover(folder)}
    out: list[str] = []
    for name in list(reversed(history))[: max(count, 0)]:
        f = present.get(name)
        if f is None:
            raise SchemaMigrationError(
                name, f"the file is not in {folder} (run `satchel migrate history-sync` to forget it)"
            )
        _, down = _load(f)
        if down is None:
            raise SchemaMigrationError(name, "it defines no down(app) and cannot be reverted")
        if await _step(app, name, down, lambda applied: applied, done=False):
            out.append(name)
            log.info("reverted migration %s", name)
    return out


async def mark_applied(app: App, file: str) -> None:
    """Record `file` as applied without running it: the database already has its change (automigrate)."""
    await _ensure_table(app)
    async with app.db.transaction() as tx:
        if not await store.is_applied(tx, file):
            await store.record(tx, file)


async def history_sync(app: App, folder: Path) -> list[str]:
    """Forget applied Python migrations whose files are gone; returns their names.

    Rows of other kinds (PocketBase's `.go`/`.js` migrations in a copied database) are not ours to judge.
    """
    await _ensure_table(app)
    present = {f.name for f in discover(folder)}
    gone: list[str] = []
    async with app.db.transaction() as tx:
        for name in await store.applied(tx):
            if name.endswith(".py") and name not in present:
                await store.forget(tx, name)
                gone.append(name)
    return gone
