"""The SQLite dialect: the only code that turns the SQL tree into SQLite text."""

from __future__ import annotations

import functools
import re
from typing import Any

from satchel.tools.sql import ir, sqlite_search

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")

# Functions a tree may call. Anything else is a programming error, not user input.
ALLOWED_FUNCS = frozenset(
    {
        "LOWER",
        "UPPER",
        "LENGTH",
        "COALESCE",
        "IFNULL",
        "NULLIF",
        "ABS",
        "MIN",
        "MAX",
        "COUNT",
        "SUM",
        "TYPEOF",
        "TRIM",
        "SUBSTR",
        "INSTR",
        "REPLACE",
        "STRFTIME",
        "JSON",
        "JSON_ARRAY",
        "JSON_OBJECT",
        "JSON_TYPE",
        "JSON_QUOTE",
        "RANDOM",
        "DATETIME",
        "GEO_DISTANCE",
        "SIN",
        "COS",
        "ACOS",
        "RADIANS",
        "POWER",
        "SQRT",
        "ATAN2",
        "ROUND",
        "CAST",
        sqlite_search.MATCH_FUNCTION,
    }
)


class SqlCompileError(ValueError):
    """Raised when a tree would produce unsafe or malformed SQL (always a bug in Satchel)."""


def quote_ident(name: str) -> str:
    if not _IDENT.match(name):
        raise SqlCompileError(f"invalid SQL identifier {name!r}")
    return f'"{name}"'


def _json_path(path: tuple[str | int, ...]) -> str:
    out = "$"
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            # keys are quoted inside the path so any character is safe; the path itself is a bound value
            out += '."' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return out


def _literal(value: str | float | bool | None) -> str:
    """DDL defaults cannot be bound parameters in SQLite; render the few we use safely."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


class SqliteCompiler:
    """Compiles one statement; keeps the parameter list in bind order."""

    def __init__(self) -> None:
        self.params: list[Any] = []

    # --------------------------------------------------------------- expressions
    def expr(self, e: ir.Expr) -> str:  # noqa: C901 - a flat type dispatch reads best as one switch
        match e:
            case ir.Ident(parts):
                return ".".join(quote_ident(p) for p in parts)
            case ir.Param(value):
                self.params.append(value)
                return "?"
            case ir.Slot(index):
                self.params.append(_SlotRef(index))
                return "?"
            case ir.Null():
                return "NULL"
            case ir.Star(table):
                return f"{quote_ident(table)}.*" if table else "*"
            case ir.Binary(op, left, right):
                return f"({self.expr(left)} {op} {self.expr(right)})"
            case ir.Not(operand):
                return f"(NOT {self.expr(operand)})"
            case ir.Neg(operand):
                return f"(-{self.expr(operand)})"
            case ir.Positive(operand):
                return f"(+{self.expr(operand)})"
            case ir.Func(name, args):
                if name.upper() not in ALLOWED_FUNCS:
                    raise SqlCompileError(f"function {name!r} is not allowed")
                return f"{name.upper()}({', '.join(self.expr(a) for a in args)})"
            case ir.Like(operand, pattern, negate):
                kw = "NOT LIKE" if negate else "LIKE"
                return f"({self.expr(operand)} {kw} {self.expr(pattern)} ESCAPE '\\')"
            case ir.InList(operand, values, negate):
                if not values:
                    return "1" if negate else "0"
                kw = "NOT IN" if negate else "IN"
                return f"({self.expr(operand)} {kw} ({', '.join(self.expr(v) for v in values)}))"
            case ir.Case(whens, default):
                branches = [f"WHEN {self.expr(c)} THEN {self.expr(v)}" for c, v in whens]
                if default is not None:
                    branches.append(f"ELSE {self.expr(default)}")
                return f"(CASE {' '.join(branches)} END)"
            case ir.Cast(operand, typ):
                return f"CAST({self.expr(operand)} AS {typ})"
            case ir.Exists(query, negate):
                return f"({'NOT ' if negate else ''}EXISTS ({self.select(query)}))"
            case ir.InSelect(operand, query, negate):
                kw = "NOT IN" if negate else "IN"
                return f"({self.expr(operand)} {kw} ({self.select(query)}))"
            case ir.Subquery(query):
                return f"({self.select(query)})"
            case ir.JsonExtract(operand, path):
                src = self.expr(operand)
                self.params.append(_json_path(path))
                return f"JSON_EXTRACT({src}, ?)"
            case ir.JsonArrayLength(operand):
                return f"JSON_ARRAY_LENGTH({self.expr(operand)})"
            case ir.JsonValid(operand):
                return f"JSON_VALID({self.expr(operand)})"
            case ir.JsonArrayOf(operand):
                v = self.expr(operand)
                v2 = self.expr(operand)
                v3 = self.expr(operand)
                return (
                    f"(CASE WHEN JSON_VALID({v}) AND JSON_TYPE({v2}) = 'array' THEN {v3} "
                    f"ELSE JSON_ARRAY({self.expr(operand)}) END)"
                )
            case ir.JsonValue(operand, path):
                return self.expr(_json_value(operand, path))
            case ir.ArrayLength(operand):
                return self.expr(_array_length(operand))
            case ir.InsertionOrder(table):
                return f"{quote_ident(table)}.rowid" if table else "rowid"
            case ir.TextSearch():
                return self._search(e)
            case ir.Raw(sql):
                if sql not in ("1", "0", "CURRENT_TIMESTAMP", "RANDOM()", "rowid", "COUNT(*)"):
                    raise SqlCompileError("raw fragment not allowed")
                return sql
        raise SqlCompileError(f"cannot compile {type(e).__name__}")

    def _search(self, e: ir.TextSearch) -> str:
        form = sqlite_search.search_expr(e)
        if isinstance(form, ir.Expr):
            return self.expr(form)
        table, index, text = form
        self.params.append(text)
        fts = quote_ident(index)
        return f"({quote_ident(table)}.rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?))"

    # ------------------------------------------------------------------ sources
    def source(self, s: ir.Source) -> str:
        match s:
            case ir.Table(name, alias):
                return quote_ident(name) + (f" {quote_ident(alias)}" if alias else "")
            case ir.JsonEach(operand, alias):
                # json_each over a scalar yields one row, over NULL/invalid nothing: normalise first
                inner = self.expr(
                    ir.Case(
                        (
                            (
                                ir.Binary(
                                    "AND",
                                    ir.JsonValid(operand),
                                    ir.Binary("=", ir.Func("JSON_TYPE", (operand,)), ir.Param("array")),
                                ),
                                operand,
                            ),
                        ),
                        ir.Func("JSON_ARRAY", (operand,)),
                    )
                )
                return f"JSON_EACH({inner}) {quote_ident(alias)}"
            case ir.SubquerySource(query, alias):
                return f"({self.select(query)}) {quote_ident(alias)}"
            case ir.Values(rows, columns, alias):
                return f"({self._values(rows, columns)}) {quote_ident(alias)}"
        raise SqlCompileError(f"cannot compile source {type(s).__name__}")

    def _values(self, rows: tuple[tuple[ir.Expr, ...], ...], columns: tuple[str, ...]) -> str:
        """SQLite names VALUES columns `column1`, `column2`...: a SELECT gives them their names."""
        if not rows or any(len(row) != len(columns) for row in rows):
            raise SqlCompileError("VALUES needs at least one row and one value per column in every row")
        names = ", ".join(f'"column{n}" AS {quote_ident(name)}' for n, name in enumerate(columns, 1))
        values = ", ".join("(" + ", ".join(self.expr(e) for e in row) + ")" for row in rows)
        return f"SELECT {names} FROM (VALUES {values})"

    def select(self, q: ir.Select) -> str:
        cols = []
        for c in q.columns:
            if isinstance(c, ir.Alias):
                cols.append(f"{self.expr(c.expr)} AS {quote_ident(c.name)}")
            else:
                cols.append(self.expr(c))
        sql = "SELECT " + ("DISTINCT " if q.distinct else "") + ", ".join(cols)
        if q.source is not None:
            sql += " FROM " + self.source(q.source)
        for j in q.joins:
            sql += f" {j.kind} {self.source(j.source)}"
            if j.on is not None:
                sql += f" ON {self.expr(j.on)}"
        if q.where is not None:
            sql += f" WHERE {self.expr(q.where)}"
        if q.group_by:
            sql += " GROUP BY " + ", ".join(self.expr(g) for g in q.group_by)
        if q.order_by:
            sql += " ORDER BY " + ", ".join(self.expr(o.expr) + (" DESC" if o.desc else " ASC") for o in q.order_by)
        if q.limit is not None:
            sql += f" LIMIT {int(q.limit)}"
            if q.offset:
                sql += f" OFFSET {int(q.offset)}"
        return sql

    def statement(self, st: ir.Statement) -> str:
        match st:
            case ir.Select():
                return self.select(st)
            case ir.Insert(table, values):
                names = ", ".join(quote_ident(k) for k in values)
                vals = ", ".join(self.expr(v) for v in values.values())
                return f"INSERT INTO {quote_ident(table)} ({names}) VALUES ({vals})"
            case ir.Update(table, values, where):
                sets = ", ".join(f"{quote_ident(k)} = {self.expr(v)}" for k, v in values.items())
                sql = f"UPDATE {quote_ident(table)} SET {sets}"
                return sql + (f" WHERE {self.expr(where)}" if where is not None else "")
            case ir.Delete(table, where):
                sql = f"DELETE FROM {quote_ident(table)}"
                return sql + (f" WHERE {self.expr(where)}" if where is not None else "")
        raise SqlCompileError(f"cannot compile statement {type(st).__name__}")


def _column_def(c: ir.ColumnDef) -> str:
    sql = f"{quote_ident(c.name)} {c.type}"
    if c.primary_key:
        sql += " PRIMARY KEY"
    if c.not_null:
        sql += " NOT NULL"
    if c.default is not None:
        sql += f" DEFAULT {_literal(c.default)}"
    return sql


def ddl_steps(d: ir.DDL) -> list[str]:
    """The statements of one DDL change (sqlite3 runs one statement per call)."""
    if isinstance(d, ir.CreateSearchIndex):
        return sqlite_search.create_steps(d, quote_ident)
    if isinstance(d, ir.DropSearchIndex):
        return sqlite_search.drop_steps(d, quote_ident)
    return [compile_ddl(d)]


def compile_ddl(d: ir.DDL) -> str:
    match d:
        case ir.CreateSearchIndex() | ir.DropSearchIndex():
            return ";\n".join(ddl_steps(d))
        case ir.CreateTable(name, columns):
            return f"CREATE TABLE {quote_ident(name)} ({', '.join(_column_def(c) for c in columns)})"
        case ir.DropTable(name):
            return f"DROP TABLE IF EXISTS {quote_ident(name)}"
        case ir.RenameTable(old, new):
            return f"ALTER TABLE {quote_ident(old)} RENAME TO {quote_ident(new)}"
        case ir.AddColumn(table, column):
            return f"ALTER TABLE {quote_ident(table)} ADD COLUMN {_column_def(column)}"
        case ir.DropColumn(table, column):
            return f"ALTER TABLE {quote_ident(table)} DROP COLUMN {quote_ident(column)}"
        case ir.RenameColumn(table, old, new):
            return f"ALTER TABLE {quote_ident(table)} RENAME COLUMN {quote_ident(old)} TO {quote_ident(new)}"
        case ir.CreateIndex(name, table, columns, unique, where_not_empty):
            cols = ", ".join(
                quote_ident(c.name) + (f" COLLATE {c.collate}" if c.collate else "") + (" DESC" if c.desc else "")
                for c in columns
            )
            kw = "CREATE UNIQUE INDEX" if unique else "CREATE INDEX"
            where = f" WHERE {quote_ident(where_not_empty)} != ''" if where_not_empty else ""
            return f"{kw} {quote_ident(name)} ON {quote_ident(table)} ({cols}){where}"
        case ir.DropIndex(name):
            return f"DROP INDEX IF EXISTS {quote_ident(name)}"
        case ir.CreateView(name, select_sql):
            return f"CREATE VIEW {quote_ident(name)} AS {select_sql}"
        case ir.DropView(name):
            return f"DROP VIEW IF EXISTS {quote_ident(name)}"
    raise SqlCompileError(f"cannot compile DDL {type(d).__name__}")


def _json_value(column: ir.Expr, path: tuple[str | int, ...]) -> ir.Expr:
    """JSON_EXTRACT that also works on non-JSON text (the text itself is the value)."""
    wrapped = ir.JsonExtract(ir.Func("JSON_OBJECT", (ir.Param("pb"), column)), ("pb", *path))
    return ir.Case(((ir.JsonValid(column), ir.JsonExtract(column, path)),), wrapped)


def _array_length(column: ir.Expr) -> ir.Expr:
    is_array = ir.Binary("AND", ir.JsonValid(column), ir.eq(ir.Func("JSON_TYPE", (column,)), ir.Param("array")))
    is_empty = ir.Binary("OR", ir.eq(column, ir.Param("")), ir.Binary("IS", column, ir.NULL))
    normalised = ir.Case(((is_array, column), (is_empty, ir.Func("JSON_ARRAY", ()))), ir.Func("JSON_ARRAY", (column,)))
    return ir.JsonArrayLength(normalised)


class _SlotRef:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class Prepared:
    """A statement compiled once; `bind(args)` gives the parameter list for one execution."""

    __slots__ = ("_template", "identity", "sql")

    def __init__(self, sql: str, template: list[Any]) -> None:
        self.sql = sql
        self._template = template
        self.identity = all(isinstance(p, _SlotRef) and p.index == i for i, p in enumerate(template))
        """The slots are the arguments in order: `args` can be bound as they are (batched inserts)."""

    def bind(self, args: tuple[Any, ...]) -> list[Any]:
        return [args[p.index] if isinstance(p, _SlotRef) else p for p in self._template]


@functools.lru_cache(maxsize=1024)
def _plain_insert(table: str, columns: tuple[str, ...]) -> str:
    c = SqliteCompiler()
    return c.statement(ir.Insert(table, {name: ir.Slot(i) for i, name in enumerate(columns)}))


def prepare(st: ir.Statement) -> Prepared:
    c = SqliteCompiler()
    sql = c.statement(st)
    return Prepared(sql, c.params)


def compile_statement(st: ir.Statement) -> tuple[str, list[Any]]:
    if type(st) is ir.Insert and all(type(v) is ir.Param for v in st.values.values()):
        # every record create: the text depends only on the table and its columns
        return _plain_insert(st.table, tuple(st.values)), [v.value for v in st.values.values()]  # type: ignore[attr-defined]
    c = SqliteCompiler()
    sql = c.statement(st)
    return sql, c.params


def compile_expr(e: ir.Expr) -> tuple[str, list[Any]]:
    c = SqliteCompiler()
    sql = c.expr(e)
    return sql, c.params
