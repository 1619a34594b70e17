"""From a parsed filter to a SQL tree: PocketBase's field resolution and comparison semantics.

Relation paths, back-relations and `@collection.*` become LEFT JOINs registered once per path
(so two conditions on the same path talk about the same related row, as in PocketBase); a
multi-valued operand compared with a plain operator must match for every item, which adds a
correlated `NOT EXISTS` over a fresh copy of the path. Every value is a bound parameter; every
identifier is checked against the schema before it becomes a quoted column reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from satchel.core.collections.model import Collection
from satchel.core.errors import BadRequestError
from satchel.core.fields.base import Field
from satchel.core.rules.identifiers import Path, split_identifier
from satchel.core.rules.request_info import RequestInfo
from satchel.tools.datetime import macro_value
from satchel.tools.filter import ast
from satchel.tools.sql import ir

Finder = Callable[[str], Collection | None]
MAX_RELATION_DEPTH = 6
MAX_SORT_FIELDS = 8
_VIA = "_via_"


class FilterError(BadRequestError):
    """A filter, sort or rule that cannot be resolved against the schema."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("Something went wrong while processing your request.")
        self.detail = detail

    def __str__(self) -> str:
        return self.detail or self.message


@dataclass(slots=True)
class _Source:
    """How to reach a value: joins from the main row, the value expression, and whether it is a list."""

    joins: list[tuple[str, ir.Join]] = field(default_factory=list)
    value: ir.Expr = ir.NULL
    multi: bool = False
    each: bool = False
    empty_literal: bool = False
    nonempty_literal: bool = False
    no_coalesce: bool = False
    static_list: list[Any] | None = None


def _param(value: Any) -> _Source:
    if value is None:
        return _Source(value=ir.NULL, empty_literal=True)
    if isinstance(value, list):
        return _Source(value=ir.Param(_json(value)), static_list=value, multi=True)
    if isinstance(value, dict):
        return _Source(value=ir.Param(_json(value)), nonempty_literal=True)
    empty = value == ""
    return _Source(value=ir.Param(value), empty_literal=empty, nonempty_literal=not empty)


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


class Resolver:
    def __init__(
        self, collection: Collection, find: Finder, request: RequestInfo | None, *, allow_hidden: bool = False
    ) -> None:
        self.collection = collection
        self.find = find
        self.request = request or RequestInfo()
        self.allow_hidden = allow_hidden
        self.joins: dict[str, ir.Join] = {}
        self.uses_superuser_only = False
        self._aliases: dict[tuple[str, ...], str] = {}
        self._counter = 0
        self._now = datetime.now(UTC)

    # ----------------------------------------------------------------- public
    def where(self, node: ast.Node) -> ir.Expr:
        if isinstance(node, ast.Join):
            op: Literal["AND", "OR"] = "AND" if node.op == "&&" else "OR"
            return ir.Binary(op, self.where(node.left), self.where(node.right))
        return self._comparison(node)

    def standalone(self, expr: ir.Expr) -> ir.Expr:
        """The condition as one expression usable in any query on the main table.

        Without joins it is returned as is; with joins it becomes `id IN (SELECT DISTINCT id ...)`.
        """
        if not self.joins:
            return expr
        name = self.collection.name
        sub = ir.Select(
            (ir.col(name, "id"),), ir.Table(name), joins=tuple(self.joins.values()), where=expr, distinct=True
        )
        return ir.InSelect(ir.col(name, "id"), sub)

    def order_by(self, sort: str) -> tuple[ir.OrderBy, ...]:
        out: list[ir.OrderBy] = []
        items = [s.strip() for s in sort.split(",") if s.strip()]
        if len(items) > MAX_SORT_FIELDS:
            raise FilterError("too many sort fields")
        for item in items:
            desc = item.startswith("-")
            name = item.lstrip("+-").strip()
            if name == "@random":
                out.append(ir.OrderBy(ir.Raw("RANDOM()")))
                continue
            if name == "@rowid":
                out.append(ir.OrderBy(ir.Raw("rowid"), desc))
                continue
            src = self._identifier(name)
            if src.static_list is not None or (not src.joins and isinstance(src.value, ir.Param | ir.Null)):
                raise FilterError(f"invalid sort field {name!r}")
            out.append(ir.OrderBy(self._scalar(src), desc))
        return tuple(out)

    # -------------------------------------------------------------- operands
    def _operand(self, op: ast.Operand) -> _Source:
        if isinstance(op, ast.Text):
            return _param(op.value)
        if isinstance(op, ast.Number):
            v = op.value
            return _param(int(v) if v.is_integer() and abs(v) < 2**53 else v)
        if isinstance(op, ast.Call):
            return self._call(op)
        return self._identifier(op.name)

    def _identifier(self, name: str) -> _Source:
        if name in ("null", "NULL"):
            return _param(None)
        if name == "true":
            return _param(True)
        if name == "false":
            return _param(False)
        if name.startswith("@") and "." not in name:
            value = macro_value(name, self._now)
            if value is None:
                raise FilterError(f"unknown macro {name}")
            return _param(value)
        path = split_identifier(name)
        if path is None:
            raise FilterError(f"invalid identifier {name!r}")
        if path.parts[0] == "@request":
            self.uses_superuser_only = True
            return self._request(path)
        if path.parts[0] == "@collection":
            self.uses_superuser_only = True
            return self._collection_ref(path)
        if path.parts[0].startswith("@"):
            raise FilterError(f"unknown identifier {name!r}")
        return self._field_path(self.collection, self.collection.name, path, ())

    def _request(self, path: Path) -> _Source:
        req = self.request
        parts = path.parts
        if len(parts) < 2:
            raise FilterError("invalid @request identifier")
        area = parts[1]
        if area == "method" and len(parts) == 2:
            return _param(req.method)
        if area == "context" and len(parts) == 2:
            return _param(req.context)
        if area in ("query", "headers") and len(parts) == 3:
            source = req.query if area == "query" else req.headers
            return self._modified(_param(source.get(parts[2], "")), path.modifier)
        if area == "body" and len(parts) >= 3:
            return self._body(path)
        if area == "auth":
            return self._auth(path)
        raise FilterError("invalid @request identifier")

    def _body(self, path: Path) -> _Source:
        key = path.parts[2]
        body = self.request.body
        present = key in body or f"{key}+" in body or f"+{key}" in body or f"{key}-" in body
        if path.modifier == "isset":
            return _param(present)
        value = body.get(key)
        for k in path.parts[3:]:
            value = value.get(k) if isinstance(value, dict) else None
        if path.modifier == "changed":
            if not present:
                return _param(False)
            column = self.collection.field(key)
            if column is None:
                return _param(True)
            stored = ir.col(self.collection.name, key)
            new = ir.Param(column.to_db(column.coerce(value)))
            return _Source(value=ir.Binary("IS NOT", stored, new), nonempty_literal=True)
        f = self.collection.field(key)
        if f is not None and path.modifier is None and len(path.parts) == 3:
            value = f.coerce(value) if value is not None else None
            if isinstance(value, bool):
                value = 1 if value else 0
        return self._modified(_param(value), path.modifier)

    def _auth(self, path: Path) -> _Source:
        auth = self.request.auth
        parts = path.parts[2:]
        if not parts:
            raise FilterError("invalid @request.auth identifier")
        if auth is None:
            return self._modified(_param(""), path.modifier) if path.modifier != "length" else _param(0)
        if parts == ("collectionId",):
            return _param(auth.collection_id)
        if parts == ("collectionName",):
            return _param(auth.collection_name)
        coll = auth.collection
        first = coll.field(parts[0])
        if first is None:
            return _param("")  # unknown auth fields resolve to empty, as in PocketBase
        if len(parts) == 1:
            value = auth.get(parts[0])
            if isinstance(value, bool):
                value = 1 if value else 0
            return self._modified(_param(value), path.modifier)
        # a relation path starting at the auth record: resolve against its table, by id
        alias = self._alias(("@auth", coll.id))
        anchor = ir.Join("LEFT JOIN", ir.Table(coll.name, alias), ir.eq(ir.col(alias, "id"), ir.Param(auth.id)))
        return self._field_path(coll, alias, Path(parts, path.modifier), ((alias, anchor),))

    def _collection_ref(self, path: Path) -> _Source:
        if len(path.parts) < 3:
            raise FilterError("invalid @collection identifier")
        name, _, alias_name = path.parts[1].partition(":")
        target = self.find(name)
        if target is None:
            raise FilterError(f"unknown collection {name!r}")
        alias = self._alias(("@collection", target.id, alias_name))
        join = ir.Join("LEFT JOIN", ir.Table(target.name, alias), ir.Raw("1"))
        src = self._field_path(target, alias, Path(path.parts[2:], path.modifier), ((alias, join),))
        src.multi = True
        return src

    # ------------------------------------------------------------------ fields
    def _field(self, coll: Collection, name: str) -> Field:
        f = coll.field(name)
        if f is None:
            raise FilterError(f"unknown field {name!r}")
        if (f.hidden or (coll.is_auth and name in ("password", "tokenKey"))) and not self.allow_hidden:
            raise FilterError(f"field {name!r} is not filterable")
        if coll.is_auth and name in ("password", "tokenKey"):
            raise FilterError(f"field {name!r} is not filterable")
        return f

    def _field_path(
        self,
        coll: Collection,
        alias: str,
        path: Path,
        joins: tuple[tuple[str, ir.Join], ...],
    ) -> _Source:
        parts = list(path.parts)
        chain = list(joins)
        multi = any(isinstance(j.source, ir.JsonEach) for _, j in chain)
        depth = 0
        while True:
            name = parts.pop(0)
            if _VIA in name and parts:
                depth += 1
                if depth > MAX_RELATION_DEPTH:
                    raise FilterError("relation path too deep")
                coll, alias, chain = self._back_relation(coll, alias, name, chain)
                multi = True
                continue
            f = self._field(coll, name)
            column = ir.col(alias, name)
            if not parts:
                src = _Source(joins=chain, value=column, multi=multi or f.is_multiple)
                if f.type == "json":
                    src.no_coalesce = True
                if f.is_multiple:
                    src = self._expand_multi(src, column, alias, name, path.modifier)
                    return src
                return self._modified(src, path.modifier)
            if f.type == "relation":
                depth += 1
                if depth > MAX_RELATION_DEPTH:
                    raise FilterError("relation path too deep")
                target = self.find(str(getattr(f, "collection_id", "")))
                if target is None:
                    raise FilterError(f"broken relation {name!r}")
                key = (*[a for a, _ in chain], alias, name)
                if f.is_multiple:
                    je = self._alias((*key, "je"))
                    chain.append((je, ir.Join("LEFT JOIN", ir.JsonEach(column, je), None)))
                    ref: ir.Expr = ir.col(je, "value")
                    multi = True
                else:
                    ref = column
                rel = self._alias(key)
                chain.append((rel, ir.Join("LEFT JOIN", ir.Table(target.name, rel), ir.eq(ir.col(rel, "id"), ref))))
                coll, alias = target, rel
                continue
            if f.type in ("json", "geoPoint"):
                keys: list[str | int] = [int(p) if p.isdigit() else p for p in parts]
                src = _Source(joins=chain, value=ir.JsonExtract(column, tuple(keys)), multi=multi, no_coalesce=True)
                return self._modified(src, path.modifier)
            raise FilterError(f"field {name!r} has no sub-fields")

    def _back_relation(
        self, coll: Collection, alias: str, name: str, chain: list[tuple[str, ir.Join]]
    ) -> tuple[Collection, str, list[tuple[str, ir.Join]]]:
        source_name, _, field_name = name.partition(_VIA)
        source = self.find(source_name)
        if source is None:
            raise FilterError(f"unknown collection in {name!r}")
        f = source.field(field_name)
        if f is None or f.type != "relation" or getattr(f, "collection_id", "") != coll.id:
            raise FilterError(f"invalid back-relation {name!r}")
        rel = self._alias((*[a for a, _ in chain], alias, name))
        ref = ir.col(rel, field_name)
        if f.is_multiple:
            je = self._alias((rel, "via_je"))
            on: ir.Expr = ir.Exists(
                ir.Select((ir.Raw("1"),), ir.JsonEach(ref, je), where=ir.eq(ir.col(je, "value"), ir.col(alias, "id")))
            )
        else:
            on = ir.eq(ref, ir.col(alias, "id"))
        chain = [*chain, (rel, ir.Join("LEFT JOIN", ir.Table(source.name, rel), on))]
        return source, rel, chain

    def _expand_multi(self, src: _Source, column: ir.Expr, alias: str, name: str, modifier: str | None) -> _Source:
        if modifier == "length":
            src.value = ir.Func("IFNULL", (ir.JsonArrayLength(ir.JsonArrayOf(column)), ir.Param(0)))
            src.multi = any(isinstance(j.source, ir.JsonEach) for _, j in src.joins)
            return src
        je = self._alias((*[a for a, _ in src.joins], alias, name, "each"))
        src.joins = [*src.joins, (je, ir.Join("LEFT JOIN", ir.JsonEach(column, je), None))]
        src.value = ir.col(je, "value")
        src.multi = True
        src.each = modifier == "each"
        if modifier == "lower":
            src.value = ir.Func("LOWER", (src.value,))
        return src

    def _modified(self, src: _Source, modifier: str | None) -> _Source:
        if modifier is None:
            return src
        if modifier == "lower":
            src.value = ir.Func("LOWER", (src.value,))
            return src
        if modifier == "length":
            if src.static_list is not None:
                return _param(len(src.static_list))
            src.value = ir.Func("IFNULL", (ir.JsonArrayLength(ir.JsonArrayOf(src.value)), ir.Param(0)))
            return src
        if modifier == "each" and src.static_list is not None:
            src.each = True
            return src
        raise FilterError(f"modifier :{modifier} is not supported here")

    def _alias(self, key: tuple[str, ...]) -> str:
        alias = self._aliases.get(key)
        if alias is None:
            self._counter += 1
            alias = f"__j{self._counter}"
            self._aliases[key] = alias
        return alias

    # --------------------------------------------------------------- functions
    def _call(self, call: ast.Call) -> _Source:
        if call.name == "geoDistance" and len(call.args) == 4:
            a = [self._scalar(self._operand(x)) for x in call.args]
            return _Source(value=_haversine(*a), nonempty_literal=False)
        if call.name == "strftime" and len(call.args) >= 2 and isinstance(call.args[0], ast.Text):
            args = [ir.Param(call.args[0].value), *(self._scalar(self._operand(x)) for x in call.args[1:])]
            return _Source(value=ir.Func("STRFTIME", tuple(args)))
        raise FilterError(f"unknown function {call.name}")

    def _scalar(self, src: _Source) -> ir.Expr:
        """A single value for contexts that need one (sorting, function arguments)."""
        if not src.joins:
            return src.value
        _, first = src.joins[0]
        rest = tuple(j for _, j in src.joins[1:])
        source = first.source
        where = first.on if first.on is not None and not isinstance(first.on, ir.Raw) else None
        return ir.Subquery(ir.Select((src.value,), source, joins=rest, where=where, limit=1))

    # -------------------------------------------------------------- comparisons
    def _comparison(self, node: ast.Comparison) -> ir.Expr:
        left = self._operand(node.left)
        right = self._operand(node.right)
        if (
            left.static_list is None
            and not left.joins
            and isinstance(left.value, ir.Param)
            and right.static_list is None
            and not right.joins
            and isinstance(right.value, ir.Param)
        ):
            pass  # literal vs literal is allowed (e.g. `@request.auth.id != ""`)
        any_op = node.op.startswith("?")
        op = node.op.lstrip("?")
        for side in (left, right):
            for alias, join in side.joins:
                self.joins.setdefault(alias, join)
        if left.static_list is not None or right.static_list is not None:
            return self._static_list_comparison(left, op, right, any_op)
        expr = _compare(left, op, right)
        needs_all = (left.multi or right.multi) and (not any_op or left.each or right.each)
        if not needs_all:
            return expr
        return ir.Binary("AND", expr, self._all_items(left, op, right))

    def _all_items(self, left: _Source, op: str, right: _Source) -> ir.Expr:
        """`NOT EXISTS` an item of the multi-valued side that fails the comparison."""
        mm_left = self._fresh_copy(left) if left.multi else (left, [])
        mm_right = self._fresh_copy(right) if right.multi else (right, [])
        joins = mm_left[1] + mm_right[1]
        if not joins:
            return ir.Raw("1")
        first = joins[0]
        where = first.on if first.on is not None and not isinstance(first.on, ir.Raw) else None
        mismatch = ir.Not(ir.Func("IFNULL", (_compare(mm_left[0], op, mm_right[0]), ir.Param(0))))
        cond = mismatch if where is None else ir.Binary("AND", where, mismatch)
        return ir.Exists(ir.Select((ir.Raw("1"),), first.source, joins=tuple(joins[1:]), where=cond), negate=True)

    def _fresh_copy(self, src: _Source) -> tuple[_Source, list[ir.Join]]:
        """Rebuild the same path with new aliases (for the correlated all-items check)."""
        mapping = {alias: f"__mm{self._next()}" for alias, _ in src.joins}
        joins = [_rename_join(j, mapping) for _, j in src.joins]
        copy = _Source(value=_rename(src.value, mapping), multi=src.multi, no_coalesce=src.no_coalesce)
        return copy, joins

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _static_list_comparison(self, left: _Source, op: str, right: _Source, any_op: bool) -> ir.Expr:
        """A body array against a value: any (`?`) or every item must match."""
        if left.static_list is not None and right.static_list is not None:
            raise FilterError("cannot compare two lists")
        lst, other, list_left = (left, right, True) if left.static_list is not None else (right, left, False)
        items = [_param(v if not isinstance(v, bool) else int(v)) for v in (lst.static_list or [])]
        if not items:
            items = [_param(None)]
        exprs = [_compare(i, op, other) if list_left else _compare(other, op, i) for i in items]
        combined = ir.or_all(exprs) if any_op and not lst.each else ir.and_all(exprs)
        return combined if combined is not None else ir.Raw("0")


def _rename(e: ir.Expr, mapping: dict[str, str]) -> ir.Expr:
    """Rewrite column references of one alias set to another (a small tree walk)."""
    if isinstance(e, ir.Ident):
        if len(e.parts) == 2 and e.parts[0] in mapping:
            return ir.Ident((mapping[e.parts[0]], e.parts[1]))
        return e
    if isinstance(e, ir.Func):
        return ir.Func(e.name, tuple(_rename(a, mapping) for a in e.args))
    if isinstance(e, ir.Binary):
        return ir.Binary(e.op, _rename(e.left, mapping), _rename(e.right, mapping))
    if isinstance(e, ir.JsonExtract):
        return ir.JsonExtract(_rename(e.operand, mapping), e.path)
    if isinstance(e, ir.JsonArrayLength):
        return ir.JsonArrayLength(_rename(e.operand, mapping))
    if isinstance(e, ir.JsonArrayOf):
        return ir.JsonArrayOf(_rename(e.operand, mapping))
    if isinstance(e, ir.Exists):
        q = e.query
        return ir.Exists(
            ir.Select(
                q.columns,
                _rename_source(q.source, mapping) if q.source else None,
                where=_rename(q.where, mapping) if q.where else None,
            ),
            e.negate,
        )
    return e


def _rename_source(s: ir.Source, mapping: dict[str, str]) -> ir.Source:
    if isinstance(s, ir.Table):
        return ir.Table(s.name, mapping.get(s.alias or "", s.alias))
    if isinstance(s, ir.JsonEach):
        return ir.JsonEach(_rename(s.operand, mapping), mapping.get(s.alias, s.alias))
    return s


def _rename_join(j: ir.Join, mapping: dict[str, str]) -> ir.Join:
    return ir.Join(j.kind, _rename_source(j.source, mapping), _rename(j.on, mapping) if j.on is not None else None)


def _like_pattern(src: _Source) -> ir.Expr:
    if (
        isinstance(src.value, ir.Param)
        and isinstance(src.value.value, str | int | float)
        and not isinstance(src.value.value, bool)
    ):
        text = str(src.value.value)
        if "%" not in text:
            text = "%" + text.replace("\\", "\\\\").replace("_", "\\_") + "%"
        return ir.Param(text)
    return ir.Binary("||", ir.Binary("||", ir.Param("%"), src.value), ir.Param("%"))


def _compare(left: _Source, op: str, right: _Source) -> ir.Expr:
    if op in ("=", "!="):
        return _equal(op == "=", left, right)
    if op in ("~", "!~"):
        return ir.Like(left.value, _like_pattern(right), negate=op == "!~")
    if op in ("<", "<=", ">", ">="):
        return ir.Binary(op, left.value, right.value)  # type: ignore[arg-type]
    raise FilterError(f"unknown operator {op}")


def _equal(equal: bool, left: _Source, right: _Source) -> ir.Expr:
    """PocketBase's null-tolerant equality: '' and NULL are the same "empty"."""
    eq_op = "=" if equal else "IS NOT"
    null_op = "IS" if equal else "IS NOT"
    join = "OR" if equal else "AND"
    lv, rv = left.value, right.value
    if left.no_coalesce or right.no_coalesce:
        return ir.Binary(null_op, lv, rv)  # type: ignore[arg-type]
    if left.empty_literal and right.empty_literal:
        return ir.Binary(eq_op, ir.Param(""), ir.Param(""))  # type: ignore[arg-type]
    if left.nonempty_literal or right.nonempty_literal:
        lv = ir.Param("") if left.empty_literal else lv
        rv = ir.Param("") if right.empty_literal else rv
        return ir.Binary(eq_op, lv, rv)  # type: ignore[arg-type]
    if left.empty_literal:
        return ir.Binary(join, ir.Binary(eq_op, ir.Param(""), rv), ir.Binary(null_op, rv, ir.NULL))  # type: ignore[arg-type]
    if right.empty_literal:
        return ir.Binary(join, ir.Binary(eq_op, lv, ir.Param("")), ir.Binary(null_op, lv, ir.NULL))  # type: ignore[arg-type]
    return ir.Binary(
        eq_op,  # type: ignore[arg-type]
        ir.Func("COALESCE", (lv, ir.Param(""))),
        ir.Func("COALESCE", (rv, ir.Param(""))),
    )


def _haversine(lon1: ir.Expr, lat1: ir.Expr, lon2: ir.Expr, lat2: ir.Expr) -> ir.Expr:
    """Great-circle distance in km (the spherical law of cosines, clamped for acos)."""

    def rad(x: ir.Expr) -> ir.Expr:
        return ir.Func("RADIANS", (x,))

    cos_part = ir.Binary(
        "+",
        ir.Binary("*", ir.Func("SIN", (rad(lat1),)), ir.Func("SIN", (rad(lat2),))),
        ir.Binary(
            "*",
            ir.Binary("*", ir.Func("COS", (rad(lat1),)), ir.Func("COS", (rad(lat2),))),
            ir.Func("COS", (ir.Binary("-", rad(lon2), rad(lon1)),)),
        ),
    )
    clamped = ir.Func("MIN", (ir.Param(1.0), ir.Func("MAX", (ir.Param(-1.0), cos_part))))
    return ir.Binary("*", ir.Param(6371.0), ir.Func("ACOS", (clamped,)))


def uses_request_or_collection(node: ast.Node) -> bool:
    if isinstance(node, ast.Join):
        return uses_request_or_collection(node.left) or uses_request_or_collection(node.right)
    return any(
        isinstance(o, ast.Identifier) and o.name.startswith(("@request.", "@collection."))
        for o in (node.left, node.right)
    )
