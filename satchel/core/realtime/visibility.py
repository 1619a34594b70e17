"""Who may receive a record event, and what each subscriber sees of the record.

PocketBase checks a subscription against the collection's listRule (`coll/*`) or viewRule
(`coll/id`) with the subscriber's auth and the topic's options, then the topic's own `filter`
(with hidden fields off, even for superusers). Here every check runs on the event's values
presented as a one-row table instead of on the stored row: the values are what was committed,
they stay right if the row changes again before the fan-out runs, and deleted records (whose row
is already gone) are checked the same way.

One `EventView` serves one event; its checks and payloads are memoised by their inputs, so many
subscribers with the same auth and topic cost one query and one export.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from satchel.core.errors import SatchelError
from satchel.core.records.export import export_record
from satchel.core.records.fields_param import apply_fields, parse_fields
from satchel.core.records.model import Record
from satchel.core.rules.policy import rule_probe
from satchel.core.rules.request_info import CONTEXT_REALTIME, RequestInfo
from satchel.core.rules.resolver import Resolver
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.core.realtime.subscriptions import SubscriptionOptions

SUPERUSER_ONLY_PARAMS = ("filter", "sort")
SUPERUSER_ONLY_FIELDS = ("@collection.", "@request.")


def subscriber_request(auth: Record | None, options: SubscriptionOptions) -> RequestInfo:
    """The request a subscription stands for: a GET in the realtime context with the topic's options."""
    return RequestInfo(
        auth=auth, method="GET", context=CONTEXT_REALTIME, query=dict(options.query), headers=dict(options.headers)
    )


def values_source(record: Record) -> ir.SubquerySource:
    """The record's values as a one-row table named like the collection, so rules resolve unchanged."""
    columns: list[ir.SelectItem] = [
        ir.Alias(ir.Param(f.to_db(record.data.get(f.name, f.zero()))), f.name) for f in record.collection.fields
    ]
    return ir.SubquerySource(ir.Select(tuple(columns)), record.collection.name)


async def passes_on_values(app: App, record: Record, rule: str, request: RequestInfo) -> bool:
    """Whether `record`'s values meet a rule expression (hidden fields allowed, as in API rules).

    Works whether or not the record is stored, so it serves deleted records too. A rule that
    cannot be compiled denies.
    """
    try:
        probe = rule_probe(record.collection, rule, request, app.collections.get, values_source(record))
        return await app.db.executor().fetch_one(probe) is not None
    except SatchelError:
        return False


async def can_access(app: App, record: Record, request: RequestInfo, rule: str | None) -> bool:
    """PocketBase's access check: superusers always, a null rule never, an empty rule always."""
    if request.is_superuser:
        return True
    if rule is None:
        return False
    if not rule.strip():
        return True
    return await passes_on_values(app, record, rule, request)


def _superuser_only_fields_used(request: RequestInfo) -> bool:
    if request.is_superuser:
        return False
    for param in SUPERUSER_ONLY_PARAMS:
        value = str(request.query.get(param) or "")
        if any(f in value for f in SUPERUSER_ONLY_FIELDS):
            return True
    return False


async def passes_filter(app: App, record: Record, request: RequestInfo) -> bool:
    """The topic's `filter` option (hidden fields refused for everyone, as PocketBase does here)."""
    text = str(request.query.get("filter") or "")
    if not text:
        return True
    if _superuser_only_fields_used(request):
        return False
    collection = record.collection
    try:
        resolver = Resolver(collection, app.collections.get, request, allow_hidden=False)
        where = resolver.where(parse(text))
        probe = ir.Select((ir.Raw("1"),), values_source(record), where=where, limit=1)
        return await app.db.executor().fetch_one(probe) is not None
    except (SatchelError, FilterSyntaxError):
        return False


def _auth_key(request: RequestInfo) -> tuple[str, str] | None:
    return (request.auth.collection_id, request.auth.id) if request.auth is not None else None


def _request_key(text: str, request: RequestInfo) -> tuple[Any, ...]:
    """What a rule's outcome depends on: the auth, and the options only when the rule reads them."""
    query = tuple(sorted(request.query.items())) if "@request.query" in text else ()
    headers = tuple(sorted(request.headers.items())) if "@request.headers" in text else ()
    return (_auth_key(request), query, headers)


class EventView:
    """One record event as seen by its subscribers (memoised per distinct rule inputs and topic)."""

    def __init__(self, app: App, action: str, record: Record) -> None:
        self.app = app
        self.action = action
        self.record = record
        self._checks: dict[tuple[Any, ...], bool] = {}
        self._payloads: dict[tuple[Any, ...], bytes] = {}

    async def _rule(self, rule: str | None, request: RequestInfo) -> bool:
        if request.is_superuser or rule is None or not rule.strip():
            return await can_access(self.app, self.record, request, rule)
        key = ("rule", rule, *_request_key(rule, request))
        if key not in self._checks:
            self._checks[key] = await passes_on_values(self.app, self.record, rule, request)
        return self._checks[key]

    async def _filter(self, request: RequestInfo) -> bool:
        text = str(request.query.get("filter") or "")
        if not text:
            return True
        guard = tuple(str(request.query.get(p) or "") for p in SUPERUSER_ONLY_PARAMS)
        key = ("filter", text, guard, *_request_key(text, request))
        if key not in self._checks:
            self._checks[key] = await passes_filter(self.app, self.record, request)
        return self._checks[key]

    async def allowed(self, request: RequestInfo, rule: str | None) -> bool:
        """The API rule, then the subscription's own filter (PocketBase's `realtimeCanAccessRecord`)."""
        return await self._rule(rule, request) and await self._filter(request)

    async def payload(self, topic: str, request: RequestInfo) -> bytes:
        """`{"record": ..., "action": ...}` for one subscriber and topic (options live in the topic)."""
        key = (topic, _auth_key(request))
        cached = self._payloads.get(key)
        if cached is None:
            cached = self._payloads[key] = orjson.dumps(
                {"record": await self._export(request), "action": self.action}, option=orjson.OPT_NON_STR_KEYS
            )
        return cached

    async def _export(self, request: RequestInfo) -> Any:
        record = self.record
        collection = record.collection
        manager = False
        if collection.is_auth:
            auth = request.auth
            owner = auth is not None and auth.collection_id == collection.id and auth.id == record.id
            manager = owner or await self.allowed(request, collection.auth.get("manageRule"))
        out = export_record(Record(collection, dict(record.data)), request, manager=manager)
        expand = str(request.query.get("expand") or "")
        if expand:
            expanded = (await self.app.records.export([Record(collection, dict(record.data))], request, expand))[0]
            if "expand" in expanded:
                out["expand"] = expanded["expand"]
        fields = str(request.query.get("fields") or "")
        return apply_fields(out, parse_fields(fields)) if fields else out
