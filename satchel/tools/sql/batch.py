"""Many probes of one shape as one statement.

A probe is a `SELECT` asked only whether it returns a row (a rule checked on some values). When
the same code builds a probe for many requests, the probes mostly differ only in their bound
values: the auth id in `author = ?`, the auth's `verified` flag. `template()` takes those values
out of a probe (each `Param` becomes a numbered `Slot`), so probes of one shape share one
template, and `exists_each()` turns a template and the values of N probes into

    SELECT "i" FROM (VALUES (0, v0...), (1, v1...), ...) WHERE EXISTS (template reading the row)

which returns the index of every probe that would have returned a row: one statement (or a few,
under the dialect's parameter limit) instead of N. Values that every probe shares stay bound
parameters; the others are read from the row as `+column`, which has no affinity, so they
compare exactly as the bound parameter of the single probe did.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from satchel.tools.sql import ir

MAX_PARAMS = 32766
"""Bound parameters per statement: SQLite's default SQLITE_MAX_VARIABLE_NUMBER since 3.32.
A build with a lower limit makes the statement fail, and callers fall back to single probes."""
INDEX = "i"
"""The column of a batched statement that holds the position of a passing probe."""
EMITTED_PER_PARAM = 4
"""Upper bound of the placeholders the SQLite compiler emits per parameter node (`JsonEach` and
`JsonArrayOf` repeat their operand four times)."""

T = TypeVar("T")
_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAVES = frozenset({str, int, float, bool, bytes, type(None)})


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else ()
    return names


def rewrite(node: T, visit: Callable[[Any], Any]) -> T:
    """`node` with every sub-node for which `visit` returns something other than None replaced.

    `visit` sees every node (IR dataclasses and tuples), not the plain values inside them. The walk
    is depth first, fields in declaration order and tuples left to right (the order `template()`
    numbers slots in); unchanged sub-trees are kept as the same objects.
    """
    return cast(T, _rewrite(node, visit))


def _rewrite(node: Any, visit: Callable[[Any], Any]) -> Any:
    out = visit(node)
    if out is not None:
        return out
    cls = type(node)
    if cls is tuple:
        items = tuple(item if type(item) in _LEAVES else _rewrite(item, visit) for item in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    names = _FIELDS.get(cls) or _fields(cls)
    if not names:
        return node
    changed = False
    new: list[Any] = []
    for name in names:
        old = getattr(node, name)
        value = old if type(old) in _LEAVES else _rewrite(old, visit)
        changed = changed or value is not old
        new.append(value)
    return cls(*new) if changed else node


@dataclass(frozen=True, slots=True)
class Template:
    """A probe with its bound values taken out: `Slot(k)` stands where `values[k]` was bound.

    `query` is hashable and equal for probes of the same shape, so it can key a group.
    """

    query: ir.Select
    values: tuple[Any, ...]


def template(probe: ir.Select) -> Template:
    """Number the probe's parameters (one slot per parameter node, shared nodes share a slot).

    `rewrite()` with a `visit` that swaps parameters for slots, written out: it runs once per
    request whose probe is not cached yet, which makes it as hot as compiling the rule.
    """
    values: list[Any] = []
    slots: dict[int, ir.Slot] = {}

    def walk(node: Any) -> Any:
        cls = type(node)
        if cls is ir.Param:
            slot = slots.get(id(node))
            if slot is None:
                slot = slots[id(node)] = ir.Slot(len(values))
                values.append(node.value)
            return slot
        if cls is ir.Slot:
            raise ValueError("a probe to batch must bind its values as Param, not Slot")
        if cls is tuple:
            items = [item if type(item) in _LEAVES else walk(item) for item in node]
            for a, b in zip(items, node, strict=True):
                if a is not b:
                    return tuple(items)
            return node
        names = _FIELDS.get(cls) or _fields(cls)
        if not names:
            return node
        changed = False
        new: list[Any] = []
        for name in names:
            old = getattr(node, name)
            value = old if type(old) in _LEAVES else walk(old)
            if value is not old:
                changed = True
            new.append(value)
        return cls(*new) if changed else node

    return Template(cast(ir.Select, walk(probe)), tuple(values))


def _same(a: Any, b: Any) -> bool:
    # 1, 1.0 and True are equal in Python but bind as different SQLite values
    return type(a) is type(b) and a == b


def _aliases(query: ir.Select) -> set[str]:
    found: set[str] = set()

    def visit(node: Any) -> Any:
        alias = getattr(node, "alias", None) if isinstance(node, ir.Table | ir.JsonEach | ir.SubquerySource) else None
        if isinstance(alias, str):
            found.add(alias)
        if isinstance(node, ir.Table):
            found.add(node.name)
        return None

    rewrite(query, visit)
    return found


def exists_each(query: ir.Select, rows: Sequence[Sequence[Any]], *, max_params: int = MAX_PARAMS) -> list[ir.Select]:
    """Statements whose `INDEX` column lists the rows for which `query` returns a row.

    `query` holds `Slot(k)` where row `r` supplies `rows[r][k]` (see `template()`); every row has
    a value for every slot. Slots equal in every row are bound once; the others become columns
    of a VALUES table, chunked so that no statement binds more than `max_params` values.
    """
    if not rows:
        return []
    first = rows[0]
    width = len(first)
    if any(len(row) != width for row in rows):
        raise ValueError("every row must supply one value per slot")
    varying = [k for k in range(width) if any(not _same(row[k], first[k]) for row in rows)]
    used = _aliases(query)
    alias = "__batch"
    while alias in used:
        alias += "_"
    columns = {k: f"p{k}" for k in varying}
    bound = 0

    def visit(node: Any) -> Any:
        nonlocal bound
        if isinstance(node, ir.Slot):
            bound += 1
            name = columns.get(node.index)
            return ir.Positive(ir.col(alias, name)) if name is not None else ir.Param(first[node.index])
        if isinstance(node, ir.Param | ir.JsonExtract):
            bound += 1
        elif isinstance(node, ir.JsonValue | ir.ArrayLength):
            bound += 3  # the parameters a dialect adds when it spells these out (paths, '' and 'array')
        return None

    probe = ir.Exists(rewrite(query, visit))
    per_row = 1 + len(varying)
    chunk = max(1, (max_params - EMITTED_PER_PARAM * bound) // per_row)
    statements: list[ir.Select] = []
    names = (INDEX, *columns.values())
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        values = tuple((ir.Param(start + n), *(ir.Param(row[k]) for k in varying)) for n, row in enumerate(part))
        source = ir.Values(values, names, alias)
        statements.append(ir.Select((ir.col(alias, INDEX),), source, where=probe))
    return statements
