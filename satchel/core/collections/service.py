"""Collection management: create, update, delete, truncate, import; schema changes in one transaction.

The in-memory registry is only updated after the transaction commits, so a failed change
never leaves requests seeing a collection whose table does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from satchel.core.collections import store
from satchel.core.collections.build import build_collection
from satchel.core.collections.model import Collection
from satchel.core.collections.scaffolds import scaffolds
from satchel.core.collections.schema_sync import create_table, drop_table, sync_table
from satchel.core.collections.system import id_field
from satchel.core.collections.validate import RuleChecker, validate_collection
from satchel.core.errors import BadRequestError, ErrorTree, FieldError, NotFoundError, ValidationError
from satchel.core.fields.base import Field
from satchel.core.fields.registry import field_from_json
from satchel.core.hooks import CollectionEvent
from satchel.core.params import bump_version
from satchel.core.records.storage import record_from_row
from satchel.ports.database import DatabaseError, Executor
from satchel.tools.datetime import now_str
from satchel.tools.ids import field_id
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


async def _noop(_: Any) -> None:
    return None


class CollectionsService:
    def __init__(self, app: App, rule_checker: RuleChecker) -> None:
        self.app = app
        self.check_rule = rule_checker

    async def get(self, id_or_name: str) -> Collection:
        c = self.app.collections.get(id_or_name)
        if c is None:
            raise NotFoundError()
        return c

    def scaffolds(self) -> dict[str, Any]:
        return scaffolds()

    # ----------------------------------------------------------------- helpers
    def _view_fields(self, c: Collection, columns: list[str], old: Collection | None) -> list[Field]:
        """Infer a view's fields from its columns: a same-named field of a queried table, else json."""
        words = {w.lower() for w in _WORD.findall(c.view_query)}
        sources = [s for s in self.app.collections.all() if s.name.lower() in words and not s.is_view]
        previous = {f.name: f for f in (old.fields if old else [])}
        fields: list[Field] = []
        for name in columns:
            if name == "id":
                fields.append(id_field())
                continue
            template: dict[str, Any] | None = None
            for s in sources:
                f = s.field(name)
                if f is not None:
                    template = {**f.to_json(), "system": False, "required": False}
                    break
            data = template or {"type": "json", "name": name}
            data["name"] = name
            keep = previous.get(name)
            data["id"] = keep.id if keep is not None and keep.type == data["type"] else field_id(data["type"], name)
            fields.append(field_from_json(data))
        return fields

    async def _validated(self, data: Mapping[str, Any], old: Collection | None, message: str) -> Collection:
        try:
            c = build_collection(data, old)
        except ValidationError as exc:
            raise ValidationError(message, exc.errors) from exc
        if c.is_view and c.view_query.strip():
            try:
                columns = await self.app.db.validate_select(c.view_query)
            except DatabaseError:
                columns = []
            if columns:
                c.fields = self._view_fields(c, columns, old)
        errors = await validate_collection(
            c, old, self.app.collections.get, self.check_rule, self.app.db.validate_select
        )
        if errors:
            raise ValidationError(message, errors)
        return c

    async def _persist(self, tx: Executor, c: Collection, old: Collection | None) -> None:
        now = now_str()
        c.updated = now
        if old is None:
            c.created = now
            await create_table(tx, c)
        else:
            await sync_table(tx, old, c)
        await store.save(tx, c)
        await self._changed(tx)

    async def _changed(self, tx: Executor) -> None:
        version = await bump_version(tx)

        async def announce() -> None:
            await self.app.schema_changed(version)

        tx.on_commit(announce)

    # ------------------------------------------------------------------ writes
    async def create(self, data: Mapping[str, Any]) -> Collection:
        c = await self._validated(data, None, "Failed to create collection.")
        hook = self.app.hooks.on_collection_create

        async def write(e: CollectionEvent) -> None:
            try:
                async with self.app.db.transaction() as tx:
                    await self._persist(tx, e.collection, None)
            except DatabaseError as exc:
                raise BadRequestError(
                    "Failed to create collection.", {"name": {"code": "validation_invalid_value", "message": str(exc)}}
                ) from exc

        await hook.trigger(CollectionEvent(collection=c), write)
        self.app.collections.put(c)
        return c

    async def update(self, id_or_name: str, data: Mapping[str, Any]) -> Collection:
        old = await self.get(id_or_name)
        c = await self._validated(data, old, "Failed to update collection.")

        async def write(e: CollectionEvent) -> None:
            try:
                async with self.app.db.transaction() as tx:
                    await self._persist(tx, e.collection, old)
            except DatabaseError as exc:
                raise BadRequestError(
                    "Failed to update collection.",
                    {"fields": {"code": "validation_invalid_value", "message": str(exc)}},
                ) from exc

        await self.app.hooks.on_collection_update.trigger(CollectionEvent(collection=c), write)
        self.app.collections.put(c)
        return c

    def _referencing(self, c: Collection) -> list[str]:
        out = []
        for other in self.app.collections.all():
            if other.id == c.id:
                continue
            for f in other.fields:
                if f.type == "relation" and getattr(f, "collection_id", "") == c.id:
                    out.append(f"{other.name}.{f.name}")
        return out

    async def delete(self, id_or_name: str) -> None:
        c = await self.get(id_or_name)
        if c.system:
            raise BadRequestError("Failed to delete collection.")
        refs = self._referencing(c)
        if refs:
            raise BadRequestError(
                "Failed to delete collection.",
                {
                    "id": {
                        "code": "validation_collection_in_use",
                        "message": f"The collection is referenced by: {', '.join(refs)}.",
                    }
                },
            )

        async def write(e: CollectionEvent) -> None:
            async with self.app.db.transaction() as tx:
                await drop_table(tx, e.collection)
                await store.delete(tx, e.collection.id)
                await self._changed(tx)

        try:
            await self.app.hooks.on_collection_delete.trigger(CollectionEvent(collection=c), write)
        except DatabaseError as exc:
            raise BadRequestError("Failed to delete collection.") from exc
        self.app.collections.remove(c.id)

    async def truncate(self, id_or_name: str) -> None:
        c = await self.get(id_or_name)
        if c.is_view:
            raise BadRequestError("View collections cannot be truncated.")
        async with self.app.db.transaction() as tx:
            rows = await tx.fetch_all(ir.Select((ir.Star(c.name),), ir.Table(c.name)))
            for row in rows:
                await self.app.records.delete_record(record_from_row(c, row), tx)

    async def import_(self, items: list[Any], delete_missing: bool) -> None:
        """Upsert every collection in one transaction; with deleteMissing, drop the others."""
        try:
            await self._import(items, delete_missing)
        except BaseException:
            await self._reload()  # the transaction rolled back: drop what the registry saw of it
            raise

    async def _import(self, items: list[Any], delete_missing: bool) -> None:
        errors: ErrorTree = {}
        async with self.app.db.transaction():
            seen: set[str] = set()
            for i, item in enumerate(items):
                if not isinstance(item, Mapping):
                    errors[str(i)] = FieldError("validation_invalid_value", "Invalid collection data.")
                    continue
                key = str(item.get("id") or item.get("name") or "")
                existing = self.app.collections.get(key) if key else None
                try:
                    c = await (self.update(existing.id, item) if existing else self.create(item))
                except ValidationError as exc:
                    errors[str(i)] = exc.errors
                    continue
                seen.add(c.id)
            if errors:
                raise ValidationError("Failed to import collections.", {"collections": errors})
            if delete_missing:
                for c in self.app.collections.all():
                    if c.id not in seen and not c.system:
                        await self.delete(c.id)

    async def _reload(self) -> None:
        self.app.collections.set_all(await store.load_all(self.app.db.executor()))
