"""Record CRUD under the access policy: the service every API calls.

The API layer parses HTTP into plain values (`RequestInfo`, a body dict, query params) and
renders what comes back; everything PocketBase decides about records happens here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from satchel.core.collections.model import Collection
from satchel.core.errors import BadRequestError, ErrorTree, FieldError, ForbiddenError, NotFoundError, ValidationError
from satchel.core.fields.base import ValueContext
from satchel.core.hooks import RecordEvent, RecordRequestEvent, RecordsListEvent
from satchel.core.records import file_storage, related, storage
from satchel.core.records.expand import Expander, parse_expand
from satchel.core.records.fields_param import apply_fields, parse_fields, select_list_fields
from satchel.core.records.model import Record
from satchel.core.records.relations import on_delete_references
from satchel.core.records.upsert import (
    Access,
    finalize_password,
    load_body,
    resolved_body,
    validate_auth_form,
    validate_fields,
)
from satchel.core.rules.policy import SUPERUSERS_ONLY, rule_condition, rule_probe
from satchel.core.rules.request_info import RequestInfo
from satchel.core.rules.resolver import FilterError, Resolver
from satchel.core.rules.scopes import require_scope
from satchel.ports.database import Executor, IntegrityError
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse
from satchel.tools.ids import is_valid_record_id, random_id
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

WRITE_CONTEXT = "Missing or invalid collection context."
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 1000
MAX_INT = (1 << 63) - 1
"""What Go's strconv.Atoi accepts: a larger page or perPage is malformed, as in PocketBase."""
MAX_PAGE = MAX_INT // MAX_PER_PAGE
"""Pages past this one start beyond any table (and their OFFSET would not fit a 64-bit integer)."""


@dataclass(slots=True)
class ListParams:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    sort: str = ""
    filter: str = ""
    expand: str = ""
    fields: str = ""
    skip_total: bool = False

    @staticmethod
    def from_query(query: dict[str, str]) -> ListParams:
        """Parse list query parameters; malformed numbers are a 400 as in PocketBase."""
        page = _go_int(query.get("page") or "1")
        per_page = _go_int(query.get("perPage") or str(DEFAULT_PER_PAGE))
        page = min(max(page, 1), MAX_PAGE)
        if per_page <= 0:
            per_page = DEFAULT_PER_PAGE
        per_page = min(per_page, MAX_PER_PAGE)
        skip = _go_bool(query.get("skipTotal") or "")
        return ListParams(
            page=page,
            per_page=per_page,
            sort=query.get("sort", ""),
            filter=query.get("filter", ""),
            expand=query.get("expand", ""),
            fields=query.get("fields", ""),
            skip_total=skip,
        )


_GO_INT = re.compile(r"[+-]?[0-9]+")
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("", "0", "f", "F", "FALSE", "false", "False")


def _go_int(text: str) -> int:
    """Go's strconv.Atoi: Python's int() would also take `1_0`, spaces and non-ASCII digits."""
    if not _GO_INT.fullmatch(text) or abs(value := int(text)) > MAX_INT:
        raise BadRequestError()
    return value


def _go_bool(text: str) -> bool:
    """Go's strconv.ParseBool (an empty value is false): anything else is PocketBase's 400."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    raise BadRequestError()


def _not_unique() -> FieldError:
    return FieldError("validation_not_unique", "Value must be unique.")


class RecordsService:
    def __init__(self, app: App) -> None:
        self.app = app

    # ------------------------------------------------------------------ helpers
    def find(self, id_or_name: str) -> Collection | None:
        return self.app.collections.get(id_or_name)

    def collection(self, id_or_name: str, message: str = "Missing collection context.") -> Collection:
        """The collection or a 404 (PocketBase words it differently for reads and for writes)."""
        c = self.find(id_or_name)
        if c is None:
            raise NotFoundError(message)
        return c

    async def fresh_collection(self, id_or_name: str, message: str = "Missing collection context.") -> Collection:
        """`collection`, but a name this process does not know is looked up again after comparing
        with the database's schema version when other nodes may change it: a collection created
        through another node is usable here at once, not after its announcement arrives."""
        if self.find(id_or_name) is None and self.app.config.shared_schema:
            await self.app.schema.refresh()
        return self.collection(id_or_name, message)

    def _user_filter(self, collection: Collection, request: RequestInfo, text: str, sort: str) -> Resolver:
        if not request.is_superuser:
            for raw in (text, sort):
                if "@collection." in raw:
                    raise ForbiddenError("Only superusers can filter by @collection.")
                if "@request." in raw:
                    raise ForbiddenError("Only superusers can filter by @request.")
        return Resolver(collection, self.find, request, allow_hidden=request.is_superuser)

    def _filter_expr(self, resolver: Resolver, text: str) -> ir.Expr | None:
        if not text.strip():
            return None
        try:
            return resolver.standalone(resolver.where(parse(text)))
        except FilterSyntaxError as exc:
            raise FilterError(str(exc)) from exc

    async def export(
        self, records: list[Record], request: RequestInfo, expand: str = "", ex: Executor | None = None
    ) -> list[dict[str, Any]]:
        expander = Expander(ex or self.app.db.executor(), self.find, request)
        return await expander.expand(records, parse_expand(expand))

    async def related(self, target: Collection, ids: list[str], request: RequestInfo) -> dict[str, Record]:
        """Records of `target` among `ids` that `request` may view, by id: one query (GraphQL relations)."""
        return await related.load_by_ids(self.app.db.executor(), self.find, request, target, ids)

    async def referencing(
        self, source: Collection, field_name: str, parent_ids: list[str], request: RequestInfo
    ) -> list[Record]:
        """Viewable records of `source` whose relation `field_name` holds one of `parent_ids`: one query."""
        ex = self.app.db.executor()
        return await related.load_referencing(ex, self.find, request, source, field_name, parent_ids)

    # --------------------------------------------------------------------- read
    async def list(self, id_or_name: str, request: RequestInfo, params: ListParams) -> dict[str, Any]:
        collection = await self.fresh_collection(id_or_name)
        require_scope(request, collection, "list")
        rule = rule_condition(collection, collection.listRule, request, self.find)
        resolver = self._user_filter(collection, request, params.filter, params.sort)
        conditions = [c for c in (rule, self._filter_expr(resolver, params.filter)) if c is not None]
        where = ir.and_all(conditions)
        order = resolver.order_by(params.sort) if params.sort.strip() else ()
        if not collection.is_view:
            order = (*order, ir.OrderBy(ir.InsertionOrder()))
        ex = self.app.db.executor()
        source = ir.Table(collection.name)
        total = -1
        if not params.skip_total:
            total = int(await ex.fetch_value(ir.Select((ir.Raw("COUNT(*)"),), source, where=where)) or 0)
        rows = await ex.fetch_all(
            ir.Select(
                (ir.Star(collection.name),),
                source,
                where=where,
                order_by=order,
                limit=params.per_page,
                offset=(params.page - 1) * params.per_page,
            )
        )
        records = [storage.record_from_row(collection, r) for r in rows]
        event = RecordsListEvent(collection=collection, request=request, records=records)

        async def final(e: RecordsListEvent) -> None:
            items = await self.export(e.records, request, params.expand, ex)
            e.result = {
                "items": items,
                "page": params.page,
                "perPage": params.per_page,
                "totalItems": total,
                "totalPages": -1 if total < 0 else (total + params.per_page - 1) // params.per_page,
            }

        await self.app.hooks.on_records_list_request.trigger(event, final)
        return select_list_fields(event.result, parse_fields(params.fields))

    async def view(
        self, id_or_name: str, record_id: str, request: RequestInfo, expand: str = "", fields: str = ""
    ) -> dict[str, Any]:
        collection = await self.fresh_collection(id_or_name)
        require_scope(request, collection, "view")
        if not record_id:
            raise NotFoundError()
        rule = rule_condition(collection, collection.viewRule, request, self.find)
        ex = self.app.db.executor()
        record = await storage.fetch_by_id(ex, collection, record_id, rule)
        if record is None:
            raise NotFoundError()
        event = RecordRequestEvent(collection=collection, request=request, record=record)

        async def final(e: RecordRequestEvent) -> None:
            assert e.record is not None
            e.response = (await self.export([e.record], request, expand, ex))[0]

        await self.app.hooks.on_record_view_request.trigger(event, final)
        result: dict[str, Any] = apply_fields(event.response, parse_fields(fields))
        return result

    async def get_by_id(self, collection: Collection, record_id: str) -> Record | None:
        """Internal lookup without rules (auth, realtime)."""
        return await storage.fetch_by_id(self.app.db.executor(), collection, record_id)

    async def matches_rule(
        self, collection: Collection, record_id: str, rule: str | None, request: RequestInfo
    ) -> bool:
        """Whether `request` passes `rule` for one stored record (realtime and expand use it)."""
        try:
            condition = rule_condition(collection, rule, request, self.find)
        except ForbiddenError:
            return False
        if condition is None:
            return True
        row = await self.app.db.executor().fetch_one(storage.by_id(collection, record_id, condition))
        return row is not None

    # -------------------------------------------------------------------- write
    def value_context(self, record: Record, ex: Executor) -> ValueContext:
        async def existing(collection_id: str, ids: list[str]) -> set[str]:
            target = self.find(collection_id)
            if target is None:
                return set()
            return await storage.existing_ids(ex, target, ids)

        return ValueContext(
            collection=record.collection, data=record.data, original=record.original, existing_ids=existing
        )

    async def _passes_on_values(self, record: Record, rule: str, request: RequestInfo, ex: Executor) -> bool:
        """Evaluate a rule against not-yet-saved values by presenting them as a one-row table."""
        collection = record.collection

        def one_row() -> ir.Source:
            return ir.SubquerySource(ir.Select(storage.probe_columns(record)), collection.name)

        row = await ex.fetch_one(rule_probe(collection, rule, request, self.find, one_row))
        return row is not None

    async def _access(self, record: Record, request: RequestInfo, ex: Executor, *, stored: bool) -> Access:
        if request.is_superuser:
            return Access.SUPERUSER
        manage = record.collection.auth.get("manageRule") if record.collection.is_auth else None
        if request.auth is None or manage is None:
            return Access.DEFAULT
        if manage.strip() == "":
            return Access.MANAGER
        if stored:
            ok = await self.matches_rule(record.collection, record.id, manage, request)
        else:
            ok = await self._passes_on_values(record, manage, request, ex)
        return Access.MANAGER if ok else Access.DEFAULT

    async def create(
        self, id_or_name: str, body: dict[str, Any], request: RequestInfo, expand: str = "", fields: str = ""
    ) -> dict[str, Any]:
        collection = await self.fresh_collection(id_or_name, WRITE_CONTEXT)
        require_scope(request, collection, "create")
        if collection.is_view:
            raise BadRequestError("Unsupported collection type.")
        if not request.is_superuser and collection.createRule is None:
            raise ForbiddenError(SUPERUSERS_ONLY)
        record = Record(collection, {f.name: f.zero() for f in collection.fields})
        access = Access.SUPERUSER if request.is_superuser else Access.DEFAULT
        pw = load_body(record, body, access)
        request = replace(request, body=resolved_body(record, body))
        given_id = record.get("id")
        if not given_id:
            record.set("id", random_id())
        elif not isinstance(given_id, str) or not is_valid_record_id(given_id):
            raise ValidationError(
                "Failed to create record.",
                {"id": FieldError("validation_invalid_format", "Invalid value format.")},
            )
        ex = self.app.db.executor()
        if not request.is_superuser and collection.createRule:
            if not await self._passes_on_values(record, collection.createRule, request, ex):
                raise BadRequestError("Failed to create record.")
            access = await self._access(record, request, ex, stored=False)
        event = RecordRequestEvent(collection=collection, request=request, record=record)

        async def final(e: RecordRequestEvent) -> None:
            assert e.record is not None
            saved = await self._save(e.record, pw, access, request, "Failed to create record.")
            e.response = await self._respond(saved, request, expand, fields)

        await self.app.hooks.on_record_create_request.trigger(event, final)
        result: dict[str, Any] = event.response
        return result

    async def update(
        self,
        id_or_name: str,
        record_id: str,
        body: dict[str, Any],
        request: RequestInfo,
        expand: str = "",
        fields: str = "",
    ) -> dict[str, Any]:
        collection = await self.fresh_collection(id_or_name, WRITE_CONTEXT)
        require_scope(request, collection, "update")
        if collection.is_view:
            raise BadRequestError("Unsupported collection type.")
        if not request.is_superuser and collection.updateRule is None:
            raise ForbiddenError(SUPERUSERS_ONLY)
        ex = self.app.db.executor()
        record = await storage.fetch_by_id(ex, collection, record_id)
        if record is None:
            raise NotFoundError()
        # the rule sees the submitted values (modifiers resolved) and the stored row
        loaded = Record(collection, dict(record.data), record.original)
        load_body(loaded, body, Access.SUPERUSER)
        request = replace(request, body=resolved_body(loaded, body))
        rule = rule_condition(collection, collection.updateRule, request, self.find)
        if rule is not None and await storage.fetch_by_id(ex, collection, record_id, rule) is None:
            raise NotFoundError()
        access = await self._access(record, request, ex, stored=True)
        pw = load_body(record, body, access)
        if record.get("id") != (record.original or {}).get("id"):
            record.set("id", (record.original or {}).get("id"))  # ids are immutable
        event = RecordRequestEvent(collection=collection, request=request, record=record)

        async def final(e: RecordRequestEvent) -> None:
            assert e.record is not None
            saved = await self._save(e.record, pw, access, request, "Failed to update record.")
            e.response = await self._respond(saved, request, expand, fields)

        await self.app.hooks.on_record_update_request.trigger(event, final)
        result: dict[str, Any] = event.response
        return result

    async def _respond(self, record: Record, request: RequestInfo, expand: str, fields: str) -> dict[str, Any]:
        exported = (await self.export([record], request, expand))[0]
        result: dict[str, Any] = apply_fields(exported, parse_fields(fields))
        return result

    async def _save(self, record: Record, pw: Any, access: Access, request: RequestInfo, message: str) -> Record:
        """Validate and write in one transaction; publish after commit."""
        try:
            validate_auth_form(record, pw, access)
            async with self.app.db.transaction() as tx:
                await validate_fields(record, self.value_context(record, tx), pw)
                finalize_password(record, pw)
                await self.save_record(record, tx, request)
        except ValidationError as exc:
            raise ValidationError(message, exc.errors) from exc
        except IntegrityError as exc:
            column = exc.column if exc.column and record.collection.field(exc.column) else None
            errors: ErrorTree = {column: _not_unique()} if column else {}
            raise ValidationError(message, errors) from exc
        return record

    async def save_record(self, record: Record, tx: Executor, request: RequestInfo | None = None) -> None:
        """The model-level write with its hooks (no API rules): create or update by `record.is_new`."""
        is_new = record.is_new
        if record.collection.is_superusers:
            record.set("verified", True)  # superusers are always verified, as PocketBase marks them on every save
        hook = self.app.hooks.on_record_create if is_new else self.app.hooks.on_record_update
        after = (
            self.app.hooks.on_record_after_create_success if is_new else self.app.hooks.on_record_after_update_success
        )
        event = RecordEvent(record=record, request=request)

        async def write(e: RecordEvent) -> None:
            written = await file_storage.store_uploads(self.app, e.record, tx)
            try:
                if is_new:
                    await storage.insert(tx, e.record)
                else:
                    await storage.update(tx, e.record)
            except BaseException:
                if written is not None:
                    await written.undo()  # also when a caller goes on to commit without this row
                raise
            replaced = file_storage.replaced_names(e.record)
            if replaced:
                saved = e.record

                async def delete_replaced() -> None:
                    await file_storage.delete_files(self.app, saved, replaced)

                file_storage.after_commit(tx, delete_replaced)

        await hook.trigger(event, write)
        action = "create" if is_new else "update"

        async def after_commit() -> None:
            record.original = dict(record.data)
            record.uploads.clear()  # stored now: names alone from here on
            await after.trigger(RecordEvent(record=record, request=request), _noop)
            await self.app.realtime.publish(action, record)

        tx.on_commit(after_commit)

    async def delete(self, id_or_name: str, record_id: str, request: RequestInfo) -> None:
        collection = await self.fresh_collection(id_or_name)
        require_scope(request, collection, "delete")
        if collection.is_view:
            raise BadRequestError("Unsupported collection type.")
        if not request.is_superuser and collection.deleteRule is None:
            raise ForbiddenError(SUPERUSERS_ONLY)
        rule = rule_condition(collection, collection.deleteRule, request, self.find)
        record = await storage.fetch_by_id(self.app.db.executor(), collection, record_id, rule)
        if record is None:
            raise NotFoundError()
        event = RecordRequestEvent(collection=collection, request=request, record=record)

        async def final(e: RecordRequestEvent) -> None:
            assert e.record is not None
            async with self.app.db.transaction() as tx:
                await self.delete_record(e.record, tx, request)

        await self.app.hooks.on_record_delete_request.trigger(event, final)

    async def delete_record(self, record: Record, tx: Executor, request: RequestInfo | None = None) -> None:
        """Delete with relation bookkeeping (cascade, required-reference guard, id removal)."""
        event = RecordEvent(record=record, request=request)

        async def write(e: RecordEvent) -> None:
            if request is not None and e.record.collection.is_superusers:
                await _keep_one_superuser(e.record, tx)
            await on_delete_references(self, e.record, tx, request)
            await storage.delete(tx, e.record)

        await self.app.hooks.on_record_delete.trigger(event, write)

        if file_storage.has_files(record):
            folder = file_storage.record_prefix(record)
            file_storage.after_commit(tx, lambda: file_storage.delete_prefix(self.app, folder))

        async def after_commit() -> None:
            await self.app.hooks.on_record_after_delete_success.trigger(
                RecordEvent(record=record, request=request), _noop
            )
            await self.app.realtime.publish("delete", record)

        tx.on_commit(after_commit)


async def _noop(_: Any) -> None:
    return None


LAST_SUPERUSER = "You can't delete the only existing superuser."


async def _keep_one_superuser(record: Record, tx: Executor) -> None:
    """As PocketBase: a request (REST or batch) never deletes the last superuser, which would lock
    everyone out of the dashboard. The CLI, run by whoever owns the data directory, still can."""
    table = record.collection.name
    count = await tx.fetch_value(ir.Select((ir.Raw("COUNT(*)"),), ir.Table(table)))
    if int(count or 0) <= 1:
        raise BadRequestError(LAST_SUPERUSER)
