"""Which stored record owns a file that a view collection shows.

A view stores nothing: its file columns repeat the file names of the record they were selected
from, and the bytes live under that record's directory. Like PocketBase, the source is found by
following the view query's column back to its collection (through views of views, a few levels
deep) and looking the file name up there.
"""

from __future__ import annotations

from collections.abc import Callable

from satchel.core.collections.model import Collection
from satchel.core.collections.schema_sync import ViewQueryError, parse_view_identifiers
from satchel.core.fields.file import FileField
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.ports.database import Executor
from satchel.tools.sql import ir

MAX_DEPTH = 5
"""Views of views followed at most this deep (a cycle cannot be saved, but a bound is cheap)."""

Finder = Callable[[str], Collection | None]


def _column_source(view: Collection, field_name: str, find: Finder) -> tuple[Collection, FileField] | None:
    """The collection and file field that the view's column `field_name` is selected from."""
    try:
        columns, tables = parse_view_identifiers(view.view_query)
    except ViewQueryError:
        return None
    sources: dict[str, Collection] = {}
    for table in tables:
        found = find(table.original) if "(" not in table.alias else None
        if found is not None and found.name == table.original:
            sources[table.alias] = found
    main = tables[0].alias if tables else ""
    for col in columns:
        if col.alias != field_name:
            continue
        pieces = col.original.split(".")
        name, source = (pieces[1], sources.get(pieces[0])) if len(pieces) == 2 else (pieces[0], sources.get(main))
        if source is None:
            return None
        field = next((f for f in source.fields if f.name.lower() == name.lower()), None)
        return (source, field) if isinstance(field, FileField) else None
    return None


def source_field(view: Collection, field_name: str, find: Finder) -> tuple[Collection, FileField] | None:
    """The stored (non-view) collection and field behind a view's file column."""
    current, name = view, field_name
    for _ in range(MAX_DEPTH):
        found = _column_source(current, name, find)
        if found is None:
            return None
        if not found[0].is_view:
            return found
        current, name = found[0], found[1].name
    return None


async def source_record(ex: Executor, view: Collection, field_name: str, filename: str, find: Finder) -> Record | None:
    """The stored record whose `field_name` (as the view names it) holds `filename`."""
    found = source_field(view, field_name, find)
    if found is None:
        return None
    collection, field = found
    column = ir.col(collection.name, field.name)
    where: ir.Expr
    if field.is_multiple:
        alias = "__file_je"
        where = ir.Exists(
            ir.Select(
                (ir.Raw("1"),), ir.JsonEach(column, alias), where=ir.eq(ir.col(alias, "value"), ir.Param(filename))
            )
        )
    else:
        where = ir.eq(column, ir.Param(filename))
    row = await ex.fetch_one(ir.Select((ir.Star(collection.name),), ir.Table(collection.name), where=where, limit=1))
    return storage.record_from_row(collection, row) if row is not None else None
