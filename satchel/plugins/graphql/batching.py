"""Relations without N+1: every record a resolver returns belongs to the group it was loaded with.

A list page, the targets of one relation for a whole page, the payload of one event: each is a
`Group`. The first relation field resolved on any record of a group loads that relation for every
record of the group in one query (through the same core calls `?expand=` uses, so the target's
viewRule and API-key scope apply); the other records await the same load. The records it returns
form the next group, so a nested selection costs one query per relation per level whatever the
number of records, and nothing depends on event-loop timing (unlike a tick-based DataLoader).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from satchel.core.collections.model import Collection
from satchel.core.errors import SatchelError
from satchel.core.records.related import references
from satchel.plugins.graphql.context import Context


@dataclass(slots=True, eq=False)
class Node:
    """One record as the caller may see it (REST's JSON object) and the group it came with."""

    data: dict[str, Any]
    group: Group


class Group:
    def __init__(self, collection: Collection, ctx: Context) -> None:
        self.collection = collection
        self.ctx = ctx
        self.nodes: list[Node] = []
        self._loads: dict[Any, asyncio.Future[Any]] = {}

    def adopt(self, items: list[dict[str, Any]]) -> list[Node]:
        nodes = [Node(item, self) for item in items]
        self.nodes.extend(nodes)
        return nodes

    async def once(self, key: Any, load: Callable[[], Awaitable[Any]]) -> Any:
        """`load()` run once for the whole group; every caller gets its result."""
        future = self._loads.get(key)
        if future is None:
            future = self._loads[key] = asyncio.ensure_future(load())
        return await asyncio.shield(future)


def relation_ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return []


async def load_targets(group: Group, field_name: str, target: Collection) -> dict[str, Node]:
    """The viewable targets of relation `field_name` of every record of `group`, by id.

    Like `?expand=`, a relation the caller may not follow (API-key scope, a rule that does not
    compile) yields nothing rather than an error.
    """
    ids = list(dict.fromkeys(i for node in group.nodes for i in relation_ids(node.data.get(field_name))))
    if not ids:
        return {}
    ctx = group.ctx
    request = ctx.request_for("GET")
    try:
        found = await ctx.app.records.related(target, ids, request)
        records = list(found.values())
        exported = await ctx.app.records.export(records, request)
    except SatchelError:
        return {}
    nodes = Group(target, ctx).adopt(exported)
    return {record.id: node for record, node in zip(records, nodes, strict=True)}


async def load_referencing(group: Group, source: Collection, field_name: str) -> dict[str, list[Node]]:
    """The viewable records of `source` pointing at each record of `group` through `field_name`."""
    ctx = group.ctx
    parent_ids = [str(node.data.get("id", "")) for node in group.nodes]
    request = ctx.request_for("GET")
    try:
        records = await ctx.app.records.referencing(source, field_name, parent_ids, request)
        exported = await ctx.app.records.export(records, request)
    except SatchelError:
        return {}
    nodes = Group(source, ctx).adopt(exported)
    by_parent: dict[str, list[Node]] = {}
    for record, node in zip(records, nodes, strict=True):
        for parent_id in references(record, field_name):
            by_parent.setdefault(parent_id, []).append(node)
    return by_parent
