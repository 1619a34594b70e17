"""Applying a collection change to its table or view, inside the caller's transaction.

Fields are matched by id: a kept id with a new name is a column rename (data survives), an id
that disappeared is a dropped column, a new id is a new column (so a field re-created with another
type starts empty, as in PocketBase). Indexes are dropped first and recreated last because SQLite
refuses to drop an indexed column. A field switching between one and many values is rewritten in
place (single `x` -> `["x"]`, many -> the last one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from satchel.core.collections import search
from satchel.core.collections.indexes import IndexError_, SplitError, parse, split_top_level, to_ddl
from satchel.core.collections.model import Collection
from satchel.core.collections.scaffolds import add_field
from satchel.core.errors import ErrorTree, FieldError
from satchel.core.fields.base import Field
from satchel.core.fields.bool import BoolField
from satchel.core.fields.json import JSONField
from satchel.core.fields.number import NumberField
from satchel.core.fields.relation import RelationField
from satchel.core.fields.text import TextField
from satchel.ports.database import Database, DatabaseError, Executor
from satchel.tools.ids import random_string
from satchel.tools.sql import ir


class ColumnChangeError(DatabaseError):
    """A failed column change, worded as PocketBase words it (`failed to drop column x - ...`)."""


async def _column_op(ex: Executor, d: ir.DDL, what: str) -> None:
    try:
        await ex.ddl(d)
    except DatabaseError as exc:
        raise ColumnChangeError(f"{what} - {sqlite_error_text(exc)}") from exc


class IndexCreateError(Exception):
    """Indexes that could not be created, keyed by position (PocketBase reports them as validation errors)."""

    def __init__(self, errors: ErrorTree) -> None:
        super().__init__("failed to create indexes")
        self.errors = errors


def sqlite_error_text(exc: Exception) -> str:
    """A driver error as PocketBase's SQLite driver words it (`SQL logic error: ... (1)`)."""
    msg = str(exc)
    if msg.startswith("SQL logic error") or not isinstance(exc, DatabaseError) or isinstance(exc, ColumnChangeError):
        return msg
    return f"SQL logic error: {msg} (1)"


async def create_indexes(ex: Executor, c: Collection) -> None:
    if c.is_view:
        return
    errors: ErrorTree = {}
    columns = {f.name.lower() for f in c.fields}
    for i, sql in enumerate(c.indexes):
        idx = parse(sql).with_table(c.name)
        if not idx.is_valid:
            errors[str(i)] = FieldError("validation_invalid_index_expression", "Invalid CREATE INDEX expression.")
            continue
        missing = next((col.name for col in idx.columns if col.name.lower() not in columns), None)
        if missing is not None and "(" not in missing and " " not in missing:
            # SQLite would read an unknown double-quoted name as a string literal: say what it means
            errors[str(i)] = _index_failure(idx.name, f"SQL logic error: no such column: {missing} (1)")
            continue
        try:
            await ex.ddl(to_ddl(idx, c.name))
        except IndexError_ as exc:
            errors[str(i)] = _index_failure(idx.name, str(exc))
        except DatabaseError as exc:
            errors[str(i)] = _index_failure(idx.name, sqlite_error_text(exc))
    if errors:
        raise IndexCreateError(errors)
    await search.create_index(ex, c)


def _index_failure(name: str, reason: str) -> FieldError:
    return FieldError("validation_invalid_index_expression", f"Failed to create index {name} - {reason}.")


async def drop_indexes(ex: Executor, c: Collection) -> None:
    if c.is_view:
        return
    await search.drop_index(ex, c)
    for sql in c.indexes:
        name = parse(sql).name
        if name:
            await ex.ddl(ir.DropIndex(name))


async def create_table(ex: Executor, c: Collection) -> None:
    """Create the records table (or nothing for a view: see `save_view`) and its indexes."""
    if c.is_view:
        return
    await ex.ddl(ir.CreateTable(c.name, tuple(f.column() for f in c.fields)))
    await create_indexes(ex, c)


async def drop_table(ex: Executor, c: Collection) -> None:
    await search.drop_index(ex, c)
    await ex.ddl(ir.DropView(c.name) if c.is_view else ir.DropTable(c.name))


async def save_view(ex: Executor, name: str, query: str, columns: list[str]) -> None:
    """(Re)create a view over the superuser's SELECT, with `id` always exposed as TEXT."""
    await ex.ddl(ir.DropView(name))
    await ex.ddl(ir.CreateView(name, wrap_view_query(query, columns)))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def wrap_view_query(query: str, columns: list[str]) -> str:
    """The query wrapped in an outer SELECT (one statement only; ids compare as text)."""
    body = query.strip().strip(";")
    cols = ", ".join(f"CAST({_quote(c)} AS TEXT) AS {_quote(c)}" if c.lower() == "id" else _quote(c) for c in columns)
    # the body is superuser-written SQL, exactly as in PocketBase (CreateView documents why)
    return f"SELECT {cols or '*'} FROM ({body}) AS _view"  # noqa: S608 (PostgreSQL wants the alias)


async def view_columns(db: Database, ex: Executor, query: str) -> list[str]:
    """The column names of a SELECT, read from a throw-away view inside the current transaction."""
    tmp = "_temp_" + random_string(6)
    await ex.ddl(ir.CreateView(tmp, f"SELECT * FROM ({query.strip().strip(';')}) AS _view"))  # noqa: S608
    try:
        return await db.table_columns(tmp)
    finally:
        await ex.ddl(ir.DropView(tmp))


def _changed(old: Collection, new: Collection) -> bool:
    return (
        old.name.lower() != new.name.lower()
        or [f.to_json() for f in old.fields] != [f.to_json() for f in new.fields]
        or old.indexes != new.indexes
        or search.search_fields(old) != search.search_fields(new)
    )


async def sync_table(ex: Executor, old: Collection, new: Collection) -> None:
    """Turn `old`'s table into `new`'s (both non-view collections)."""
    indexes_changed = _changed(old, new)
    if indexes_changed:
        await drop_indexes(ex, old)
    if old.name.lower() != new.name.lower():
        await ex.ddl(ir.RenameTable(old.name, new.name))
    table = new.name
    new_ids = {f.id for f in new.fields}
    for f in old.fields:
        if f.id not in new_ids:
            await _column_op(ex, ir.DropColumn(table, f.name), f"failed to drop column {f.name}")
    old_by_id = {f.id: f for f in old.fields}
    # temporary names first, so swapped names (a, b -> b, a) never collide
    pending: list[tuple[str, str]] = []
    for f in new.fields:
        before = old_by_id.get(f.id)
        if before is None:
            tmp = f.name + random_string(5)
            column = ir.ColumnDef(**{**_column_kwargs(f.column()), "name": tmp})
            await _column_op(ex, ir.AddColumn(table, column), f"failed to add column {f.name}")
            pending.append((tmp, f.name))
        elif before.name != f.name:
            tmp = f.name + random_string(5)
            await _column_op(ex, ir.RenameColumn(table, before.name, tmp), f"failed to rename column {before.name}")
            pending.append((tmp, f.name))
    for tmp, final in pending:
        await ex.ddl(ir.RenameColumn(table, tmp, final))
    await _convert_multiplicity(ex, old, new)
    if indexes_changed:
        await create_indexes(ex, new)


def _column_kwargs(col: ir.ColumnDef) -> dict[str, Any]:
    return {
        "name": col.name,
        "type": col.type,
        "not_null": col.not_null,
        "default": col.default,
        "primary_key": col.primary_key,
    }


async def _convert_multiplicity(ex: Executor, old: Collection, new: Collection) -> None:
    for f in new.fields:
        before = old.field_by_id(f.id)
        was_multiple = before.is_multiple if before is not None else False
        if was_multiple == f.is_multiple:
            continue
        tmp = "_" + f.name + random_string(5)
        await ex.ddl(ir.RenameColumn(new.name, f.name, tmp))
        await ex.ddl(ir.AddColumn(new.name, f.column()))
        rows = await ex.fetch_all(
            ir.Select((ir.Alias(ir.InsertionOrder(), "rowid"), ir.Alias(ir.col(tmp), "v")), ir.Table(new.name))
        )
        convert = _to_multiple if f.is_multiple else _to_single
        for row in rows:
            where = ir.eq(ir.InsertionOrder(), ir.Param(row["rowid"]))
            await ex.execute(ir.Update(new.name, {f.name: ir.Param(convert(row["v"]))}, where))
        await ex.ddl(ir.DropColumn(new.name, tmp))


def _json_array(raw: Any) -> list[Any] | None:
    if not isinstance(raw, str):
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def _to_multiple(raw: Any) -> str:
    if raw is None or raw == "":
        return "[]"
    if _json_array(raw) is not None:
        return str(raw)
    return json.dumps([raw], separators=(",", ":"))


def _to_single(raw: Any) -> Any:
    if raw is None or raw in ("", "[]"):
        return ""
    items = _json_array(raw)
    if items is None:
        return raw
    if not items or items[-1] is None:
        return ""
    last = items[-1]
    return last if isinstance(last, str | int | float) else json.dumps(last, separators=(",", ":"))


# ----------------------------------------------------------------------------- view fields
class ViewQueryError(ValueError):
    """A view query PocketBase would reject (message as PocketBase words it).

    `fields` holds what could be derived before the failure (PocketBase validates those).
    """

    def __init__(self, message: str, fields: list[Field] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or []


_JOIN_RE = re.compile(
    r"\s+(full\s+outer\s+join|left\s+outer\s+join|right\s+outer\s+join|full\s+join|cross\s+join|"
    r"inner\s+join|outer\s+join|left\s+join|right\s+join|join)\s+?",
    re.IGNORECASE | re.MULTILINE,
)
_DISCARD_RE = re.compile(r"\s+(where|group\s+by|having|order|limit|with)\s+?", re.IGNORECASE | re.MULTILINE)
_COMMENT_RE = re.compile(r"(/\*[\s\S]*?\*/)|(--.+$)", re.MULTILINE)
_CAST_RE = re.compile(r"^cast\s*\(.*\s+as\s+(\w+)\s*\)$", re.IGNORECASE | re.DOTALL)
WILDCARD_ERROR = (
    "wildcard columns (*) are not supported - manually type the collection field names you want the view query to have"
)
MISSING_ID_ERROR = "missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you don't have one)"


@dataclass(frozen=True, slots=True)
class _Ident:
    original: str
    alias: str


def normalize_view_query(query: str) -> str:
    """Trimmed query; raises for more than one statement."""
    body = query.strip().strip(";")
    try:
        parts = split_top_level(body, ";")
    except SplitError as exc:
        raise ViewQueryError(str(exc)) from exc
    if len(parts) > 1:
        raise ViewQueryError("multiple statements are not supported")
    return body


def _trim_ident(raw: str, extra: str = "") -> str:
    return ".".join(p.strip('`"[];' + extra) for p in raw.split("."))


def _ident(parts: list[str]) -> _Ident:
    if len(parts) == 3:
        if parts[1].lower() != "as":
            raise ViewQueryError(f'invalid identifier part - expected "as", got {parts[1]}')
        original, alias = parts[0], parts[2]
    elif len(parts) == 2:
        original, alias = parts
    elif len(parts) == 1:
        original, alias = parts[0], parts[0].split(".")[-1]
    else:
        raise ViewQueryError(f"invalid identifier parts {parts}")
    return _Ident(_trim_ident(original), _trim_ident(alias, "'"))


def _identifiers(raw: str) -> list[_Ident]:
    return [_ident(split_top_level(item, " \n\t")) for item in split_top_level(raw, ",")]


def parse_view_identifiers(query: str) -> tuple[list[_Ident], list[_Ident]]:
    """(columns, tables) of a SELECT, found the loose way PocketBase finds them."""
    text = _COMMENT_RE.sub(" ", query.strip().strip(";"))
    text = _DISCARD_RE.sub(" __pb_discard__ ", _JOIN_RE.sub(" __pb_join__ ", text))
    parts: dict[str, list[str]] = {"select": [], "from": [], "join": []}
    active: list[str] | None = None
    part, skip = "", False
    try:
        tokens = split_top_level(text, ", \n\t", keep_separator=True)
        for token in tokens:
            word = token.strip().lower()
            if word in ("select", "from"):
                skip, part, active = False, word, parts[word]
            elif word == "distinct":
                continue
            elif word == "__pb_join__":
                skip = False
                if part == "join":
                    parts["join"].append(",")
                part, active = "join", parts["join"]
            elif word == "__pb_discard__":
                skip = True
            else:
                if part == "join" and word == "on":
                    skip = True
                if not skip and active is not None:
                    active.append(" " + token)
        columns = _identifiers("".join(parts["select"]))
        tables = _identifiers("".join(parts["from"])) + _identifiers("".join(parts["join"]))
    except SplitError as exc:
        raise ViewQueryError(str(exc)) from exc
    return columns, tables


def view_id_field() -> Field:
    return TextField(name="id", system=True, required=True, primary_key=True, pattern="^[a-z0-9]+$")


def _default_field(name: str) -> Field:
    return view_id_field() if name == "id" else JSONField(name=name, max_size=1)


def _cast_field(original: str, alias: str) -> Field | None:
    lower = original.lower()
    if lower.startswith("count("):
        return NumberField(name=alias, only_int=True)
    if lower.startswith("total("):
        return NumberField(name=alias)
    m = _CAST_RE.match(lower)
    kind = m.group(1) if m else ""
    if kind in ("real", "decimal", "numeric"):
        return NumberField(name=alias)
    if kind in ("int", "integer"):
        return NumberField(name=alias, only_int=True)
    if kind == "text":
        return TextField(name=alias)
    if kind in ("boolean", "bool"):
        return BoolField(name=alias)
    return None


def _field_ci(c: Collection, name: str) -> Field | None:
    return next((f for f in c.fields if f.name.lower() == name.lower()), None)


def suggest_view_fields(query: str, find: Callable[[str], Collection | None]) -> dict[str, Field]:
    """Field definitions for the query's columns, by alias (source fields are cloned)."""
    columns, tables = parse_view_identifiers(query)
    sources: dict[str, Collection] = {}
    for t in tables:
        c = find(t.original) if "(" not in t.alias else None
        if c is not None and c.name == t.original:
            sources[t.alias] = c
    main = tables[0].alias if tables else ""
    out: dict[str, Field] = {}
    for col in columns:
        if col.alias == "*":
            raise ViewQueryError(WILDCARD_ERROR)
        if col.alias == "id":
            out[col.alias] = view_id_field()
            continue
        cast_field = _cast_field(col.original, col.alias)
        if cast_field is not None:
            out[col.alias] = cast_field
            continue
        pieces = col.original.split(".")
        field_name, source = (pieces[1], sources.get(pieces[0])) if len(pieces) == 2 else (pieces[0], sources.get(main))
        found = _field_ci(source, field_name) if source is not None else None
        if source is None or found is None:
            out[col.alias] = _default_field(col.alias)
        elif field_name.lower() == "id":
            out[col.alias] = RelationField(name=col.alias, max_select=1, collection_id=source.id)
        else:
            # a view reads the stored column: an encrypted field shows there as its envelope, never opened
            clone = type(found).from_json(
                {**found.to_json(), "id": "_clone_" + random_string(4), "name": col.alias, "encrypted": False}
            )
            out[col.alias] = clone
    return out


def keep_field_ids(derived: list[Field], given: list[Field]) -> None:
    """A view's re-derived field keeps the id of the same-named field of the same type it had (or was
    given): ids stay stable across saves, and a migration replaying a view reproduces them."""
    ids = {(f.name, f.type): f.id for f in given if f.id}
    for f in derived:
        f.id = ids.get((f.name, f.type), f.id)


async def derive_view_fields(
    db: Database,
    ex: Executor,
    query: str,
    find: Callable[[str], Collection | None],
    *,
    check_sample: bool = False,
) -> tuple[list[Field], list[str]]:
    """The view's fields (in the view's column order) and its column names; raises ViewQueryError.

    With `check_sample`, the first rows are read too, as PocketBase's dry run does, to catch
    queries whose ids are empty or repeated.
    """
    body = normalize_view_query(query)
    suggested = suggest_view_fields(body, find)
    try:
        columns = await view_columns(db, ex, body)
    except DatabaseError as exc:
        raise ViewQueryError(sqlite_error_text(exc)) from exc
    fields: list[Field] = []
    for name in columns:
        add_field(fields, suggested.get(name) or _default_field(name))
    if "id" not in columns:
        raise ViewQueryError(MISSING_ID_ERROR, fields)
    if check_sample:
        try:
            await _check_sample(ex, body, columns)
        except ViewQueryError as exc:
            raise ViewQueryError(str(exc), fields) from exc
    return fields, columns


async def _check_sample(ex: Executor, body: str, columns: list[str]) -> None:
    tmp = "_temp_" + random_string(6)
    await ex.ddl(ir.CreateView(tmp, wrap_view_query(body, columns)))
    try:
        rows = await ex.fetch_all(ir.Select((ir.col("id"),), ir.Table(tmp), limit=10))
    except DatabaseError as exc:
        raise ViewQueryError("failed to retrieve query records: " + sqlite_error_text(exc)) from exc
    finally:
        await ex.ddl(ir.DropView(tmp))
    ids = [r["id"] for r in rows]
    if any(not i for i in ids):
        raise ViewQueryError("the query could return records with empty or invalid ids")
    if len(set(ids)) != len(ids):
        raise ViewQueryError("the query could return records with non-unique ids")
