"""One migration, start to finish: all of it lands on the target, or none of it does.

The target's part runs in one transaction: clear what was there, create the tables and their
indexes, stream the rows, add the views, verify against the source, commit. Any failure (a refused row, a
view whose query does not run on the target, a count or checksum mismatch) rolls all of it back,
so the target is left as it was and a later run (with --force if it held data) starts afresh.
Files are staged beside the target's storage first and swapped in after the commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from satchel.core.files.storages import STORAGE_DIR
from satchel.core.migrate import files
from satchel.core.migrate.errors import MigrationError, TargetNotEmptyError, VerificationError
from satchel.core.migrate.rows import DEFAULT_BATCH, copy_table
from satchel.core.migrate.tables import Plan, PluginTable, read_plan
from satchel.core.migrate.target import clear, create_indexes_of, create_tables, create_views, describe
from satchel.core.migrate.verify import TableCheck, check_all, count
from satchel.ports.database import Database, DatabaseError, Executor


@dataclass(frozen=True, slots=True)
class Step:
    """Where a migration is: `done` of `total` in the current table (or files), and overall."""

    phase: Literal["rows", "files", "verify"]
    name: str
    done: int
    total: int
    overall_done: int
    overall_total: int


Progress = Callable[[Step], None]


@dataclass(frozen=True, slots=True)
class StorageCopy:
    """Local files to carry over: `<source_dir>/storage` becomes `<target_dir>/storage`."""

    source_dir: Path
    target_dir: Path


@dataclass(slots=True)
class Report:
    checks: list[TableCheck]
    notes: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    """What the target held before (only with force)."""
    files: int | None = None
    """Files copied, or None when no storage tree was copied."""


async def migrate(
    source: Database,
    target: Database,
    *,
    force: bool = False,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    storage: StorageCopy | None = None,
    plugin_tables: Mapping[str, PluginTable] | None = None,
) -> Report:
    """Copy the instance in `source` into `target`; raises MigrationError (target unchanged)."""
    if batch_size < 1:
        raise MigrationError("the batch size must be at least 1")
    plan, existing = await _inspect(source, target, storage, plugin_tables)
    if existing and not force:
        raise TargetNotEmptyError(existing)
    report = Report(checks=[], notes=list(plan.notes), replaced=existing)
    staged: Path | None = None
    if storage is not None:
        staged, report.files = await _stage(storage, progress)
    committed = False
    try:
        report.checks = await _fill(source, target, plan, batch_size, progress)
        committed = True
    finally:
        if staged is not None and not committed:
            await asyncio.to_thread(files.discard, staged)
    if staged is not None and storage is not None:
        await asyncio.to_thread(files.swap_in, staged, storage.target_dir)
    return report


async def _inspect(
    source: Database, target: Database, storage: StorageCopy | None, plugin_tables: Mapping[str, PluginTable] | None
) -> tuple[Plan, list[str]]:
    """The plan read from the source, and what the target holds that the copy would replace."""
    try:
        plan = await read_plan(source, plugin_tables)
    except DatabaseError as exc:
        raise MigrationError(f"the source cannot be read: {exc}") from exc
    try:
        existing = await describe(target, plan)
    except DatabaseError as exc:
        raise MigrationError(f"the target cannot be read: {exc}") from exc
    if storage is not None:
        held = await asyncio.to_thread(files.list_files, storage.target_dir / STORAGE_DIR)
        if held:
            existing.append(f"{len(held)} file(s) in {storage.target_dir / STORAGE_DIR}")
    return plan, existing


async def _fill(
    source: Database, target: Database, plan: Plan, batch_size: int, progress: Progress | None
) -> list[TableCheck]:
    """The target's one transaction; returns the checks it committed with."""
    try:
        async with target.transaction() as tx:
            await clear(target, tx, plan)
            await create_tables(tx, plan)
            for table in plan.tables:
                await create_indexes_of(tx, table)
            await _copy_rows(source, tx, plan, batch_size, progress)
            await create_views(target, tx, plan.views)
            if progress is not None:
                progress(Step("verify", "", 0, 1, 0, 1))
            checks = await check_all(source.executor(), tx, plan, batch_size)
            if not all(c.ok for c in checks):
                raise VerificationError(checks)
    except DatabaseError as exc:
        raise MigrationError(f"the target failed: {exc}") from exc
    return checks


async def _stage(storage: StorageCopy, progress: Progress | None) -> tuple[Path, int]:
    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(Step("files", STORAGE_DIR, done, total, done, total))

    return await asyncio.to_thread(files.stage, storage.source_dir, storage.target_dir, report)


async def _copy_rows(source: Database, tx: Executor, plan: Plan, batch_size: int, progress: Progress | None) -> None:
    tables = [t for t in plan.tables if t.source_columns]
    totals = {t.name: await count(source.executor(), t.name) for t in tables}
    overall_total = sum(totals.values())
    overall = 0
    for table in tables:
        done = 0

        def on_page(n: int, name: str = table.name) -> None:
            nonlocal done, overall
            done += n
            overall += n
            if progress is not None:
                progress(Step("rows", name, done, totals[name], overall, overall_total))

        if progress is not None:
            progress(Step("rows", table.name, 0, totals[table.name], overall, overall_total))
        await copy_table(source, tx, table.name, table.copied_columns, batch_size, on_page)
