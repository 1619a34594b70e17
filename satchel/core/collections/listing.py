"""`GET /api/collections`: the collections list with PocketBase's filter, sort and paging.

The `_collections` table is described as a pseudo-collection so that the one filter resolver
and SQL compiler serve it too; rows are then mapped to the in-memory collections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from satchel.core.collections.model import Collection
from satchel.core.errors import BadRequestError
from satchel.core.fields.bool import BoolField
from satchel.core.fields.text import TextField
from satchel.core.records.fields_param import parse_fields, select_list_fields
from satchel.core.records.service import ListParams
from satchel.core.rules.request_info import RequestInfo
from satchel.core.rules.resolver import FilterError, Resolver
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

TABLE = "_collections"

_META = Collection(
    id="_collections",
    name=TABLE,
    fields=[
        TextField(name="id"),
        TextField(name="name"),
        TextField(name="type"),
        BoolField(name="system"),
        TextField(name="listRule"),
        TextField(name="viewRule"),
        TextField(name="createRule"),
        TextField(name="updateRule"),
        TextField(name="deleteRule"),
        TextField(name="created"),
        TextField(name="updated"),
    ],
)


async def list_collections(app: App, query: dict[str, str], request: RequestInfo) -> dict[str, Any]:
    params = ListParams.from_query(query)
    resolver = Resolver(_META, lambda _: None, request, allow_hidden=True)
    try:
        where = resolver.where(parse(params.filter)) if params.filter.strip() else None
        order = resolver.order_by(params.sort) if params.sort.strip() else ()
    except (FilterSyntaxError, FilterError) as exc:
        raise BadRequestError() from exc
    order = (*order, ir.OrderBy(ir.InsertionOrder()))
    ex = app.db.executor()
    source = ir.Table(TABLE)
    total = -1
    if not params.skip_total:
        total = int(await ex.fetch_value(ir.Select((ir.Raw("COUNT(*)"),), source, where=where)) or 0)
    rows = await ex.fetch_all(
        ir.Select(
            (ir.col(TABLE, "id"),),
            source,
            where=where,
            order_by=order,
            limit=params.per_page,
            offset=(params.page - 1) * params.per_page,
        )
    )
    items = []
    for row in rows:
        c = app.collections.get(str(row["id"]))
        if c is not None:
            items.append(c.to_json())
    result = {
        "items": items,
        "page": params.page,
        "perPage": params.per_page,
        "totalItems": total,
        "totalPages": -1 if total < 0 else (total + params.per_page - 1) // params.per_page,
    }
    return select_list_fields(result, parse_fields(params.fields))
