"""PocketBase's `sort` parameter: `-a,+b,c`, `@random`, `@rowid`, relation and JSON paths.

A key that needs related rows becomes a scalar subquery instead of a join, so sorting never
multiplies (or, as a join-based list rule would, filters) the listed rows. When a path can reach
several rows (multiple relations, back-relations) ascending order uses the smallest related value
and descending the largest, which is what "sort by tag name" naturally means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.rules.resolver import Resolver

MAX_SORT_FIELDS = 8
MAX_SORT_FIELD_LENGTH = 255
RANDOM = "@random"
ROWID = "@rowid"


def parse_sort(sort: str) -> list[tuple[str, bool]]:
    """(name, descending) pairs; an all-blank string means no sort at all."""
    if not sort.strip():
        return []
    out: list[tuple[str, bool]] = []
    for item in sort.split(","):
        item = item.strip()
        if item.startswith("-"):
            out.append((item[1:], True))
        else:
            out.append((item.removeprefix("+"), False))
    return out


def build_order_by(resolver: Resolver, sort: str) -> tuple[ir.OrderBy, ...]:
    from satchel.core.rules.resolver import FilterError

    items = parse_sort(sort)
    if len(items) > MAX_SORT_FIELDS:
        raise FilterError("max sort expressions limit reached")
    out: list[ir.OrderBy] = []
    for name, desc in items:
        if len(name) > MAX_SORT_FIELD_LENGTH:
            raise FilterError("max sort field length limit reached")
        if name == RANDOM:
            out.append(ir.OrderBy(ir.Raw("RANDOM()")))
        elif name == ROWID:
            out.append(ir.OrderBy(ir.InsertionOrder(), desc))
        else:
            out.append(ir.OrderBy(_sort_expr(resolver, name, desc), desc))
    return tuple(out)


def _sort_expr(resolver: Resolver, name: str, desc: bool) -> ir.Expr:
    from satchel.core.rules.resolver import FilterError
    from satchel.core.rules.sealed_filter import SealedFilterError

    try:
        operand, joins, visible = resolver.sort_operand(name)
    except SealedFilterError:
        raise
    except FilterError as exc:
        raise FilterError(f"invalid sort field {name!r}: {exc}") from exc
    if operand.sealed is not None:
        raise SealedFilterError(operand.sealed.name, "records cannot be sorted by it.")
    if operand.params or operand.kind != "other":
        raise FilterError(f"invalid sort field {name!r}")
    if not joins:
        return operand.expr
    value: ir.Expr = operand.expr
    limit: int | None = 1
    if operand.mm is not None:
        value, limit = ir.Func("MAX" if desc else "MIN", (value,)), None
    select = ir.Select((value,), resolver.dummy_source(), joins=joins, where=visible, limit=limit)
    return ir.Subquery(select)
