"""Who may receive a record event, and what each subscriber sees of the record.

PocketBase checks a subscription against the collection's listRule (`coll/*`) or viewRule
(`coll/id`) with the subscriber's auth and the topic's options, then the topic's own `filter`
(with hidden fields off, even for superusers). Here every check runs on the event's values
presented as a one-row table instead of on the stored row: the values are what was committed,
they stay right if the row changes again before the fan-out runs, and deleted records (whose row
is already gone) are checked the same way.

One `EventView` serves one event; its checks, payloads and messages are memoised by the inputs
they actually depend on, so many subscribers cost one query and one export per distinct answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from satchel.core.errors import SatchelError
from satchel.core.realtime.subscriptions import Message, SubscriptionOptions, message
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


async def passes_on_values(
    app: App, record: Record, rule: str, request: RequestInfo, source: ir.SubquerySource | None = None
) -> bool:
    """Whether `record`'s values meet a rule expression (hidden fields allowed, as in API rules).

    Works whether or not the record is stored, so it serves deleted records too. A rule that
    cannot be compiled denies. `source` is `values_source(record)` when the caller has it already.
    """
    try:
        rows = source if source is not None else (lambda: values_source(record))
        probe = rule_probe(record.collection, rule, request, app.collections.get, rows)
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


async def passes_filter(
    app: App, record: Record, request: RequestInfo, source: ir.SubquerySource | None = None
) -> bool:
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
        rows = source if source is not None else values_source(record)
        probe = ir.Select((ir.Raw("1"),), rows, where=where, limit=1)
        return await app.db.executor().fetch_one(probe) is not None
    except (SatchelError, FilterSyntaxError):
        return False


def _auth_key(request: RequestInfo) -> tuple[str, str] | None:
    return (request.auth.collection_id, request.auth.id) if request.auth is not None else None


def _request_key(text: str, request: RequestInfo, *, whole: bool) -> tuple[Any, ...]:
    """What an expression's outcome depends on besides the record: the request parts it reads.

    In an API rule `@request.*` names are the only way to reach the request, so a rule that does
    not mention the auth gives one answer for every non-superuser. A topic filter may also bring
    in the list rules of the collections it reaches through relations, which read the request in
    ways its own text does not show: filters are keyed by the `whole` request.
    """
    auth = _auth_key(request) if whole or "@request.auth." in text else None
    query = tuple(sorted(request.query.items())) if whole or "@request.query" in text else ()
    headers = tuple(sorted(request.headers.items())) if whole or "@request.headers" in text else ()
    return (request.is_superuser, auth, query, headers)


class EventView:
    """One record event as seen by its subscribers (memoised per distinct rule inputs and topic).

    Rule and filter checks are keyed by the parts of the request they read, payloads by what the
    export depends on (superuser or not, manager or not, and the auth only when relations are
    expanded), and messages by topic and payload: a thousand guests subscribed to `posts/*` cost
    one check, one JSON document and one shared message.
    """

    def __init__(self, app: App, action: str, record: Record) -> None:
        self.app = app
        self.action = action
        self.record = record
        self._checks: dict[tuple[Any, ...], bool] = {}
        self._payloads: dict[tuple[Any, ...], bytes] = {}
        self._messages: dict[tuple[Any, ...], Message] = {}
        self._source: ir.SubquerySource | None = None

    def _values(self) -> ir.SubquerySource:
        """The event's values as a one-row table, built once for every check of the event."""
        if self._source is None:
            self._source = values_source(self.record)
        return self._source

    async def _rule(self, rule: str | None, request: RequestInfo) -> bool:
        if request.is_superuser or rule is None or not rule.strip():
            return await can_access(self.app, self.record, request, rule)
        key = ("rule", rule, *_request_key(rule, request, whole=False))
        if key not in self._checks:
            self._checks[key] = await passes_on_values(self.app, self.record, rule, request, self._values())
        return self._checks[key]

    async def _filter(self, request: RequestInfo) -> bool:
        text = str(request.query.get("filter") or "")
        if not text:
            return True
        guard = tuple(str(request.query.get(p) or "") for p in SUPERUSER_ONLY_PARAMS)
        key = ("filter", text, guard, *_request_key(text, request, whole=True))
        if key not in self._checks:
            self._checks[key] = await passes_filter(self.app, self.record, request, self._values())
        return self._checks[key]

    async def allowed(self, request: RequestInfo, rule: str | None) -> bool:
        """The API rule, then the subscription's own filter (PocketBase's `realtimeCanAccessRecord`)."""
        return await self._rule(rule, request) and await self._filter(request)

    async def message(self, topic: str, request: RequestInfo, rule: str | None) -> Message | None:
        """The message for one subscription, or None when its subscriber may not see the event.

        Subscribers whose payloads are identical get the same `Message` object.
        """
        if not await self.allowed(request, rule):
            return None
        key = await self._payload_key(topic, request)
        cached = self._messages.get(key)
        if cached is None:
            cached = self._messages[key] = message(topic, await self._payload(key, request))
        return cached

    async def payload(self, topic: str, request: RequestInfo) -> bytes:
        """`{"record": ..., "action": ...}` for one subscriber and topic (options live in the topic)."""
        return await self._payload(await self._payload_key(topic, request), request)

    async def _manager(self, request: RequestInfo) -> bool:
        """Whether the subscriber sees an auth record's email whatever its visibility (owner or manager)."""
        record = self.record
        collection = record.collection
        if not collection.is_auth:
            return False
        auth = request.auth
        owner = auth is not None and auth.collection_id == collection.id and auth.id == record.id
        return owner or await self.allowed(request, collection.auth.get("manageRule"))

    async def _payload_key(self, topic: str, request: RequestInfo) -> tuple[Any, ...]:
        """What the exported record depends on: hidden fields (superusers), email (managers), and
        relations expanded under the subscriber's own rules; `fields` and `expand` are in the topic."""
        expand = bool(request.query.get("expand"))
        return (topic, request.is_superuser, await self._manager(request), _auth_key(request) if expand else None)

    async def _payload(self, key: tuple[Any, ...], request: RequestInfo) -> bytes:
        cached = self._payloads.get(key)
        if cached is None:
            cached = self._payloads[key] = orjson.dumps(
                {"record": await self._export(request), "action": self.action}, option=orjson.OPT_NON_STR_KEYS
            )
        return cached

    async def _export(self, request: RequestInfo) -> Any:
        record = self.record
        collection = record.collection
        out = export_record(Record(collection, dict(record.data)), request, manager=await self._manager(request))
        expand = str(request.query.get("expand") or "")
        if expand:
            expanded = (await self.app.records.export([Record(collection, dict(record.data))], request, expand))[0]
            if "expand" in expanded:
                out["expand"] = expanded["expand"]
        fields = str(request.query.get("fields") or "")
        return apply_fields(out, parse_fields(fields)) if fields else out
