"""The target side: what it already holds, clearing it, and creating the schema in its dialect.

Tables are created by the same definitions bootstrap and the collections service use (each
field's column, the stores' DDL, the collection's index strings), so types and indexes are the
target dialect's own. Indexes are created before the rows: building one over a filled table sorts
it all at once (in memory with SQLite's temp_store, ~200 MB for 800k rows measured), while
keeping it up to date row by row costs ~10% more time and no memory. Views come last, since a
view's query reads the tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from satchel.core.collections import search, store
from satchel.core.collections.indexes import parse
from satchel.core.collections.model import Collection
from satchel.core.collections.schema_sync import (
    IndexCreateError,
    ViewQueryError,
    create_indexes,
    normalize_view_query,
    save_view,
    view_columns,
)
from satchel.core.collections.system import system_collections
from satchel.core.fields.base import FieldOptionsError
from satchel.core.migrate.errors import MigrationError
from satchel.core.migrate.tables import INTERNAL_TABLES, Plan, TablePlan
from satchel.core.migrate.verify import count
from satchel.core.params import PARAMS_TABLE
from satchel.core.settings import SETTINGS_KEY
from satchel.ports.database import Database, DatabaseError, Executor
from satchel.tools.sql import ir

_DEFAULT_IDS = frozenset(c.id for c in system_collections())
"""The collections a fresh instance starts with: holding only these, and no records, is empty."""


async def describe(target: Database, plan: Plan) -> list[str]:
    """What the target holds that a copy would replace (empty when there is nothing to lose).

    A freshly started instance (its default collections, no records, no saved settings) counts
    as empty: starting a server on the target once before migrating must not require --force.
    """
    ex = target.executor()
    found: list[str] = []
    if await target.table_columns(store.COLLECTIONS_TABLE):
        collections = await _target_collections(ex)
        custom = [c.name for c in collections if c.id not in _DEFAULT_IDS]
        if custom:
            found.append(f"{len(custom)} collection(s) of its own ({', '.join(custom[:10])})")
        for c in collections:
            if not c.is_view and await target.table_columns(c.name) and (n := await count(ex, c.name)):
                found.append(f"{n} record(s) in {c.name}")
        found.extend(await _internal_contents(target, ex, plan))
    else:
        names = [t.name for t in plan.tables] + [v.name for v in plan.views]
        taken = [name for name in names if await target.table_columns(name)]
        if taken:
            found.append(f"tables named like the source's ({', '.join(taken[:10])})")
    return found


async def _internal_contents(target: Database, ex: Executor, plan: Plan) -> list[str]:
    found: list[str] = []
    if await target.table_columns(PARAMS_TABLE):
        settings = await ex.fetch_value(
            ir.Select((ir.col("id"),), ir.Table(PARAMS_TABLE), where=ir.eq(ir.col("id"), ir.Param(SETTINGS_KEY)))
        )
        if settings is not None:
            found.append("saved settings")
    user_data = [name for name, t in plan.plugin_tables.items() if t.user_data]
    for name in [*INTERNAL_TABLES, *user_data]:
        if name not in (PARAMS_TABLE, store.COLLECTIONS_TABLE) and await target.table_columns(name):
            n = await count(ex, name)
            if n:
                found.append(f"{n} row(s) in {name}")
    return found


async def _target_collections(ex: Executor) -> list[Collection]:
    rows = await ex.fetch_all(ir.Select((ir.Star(),), ir.Table(store.COLLECTIONS_TABLE)))
    out: list[Collection] = []
    for row in rows:
        try:
            out.append(store.from_row(row))
        except (FieldOptionsError, KeyError, TypeError, ValueError):  # unreadable: still a table to drop
            out.append(Collection(id=str(row.get("id", "")), name=str(row.get("name", "")), type="base"))
    return out


async def clear(target: Database, tx: Executor, plan: Plan) -> None:
    """Drop whatever the copy is about to create, and the collections the target had before."""
    views: list[str] = [v.name for v in plan.views]
    tables: list[str] = [t.name for t in plan.tables]
    if await target.table_columns(store.COLLECTIONS_TABLE):
        for c in await _target_collections(tx):
            (views if c.is_view else tables).append(c.name)
            await search.drop_index(tx, c)  # SQLite's FTS5 table outlives the records table
    await in_rounds(target, list(dict.fromkeys(views)), lambda name: _drop_view(tx, name))
    for name in dict.fromkeys(tables):
        if await target.table_columns(name):
            await tx.ddl(ir.DropTable(name))


async def _drop_view(tx: Executor, name: str) -> None:
    await tx.ddl(ir.DropView(name))


async def create_tables(tx: Executor, plan: Plan) -> None:
    for table in plan.tables:
        try:
            await tx.ddl(table.create)
        except DatabaseError as exc:
            raise MigrationError(f"{table.name}: the target refused to create the table ({exc})") from exc


async def create_indexes_of(tx: Executor, table: TablePlan) -> None:
    # the driver's reason may quote the duplicated values (a token key): name the indexes only
    try:
        for index in table.indexes:
            await tx.ddl(index)
        if table.collection is not None:
            await create_indexes(tx, table.collection)
    except IndexCreateError as exc:
        names = [table.collection.indexes[int(i)] for i in exc.errors] if table.collection is not None else []
        listed = ", ".join(parse(sql).name or sql[:40] for sql in names)
        raise MigrationError(f"{table.name}: the target could not create the index(es) {listed}") from exc
    except DatabaseError as exc:
        raise MigrationError(f"{table.name}: the target could not create its indexes") from exc


async def create_views(target: Database, tx: Executor, views: Sequence[Collection]) -> None:
    """Create every view, retrying those that read a view not created yet."""

    async def create(view: Collection) -> None:
        body = normalize_view_query(view.view_query)
        await save_view(tx, view.name, view.view_query, await view_columns(target, tx, body))

    by_name = {v.name: v for v in views}
    failed = await in_rounds(target, list(by_name), lambda name: create(by_name[name]))
    if failed:
        name, exc = failed[0]
        raise MigrationError(f"view {name}: its query does not run on the target ({exc})")


async def in_rounds(
    target: Database, names: list[str], action: Callable[[str], Awaitable[Any]]
) -> list[tuple[str, Exception]]:
    """Run `action` for every name, again and again while some fail and others succeed.

    Called inside the copy's transaction, each attempt nests as a savepoint: a failed statement
    is undone alone and does not poison the whole transaction (as it would on PostgreSQL).
    Returns what still failed.
    """
    pending = names
    while pending:
        failed: list[tuple[str, Exception]] = []
        for name in pending:
            try:
                async with target.transaction():
                    await action(name)
            except (DatabaseError, ViewQueryError) as exc:
                failed.append((name, exc))
        if len(failed) == len(pending):
            return failed
        pending = [name for name, _ in failed]
    return []
