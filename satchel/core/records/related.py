"""Loading the records a set of parents points at, or that point at them, under the access policy.

`?expand=` and GraphQL's relation fields read related records the same way: one query per
relation and level for every parent at once, the target collection's API-key scope and viewRule
applied inside that query, so neither can reveal a record the caller could not view directly.
"""

from __future__ import annotations

from collections.abc import Callable

from satchel.core.collections.model import Collection
from satchel.core.records.model import Record
from satchel.core.records.storage import record_from_row
from satchel.core.rules.policy import rule_condition
from satchel.core.rules.request_info import RequestInfo
from satchel.core.rules.scopes import require_scope
from satchel.ports.database import Executor
from satchel.tools.sql import ir

Finder = Callable[[str], Collection | None]

BACK_RELATION_LIMIT = 1000
"""Records a back-relation loads at most, for all parents together (as `?expand=` does)."""


async def load_by_ids(
    ex: Executor, find: Finder, request: RequestInfo, target: Collection, ids: list[str]
) -> dict[str, Record]:
    """The records of `target` among `ids` that `request` may view, by id (a relation's targets).

    Raises ForbiddenError when an API key's scope excludes viewing `target`.
    """
    require_scope(request, target, "view")
    if not ids:
        return {}
    condition = rule_condition(target, target.viewRule, request, find)
    where: ir.Expr = ir.InList(ir.col(target.name, "id"), tuple(ir.Param(i) for i in ids))
    if condition is not None:
        where = ir.Binary("AND", where, condition)
    rows = await ex.fetch_all(ir.Select((ir.Star(target.name),), ir.Table(target.name), where=where))
    return {str(row["id"]): record_from_row(target, row) for row in rows}


async def load_referencing(
    ex: Executor, find: Finder, request: RequestInfo, source: Collection, field_name: str, parent_ids: list[str]
) -> list[Record]:
    """The records of `source` whose relation `field_name` holds one of `parent_ids` and that
    `request` may view, in insertion order (a back-relation, `source_via_field`)."""
    require_scope(request, source, "view")  # a back-relation is a view of the related records
    if not parent_ids:
        return []
    condition = rule_condition(source, source.viewRule, request, find)
    je = "__via_je"
    match = ir.Exists(
        ir.Select(
            (ir.Raw("1"),),
            ir.JsonEach(ir.col(source.name, field_name), je),
            where=ir.InList(ir.col(je, "value"), tuple(ir.Param(i) for i in parent_ids)),
        )
    )
    where: ir.Expr = match if condition is None else ir.Binary("AND", match, condition)
    rows = await ex.fetch_all(
        ir.Select(
            (ir.Star(source.name),),
            ir.Table(source.name),
            where=where,
            order_by=(ir.OrderBy(ir.InsertionOrder()),),
            limit=BACK_RELATION_LIMIT,
        )
    )
    return [record_from_row(source, row) for row in rows]


def references(record: Record, field_name: str) -> list[str]:
    """The ids a relation value of `record` holds (one or many), in order."""
    value = record.get(field_name)
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return []
