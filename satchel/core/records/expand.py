"""`?expand=`: loading related records, batched per relation and level.

One query per (relation path, level) whatever the number of parent records, and the target
collection's viewRule is applied in that query, so an expand can never reveal a record the
caller could not view directly. Failures never fail the request: the key is just left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from satchel.core.collections.model import Collection
from satchel.core.errors import SatchelError
from satchel.core.records.export import can_see_email, export_record
from satchel.core.records.model import Record
from satchel.core.records.related import load_by_ids, load_referencing
from satchel.core.rules.policy import rule_condition
from satchel.core.rules.request_info import RequestInfo
from satchel.ports.database import Executor
from satchel.tools.sql import ir

MAX_DEPTH = 6
_VIA = "_via_"

Finder = Callable[[str], Collection | None]


def parse_expand(raw: str) -> dict[str, Any]:
    """`a.b,c` -> {"a": {"b": {}}, "c": {}}; deeper than 6 levels is cut, as PocketBase."""
    tree: dict[str, Any] = {}
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        node = tree
        for seg in part.split(".")[:MAX_DEPTH]:
            seg = seg.strip()
            if not seg:
                break
            node = node.setdefault(seg, {})
    return tree


class Expander:
    def __init__(self, ex: Executor, find: Finder, request: RequestInfo) -> None:
        self.ex = ex
        self.find = find
        self.request = request

    async def expand(self, records: list[Record], tree: dict[str, Any]) -> list[dict[str, Any]]:
        """Export `records` with their `expand` objects filled according to `tree`."""
        managed = await self._managed(records)
        exported = [export_record(r, self.request, manager=r.id in managed) for r in records]
        if tree:
            await self._fill(records, exported, tree)
        return exported

    async def _managed(self, records: list[Record]) -> frozenset[str]:
        """Ids of the auth records whose `manageRule` the caller passes: it sees their email.

        As PocketBase's autoIgnoreAuthRecordsEmailVisibility: one query for the page, and none
        at all unless some record would otherwise hide its email from this caller.
        """
        request = self.request
        if not records or request.auth is None or request.is_superuser:
            return frozenset()
        collection = records[0].collection
        rule = collection.auth.get("manageRule") if collection.is_auth else None
        hidden = [r.id for r in records if not can_see_email(r, request)]
        if not rule or not hidden:
            return frozenset()
        try:
            condition = rule_condition(collection, rule, request, self.find)
        except SatchelError:
            return frozenset()
        record_id = ir.col(collection.name, "id")
        in_page = ir.InList(record_id, tuple(ir.Param(i) for i in hidden))
        where = in_page if condition is None else ir.and_all([in_page, condition])
        rows = await self.ex.fetch_all(ir.Select((record_id,), ir.Table(collection.name), where=where))
        return frozenset(str(row["id"]) for row in rows)

    async def _fill(self, records: list[Record], exported: list[dict[str, Any]], tree: dict[str, Any]) -> None:
        if not records:
            return
        collection = records[0].collection
        if not any(self._is_relation(collection, key) for key in tree):
            return  # nothing expandable was asked for: PocketBase then adds no `expand` key
        for out in exported:
            out.setdefault("expand", {})
        for key, subtree in tree.items():
            try:
                await self._fill_key(collection, records, exported, key, subtree)
            except SatchelError:
                continue  # an expand that cannot be resolved is skipped, never an error

    def _is_relation(self, collection: Collection, key: str) -> bool:
        if _VIA in key:
            source_name, _, field_name = key.partition(_VIA)
            source = self.find(source_name)
            field = source.field(field_name) if source is not None else None
            return field is not None and field.type == "relation"
        field = collection.field(key)
        return field is not None and field.type == "relation"

    async def _fill_key(
        self,
        collection: Collection,
        records: list[Record],
        exported: list[dict[str, Any]],
        key: str,
        subtree: dict[str, Any],
    ) -> None:
        if _VIA in key:
            await self._fill_back_relation(records, exported, key, subtree)
            return
        field = collection.field(key)
        if field is None or field.type != "relation":
            return
        target = self.find(str(getattr(field, "collection_id", "")))
        if target is None:
            return
        ids_per_record: list[list[str]] = []
        wanted: list[str] = []
        for r in records:
            value = r.get(key)
            ids = [value] if isinstance(value, str) and value else list(value or []) if isinstance(value, list) else []
            ids_per_record.append(ids)
            wanted.extend(ids)
        if not wanted:
            return
        found = await self._load(target, list(dict.fromkeys(wanted)))
        if not found:
            return
        found_list = list(found.values())
        found_exported = await Expander(self.ex, self.find, self.request).expand(found_list, subtree)
        by_id = {rec.id: exp for rec, exp in zip(found_list, found_exported, strict=True)}
        for ids, out in zip(ids_per_record, exported, strict=True):
            items = [by_id[i] for i in ids if i in by_id]
            if not items:
                continue
            out["expand"][key] = items if field.is_multiple else items[0]

    async def _fill_back_relation(
        self, records: list[Record], exported: list[dict[str, Any]], key: str, subtree: dict[str, Any]
    ) -> None:
        coll_name, _, field_name = key.partition(_VIA)
        source = self.find(coll_name)
        if source is None:
            return
        field = source.field(field_name)
        parent = records[0].collection
        if field is None or field.type != "relation" or getattr(field, "collection_id", "") != parent.id:
            return
        parent_ids = [r.id for r in records]
        children = await load_referencing(self.ex, self.find, self.request, source, field_name, parent_ids)
        if not children:
            return
        children_exported = await Expander(self.ex, self.find, self.request).expand(children, subtree)
        for rec, out in zip(records, exported, strict=True):
            items = []
            for child, child_out in zip(children, children_exported, strict=True):
                value = child.get(field_name)
                refs = value if isinstance(value, list) else [value]
                if rec.id in refs:
                    items.append(child_out)
            if items:
                out["expand"][key] = items

    async def _load(self, target: Collection, ids: list[str]) -> dict[str, Record]:
        return await load_by_ids(self.ex, self.find, self.request, target, ids)
