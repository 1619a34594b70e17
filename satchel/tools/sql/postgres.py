"""The PostgreSQL dialect: the SQL tree as PostgreSQL text, with SQLite's comparison semantics.

PocketBase's filter semantics are SQLite's: a number field compared with '' is simply false, a
numeric column compared with the text '5' compares as numbers (column affinity), and values of
different types order as NULL < numbers < text. PostgreSQL refuses most of these comparisons, so
this compiler tracks the type ("kind") of every expression, using the column types the adapter
reads from the catalog (`schema`), and

- converts a bound value to the column's type where SQLite's affinity would (`num = '5'`),
- compares two values of different kinds on `satchel_key` (see `postgres_support`), which orders
  them as SQLite does, instead of letting PostgreSQL raise,
- spells SQLite-only constructs with PostgreSQL's (jsonb for JSON, `ILIKE` with the "C"
  collation for the ASCII-only case-insensitive LIKE, NULLS FIRST for SQLite's NULL ordering,
  the hidden `$rowid` identity column for `rowid`).

Values stay bound parameters (`$n` with an explicit type), identifiers are validated and quoted:
nothing a client sends reaches the SQL text, exactly as with the SQLite dialect.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from satchel.tools import textsearch
from satchel.tools.sql import ir, postgres_search
from satchel.tools.sql.postgres_support import NUMERIC_TEXT, key_of
from satchel.tools.sql.sqlite import SqlCompileError, _SlotRef, quote_ident

ROWID = "$rowid"
"""The hidden identity column that stands for SQLite's rowid (a name no field can have)."""
ROWID_SQL = '"$rowid"'

ColumnKinds = Mapping[str, str]
SchemaLookup = Callable[[str], ColumnKinds | None]
"""Column kinds of a table or view by name; None when the adapter has not read it (yet)."""

_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">=", "IS", "IS NOT"})
_PG_OP = {"!=": "<>", "IS": "IS NOT DISTINCT FROM", "IS NOT": "IS DISTINCT FROM"}
_CAST = {"text": "text", "num": "double precision", "bool": "boolean", "json": "jsonb", "key": "text"}
_C = ' COLLATE "C"'
_NO_AFFINITY = "~"
"""Marks a column kind in a scope as affinity-less (json_each values, VALUES, computed columns)."""
_MATH = {"SIN", "COS", "RADIANS", "SQRT", "ATAN2", "POWER", "ABS"}
_TEXT_FUNCS = {"TRIM", "REPLACE", "LTRIM", "RTRIM"}

SQLITE_MASTER = (
    '(SELECT \'index\'::text AS "type", indexname::text AS "name", tablename::text AS "tbl_name" '
    "FROM pg_indexes WHERE schemaname = current_schema())"
)
"""What the one catalog query of core (`_index_owner`: which table owns an index) reads on PostgreSQL."""


def kind_of_type(pg_type: str) -> str:
    """A catalog type name (`format_type`) as a kind."""
    t = pg_type.lower()
    if t in ("text", "name", "uuid") or t.startswith(("character", "varchar", "char")):
        return "text"
    if t in ("double precision", "real", "integer", "bigint", "smallint") or t.startswith("numeric"):
        return "num"
    if t == "boolean":
        return "bool"
    if t in ("jsonb", "json"):
        return "json"
    return "any"


def sqlite_text(value: Any) -> str:
    """A bound number or boolean as SQLite turns it into text (a float is a REAL: "%!.15g")."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "Inf" if value > 0 else "-Inf" if value < 0 else ""
        text = format(value, ".15g")
        mantissa, e, exponent = text.partition("e")
        if "." not in mantissa:
            mantissa += ".0"
        return mantissa + (e + exponent if e else "")
    return str(value)


@dataclass(slots=True)
class Out:
    """One compiled expression: its text, its kind, whether it is a bare column (has affinity)."""

    sql: str
    kind: str
    column: bool = False
    literal: int | None = None
    """1 or 0 for the `Raw` literals the resolver uses as true/false."""
    numeric_affinity: bool = False
    """A text value of a column with NUMERIC affinity: SQLite's JSON columns hold text but make
    numeric-looking text on the other side a number."""


def _is_value(e: ir.Expr) -> bool:
    return isinstance(e, ir.Param | ir.Slot | ir.Null) or (isinstance(e, ir.Raw) and e.sql in ("1", "0"))


class PostgresCompiler:
    """Compiles one statement; `params` in `$n` order, `missing` the tables `schema` did not know."""

    def __init__(self, schema: SchemaLookup) -> None:
        self.params: list[Any] = []
        self.missing: set[str] = set()
        self._schema = schema
        self._scopes: list[dict[str, ColumnKinds]] = []
        self._tables: dict[str, str] = {}
        """Table name by alias, to report a table whose cached columns lack one that is named."""

    # ------------------------------------------------------------------ values
    def _bind(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def param(self, value: Any) -> Out:
        if value is None:
            return Out("NULL", "null")
        if isinstance(value, bool):
            return Out(f"{self._bind(value)}::boolean", "bool")
        if isinstance(value, int):
            return Out(f"{self._bind(value)}::bigint", "num")
        if isinstance(value, float):
            return Out(f"{self._bind(value)}::double precision", "num")
        if isinstance(value, str):
            return Out(f"{self._bind(value)}::text", "text")
        if isinstance(value, bytes):
            return Out(f"{self._bind(value)}::bytea", "any")
        raise SqlCompileError(f"cannot bind a {type(value).__name__}")

    def _value_against(self, e: ir.Expr, other: Out) -> Out:
        """A bound value (or literal) compared with `other`, converted as SQLite's affinity would."""
        if isinstance(e, ir.Null):
            return Out("NULL", "null")
        if isinstance(e, ir.Slot):
            self.params.append(_SlotRef(e.index))
            kind = other.kind if other.kind in _CAST else "text"
            return Out(f"${len(self.params)}::{_CAST[kind]}", kind)
        if isinstance(e, ir.Raw):
            if other.kind == "bool":
                return Out("TRUE" if e.sql == "1" else "FALSE", "bool")
            return Out(e.sql, "num", literal=int(e.sql))
        assert isinstance(e, ir.Param)
        value = e.value
        kind = other.kind
        if kind == "text" and other.column and isinstance(value, int | float):
            value = sqlite_text(value)
        elif kind in ("num", "bool") and other.column and isinstance(value, str) and NUMERIC_TEXT.match(value):
            value = float(value)
        if kind == "bool" and isinstance(value, int | float) and value in (0, 1):
            value = bool(value)
        if other.numeric_affinity and isinstance(value, str) and NUMERIC_TEXT.match(value):
            value = float(value)
        out = self.param(value)
        if out.kind != kind and kind in ("json", "key") and value is not None:
            self.params.pop()
            return Out(f"{self._bind(key_of(value))}::text", "key")
        return out

    # ------------------------------------------------------------- conversions
    def to_text(self, o: Out) -> str:
        if o.kind in ("text", "key", "null", "any"):
            return o.sql
        if o.kind == "json":
            # a JSON column is compared as the compact text SQLite stores; an extracted value as its SQL value
            return f"satchel_json_text({o.sql})" if o.column else f"satchel_value_text({o.sql})"
        if o.kind == "bool":
            return f"(CASE WHEN {o.sql} THEN '1' WHEN NOT {o.sql} THEN '0' END)"
        return f"satchel_real_text(({o.sql})::double precision)"

    def _c_text(self, e: ir.Expr) -> str:
        """Text under the "C" collation (ASCII-only case folding, as SQLite's LOWER and LIKE).

        Text columns are created with it; naming it again only for other text keeps a column bare,
        so `lower("email")` still matches the NOCASE expression index.
        """
        if isinstance(e, ir.Ident):
            o = self.expr(e)
            if o.kind == "text" and o.column:
                return o.sql
            return f"({self.to_text(o)}){_C}"
        return f"({self.text(e)}){_C}"

    def text(self, e: ir.Expr) -> str:
        """`e` where SQLite wants text: a bound number becomes the text SQLite would make of it."""
        if isinstance(e, ir.Param) and isinstance(e.value, int | float):
            return self.param(sqlite_text(e.value)).sql
        return self.to_text(self.expr(e))

    def to_num(self, o: Out) -> str:
        if o.kind in ("num", "null", "any"):
            return o.sql
        if o.kind == "bool":
            return f"({o.sql})::int"
        return f"satchel_num({o.sql})"

    def to_math(self, o: Out) -> str:
        """An argument of a math function: SQLite's give NULL for text that is not a number."""
        if o.kind in ("text", "json"):
            return f"satchel_strict_num({o.sql})"
        return self.to_num(o)

    def to_json(self, o: Out) -> str:
        if o.kind == "json":
            return o.sql
        if o.kind == "null":
            return "NULL::jsonb"
        if o.kind == "bool":
            return f"to_jsonb(({o.sql})::int)"
        return f"to_jsonb({o.sql})"

    def to_key(self, o: Out) -> str:
        if o.kind in ("key", "null"):
            return o.sql
        if o.kind == "any":
            return f"satchel_key(({o.sql})::text)"
        return f"satchel_key({o.sql})"

    def cond(self, e: ir.Expr) -> str:
        """`e` where PostgreSQL wants a boolean (WHERE, AND, ON): SQLite's truth of any value."""
        o = self.expr(e)
        if o.kind == "bool":
            return o.sql
        if o.literal is not None:
            return "TRUE" if o.literal else "FALSE"
        if o.kind == "null":
            return "NULL::boolean"
        if o.kind == "num":
            return f"({o.sql} <> 0)"
        if o.kind == "any":
            return f"({o.sql})::boolean"
        return f"(satchel_num({o.sql}) <> 0)"

    # ------------------------------------------------------------- expressions
    def expr(self, e: ir.Expr) -> Out:  # noqa: C901 - a flat type dispatch reads best as one switch
        match e:
            case ir.Ident(parts):
                kind = self._column_kind(parts)
                sql = ".".join(quote_ident(p) for p in parts)
                return Out(sql, kind.rstrip(_NO_AFFINITY), column=not kind.endswith(_NO_AFFINITY))
            case ir.Param(value):
                return self.param(value)
            case ir.Slot():
                return self._value_against(e, Out("", "text"))
            case ir.Null():
                return Out("NULL", "null")
            case ir.Star(table):
                return Out(f"{quote_ident(table)}.*" if table else "*", "any")
            case ir.Binary(op, left, right):
                return self._binary(op, left, right)
            case ir.Not(operand):
                return Out(f"(NOT {self.cond(operand)})", "bool")
            case ir.Neg(operand):
                return Out(f"(-{self.to_num(self.expr(operand))})", "num")
            case ir.Positive(operand):
                o = self.expr(operand)
                return Out(f"({o.sql})", o.kind)
            case ir.Func(name, args):
                return self._func(name.upper(), args)
            case ir.Like(operand, pattern, negate):
                return self._like(operand, pattern, negate)
            case ir.InList(operand, values, negate):
                return self._in_list(operand, values, negate)
            case ir.Case(whens, default):
                return self._case(whens, default)
            case ir.Cast(operand, typ):
                o = self.expr(operand)
                if typ == "TEXT":
                    return Out(self.to_text(o), "text", column=True)
                if typ == "INTEGER":
                    return Out(f"trunc({self.to_num(o)})::bigint", "num", column=True)
                return Out(self.to_num(o), "num", column=True)
            case ir.Exists(query, negate):
                return Out(f"({'NOT ' if negate else ''}EXISTS ({self.select(query)[0]}))", "bool")
            case ir.InSelect(operand, query, negate):
                o = self.expr(operand)
                sql, kinds = self.select(query)
                inner = next(iter(kinds.values()), "any").rstrip(_NO_AFFINITY)
                lhs = o.sql if inner == o.kind or "any" in (inner, o.kind) else self.to_text(o)
                return Out(f"({lhs} {'NOT IN' if negate else 'IN'} ({sql}))", "bool")
            case ir.Subquery(query):
                sql, kinds = self.select(query)
                return Out(f"({sql})", next(iter(kinds.values()), "any").rstrip(_NO_AFFINITY))
            case ir.JsonExtract(operand, path) | ir.JsonValue(operand, path):
                return Out(f"satchel_json_value({self._json_operand(operand)}, {self._path(path)})", "json")
            case ir.ArrayLength(operand):
                return Out(f"satchel_array_length({self._json_operand(operand)})", "num")
            case ir.JsonArrayLength(operand):
                return Out(f"jsonb_array_length({self.to_json(self.expr(operand))})", "num")
            case ir.JsonValid(operand):
                o = self.expr(operand)
                if o.kind == "json":
                    return Out(f"({o.sql} IS NOT NULL)", "bool")
                return Out(f"(satchel_as_jsonb({self.to_text(o)}) IS NOT NULL)", "bool")
            case ir.JsonArrayOf(operand):
                return Out(f"satchel_json_array({self._json_operand(operand)})", "json")
            case ir.InsertionOrder(table):
                return Out(f"{quote_ident(table)}.{ROWID_SQL}" if table else ROWID_SQL, "num")
            case ir.TextSearch():
                return self._search(e)
            case ir.Raw(sql):
                return self._raw(sql)
        raise SqlCompileError(f"cannot compile {type(e).__name__}")

    def _search(self, e: ir.TextSearch) -> Out:
        """The index's own expression `@@` the query (plus the one column's, for a per-field search)."""
        query = textsearch.parse_query(e.query)
        if query.empty:
            return Out("FALSE", "bool")

        def doc(columns: tuple[str, ...]) -> str:
            return postgres_search.document([self.to_text(self.expr(ir.col(e.table, c))) for c in columns])

        def bind(text: str) -> str:
            return f"{self._bind(text)}::text"

        sql = f"({doc(e.indexed)} @@ {postgres_search.tsquery(query, bind)})"
        if e.columns != e.indexed:
            sql = f"({sql} AND {doc(e.columns)} @@ {postgres_search.tsquery(query, bind)})"
        return Out(sql, "bool")

    def _raw(self, sql: str) -> Out:
        if sql in ("1", "0"):
            return Out(sql, "num", literal=int(sql))
        if sql == "CURRENT_TIMESTAMP":
            return Out("to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')", "text")
        if sql == "RANDOM()":
            return Out("random()", "num")
        if sql == "rowid":
            return Out(ROWID_SQL, "num")
        if sql == "COUNT(*)":
            return Out("COUNT(*)", "num")
        raise SqlCompileError("raw fragment not allowed")

    def _json_operand(self, e: ir.Expr) -> str:
        """An operand of the satchel_json_* functions: jsonb or text (numbers become text)."""
        o = self.expr(e)
        if o.kind in ("json", "text"):
            return o.sql
        if o.kind == "null":
            return "NULL::jsonb"
        return f"({self.to_text(o)})::text"

    def _path(self, path: tuple[str | int, ...]) -> str:
        return f"{self._bind([str(p) for p in path])}::text[]"

    def _column_kind(self, parts: tuple[str, ...]) -> str:
        name = parts[-1]
        if name == ROWID:
            return "num"
        for scope in reversed(self._scopes):
            if len(parts) >= 2:
                columns = scope.get(parts[-2])
                if columns is not None:
                    if name not in columns and parts[-2] in self._tables:
                        self.missing.add(self._tables[parts[-2]])
                    return columns.get(name, "any")
                continue
            for columns in scope.values():
                if name in columns:
                    return columns[name]
        return "any"

    # -------------------------------------------------------------- operators
    def _binary(self, op: ir.BinaryOp, left: ir.Expr, right: ir.Expr) -> Out:
        if op in _COMPARISONS:
            return self.compare(op, left, right)
        if op in ("AND", "OR"):
            return Out(f"({self.cond(left)} {op} {self.cond(right)})", "bool")
        if op == "||":
            return Out(f"({self.text(left)} || {self.text(right)})", "text")
        if op in ("LIKE", "NOT LIKE"):
            return self._like(left, right, op == "NOT LIKE")
        return Out(f"({self.to_num(self.expr(left))} {op} {self.to_num(self.expr(right))})", "num")

    def compare(self, op: str, left: ir.Expr, right: ir.Expr) -> Out:
        if _is_value(left) and not _is_value(right):
            r = self._operand(right)
            lo = self._value_against(left, r)
        elif _is_value(right) and not _is_value(left):
            lo = self._operand(left)
            r = self._value_against(right, lo)
        else:
            lo, r = self._operand(left), self._operand(right)
        pg_op = _PG_OP.get(op, op)
        if lo.kind != r.kind or lo.numeric_affinity != r.numeric_affinity:
            lo, r = self._affinity(lo, r)
        kinds = {lo.kind, r.kind}
        if "null" in kinds or "any" in kinds or (len(kinds) == 1 and lo.kind != "json"):
            if op in ("IS", "IS NOT") and "null" in kinds:
                other = r if lo.kind == "null" else lo
                return Out(f"({other.sql} {op} NULL)", "bool")
            return Out(f"({lo.sql} {pg_op} {r.sql})", "bool")
        if kinds == {"bool", "num"}:
            return Out(f"({self.to_num(lo)} {pg_op} {self.to_num(r)})", "bool")
        return Out(f"({self.to_key(lo)}{_C} {pg_op} {self.to_key(r)})", "bool")

    def _operand(self, e: ir.Expr) -> Out:
        """A compared expression; a JSON column compares as the text SQLite stores (NUMERIC affinity)."""
        o = self.expr(e)
        if o.kind == "json" and o.column:
            return Out(f"satchel_json_text({o.sql})", "text", column=True, numeric_affinity=True)
        return o

    def _affinity(self, left: Out, right: Out) -> tuple[Out, Out]:
        """SQLite's conversions before comparing two expressions of different types.

        A numeric column makes text on the other side a number when it reads as one (the side
        is then compared on keys: it may still be text); a text column makes a number on an
        affinity-less side text. Bound values were converted already (`_value_against`).
        """
        numeric = ("num", "bool")
        if left.numeric_affinity and right.kind == "text" and not right.numeric_affinity:
            return Out(self.to_key(left), "key"), Out(f"satchel_numeric_key({right.sql})", "key")
        if right.numeric_affinity and left.kind == "text" and not left.numeric_affinity:
            return Out(f"satchel_numeric_key({left.sql})", "key"), Out(self.to_key(right), "key")
        if left.column and left.kind in numeric and right.kind in ("text", "json"):
            return left, Out(f"satchel_numeric_key({right.sql})", "key")
        if right.column and right.kind in numeric and left.kind in ("text", "json"):
            return Out(f"satchel_numeric_key({left.sql})", "key"), right
        if left.column and left.kind == "text" and right.kind == "json":
            return left, Out(f"satchel_text_key({right.sql})", "key")
        if right.column and right.kind == "text" and left.kind == "json":
            return Out(f"satchel_text_key({left.sql})", "key"), right
        if left.column and left.kind == "text" and not right.column and right.kind in numeric:
            return left, Out(self.to_text(right), "text")
        if right.column and right.kind == "text" and not left.column and left.kind in numeric:
            return Out(self.to_text(left), "text"), right
        return left, right

    def _like(self, operand: ir.Expr, pattern: ir.Expr, negate: bool) -> Out:
        kw = "NOT ILIKE" if negate else "ILIKE"
        return Out(f"({self._c_text(operand)} {kw} {self.text(pattern)} ESCAPE '\\')", "bool")

    def _in_list(self, operand: ir.Expr, values: tuple[ir.Expr, ...], negate: bool) -> Out:
        if not values:
            return Out("TRUE" if negate else "FALSE", "bool")
        o = self.expr(operand)
        items = [self._value_against(v, o) if _is_value(v) else self.expr(v) for v in values]
        kw = "NOT IN" if negate else "IN"
        if all(i.kind in (o.kind, "null", "any") for i in items) and o.kind != "json":
            return Out(f"({o.sql} {kw} ({', '.join(i.sql for i in items)}))", "bool")
        return Out(f"({self.to_key(o)}{_C} {kw} ({', '.join(self.to_key(i) for i in items)}))", "bool")

    def _case(self, whens: tuple[tuple[ir.Expr, ir.Expr], ...], default: ir.Expr | None) -> Out:
        conds = [self.cond(c) for c, _ in whens]
        values = [self.expr(v) for _, v in whens]
        if default is not None:
            values.append(self.expr(default))
        kind = _unify(values)
        rendered = [self._as_kind(v, kind) for v in values]
        branches = [f"WHEN {c} THEN {v}" for c, v in zip(conds, rendered, strict=False)]
        if default is not None:
            branches.append(f"ELSE {rendered[-1]}")
        return Out(f"(CASE {' '.join(branches)} END)", kind)

    def _as_kind(self, o: Out, kind: str) -> str:
        if o.kind == kind or o.kind in ("null", "any"):
            return o.sql
        if kind == "key":
            return self.to_key(o)
        if kind == "json":
            return self.to_json(o)
        if kind == "num":
            return self.to_num(o)
        return self.to_text(o)

    # -------------------------------------------------------------- functions
    def _func(self, name: str, args: tuple[ir.Expr, ...]) -> Out:  # noqa: C901 - one case per function
        if name in ("LOWER", "UPPER"):
            return Out(f"{name}({self._c_text(args[0])})", "text")
        if name == "LENGTH":
            return Out(f"length({self.text(args[0])})", "num")
        if name in _TEXT_FUNCS:
            return Out(f"{name}({', '.join(self.text(a) for a in args)})", "text")
        if name == "SUBSTR":
            first, *rest = args
            nums = [f"({self.to_num(self.expr(a))})::int" for a in rest]
            return Out(f"substr({', '.join([self.text(first), *nums])})", "text")
        if name == "INSTR":
            return Out(f"strpos({self.text(args[0])}, {self.text(args[1])})", "num")
        if name in ("COALESCE", "IFNULL", "NULLIF"):
            return self._coalesce("NULLIF" if name == "NULLIF" else "COALESCE", args)
        if name in ("MIN", "MAX"):
            return self._min_max(name, args)
        if name == "COUNT":
            return Out(f"COUNT({', '.join(self.expr(a).sql for a in args)})", "num")
        if name == "SUM":
            return Out(f"SUM({self.to_num(self.expr(args[0]))})", "num")
        if name == "STRFTIME":
            return Out(f"satchel_strftime({', '.join(self.text(a) for a in args)})", "text")
        if name == "RANDOM":
            return Out("random()", "num")
        if name in _MATH:
            return Out(f"{name}({', '.join(self.to_math(self.expr(a)) for a in args)})", "num")
        if name == "ACOS":
            return Out(f"satchel_acos({self.to_math(self.expr(args[0]))})", "num")
        if name == "ROUND":
            digits = f"({self.to_num(self.expr(args[1]))})::int" if len(args) > 1 else "0"
            return Out(f"round(({self.to_num(self.expr(args[0]))})::numeric, {digits})::double precision", "num")
        if name == "JSON_ARRAY":
            return Out(f"jsonb_build_array({', '.join(self.expr(a).sql for a in args)})", "json")
        if name == "JSON_OBJECT":
            return Out(f"jsonb_build_object({', '.join(self.expr(a).sql for a in args)})", "json")
        if name == "JSON_QUOTE":
            return Out(f"(to_jsonb({self.to_text(self.expr(args[0]))})::text)", "text")
        raise SqlCompileError(f"function {name!r} is not available on PostgreSQL")

    def _coalesce(self, fn: str, args: tuple[ir.Expr, ...]) -> Out:
        outs = [self.expr(a) for a in args]
        kind = _unify(outs)
        if kind == "key":  # SQLite's COALESCE keeps each value's own type: the result compares on keys
            return Out(f"{fn}({', '.join(self.to_key(o) for o in outs)})", "key")
        return Out(f"{fn}({', '.join(self._as_kind(o, kind) for o in outs)})", kind)

    def _min_max(self, name: str, args: tuple[ir.Expr, ...]) -> Out:
        outs = [self.expr(a) for a in args]
        if len(outs) == 1:
            o = outs[0]
            if o.kind == "json":
                return Out(f"{name}({self.to_key(o)}{_C})", "key")
            if o.kind == "bool":
                return Out(f"{name}(({o.sql})::int)", "num")
            return Out(f"{name}({o.sql})", o.kind)
        kind = _unify(outs)
        fn = "LEAST" if name == "MIN" else "GREATEST"
        return Out(f"{fn}({', '.join(self._as_kind(o, kind) for o in outs)})", kind)

    # ---------------------------------------------------------------- sources
    def _source(self, s: ir.Source, scope: dict[str, ColumnKinds], *, joined: bool) -> str:
        match s:
            case ir.Table(name, alias):
                if name == "sqlite_master":
                    scope[alias or name] = {"type": "text", "name": "text", "tbl_name": "text"}
                    return f"{SQLITE_MASTER} {quote_ident(alias or name)}"
                columns = self._schema(name)
                if columns is None:
                    self.missing.add(name)
                scope[alias or name] = columns or {}
                self._tables[alias or name] = name
                return quote_ident(name) + (f" {quote_ident(alias)}" if alias else "")
            case ir.JsonEach(operand, alias):
                scope[alias] = {"value": "text" + _NO_AFFINITY}
                array = f"satchel_json_array({self._json_operand(operand)})"
                return f'jsonb_array_elements_text({array}) AS {quote_ident(alias)}("value")'
            case ir.SubquerySource(query, alias):
                sql, kinds = self.select(query)
                scope[alias] = kinds
                return f"{'LATERAL ' if joined else ''}({sql}) {quote_ident(alias)}"
            case ir.Values(rows, columns, alias):
                return self._values(rows, columns, alias, scope)
        raise SqlCompileError(f"cannot compile source {type(s).__name__}")

    def _values(
        self, rows: tuple[tuple[ir.Expr, ...], ...], columns: tuple[str, ...], alias: str, scope: dict[str, ColumnKinds]
    ) -> str:
        if not rows or any(len(row) != len(columns) for row in rows):
            raise SqlCompileError("VALUES needs at least one row and one value per column in every row")
        compiled = [[self.expr(e) for e in row] for row in rows]
        kinds = [_unify([row[i] for row in compiled]) for i in range(len(columns))]
        body = ", ".join(
            "(" + ", ".join(self._as_kind(o, k) for o, k in zip(row, kinds, strict=True)) + ")" for row in compiled
        )
        scope[alias] = {c: k + _NO_AFFINITY for c, k in zip(columns, kinds, strict=True)}
        names = ", ".join(quote_ident(c) for c in columns)
        return f"(VALUES {body}) AS {quote_ident(alias)}({names})"

    def select(self, q: ir.Select) -> tuple[str, dict[str, str]]:
        """The SELECT text and the kind of each output column, by name."""
        scope: dict[str, ColumnKinds] = {}
        self._scopes.append(scope)
        try:
            return self._select(q, scope)
        finally:
            self._scopes.pop()

    def _select(self, q: ir.Select, scope: dict[str, ColumnKinds]) -> tuple[str, dict[str, str]]:
        from_sql = self._source(q.source, scope, joined=False) if q.source is not None else ""
        joins = []
        for j in q.joins:
            src = self._source(j.source, scope, joined=True)
            on = self.cond(j.on) if j.on is not None else "TRUE"
            joins.append(f" {j.kind} {src} ON {on}")
        cols: list[str] = []
        kinds: dict[str, str] = {}
        for c in q.columns:
            item = c.expr if isinstance(c, ir.Alias) else c
            o = self.expr(item)
            name = c.name if isinstance(c, ir.Alias) else _output_name(item)
            named = name and (isinstance(c, ir.Alias) or name == "rowid")
            cols.append(o.sql + (f" AS {quote_ident(name)}" if named else ""))
            kinds[name or f"_{len(kinds)}"] = o.kind + ("" if o.column else _NO_AFFINITY)
        sql = "SELECT " + ("DISTINCT " if q.distinct else "") + ", ".join(cols)
        if from_sql:
            sql += " FROM " + from_sql
        sql += "".join(joins)
        if q.where is not None:
            sql += f" WHERE {self.cond(q.where)}"
        if q.group_by:
            sql += " GROUP BY " + ", ".join(self.expr(g).sql for g in q.group_by)
        if q.order_by:
            sql += " ORDER BY " + ", ".join(self._order(o) for o in q.order_by)
        if q.limit is not None:
            sql += f" LIMIT {int(q.limit)}"
            if q.offset:
                sql += f" OFFSET {int(q.offset)}"
        return sql, kinds

    def _order(self, o: ir.OrderBy) -> str:
        """SQLite sorts NULLs first ascending and mixed JSON values by type: so does this."""
        e = self.expr(o.expr)
        sql = f"{self.to_key(e)}{_C}" if e.kind == "json" else e.sql
        return sql + (" DESC NULLS LAST" if o.desc else " ASC NULLS FIRST")

    # ------------------------------------------------------------- statements
    def statement(self, st: ir.Statement) -> str:
        match st:
            case ir.Select():
                return self.select(st)[0]
            case ir.Insert(table, values):
                kinds = self._table_scope(table)
                names = ", ".join(quote_ident(k) for k in values)
                vals = ", ".join(self._stored(v, kinds.get(k, "any")) for k, v in values.items())
                return f"INSERT INTO {quote_ident(table)} ({names}) VALUES ({vals})"
            case ir.Update(table, values, where):
                kinds = self._table_scope(table)
                sets = ", ".join(
                    f"{quote_ident(k)} = {self._stored(v, kinds.get(k, 'any'))}" for k, v in values.items()
                )
                sql = f"UPDATE {quote_ident(table)} SET {sets}"
                return sql + (f" WHERE {self.cond(where)}" if where is not None else "")
            case ir.Delete(table, where):
                self._table_scope(table)
                sql = f"DELETE FROM {quote_ident(table)}"
                return sql + (f" WHERE {self.cond(where)}" if where is not None else "")
        raise SqlCompileError(f"cannot compile statement {type(st).__name__}")

    def _table_scope(self, table: str) -> ColumnKinds:
        columns = self._schema(table)
        if columns is None:
            self.missing.add(table)
            columns = {}
        self._scopes.append({table: columns})
        return columns

    def _stored(self, e: ir.Expr, kind: str) -> str:
        """A value written to a column of `kind`: bound values are converted to the column's type."""
        if isinstance(e, ir.Param):
            value = stored_value(e.value, kind)
            if value is None:
                return "NULL"
            return f"{self._bind(value)}::{_CAST[kind]}" if kind in _CAST else self.param(value).sql
        o = self.expr(e)
        return self._as_kind(o, kind) if kind in _CAST else o.sql


def stored_value(value: Any, kind: str) -> Any:
    """A Python value as a column of `kind` stores it (SQLite would have stored it as given)."""
    if value is None:
        return None
    if kind == "bool":
        if isinstance(value, str):
            return bool(NUMERIC_TEXT.match(value)) and float(value) != 0
        return bool(value)
    if kind == "num":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str):
            return float(value) if NUMERIC_TEXT.match(value) else value
        return value if not isinstance(value, float) or math.isfinite(value) else None
    if kind == "text":
        return value if isinstance(value, str | bytes) else sqlite_text(value)
    if kind == "json":
        return value if isinstance(value, str) else orjson.dumps(value).decode()
    return value


def _output_name(e: ir.Expr) -> str:
    if isinstance(e, ir.Ident):
        return e.parts[-1]
    if isinstance(e, ir.InsertionOrder) or (isinstance(e, ir.Raw) and e.sql == "rowid"):
        return "rowid"
    return ""


def _unify(outs: list[Out]) -> str:
    kinds = {o.kind for o in outs} - {"null", "any"}
    if not kinds:
        return "any" if any(o.kind == "any" for o in outs) else "null"
    if len(kinds) == 1:
        return kinds.pop()
    if kinds == {"bool", "num"}:
        return "num"
    return "key"
