"""From a parsed filter to a SQL tree, with PocketBase's record-field semantics.

PocketBase LEFT JOINs every relation path onto the list query and de-duplicates with DISTINCT.
Satchel keeps the list query a plain `SELECT * FROM t WHERE ...` by moving those joins into one
correlated `EXISTS (SELECT 1 FROM (SELECT 1) LEFT JOIN ... WHERE ...)`: a row matches when some
combination of joined rows satisfies the condition, which is exactly what DISTINCT over the joined
rows yields. Joins are shared per path (so `a.x = 1 && a.y = 2` speak of the same related row, as in
PocketBase), top-level conjuncts that need no join stay outside the EXISTS so indexes still work,
and the "every item must match" rule of plain operators on multi-valued paths is PocketBase's
`NOT EXISTS` over a fresh copy of the path. Values only ever become `ir.Param`; identifiers are
checked against the schema before they become column references.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from satchel.core.collections.indexes import parse_index
from satchel.core.collections.model import Collection
from satchel.core.fields.base import Field
from satchel.core.rules import identifiers as ids
from satchel.core.rules import sealed_filter, search
from satchel.core.rules.request_info import RequestInfo
from satchel.core.rules.resolver_errors import FilterError as FilterError  # re-exported: its home before
from satchel.tools.filter import ast
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse
from satchel.tools.sql import ir

Finder = Callable[[str], Collection | None]
Fallback = Literal["auto", "disabled", "enforced"]

MAX_RELATION_DEPTH = 6
MULTI_VALUER_TYPES = frozenset({"select", "relation", "file"})


# ----------------------------------------------------------------------- operands
@dataclass(frozen=True, slots=True)
class MultiMatch:
    """A fresh copy of a multi-valued path: `SELECT value FROM (SELECT 1) LEFT JOIN joins...`."""

    joins: tuple[ir.Join, ...]
    value: ir.Expr


@dataclass(frozen=True, slots=True)
class Operand:
    """One resolved side of a comparison (PocketBase's ResolverResult).

    `params` are the bound values PocketBase would see for this operand: they decide the
    empty/non-empty shortcuts of `=` and which values `~` wraps in `%`. `kind` marks the bare
    SQL literals PocketBase special-cases by spelling (NULL, and 1/0/TRUE/FALSE).
    """

    expr: ir.Expr
    params: tuple[ir.Param, ...] = ()
    fallback: Fallback = "auto"
    kind: Literal["other", "null", "bool"] = "other"
    mm: MultiMatch | None = None
    after: Callable[[ir.Expr], ir.Expr] | None = None
    sealed: sealed_filter.SealedRef | None = None
    """Set when the operand is an encrypted field: `expr` is then its blind index column."""


NULL_OPERAND = Operand(ir.NULL, kind="null")
TRUE_OPERAND = Operand(ir.Raw("1"), kind="bool")
FALSE_OPERAND = Operand(ir.Raw("0"), kind="bool")
EMPTY = ir.Param("")


def _value(value: Any) -> Operand:
    if value is None:
        return NULL_OPERAND
    p = ir.Param(value)
    return Operand(p, (p,))


@dataclass(slots=True)
class _Path:
    """The walking state of one identifier (PocketBase's runner)."""

    coll: Collection
    alias: str
    key: tuple[str, ...]
    mm_alias: str
    mm_joins: list[ir.Join] = field(default_factory=list)
    with_mm: bool = False
    nullify: bool = False


class _Ids:
    """Alias generator shared by a resolver and the rule resolvers it spawns."""

    def __init__(self) -> None:
        self.n = 0

    def next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"


# ------------------------------------------------------------------------ resolver
class Resolver:
    def __init__(
        self,
        collection: Collection,
        find_collection: Finder,
        request: RequestInfo | None,
        *,
        allow_hidden: bool = False,
        stored: bool = True,
    ) -> None:
        self.collection = collection
        self.stored = stored
        """Whether the collection's alias is its stored table (else a row of values): `search()` reads
        the index only then."""
        self.find = find_collection
        self.request = request
        self.allow_hidden = allow_hidden
        self.uses_superuser_only = False
        self._now = datetime.now(UTC)
        self._base_alias = collection.name
        self._key_prefix: tuple[str, ...] = ()
        self._ids = _Ids()
        self._joins: dict[tuple[str, ...], tuple[str, ir.Join]] = {}
        self._rule_joins: list[tuple[Collection, str]] = []
        self._touched = False

    # ------------------------------------------------------------------ public
    def where(self, node: ast.Node) -> ir.Expr:
        """A self-contained condition on the main table (`"<collection>"."col"` references)."""
        self._joins, self._rule_joins = {}, []
        free: list[ir.Expr] = []
        bound: list[ir.Expr] = []
        for conjunct in _conjuncts(node):
            expr, uses_joins = self._node(conjunct)
            (bound if uses_joins else free).append(expr)
        bound.extend(self._rule_conditions())
        if bound:
            inner = ir.and_all(bound)
            assert inner is not None
            free.append(self.exists_in_joins(inner) if self._joins else inner)
        out = ir.and_all(free)
        assert out is not None
        return out

    def order_by(self, sort: str) -> tuple[ir.OrderBy, ...]:
        from satchel.core.rules.sort import build_order_by

        return build_order_by(self, sort)

    # Kept for callers written against the former join-based resolver: `where()` results are
    # already self-contained, so there is nothing to add to the query.
    @property
    def joins(self) -> dict[str, ir.Join]:
        return {}

    def standalone(self, expr: ir.Expr) -> ir.Expr:
        return expr

    # ------------------------------------------------------------ sort support
    def sort_operand(self, name: str) -> tuple[Operand, tuple[ir.Join, ...], ir.Expr | None]:
        """Resolve one sort key: the operand, the joins it needs and the visibility conditions."""
        self._joins, self._rule_joins = {}, []
        operand = self._resolve(name)
        conds = self._rule_conditions()
        return operand, tuple(j for _, j in self._joins.values()), ir.and_all(conds)

    def dummy_source(self) -> ir.SubquerySource:
        return ir.SubquerySource(ir.Select((ir.Raw("1"),)), self._ids.next("__d"))

    def exists_in_joins(self, where: ir.Expr) -> ir.Expr:
        joins = tuple(j for _, j in self._joins.values())
        return ir.Exists(ir.Select((ir.Raw("1"),), self.dummy_source(), joins=joins, where=where))

    # -------------------------------------------------------------- filter tree
    def _node(self, node: ast.Node) -> tuple[ir.Expr, bool]:
        if isinstance(node, ast.Join):
            left, lj = self._node(node.left)
            right, rj = self._node(node.right)
            return ir.Binary("AND" if node.op == "&&" else "OR", left, right), lj or rj
        self._touched = False
        if search.is_search(node):
            return search.condition(self, node), False
        left_op = self._token(node.left)
        right_op = self._token(node.right)
        return build_comparison(left_op, node.op, right_op, self._ids), self._touched

    def _token(self, token: ast.Operand) -> Operand:
        if isinstance(token, ast.Text):
            return _value(token.value)
        if isinstance(token, ast.Number):
            return _value(float(token.value))
        if isinstance(token, ast.Call):
            return self._call(token)
        name = token.name
        value = ids.macro(name, self._now)
        if value is not None:
            return _value(value)
        try:
            return self._resolve(name)
        except FilterError:
            literal = name.lower()
            if literal in ids.LITERALS:
                v = ids.LITERALS[literal]
                return NULL_OPERAND if v is None else (TRUE_OPERAND if v else FALSE_OPERAND)
            raise

    def _rule_conditions(self) -> list[ir.Expr]:
        """PocketBase applies a related collection's list rule when a client filter reaches it."""
        out: list[ir.Expr] = []
        for coll, alias in self._rule_joins:
            rule = coll.listRule or ""
            try:
                rule_node = parse(rule)
            except FilterSyntaxError as exc:
                raise FilterError(f"invalid list rule of {coll.name!r}: {exc}") from exc
            sub = Resolver(coll, self.find, self.request, allow_hidden=True)
            sub._now, sub._ids, sub._joins = self._now, self._ids, self._joins
            sub._base_alias, sub._key_prefix = alias, ("__rule", alias)
            node = ast.Join("||", ast.Comparison(ast.Identifier("id"), "=", ast.Text("")), rule_node)
            out.append(sub._node(node)[0])
        return out

    # ------------------------------------------------------------- identifiers
    def _resolve(self, name: str) -> Operand:
        if not ids.is_allowed(name):
            raise FilterError(f"failed to resolve field {name!r}")
        props = name.split(".")
        try:
            if props[0] == "@collection":
                self.uses_superuser_only = True
                return self._collection_field(name, props)
            if props[0] == "@request":
                self.uses_superuser_only = True
                return self._request_field(name, props)
            return self._walk(self._start(), props)
        except ids.IdentifierError as exc:
            raise FilterError(str(exc)) from exc

    def _start(self, nullify: bool = False) -> _Path:
        return _Path(self.collection, self._base_alias, (), self._base_alias, nullify=nullify)

    def _load(self, name_or_id: str) -> Collection | None:
        if name_or_id in (self.collection.name, self.collection.id):
            return self.collection
        return self.find(name_or_id)

    def _register(self, key: tuple[str, ...], make: Callable[[str], ir.Join], coll: Collection | None) -> str:
        self._touched = True
        if coll is not None and not self.allow_hidden and coll.listRule is None:
            raise FilterError(f"{coll.name!r} fields can be accessed only by superusers")
        key = self._key_prefix + key
        found = self._joins.get(key)
        if found is not None:
            return found[0]
        alias = self._ids.next("__r")
        self._joins[key] = (alias, make(alias))
        if coll is not None and not self.allow_hidden and coll.listRule:
            self._rule_joins.append((coll, alias))
        return alias

    def _check_hidden(self, f: Field) -> None:
        if f.hidden:
            if not self.allow_hidden:
                raise FilterError(f"non-filterable field {f.name!r}")
            self.uses_superuser_only = True

    def _collection_field(self, name: str, props: list[str]) -> Operand:
        if len(props) < 3:
            raise FilterError(f"invalid @collection field path in {name!r}")
        cname, _, calias = props[1].partition(":")
        coll = self._load(cname)
        if coll is None:
            raise FilterError(f"failed to load collection {cname!r}")
        key = ("@collection", coll.name, calias)
        alias = self._register(key, lambda a: ir.Join("LEFT JOIN", ir.Table(coll.name, a)), coll)
        m = self._ids.next("__m")
        st = _Path(coll, alias, key, m, [ir.Join("LEFT JOIN", ir.Table(coll.name, m))], with_mm=True)
        return self._walk(st, props[2:])

    def _request_field(self, name: str, props: list[str]) -> Operand:
        if self.request is None:
            return NULL_OPERAND
        if name.startswith("@request.auth."):
            return self._auth_field(name, props)
        if name.startswith("@request.body.") and len(props) > 2:
            fname, modifier = ids.split_modifier(props[2])
            f = self.collection.field(fname)
            if f is not None:
                if f.type == "relation" and len(props) > 3:
                    return self._body_relation(f, props)
                if len(props) == 3 and modifier in ("each", "length", "lower", "changed"):
                    return self._body_modifier(f, modifier)
        return self._static(props[1:])

    def _static_info(self) -> dict[str, Any]:
        req = self.request
        assert req is not None
        auth: dict[str, Any] | None = None
        if req.auth is not None:
            auth = {**req.auth.data, "collectionId": req.auth.collection_id, "collectionName": req.auth.collection_name}
        return {
            "context": req.context,
            "method": req.method,
            "query": req.query,
            "headers": req.headers,
            "body": req.body,
            "auth": auth,
        }

    def _static(self, path: list[str]) -> Operand:
        last, modifier = ids.split_modifier(path[-1])
        found, value = ids.nested_value(self._static_info(), [*path[:-1], last])
        if modifier == "isset":
            return TRUE_OPERAND if found else FALSE_OPERAND
        f = self.collection.field(last)
        value = ids.bind_value(value, numeric=f is not None and f.type == "number")
        if modifier not in (None, "lower"):
            raise FilterError(f"invalid modifier sequence {last}:{modifier}")
        if value is None:
            return NULL_OPERAND
        p = ir.Param(value)
        if modifier == "lower":
            return Operand(ir.Func("LOWER", (p,)), (p,))
        return Operand(p, (p,))

    def _auth_field(self, name: str, props: list[str]) -> Operand:
        auth = self.request.auth if self.request is not None else None
        if auth is None:
            return NULL_OPERAND
        if name in ids.PLAIN_AUTH_FIELDS:
            return self._static(props[1:])
        coll = auth.collection

        def on(a: str) -> ir.Expr:
            return ir.eq(ir.col(a, "id"), ir.Param(auth.id))

        key = ("@auth", coll.name)
        alias = self._register(key, lambda a: ir.Join("LEFT JOIN", ir.Table(coll.name, a), on(a)), coll)
        m = self._ids.next("__m")
        st = _Path(coll, alias, key, m, [ir.Join("LEFT JOIN", ir.Table(coll.name, m), on(m))], nullify=True)
        return self._walk(st, props[2:])

    def _body_relation(self, f: Field, props: list[str]) -> Operand:
        target = self._load(str(getattr(f, "collection_id", "")))
        if target is None:
            raise FilterError(f"failed to load the collection of {f.name!r}")
        rel_ids = ids.unique_strings(self.request.body.get(f.name) if self.request is not None else None)
        if not rel_ids:
            return NULL_OPERAND

        def on(a: str) -> ir.Expr:
            return ir.InList(ir.col(a, "id"), tuple(ir.Param(i) for i in rel_ids))

        key = ("@body", target.name, f.name)
        alias = self._register(key, lambda a: ir.Join("LEFT JOIN", ir.Table(target.name, a), on(a)), target)
        m = self._ids.next("__m")
        st = _Path(
            target,
            alias,
            key,
            m,
            [ir.Join("LEFT JOIN", ir.Table(target.name, m), on(m))],
            with_mm=f.is_multiple,
            nullify=True,
        )
        return self._walk(st, props[3:])

    def _body_modifier(self, f: Field, modifier: str | None) -> Operand:
        body = self.request.body if self.request is not None else {}
        if modifier == "changed":
            isset = build_comparison(self._static(["body", f.name + ":isset"]), "=", TRUE_OPERAND, self._ids)
            differs = build_comparison(self._static(["body", f.name]), "!=", self._resolve(f.name), self._ids)
            return Operand(ir.Binary("AND", isset, differs), fallback="disabled")
        if modifier == "lower":
            p = ir.Param(ids.go_string(body.get(f.name)))
            return Operand(ir.Func("LOWER", (p,)), (p,))
        if f.type not in MULTI_VALUER_TYPES:
            raise FilterError(f"field {f.name!r} doesn't support multivalue operations")
        items = ids.to_items(body.get(f.name))
        if modifier == "length":
            return Operand(ir.Param(len(items)))
        raw = ir.Param(ids.go_json(items))
        je = self._register(("@body_each", f.name), lambda a: ir.Join("LEFT JOIN", ir.JsonEach(raw, a)), None)
        mm = None
        if f.is_multiple:
            m = self._ids.next("__m")
            mm = MultiMatch((ir.Join("LEFT JOIN", ir.JsonEach(raw, m)),), ir.col(m, "value"))
        return Operand(ir.col(je, "value"), (raw,), mm=mm)

    # --------------------------------------------------------------- functions
    def _call(self, call: ast.Call) -> Operand:
        if call.name == "geoDistance":
            return self._geo_distance(call.args)
        if call.name == "strftime":
            return self._strftime(call.args)
        raise FilterError(f"unknown function {call.name!r}")

    def _geo_distance(self, args: tuple[ast.Operand, ...]) -> Operand:
        """Great-circle distance in km (spherical law of cosines, exactly PocketBase's formula)."""
        if len(args) != 4:
            raise FilterError(f"[geoDistance] expected 4 arguments, got {len(args)}")
        resolved: list[Operand] = []
        for i, arg in enumerate(args):
            if not isinstance(arg, ast.Identifier | ast.Number):
                raise FilterError(f"[geoDistance] argument {i} must be an identifier or number")
            resolved.append(self._token(arg))
        lon_a, lat_a, lon_b, lat_b = (ir.Func("RADIANS", (o.expr,)) for o in resolved)

        def mul(a: ir.Expr, b: ir.Expr) -> ir.Expr:
            return ir.Binary("*", a, b)

        cos_part = mul(
            mul(ir.Func("COS", (lat_a,)), ir.Func("COS", (lat_b,))), ir.Func("COS", (ir.Binary("-", lon_b, lon_a),))
        )
        sin_part = mul(ir.Func("SIN", (lat_a,)), ir.Func("SIN", (lat_b,)))
        distance = mul(ir.Param(6371), ir.Func("ACOS", (ir.Binary("+", cos_part, sin_part),)))
        params = tuple(p for o in resolved for p in o.params)
        return Operand(distance, params, fallback="disabled")

    def _strftime(self, args: tuple[ast.Operand, ...]) -> Operand:
        if not args:
            raise FilterError("[strftime] expected at least 1 arguments, got 0")
        if len(args) > 10:
            raise FilterError(f"[strftime] too many arguments (max allowed 10, got {len(args)})")
        if not isinstance(args[0], ast.Text):
            raise FilterError("[strftime] expects the first argument to be a format string")
        fmt = self._token(args[0])
        if len(args) == 1:
            return Operand(ir.Func("STRFTIME", (fmt.expr,)), fmt.params, fallback="enforced")
        if not isinstance(args[1], ast.Text | ast.Identifier | ast.Number):
            raise FilterError("[strftime] expects the second argument to be of a valid time-value type")
        time_value = self._token(args[1])
        modifiers: list[Operand] = []
        for i, arg in enumerate(args[2:]):
            if not isinstance(arg, ast.Text):
                raise FilterError(f"[strftime] invalid modifier argument {i} - can be only string")
            modifiers.append(self._token(arg))
        params = (*fmt.params, *time_value.params, *(p for m in modifiers for p in m.params))
        rest = tuple(m.expr for m in modifiers)
        expr = ir.Func("STRFTIME", (fmt.expr, time_value.expr, *rest))
        mm = None
        if time_value.mm is not None:
            mm = MultiMatch(time_value.mm.joins, ir.Func("STRFTIME", (fmt.expr, time_value.mm.value, *rest)))
        return Operand(expr, params, fallback="enforced", mm=mm)

    # ------------------------------------------------------------ field paths
    def _walk(self, st: _Path, props: list[str]) -> Operand:
        total = len(props)
        for i, prop in enumerate(props):
            if i == total - 1:
                return self._finalize(st, prop)
            f = st.coll.field(prop)
            if f is not None:
                self._check_hidden(f)
            if f is not None and sealed_filter.is_sealed(f):
                raise sealed_filter.SealedFilterError(f.name, "a path into its value cannot be filtered on.")
            if f is not None and f.type in ("json", "geoPoint"):
                path = tuple(ids.json_key(p) for p in props[i + 1 :])
                mm = self._mm(st, json_extract(ir.col(st.mm_alias, f.name), path))
                return Operand(json_extract(ir.col(st.alias, f.name), path), fallback="disabled", mm=mm)
            if i >= MAX_RELATION_DEPTH:
                raise FilterError(f"max nested relations reached for field {prop!r}")
            if f is None:
                if not self._back_relation(st, prop):
                    return NULL_OPERAND
                continue
            if f.type != "relation":
                raise FilterError(f"field {prop!r} is not a valid relation")
            target = self._load(str(getattr(f, "collection_id", "")))
            if target is None:
                raise FilterError(f"failed to load field {prop!r} collection")
            if not f.is_multiple and i == total - 2 and props[i + 1] == "id":
                return self._finalize(st, f.name)
            self._relation_hop(st, f, target)
        raise FilterError("failed to resolve field")

    def _mm(self, st: _Path, value: ir.Expr) -> MultiMatch | None:
        return MultiMatch(tuple(st.mm_joins), value) if st.with_mm else None

    def _relation_hop(self, st: _Path, f: Field, target: Collection) -> None:
        key = (*st.key, f.name)
        column = ir.col(st.alias, f.name)
        ref: ir.Expr = column
        if f.is_multiple:
            je = self._register((*key, "@je"), lambda a: ir.Join("LEFT JOIN", ir.JsonEach(column, a)), None)
            ref = ir.col(je, "value")
        alias = self._register(
            key, lambda a: ir.Join("LEFT JOIN", ir.Table(target.name, a), ir.eq(ir.col(a, "id"), ref)), target
        )
        mref: ir.Expr = ir.col(st.mm_alias, f.name)
        if f.is_multiple:
            st.with_mm = True
            mje = self._ids.next("__m")
            st.mm_joins.append(ir.Join("LEFT JOIN", ir.JsonEach(mref, mje)))
            mref = ir.col(mje, "value")
        m = self._ids.next("__m")
        st.mm_joins.append(ir.Join("LEFT JOIN", ir.Table(target.name, m), ir.eq(ir.col(m, "id"), mref)))
        st.coll, st.alias, st.key, st.mm_alias = target, alias, key, m

    def _back_relation(self, st: _Path, prop: str) -> bool:
        """Join `<collection>_via_<field>`; False when a missing piece resolves to NULL."""
        match = ids.VIA.match(prop)
        source = self._load(match.group(1)) if match else None
        back = source.field(match.group(2)) if source is not None and match else None
        if source is None or back is None or back.type != "relation":
            if st.nullify:
                return False
            raise FilterError(f"failed to resolve field {prop!r}")
        self._check_hidden(back)
        if getattr(back, "collection_id", "") != st.coll.id:
            if st.nullify:
                return False
            raise FilterError(f"invalid collection reference of a back relation field {back.name!r}")
        multi = back.is_multiple
        fname = back.name

        def on(alias: str, owner: str) -> ir.Expr:
            if not multi:
                return ir.eq(ir.col(alias, fname), ir.col(owner, "id"))
            je = self._ids.next("__je")
            items = ir.Select((ir.col(je, "value"),), ir.JsonEach(ir.col(alias, fname), je))
            return ir.InSelect(ir.col(owner, "id"), items)

        owner = st.alias
        key = (*st.key, prop)
        alias = self._register(key, lambda a: ir.Join("LEFT JOIN", ir.Table(source.name, a), on(a, owner)), source)
        if multi:
            st.with_mm = True
        elif not st.with_mm:
            st.with_mm = not _has_unique_index(source, fname)
        m = self._ids.next("__m")
        st.mm_joins.append(ir.Join("LEFT JOIN", ir.Table(source.name, m), on(m, st.mm_alias)))
        st.coll, st.alias, st.key, st.mm_alias = source, alias, key, m
        return True

    def _finalize(self, st: _Path, prop: str) -> Operand:
        name, modifier = ids.split_modifier(prop)
        f = st.coll.field(name)
        if f is None:
            if st.nullify:
                return NULL_OPERAND
            raise FilterError(f"unknown field {name!r}")
        self._check_hidden(f)
        if sealed_filter.is_sealed(f):
            if modifier is not None:
                raise sealed_filter.SealedFilterError(f.name, f"the :{modifier} modifier cannot apply to it.")
            index, mindex = sealed_filter.index_columns(st.alias, st.mm_alias, f)
            return Operand(index, mm=self._mm(st, mindex), sealed=sealed_filter.SealedRef(st.coll, f))
        column, mcolumn = ir.col(st.alias, f.name), ir.col(st.mm_alias, f.name)
        multi_valuer = f.type in MULTI_VALUER_TYPES
        if modifier == "length" and multi_valuer:
            return Operand(array_length(column), mm=self._mm(st, array_length(mcolumn)))
        if modifier == "each" and multi_valuer:
            je = self._register((*st.key, f.name, "@je"), lambda a: ir.Join("LEFT JOIN", ir.JsonEach(column, a)), None)
            if f.is_multiple:
                st.with_mm = True
            mm = None
            if st.with_mm:
                mje = self._ids.next("__m")
                mm = MultiMatch((*st.mm_joins, ir.Join("LEFT JOIN", ir.JsonEach(mcolumn, mje))), ir.col(mje, "value"))
            return Operand(ir.col(je, "value"), mm=mm)
        value: ir.Expr = column
        mvalue: ir.Expr = mcolumn
        fallback: Fallback = "auto"
        after = None
        if f.name == "email" and not self.allow_hidden and st.coll.is_auth:
            # only records that show their email may be matched by it
            after = _and_also(ir.eq(ir.col(st.alias, "emailVisibility"), ir.Raw("1")))
        if f.type == "json":
            value, mvalue, fallback = json_extract(column, ()), json_extract(mcolumn, ()), "disabled"
        if modifier == "lower":
            value, mvalue = ir.Func("LOWER", (value,)), ir.Func("LOWER", (mvalue,))
        return Operand(value, fallback=fallback, mm=self._mm(st, mvalue), after=after)


def _and_also(extra: ir.Expr) -> Callable[[ir.Expr], ir.Expr]:
    def apply(e: ir.Expr) -> ir.Expr:
        return ir.Binary("AND", e, extra)

    return apply


def _has_unique_index(coll: Collection, column: str) -> bool:
    for sql in coll.indexes:
        try:
            idx = parse_index(sql)
        except ValueError:
            continue
        if idx.unique and len(idx.columns) == 1 and idx.columns[0].name.lower() == column.lower():
            return True
    return False


def _conjuncts(node: ast.Node) -> list[ast.Node]:
    if isinstance(node, ast.Join) and node.op == "&&":
        return [*_conjuncts(node.left), *_conjuncts(node.right)]
    return [node]


# ----------------------------------------------------------------- SQL shapes
def json_extract(column: ir.Expr, path: tuple[str | int, ...]) -> ir.Expr:
    """The JSON value at `path`; plain (non-JSON) text is its own value."""
    return ir.JsonValue(column, path)


def array_length(column: ir.Expr) -> ir.Expr:
    """Items of a JSON array column; a plain value counts as one, '' and NULL as none."""
    return ir.ArrayLength(column)


# ---------------------------------------------------------------- comparisons
def build_comparison(left: Operand, op: str, right: Operand, aliases: _Ids) -> ir.Expr:
    """PocketBase's buildResolversExpr: the comparison, its multi-match guard and after-hooks."""
    if left.sealed is not None or right.sealed is not None:
        return sealed_filter.comparison(left, op, right, lambda mm, test: _every_item(mm, test, aliases))
    return _plain_comparison(left, op, right, aliases)


def _plain_comparison(left: Operand, op: str, right: Operand, aliases: _Ids) -> ir.Expr:
    any_op = op.startswith("?")
    base = op.lstrip("?")
    expr: ir.Expr
    if base in ("=", "!="):
        expr = _equal(base == "=", left, right)
    elif base in ("~", "!~"):
        if right.params:
            pattern = _map_params(right.expr, right.params, _like_value)
        else:
            pattern = ir.Binary("||", ir.Binary("||", ir.Param("%"), right.expr), ir.Param("%"))
        expr = ir.Like(left.expr, pattern, negate=base == "!~")
    elif base in ("<", "<=", ">", ">="):
        expr = ir.Binary(cast(ir.BinaryOp, base), left.expr, right.expr)
    else:
        raise FilterError(f"unknown expression operator {op!r}")
    if not any_op:
        guard: ir.Expr | None = None
        if left.mm is not None and right.mm is not None:
            guard = _many_vs_many(left, op, right, aliases)
        elif left.mm is not None:
            guard = _many_vs_one(left.mm, left.fallback, op, right, aliases, inverse=False)
        elif right.mm is not None:
            guard = _many_vs_one(right.mm, right.fallback, op, left, aliases, inverse=True)
        if guard is not None:
            expr = ir.Binary("AND", expr, guard)
    if left.after is not None:
        expr = left.after(expr)
    if right.after is not None:
        expr = right.after(expr)
    return expr


def _mm_source(mm: MultiMatch, aliases: _Ids, alias: str) -> ir.SubquerySource:
    dummy = ir.SubquerySource(ir.Select((ir.Raw("1"),)), aliases.next("__d"))
    return ir.SubquerySource(ir.Select((ir.Alias(mm.value, "v"),), dummy, joins=mm.joins), alias)


def _many_vs_one(
    mm: MultiMatch, fallback: Fallback, op: str, other: Operand, aliases: _Ids, *, inverse: bool
) -> ir.Expr:
    """No item of the multi-valued side may fail the comparison."""
    alias = aliases.next("__sm")
    item = Operand(ir.col(alias, "v"), fallback=fallback, after=ir.Not)
    plain = Operand(other.expr, other.params, kind=other.kind)
    where = build_comparison(plain, op, item, aliases) if inverse else build_comparison(item, op, plain, aliases)
    return ir.Exists(ir.Select((ir.Raw("1"),), _mm_source(mm, aliases, alias), where=where), negate=True)


def _every_item(mm: MultiMatch, test: Callable[[ir.Expr], ir.Expr], aliases: _Ids) -> ir.Expr:
    """No item of a multi-valued path fails `test`."""
    alias = aliases.next("__sm")
    where = ir.Not(test(ir.col(alias, "v")))
    return ir.Exists(ir.Select((ir.Raw("1"),), _mm_source(mm, aliases, alias), where=where), negate=True)


def _many_vs_many(left: Operand, op: str, right: Operand, aliases: _Ids) -> ir.Expr:
    assert left.mm is not None and right.mm is not None
    la, ra = aliases.next("__ml"), aliases.next("__mr")
    lo = Operand(ir.col(la, "v"), fallback=left.fallback)
    ro = Operand(ir.col(ra, "v"), fallback=right.fallback, after=ir.Not)
    where = build_comparison(lo, op, ro, aliases)
    join = ir.Join("LEFT JOIN", _mm_source(right.mm, aliases, ra))
    return ir.Exists(
        ir.Select((ir.Raw("1"),), _mm_source(left.mm, aliases, la), joins=(join,), where=where), negate=True
    )


def _has_empty(o: Operand) -> bool:
    return any(p.value is None or (isinstance(p.value, str) and p.value == "") for p in o.params)


def _is_empty(o: Operand) -> bool:
    return o.kind == "null" or (o.fallback == "auto" and len(o.params) == 1 and _has_empty(o))


def _known_nonempty(o: Operand) -> bool:
    if o.fallback == "enforced":
        return False
    if o.kind == "bool":
        return True
    return bool(o.params) and not _has_empty(o) and o.kind != "null"


def _equal(equal: bool, left: Operand, right: Operand) -> ir.Expr:
    """Null-tolerant equality: '' and NULL are the same "empty" unless a side opts out."""
    eq_op: ir.BinaryOp = "=" if equal else "IS NOT"
    null_op: ir.BinaryOp = "IS" if equal else "IS NOT"
    join: ir.BinaryOp = "OR" if equal else "AND"
    if left.fallback == "disabled" or right.fallback == "disabled":
        return ir.Binary(null_op, left.expr, right.expr)
    left_empty, right_empty = _is_empty(left), _is_empty(right)
    if left_empty and right_empty:
        return ir.Binary(eq_op, EMPTY, EMPTY)
    if _known_nonempty(left) or _known_nonempty(right):
        return ir.Binary(eq_op, EMPTY if left_empty else left.expr, EMPTY if right_empty else right.expr)
    if left_empty:
        return ir.Binary(join, ir.Binary(eq_op, EMPTY, right.expr), ir.Binary(null_op, right.expr, ir.NULL))
    if right_empty:
        return ir.Binary(join, ir.Binary(eq_op, left.expr, EMPTY), ir.Binary(null_op, left.expr, ir.NULL))
    coalesce_left = ir.Func("COALESCE", (left.expr, EMPTY))
    return ir.Binary(eq_op, coalesce_left, ir.Func("COALESCE", (right.expr, EMPTY)))


def _like_value(value: Any) -> str:
    """A bound LIKE operand: `%...%` around it unless it already has an unescaped `%`."""
    text = ids.go_string(value)
    if _has_unescaped(text, "%"):
        return text
    return "%" + _escape(text) + "%"


def _has_unescaped(text: str, ch: str) -> bool:
    prev = ""
    for c in text:
        if c == ch and prev != "\\":
            return True
        prev = "" if (c == "\\" and prev == "\\") else c
    return False


def _escape(text: str) -> str:
    """Backslash-escape `\\`, `%` and `_` unless already escaped."""
    out: list[str] = []
    pending = False
    for i in range(len(text) - 1, -1, -1):
        c = text[i]
        if pending:
            if c != "\\":
                out.append("\\")
            pending = False
        else:
            pending = c in "\\%_"
        out.append(c)
        if i == 0 and pending:
            out.append("\\")
    return "".join(reversed(out))


def _map_params(e: ir.Expr, targets: tuple[ir.Param, ...], fn: Callable[[Any], Any]) -> ir.Expr:
    """Rewrite exactly the given Param nodes (by identity) inside an operand expression."""
    if isinstance(e, ir.Param):
        return ir.Param(fn(e.value)) if any(e is t for t in targets) else e
    if isinstance(e, ir.Func):
        return ir.Func(e.name, tuple(_map_params(a, targets, fn) for a in e.args))
    if isinstance(e, ir.Binary):
        return ir.Binary(e.op, _map_params(e.left, targets, fn), _map_params(e.right, targets, fn))
    if isinstance(e, ir.Neg):
        return ir.Neg(_map_params(e.operand, targets, fn))
    return e


def uses_request_or_collection(node: ast.Node) -> bool:
    """Whether a filter touches `@request.*` or `@collection.*` (superuser-only in client filters)."""
    if isinstance(node, ast.Join):
        return uses_request_or_collection(node.left) or uses_request_or_collection(node.right)
    return _operand_uses(node.left) or _operand_uses(node.right)


def _operand_uses(op: ast.Operand) -> bool:
    if isinstance(op, ast.Identifier):
        return op.name.startswith(("@request.", "@collection."))
    if isinstance(op, ast.Call):
        return any(_operand_uses(a) for a in op.args)
    return False
