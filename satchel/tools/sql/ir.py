"""Dialect-neutral SQL tree.

Everything Satchel sends to a database is built from these nodes and turned into text by a
dialect compiler. Values only ever enter as `Param` (a bound parameter); identifiers are
checked against a strict pattern when compiled; operators and functions come from closed sets.
That is what makes "user filter strings never reach SQL text" true by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

BinaryOp = Literal[
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "IS",
    "IS NOT",
    "AND",
    "OR",
    "+",
    "-",
    "*",
    "/",
    "||",
    "LIKE",
    "NOT LIKE",
]


class Expr:
    """Base of every expression node (no behaviour: dialects dispatch on the type)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Ident(Expr):
    """A possibly qualified identifier (`"t"."col"`); each part is validated at compile time."""

    parts: tuple[str, ...]

    @staticmethod
    def of(*parts: str) -> Ident:
        return Ident(tuple(parts))


@dataclass(frozen=True, slots=True)
class Star(Expr):
    table: str | None = None


@dataclass(frozen=True, slots=True)
class Param(Expr):
    value: Any


@dataclass(frozen=True, slots=True)
class Slot(Expr):
    """A parameter of a prepared statement, supplied by position when it runs.

    Lets hot statements (fetch by id) be compiled once and reused with new values.
    """

    index: int


@dataclass(frozen=True, slots=True)
class Null(Expr):
    pass


NULL = Null()


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    op: BinaryOp
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True)
class Neg(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True)
class Positive(Expr):
    """`+operand`: the operand's value without its column affinity or index use.

    A column read this way compares like a bound parameter, which is what lets a batched probe
    read per-row values from a `Values` table and keep the outcome of the one-parameter probe.
    """

    operand: Expr


@dataclass(frozen=True, slots=True)
class Func(Expr):
    """A call of a function from the dialect's allow-list."""

    name: str
    args: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class Like(Expr):
    """`expr [NOT] LIKE pattern ESCAPE '\\'` (case-insensitive for ASCII on SQLite)."""

    operand: Expr
    pattern: Expr
    negate: bool = False


@dataclass(frozen=True, slots=True)
class InList(Expr):
    operand: Expr
    values: tuple[Expr, ...]
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Case(Expr):
    whens: tuple[tuple[Expr, Expr], ...]
    default: Expr | None = None


@dataclass(frozen=True, slots=True)
class Cast(Expr):
    operand: Expr
    type: Literal["TEXT", "REAL", "INTEGER", "NUMERIC"]


@dataclass(frozen=True, slots=True)
class Exists(Expr):
    query: Select
    negate: bool = False


@dataclass(frozen=True, slots=True)
class InSelect(Expr):
    operand: Expr
    query: Select
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Subquery(Expr):
    query: Select


@dataclass(frozen=True, slots=True)
class JsonExtract(Expr):
    """The JSON value at `path` inside `operand` (SQL value: text/number/null, arrays as JSON text)."""

    operand: Expr
    path: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class JsonArrayLength(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True)
class JsonValid(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True)
class JsonArrayOf(Expr):
    """Normalises a column holding either a JSON array or a scalar into a JSON array."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class JsonValue(Expr):
    """The value at `path` of a column holding JSON or plain text (plain text is its own JSON string).

    PocketBase's `json` fields and `json.path` filters read this way; each dialect renders it with
    its own JSON functions (SQLite: JSON_EXTRACT with a JSON_VALID fallback; PostgreSQL: jsonb).
    """

    operand: Expr
    path: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class ArrayLength(Expr):
    """Items of a multi-valued column: a JSON array's length, a plain value counts one, '' and NULL none."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class InsertionOrder(Expr):
    """The order rows were inserted in (`table`: the alias to qualify it with).

    SQLite's implicit `rowid`; on PostgreSQL a hidden identity column every table gets at creation
    and no row read with `*` shows. Default sorts and tie-breaks use it, as PocketBase does.
    """

    table: str | None = None


@dataclass(frozen=True, slots=True)
class TextSearch(Expr):
    """Whether the row's `columns` of `table` (an alias) meet a full-text `query` (the client's text).

    `index` names the collection's search index when `table` is the stored table, so the dialect
    can answer from it; None when `table` is a one-row set of values (a record checked before
    it is stored, a realtime event), which the dialect matches without the index. `indexed` are
    every column the index covers, in index order (PostgreSQL's index is over all of them).
    The query text is only ever bound as a parameter (after `satchel.tools.textsearch` reads it).
    """

    table: str
    columns: tuple[str, ...]
    query: str
    index: str | None
    indexed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Raw(Expr):
    """A fixed SQL fragment written in Satchel's own source, never built from input.

    Only `satchel.tools.sql` constants may use it; the compiler refuses anything but
    the whitelisted fragments so that a careless caller cannot smuggle text in. Every dialect
    renders each of them with the same meaning (`rowid` is `InsertionOrder()`).
    """

    sql: Literal["1", "0", "CURRENT_TIMESTAMP", "RANDOM()", "rowid", "COUNT(*)"]


# ---------------------------------------------------------------- sources
@dataclass(frozen=True, slots=True)
class Table:
    name: str
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class JsonEach:
    """Table-valued expansion of a JSON array (or a scalar) into rows with a `value` column."""

    operand: Expr
    alias: str


@dataclass(frozen=True, slots=True)
class SubquerySource:
    query: Select
    alias: str


@dataclass(frozen=True, slots=True)
class Values:
    """Literal rows as a table: `(VALUES (...), ...)` with its columns named `columns`.

    Every row has one expression per column; a batched probe binds one row per request checked.
    """

    rows: tuple[tuple[Expr, ...], ...]
    columns: tuple[str, ...]
    alias: str


Source = Table | JsonEach | SubquerySource | Values


@dataclass(frozen=True, slots=True)
class Join:
    kind: Literal["LEFT JOIN", "JOIN"]
    source: Source
    on: Expr | None = None


@dataclass(frozen=True, slots=True)
class OrderBy:
    expr: Expr
    desc: bool = False


@dataclass(frozen=True, slots=True)
class Alias:
    expr: Expr
    name: str


SelectItem = Expr | Alias


@dataclass(frozen=True, slots=True)
class Select:
    columns: tuple[SelectItem, ...]
    source: Source | None = None
    joins: tuple[Join, ...] = ()
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    order_by: tuple[OrderBy, ...] = ()
    limit: int | None = None
    offset: int | None = None
    distinct: bool = False


@dataclass(frozen=True, slots=True)
class Insert:
    table: str
    values: dict[str, Expr]


@dataclass(frozen=True, slots=True)
class Update:
    table: str
    values: dict[str, Expr]
    where: Expr | None


@dataclass(frozen=True, slots=True)
class Delete:
    table: str
    where: Expr | None


Statement = Select | Insert | Update | Delete


# ------------------------------------------------------------------- DDL
@dataclass(frozen=True, slots=True)
class ColumnDef:
    name: str
    type: Literal["TEXT", "NUMERIC", "BOOLEAN", "JSON", "REAL", "INTEGER"]
    not_null: bool = True
    default: str | float | bool | None = None
    primary_key: bool = False


@dataclass(frozen=True, slots=True)
class CreateTable:
    name: str
    columns: tuple[ColumnDef, ...]


@dataclass(frozen=True, slots=True)
class DropTable:
    name: str


@dataclass(frozen=True, slots=True)
class RenameTable:
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class AddColumn:
    table: str
    column: ColumnDef


@dataclass(frozen=True, slots=True)
class DropColumn:
    table: str
    column: str


@dataclass(frozen=True, slots=True)
class RenameColumn:
    table: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class IndexColumn:
    name: str
    desc: bool = False
    collate: Literal["NOCASE", "BINARY", "RTRIM"] | None = None


@dataclass(frozen=True, slots=True)
class CreateIndex:
    name: str
    table: str
    columns: tuple[IndexColumn, ...]
    unique: bool = False
    where_not_empty: str | None = None
    """Makes a partial index over rows whose column is not '' (PocketBase's unique email index)."""


@dataclass(frozen=True, slots=True)
class DropIndex:
    name: str


@dataclass(frozen=True, slots=True)
class CreateView:
    """A view from a superuser-written SELECT.

    The body is the one place where SQL text comes from outside: only superusers may write it,
    exactly as in PocketBase, and it runs on a read-only validation connection first.
    """

    name: str
    select_sql: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class DropView:
    name: str


@dataclass(frozen=True, slots=True)
class CreateSearchIndex:
    """A full-text index over text `columns` of `table`, filled with the rows already there."""

    name: str
    table: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DropSearchIndex:
    name: str


DDL = (
    CreateTable
    | DropTable
    | RenameTable
    | AddColumn
    | DropColumn
    | RenameColumn
    | CreateIndex
    | DropIndex
    | CreateView
    | DropView
    | CreateSearchIndex
    | DropSearchIndex
)


_ROW_FREE = (Param, Slot, Null)


def reads_rows(expr: Expr) -> bool:
    """Whether `expr` can depend on a table: anything but parameters and operators over them.

    Lets a caller evaluate a condition that only involves request values without a FROM clause.
    Unknown node types count as reading rows, so the answer errs on the safe side.
    """
    stack: list[Any] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, _ROW_FREE) or (isinstance(node, Raw) and node.sql.isdigit()):
            continue  # parameters, NULL and integer literals (the resolver's true/false)
        if isinstance(node, (tuple, list)):
            stack.extend(node)
        elif isinstance(node, (Binary, Not, Neg, Positive, Func, Like, InList, Case, Cast)):
            stack.extend(getattr(node, name) for name in node.__slots__)
        elif isinstance(node, Expr) or not isinstance(node, (str, int, float, bool, type(None))):
            return True
    return False


def and_all(exprs: Sequence[Expr]) -> Expr | None:
    """AND the given expressions together (None when empty)."""
    out: Expr | None = None
    for e in exprs:
        out = e if out is None else Binary("AND", out, e)
    return out


def or_all(exprs: Sequence[Expr]) -> Expr | None:
    out: Expr | None = None
    for e in exprs:
        out = e if out is None else Binary("OR", out, e)
    return out


def col(*parts: str) -> Ident:
    return Ident(tuple(parts))


def eq(left: Expr, right: Expr) -> Binary:
    return Binary("=", left, right)
