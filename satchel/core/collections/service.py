"""Collection management: list, get, create, update, delete, truncate, import.

Each change validates and applies its schema change in one transaction; the in-memory registry is
only replaced after the commit, so a failed change never leaves requests seeing a collection whose
table does not exist. Messages and error shapes are PocketBase's.
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from satchel.core.collections import search, store
from satchel.core.collections.encrypted_fields import sync_encrypted
from satchel.core.collections.indexes import parse
from satchel.core.collections.model import Collection
from satchel.core.collections.registry import CollectionRegistry
from satchel.core.collections.scaffolds import (
    add_field,
    bind,
    new_collection,
    prepare_for_save,
    scaffolds,
)
from satchel.core.collections.schema_sync import (
    IndexCreateError,
    create_table,
    derive_view_fields,
    drop_table,
    keep_field_ids,
    save_view,
    sqlite_error_text,
    sync_table,
    view_columns,
)
from satchel.core.collections.validate import Env, RuleChecker, sentence, validate_collection
from satchel.core.errors import (
    BadRequestError,
    ErrorTree,
    FieldError,
    NotFoundError,
    SatchelError,
    ValidationError,
    required,
)
from satchel.core.fields.base import Field
from satchel.core.hooks import CollectionEvent
from satchel.core.records.file_storage import after_commit, delete_prefix
from satchel.core.records.storage import record_from_row
from satchel.core.schema_events import SchemaConflict
from satchel.ports.database import DatabaseError, Executor
from satchel.tools.datetime import now_str
from satchel.tools.ids import collection_id
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.collections")

TYPE_LOAD_ERROR = "Failed to load the collection type data due to invalid formatting."
IMPORT_FAILED = "Failed to import collections."
SORTABLE = ("id", "created", "updated", "name", "system", "type")


def import_failure(message: str) -> ValidationError:
    return ValidationError(IMPORT_FAILED, {"collections": FieldError("validation_collections_import_failure", message)})


class CollectionsService:
    def __init__(self, app: App, rule_checker: RuleChecker) -> None:
        self.app = app
        self.check_rule = rule_checker

    # ------------------------------------------------------------------- reads
    def list_all(self) -> builtins.list[Collection]:
        return self.app.collections.all()

    def list(
        self,
        filter: Callable[[Collection], bool] | None = None,
        sort: str = "",
        page: int = 1,
        per_page: int = 30,
        skip_total: bool = False,
    ) -> dict[str, Any]:
        """A page of collections (`filter` is a predicate the caller builds from the filter string)."""
        items = [c for c in self.list_all() if filter is None or filter(c)]
        for key in reversed([k.strip() for k in sort.split(",") if k.strip()]):
            desc = key.startswith("-")
            name = key.lstrip("+-")
            if name not in SORTABLE:
                raise BadRequestError("Invalid sort field.")
            items.sort(key=lambda c, n=name: getattr(c, n), reverse=desc)  # type: ignore[misc]
        page, per_page = max(page, 1), max(per_page, 1)
        total = -1 if skip_total else len(items)
        chunk = items[(page - 1) * per_page : page * per_page]
        return {
            "items": [c.to_json() for c in chunk],
            "page": page,
            "perPage": per_page,
            "totalItems": total,
            "totalPages": -1 if skip_total else (total + per_page - 1) // per_page,
        }

    async def get(self, id_or_name: str) -> Collection:
        c = self.app.collections.get(id_or_name)
        if c is None:
            raise NotFoundError()
        return c

    def scaffolds(self) -> dict[str, Any]:
        return scaffolds()

    def check_rule_draft(self, data: Mapping[str, Any]) -> None:
        """Raise a ValidationError (`rule`) when `data["rule"]` would be refused on save.

        `data["collection"]` is an existing collection's id or name, or a create/update body (with
        the `id` of the collection it edits, if any): editors check a rule while it is typed, against
        fields not saved yet, and the filter grammar stays here, not in a second copy in the client.
        """
        if not isinstance(data, Mapping):
            raise BadRequestError(TYPE_LOAD_ERROR)
        rule, draft = data.get("rule"), data.get("collection")
        errors: ErrorTree = {}
        if not isinstance(rule, str):
            errors["rule"] = required()
        if not isinstance(draft, str | Mapping) or not draft:
            errors["collection"] = required()
        if errors or not isinstance(rule, str):
            raise ValidationError("An error occurred while validating the submitted data.", errors)
        if isinstance(draft, Mapping):
            c = self._draft(draft)
        else:
            found = self.app.collections.get(str(draft))
            if found is None:
                raise NotFoundError()
            c = found
        message = self.check_rule(c, rule) if rule.strip() else None
        if message is not None:
            problem = FieldError("validation_invalid_rule", sentence("Invalid rule. Raw error: " + message))
            raise ValidationError("Invalid rule.", {"rule": problem})

    def _draft(self, data: Mapping[str, Any]) -> Collection:
        """The unsaved collection a create or update body describes (not validated beyond decoding)."""
        found = self.app.collections.get(data["id"]) if isinstance(data.get("id"), str) and data["id"] else None
        if found is not None:
            c = found.clone()
        else:
            type_, name = data.get("type"), data.get("name")
            if not isinstance(type_, str | None) or not isinstance(name, str | None):
                raise BadRequestError(TYPE_LOAD_ERROR)
            c = new_collection(type_ or "", name or "")
        bind(c, data)
        c.indexes = []  # a rule never reads them, and a half-typed one must not fail the check
        prepare_for_save(c)
        c.keys = self.app.keys  # rules on its encrypted fields are checked as on save
        return c

    # ----------------------------------------------------------------- helpers
    def _env(self, tx: Executor, registry: CollectionRegistry | None = None) -> Env:
        reg = registry or self.app.collections
        return Env(
            collections=reg.all, find=reg.get, check_rule=self.check_rule, db=self.app.db, ex=tx, keys=self.app.keys
        )

    def _regenerate_id(self, c: Collection, auto_id: str) -> None:
        """A derived id follows the final type/name and skips ids already taken (`pbc_1`, `pbc_12`...)."""
        if not c.id or c.id != auto_id:
            return
        base = collection_id(c.type, c.name)
        taken = {o.id for o in self.app.collections.all()}
        new_id = base
        for i in range(2, 1000):
            if new_id not in taken:
                break
            new_id = f"{base}{i}"
        if new_id == c.id:
            return
        for i, sql in enumerate(c.indexes):
            idx = parse(sql)
            renamed = idx.name.replace(c.id, new_id)
            if renamed != idx.name:
                c.indexes[i] = replace(idx, name=renamed).build()
        c.id = new_id

    async def _persist(self, tx: Executor, c: Collection, old: Collection | None) -> None:
        c.keys = self.app.keys  # encrypted fields turned on or off are rewritten with them
        now = now_str()
        c.updated = now
        if old is None:
            c.created = now
        if c.is_view:
            fields, columns = await derive_view_fields(self.app.db, tx, c.view_query, self.app.collections.get)
            keep_field_ids(fields, c.fields)
            if old is not None:
                await drop_table(tx, old)
            await save_view(tx, c.name, c.view_query, columns)
            c.fields = fields
        await store.save(tx, c, self.app.secrets)
        if not c.is_view:
            if old is None or not await self.app.db.table_columns(old.name):
                await create_table(tx, c)
                await sync_encrypted(tx, None, c)
            else:
                await sync_table(tx, old, c)
                await sync_encrypted(tx, old, c)
        await self._changed(tx)

    async def _changed(self, tx: Executor) -> None:
        await self.app.schema.claim(tx)  # announced once committed; a no-op if claimed already

    async def _save(self, c: Collection, old: Collection | None, message: str, auto_id: str = "") -> Collection:
        prepare_for_save(c)
        search.normalize(c, old)
        if old is None:
            self._regenerate_id(c, auto_id)
        hook = self.app.hooks.on_collection_create if old is None else self.app.hooks.on_collection_update

        async def write(e: CollectionEvent) -> None:
            async with self.app.db.transaction() as tx:
                await self.app.schema.claim(tx)  # first: concurrent changes on other nodes wait here
                e.collection.keys = self.app.keys  # its rules may compare encrypted fields
                errors = await validate_collection(e.collection, old, self._env(tx))
                if errors:
                    raise ValidationError(message, errors)
                try:
                    await self._persist(tx, e.collection, old)
                except IndexCreateError as exc:
                    raise ValidationError(message, {"indexes": exc.errors}) from exc
                except (DatabaseError, ValueError) as exc:
                    raise BadRequestError(sentence(f"{message} Raw error: \n{sqlite_error_text(exc)}")) from exc

        event = CollectionEvent(collection=c)
        await hook.trigger(event, write)
        self.app.collections.put(event.collection)
        await self._resave_views(event.collection.id)
        return event.collection

    async def _resave_views(self, changed_id: str) -> None:
        """Re-derive the fields of views whose sources changed; a broken view is only logged (as PocketBase)."""
        for view in self.app.collections.all():
            if not view.is_view or view.id == changed_id:
                continue
            try:
                async with self.app.db.transaction() as tx:
                    fields, _ = await derive_view_fields(self.app.db, tx, view.view_query, self.app.collections.get)
                if _without_ids(fields) != _without_ids(view.fields):
                    await self._save(view.clone(), view, "Failed to update collection.")
            except (SatchelError, DatabaseError, ValueError, SchemaConflict):
                log.warning("view %s may need to be updated after a collection change", view.name, exc_info=True)

    # ------------------------------------------------------------------ writes
    async def create(self, data: Mapping[str, Any]) -> Collection:
        return await self.app.schema.run(lambda: self._create(data))

    async def _create(self, data: Mapping[str, Any]) -> Collection:
        if not isinstance(data, Mapping):
            raise BadRequestError(TYPE_LOAD_ERROR)
        type_, name = data.get("type"), data.get("name")
        if not isinstance(type_, str | None) or not isinstance(name, str | None):
            raise BadRequestError(TYPE_LOAD_ERROR)
        c = new_collection(type_ or "", name or "")
        auto_id = c.id
        bind(c, data)
        return await self._save(c, None, "Failed to create collection.", auto_id)

    async def update(self, id_or_name: str, data: Mapping[str, Any]) -> Collection:
        return await self.app.schema.run(lambda: self._update(id_or_name, data))

    async def _update(self, id_or_name: str, data: Mapping[str, Any]) -> Collection:
        old = await self.get(id_or_name)
        c = old.clone()
        bind(c, data)
        _keep_client_secrets(c, old)
        return await self._save(c, old, "Failed to update collection.")

    def references(self, c: Collection) -> builtins.list[str]:
        """Names of the other collections with a relation field pointing at `c`."""
        out = []
        for other in self.app.collections.all():
            if other.id != c.id and any(
                f.type == "relation" and getattr(f, "collection_id", "") == c.id for f in other.fields
            ):
                out.append(other.name)
        return sorted(out)

    async def delete(self, id_or_name: str) -> None:
        await self.app.schema.run(lambda: self._delete(id_or_name))

    async def _delete(self, id_or_name: str) -> None:
        c = await self.get(id_or_name)
        message = "Failed to delete collection."
        refs = self.references(c)
        if c.system or refs:
            if refs:
                message = f"Failed to delete collection probably due to existing reference in {', '.join(refs)}."
            raise BadRequestError(message)

        async def write(e: CollectionEvent) -> None:
            async with self.app.db.transaction() as tx:
                await self.app.schema.claim(tx)
                await self._drop(tx, e.collection)
                await self._check_views(tx, e.collection)
                folder = f"{e.collection.id}/"  # its records' files, removed once the drop is committed
                after_commit(tx, lambda: delete_prefix(self.app, folder))

        try:
            await self.app.hooks.on_collection_delete.trigger(CollectionEvent(collection=c), write)
        except DatabaseError as exc:
            raise BadRequestError(message) from exc
        self.app.collections.remove(c.id)

    async def _drop(self, tx: Executor, c: Collection) -> None:
        await drop_table(tx, c)
        await store.delete(tx, c.id)
        await self._changed(tx)

    async def _check_views(self, tx: Executor, deleted: Collection) -> None:
        """A view still reading the dropped table would break: refuse the delete, as PocketBase does."""
        for view in self.app.collections.all():
            if view.is_view and view.id != deleted.id:
                await view_columns(self.app.db, tx, view.view_query)

    async def truncate(self, id_or_name: str) -> None:
        c = await self.get(id_or_name)
        if c.is_view:
            raise BadRequestError("View collections cannot be truncated since they don't store their own records.")
        try:
            async with self.app.db.transaction() as tx:
                rows = await tx.fetch_all(ir.Select((ir.Star(c.name),), ir.Table(c.name)))
                for row in rows:
                    await self.app.records.delete_record(record_from_row(c, row), tx)
        except (DatabaseError, BadRequestError) as exc:
            raise BadRequestError(
                "Failed to truncate collection (most likely due to required cascade delete record references)."
            ) from exc

    # ------------------------------------------------------------------ import
    async def import_(self, items: builtins.list[Any], delete_missing: bool) -> None:
        """PUT /api/collections/import: upsert by id or name in one transaction; optionally delete the rest."""
        await self.app.schema.run(lambda: self._import_all(items, delete_missing))

    async def _import_all(self, items: builtins.list[Any], delete_missing: bool) -> None:
        if not items:
            raise ValidationError("An error occurred while validating the submitted data.", {"collections": required()})
        try:
            imported = [self._import_item(item, delete_missing) for item in items]
        except BadRequestError as exc:
            raise import_failure("Failed to import the collections configuration. Raw error:\n" + exc.message) from exc
        imported.sort(key=lambda p: (1 if p[0].is_view else 0, p[0].created, p[0].updated))
        before = self.app.collections.all()
        try:
            await self._import(imported, before, delete_missing)
        except BaseException:
            self.app.collections.set_all(await store.load_all(self.app.db.executor(), self.app.secrets))
            raise

    def _import_item(self, data: Any, delete_missing: bool) -> tuple[Collection, Collection | None]:
        if not isinstance(data, Mapping):
            raise BadRequestError("An error occurred while loading the submitted data.")
        key = _cast_str(data.get("id")) or _cast_str(data.get("name"))
        existing = self.app.collections.get(key) if key else None
        if existing is None:
            type_, name = data.get("type"), data.get("name")
            c = new_collection(type_ if isinstance(type_, str) else "", name if isinstance(name, str) else "")
            bind(c, data)
            return c, None
        c = existing.clone()
        payload = dict(data)
        if payload.get("fields") is None and delete_missing:
            payload["fields"] = []
        bind(c, payload)
        for f in existing.clone().fields:
            if (not f.system and delete_missing) or c.field_by_id(f.id) is not None:
                continue
            same_name = c.field(f.name)
            if same_name is not None and same_name.type == f.type:
                same_name.id = f.id
            add_field(c.fields, f)
        return c, existing

    async def _import(
        self,
        imported: builtins.list[tuple[Collection, Collection | None]],
        before: builtins.list[Collection],
        delete_missing: bool,
    ) -> None:
        registry = self.app.collections
        async with self.app.db.transaction() as tx:
            await self.app.schema.claim(tx)
            if delete_missing:
                keep = {c.id for c, _ in imported}
                for gone in sorted(before, key=lambda c: c.updated):
                    if gone.id not in keep and not gone.system:
                        await self._drop(tx, gone)
                        registry.remove(gone.id)
            for c, old in imported:
                prepare_for_save(c)
                search.normalize(c, old)
                try:
                    async with self.app.db.transaction() as sp:
                        await self._persist(sp, c, old)
                except (IndexCreateError, DatabaseError, ValueError) as exc:
                    # PocketBase writes first and validates after; a collection our stricter SQL
                    # layer cannot even write is reported through its validation errors when it has any
                    await self._raise_if_invalid(tx, c, old)
                    detail = json.dumps(_messages(exc.errors)) if isinstance(exc, IndexCreateError) else str(exc)
                    raise import_failure(
                        "Failed to import the collections configuration. Raw error:\n"
                        f'failed to save collection "{c.name}": {detail}'
                    ) from exc
                registry.put(c)
            for c, old in imported:
                await self._raise_if_invalid(tx, c, old or c.clone())

    async def _raise_if_invalid(self, tx: Executor, c: Collection, old: Collection | None) -> None:
        c.keys = self.app.keys
        errors = await validate_collection(c, old, self._env(tx))
        if errors:
            serialized = json.dumps(_messages(errors), indent=2, sort_keys=True)
            raise import_failure(sentence(f'Data validations failed for collection "{c.name}" ({c.id}):\n{serialized}'))


def _without_ids(fields: builtins.list[Field]) -> builtins.list[dict[str, Any]]:
    return [{**f.to_json(), "id": ""} for f in fields]


def _cast_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return "true" if value else ""
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return ""


# codes whose messages come from ozzo-validation's lower-case templates (no final period)
_OZZO_CODES = frozenset(
    {
        "validation_required",
        "validation_match_invalid",
        "validation_length_out_of_range",
        "validation_in_invalid",
        "validation_not_in_invalid",
        "validation_nil",
        "validation_empty",
        "validation_min_greater_equal_than_required",
        "validation_max_less_equal_than_required",
        "validation_nil_or_not_empty_required",
    }
)


def _raw_message(e: FieldError) -> str:
    if e.code in _OZZO_CODES:
        return (e.message[:1].lower() + e.message[1:]).removesuffix(".")
    if e.code == "validation_invalid_rule":
        return e.message.removesuffix(".")
    return e.message


def _messages(errors: ErrorTree) -> dict[str, Any]:
    """A validation tree as Go serialises it inside an import error: raw messages only."""
    return {k: _raw_message(v) if isinstance(v, FieldError) else _messages(v) for k, v in errors.items()}


def _keep_client_secrets(c: Collection, old: Collection) -> None:
    """Clients never see an OAuth2 client secret, so an entry sent back without one keeps the stored one."""
    stored = {
        p.get("name"): p.get("clientSecret", "")
        for p in old.auth.get("oauth2", {}).get("providers", [])
        if isinstance(p, dict)
    }
    for entry in c.auth.get("oauth2", {}).get("providers", []):
        if isinstance(entry, dict) and not entry.get("clientSecret") and stored.get(entry.get("name")):
            entry["clientSecret"] = stored[entry.get("name")]
