"""Who may receive a record event, and what each subscriber sees of the record.

PocketBase checks a subscription against the collection's listRule (`coll/*`) or viewRule
(`coll/id`) with the subscriber's auth and the topic's options, then the topic's own `filter`
(with hidden fields off, even for superusers). Here every check runs on the event's values
presented as a one-row table instead of on the stored row: the values are what was committed,
they stay right if the row changes again before the fan-out runs, and deleted records (whose row
is already gone) are checked the same way.

One `EventView` serves one event; its checks, payloads and messages are memoised by the inputs
they actually depend on, so many subscribers cost one query and one export per distinct answer.

A rule that reads the auth still has one answer per user, so `EventView.decide` settles the checks
of many subscriptions at once: each check's probe is reduced to a template plus its bound values
(`satchel.tools.sql.batch`), probes of one shape run as one statement over a VALUES table of their
values, and the templates are kept across events per (rule, request) in a `ProbeCache`, so a
thousand users on an owner rule cost a few statements per event and no rule compilation after the
first event. Every batched answer is the answer of the single probe: a statement that fails
falls back to the single probes.
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from satchel.core.errors import SatchelError
from satchel.core.realtime.subscriptions import Message, SubscriptionOptions, message
from satchel.core.records import storage
from satchel.core.records.export import export_record
from satchel.core.records.fields_param import apply_fields, parse_fields
from satchel.core.records.model import Record
from satchel.core.rules import identifiers as ids
from satchel.core.rules.policy import rule_probe
from satchel.core.rules.request_info import CONTEXT_REALTIME, RequestInfo
from satchel.core.rules.resolver import Resolver
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse
from satchel.tools.sql import batch, ir

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.core.collections.model import Collection
    from satchel.core.collections.registry import CollectionRegistry

log = logging.getLogger("satchel.realtime")

SUPERUSER_ONLY_PARAMS = ("filter", "sort")
SUPERUSER_ONLY_FIELDS = ("@collection.", "@request.")
MAX_CACHED_PROBES = 50_000
"""Cached (check, request) entries per collection (about 0.4 KB each); a full cache starts over."""


def subscriber_request(auth: Record | None, options: SubscriptionOptions) -> RequestInfo:
    """The request a subscription stands for: a GET in the realtime context with the topic's options."""
    return RequestInfo(
        auth=auth, method="GET", context=CONTEXT_REALTIME, query=dict(options.query), headers=dict(options.headers)
    )


def values_source(record: Record) -> ir.SubquerySource:
    """The record's values as a one-row table named like the collection, so rules resolve unchanged."""
    return ir.SubquerySource(ir.Select(storage.probe_columns(record)), record.collection.name)


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


def filter_probe(app: App, collection: Collection, text: str, request: RequestInfo, source: ir.Source) -> ir.Select:
    """`SELECT 1 FROM source WHERE filter`: a topic filter as client filters are (no hidden fields)."""
    resolver = Resolver(collection, app.collections.get, request, allow_hidden=False, stored=False)
    return ir.Select((ir.Raw("1"),), source, where=resolver.where(parse(text)), limit=1)


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
    try:
        rows = source if source is not None else values_source(record)
        probe = filter_probe(app, record.collection, text, request, rows)
        return await app.db.executor().fetch_one(probe) is not None
    except (SatchelError, FilterSyntaxError):
        return False


def _auth_key(request: RequestInfo) -> tuple[str, str] | None:
    return (request.auth.collection_id, request.auth.id) if request.auth is not None else None


def _rule_key(rule: str, request: RequestInfo) -> tuple[Any, ...]:
    return ("rule", rule, *_request_key(rule, request, whole=False))


def _filter_key(text: str, request: RequestInfo) -> tuple[Any, ...]:
    guard = tuple(str(request.query.get(p) or "") for p in SUPERUSER_ONLY_PARAMS)
    return ("filter", text, guard, *_request_key(text, request, whole=True))


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


Outcome = bool | tuple[int, tuple[Any, ...]]
"""A check's answer when it needs no SQL, else its template (by number) and bound values."""


class ProbeCache:
    """What the checks on one collection's events compile to, kept across events.

    The probe of a check depends on the check's text, the request parts it reads and the schema,
    not on the event: it is resolved once against `stand_in` (a stand-in for the event's values
    table, which each event swaps for its own) and reduced to a template and its bound values.
    Entries are keyed by the check's memo key plus the auth values a probe binds from the auth
    record itself (email, emailVisibility, verified): other `@request.auth.*` paths join the auth
    table, so SQL reads them fresh. A cache serves one schema version and one collection object;
    checks whose answer could drift with the clock (datetime macros) are never stored.
    """

    def __init__(self, collection: Collection, version: int) -> None:
        self.collection = collection
        self.version = version
        self.stand_in = ir.Table("__satchel_event_values", collection.name)
        """Not a table: a probe that still reads it fails, and the caller falls back to single probes."""
        self.templates: list[ir.Select] = []
        self._numbers: dict[ir.Select, int] = {}
        self.entries: dict[tuple[Any, ...], Outcome] = {}
        self._filters_timeless: bool | None = None

    def prepare(self, build: Callable[[ir.Source], ir.Select], denies: tuple[type[Exception], ...]) -> Outcome:
        """The outcome of a check whose probe `build` makes (on the stand-in); errors in `denies` deny."""
        try:
            probe = build(self.stand_in)
        except denies:
            return False
        template = batch.template(probe)
        number = self._numbers.get(template.query)
        if number is None:
            number = self._numbers[template.query] = len(self.templates)
            self.templates.append(template.query)
        return (number, template.values)

    def serves(self, collection: Collection, version: int) -> bool:
        """Whether this cache is for that collection object and schema version, and not overgrown."""
        return self.collection is collection and self.version == version and len(self.entries) <= MAX_CACHED_PROBES

    def store(self, key: tuple[Any, ...], outcome: Outcome) -> None:
        self.entries[key] = outcome

    def filters_timeless(self, registry: CollectionRegistry) -> bool:
        """Whether no list rule uses a datetime macro (a topic filter may bring any of them in)."""
        if self._filters_timeless is None:
            self._filters_timeless = not any(_has_macro(c.listRule or "") for c in registry.all())
        return self._filters_timeless


_CACHES: weakref.WeakKeyDictionary[CollectionRegistry, dict[str, ProbeCache]] = weakref.WeakKeyDictionary()
"""One set of probe caches per app (its collection registry), by collection id."""


def probe_cache(app: App, collection: Collection) -> ProbeCache:
    """The lasting cache for `collection`'s events, or a fresh one when the schema moved on.

    An event published before a schema change carries the former collection object: its checks are
    still batched, on a cache that lives only as long as its `EventView`. A cache that outgrew
    `MAX_CACHED_PROBES` starts over here, between events: template numbers stay valid for the
    whole of the event that holds the cache.
    """
    registry = app.collections
    if registry.get(collection.id) is not collection:
        return ProbeCache(collection, -1)
    caches = _CACHES.setdefault(registry, {})
    cache = caches.get(collection.id)
    if cache is None or not cache.serves(collection, registry.version):
        cache = caches[collection.id] = ProbeCache(collection, registry.version)
    return cache


_RULE_DENIES: tuple[type[Exception], ...] = (SatchelError,)
"""What `passes_on_values` turns into a denial."""
_FILTER_DENIES: tuple[type[Exception], ...] = (SatchelError, FilterSyntaxError)
"""What `passes_filter` turns into a denial."""


@functools.lru_cache(maxsize=1024)
def _has_macro(text: str) -> bool:
    """Whether an expression may use a datetime macro (its probe binds the time it was compiled)."""
    return "@" in text and any(m in text for m in ids.MACROS)


@dataclass(frozen=True, slots=True)
class _Check:
    """One rule or filter check still to be answered by SQL."""

    key: tuple[Any, ...]
    """The event's memo key (`EventView._checks`)."""
    lasting: tuple[Any, ...] | None
    """The `ProbeCache` key, None when the probe must be compiled for this event only."""
    is_filter: bool
    """A topic filter (`passes_filter`) rather than an API rule (`passes_on_values`)."""
    text: str
    request: RequestInfo


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
        self._cache: ProbeCache | None = None
        self._queries: dict[int, ir.Select] = {}

    def _values(self) -> ir.SubquerySource:
        """The event's values as a one-row table, built once for every check of the event."""
        if self._source is None:
            self._source = values_source(self.record)
        return self._source

    async def _rule(self, rule: str | None, request: RequestInfo) -> bool:
        if request.is_superuser or rule is None or not rule.strip():
            return await can_access(self.app, self.record, request, rule)
        key = _rule_key(rule, request)
        if key not in self._checks:
            self._checks[key] = await passes_on_values(self.app, self.record, rule, request, self._values())
        return self._checks[key]

    async def _filter(self, request: RequestInfo) -> bool:
        text = str(request.query.get("filter") or "")
        if not text:
            return True
        key = _filter_key(text, request)
        if key not in self._checks:
            self._checks[key] = await passes_filter(self.app, self.record, request, self._values())
        return self._checks[key]

    # ------------------------------------------------------------ many at once
    async def decide(self, subscriptions: Sequence[tuple[str, RequestInfo]], rule: str | None) -> list[Message | None]:
        """`message()` for many subscriptions to one target, their checks settled in a few statements.

        Same answers as calling `message()` for each pair in turn, and in the same short-circuit
        order: the API rule for everyone, the topic filter for those the rule lets through, then
        (auth collections) the manage rule for those who see the record and do not own it.
        """
        requests = [request for _, request in subscriptions]
        allowed = await self._allowed_many(rule, requests)
        collection = self.record.collection
        if collection.is_auth:  # the payload shows the email to managers: settle the manage rule too
            seeing = [r for r, ok in zip(requests, allowed, strict=True) if ok and not self._owner(r)]
            await self._allowed_many(collection.auth.get("manageRule"), seeing)
        return [
            await self._message(topic, request) if ok else None
            for (topic, request), ok in zip(subscriptions, allowed, strict=True)
        ]

    async def _allowed_many(self, rule: str | None, requests: list[RequestInfo]) -> list[bool]:
        """`allowed()` for each request: the rule checks settled together, then the filters of those
        the rule lets through (a filter is never run for a request the rule denies)."""
        keys: list[tuple[Any, ...] | None] = [None] * len(requests)
        checks: dict[tuple[Any, ...], _Check] = {}
        if rule is not None and rule.strip():  # else `_rule` needs no SQL (as for superusers)
            for n, r in enumerate(requests):
                if r.is_superuser:
                    continue
                key = _rule_key(rule, r)
                keys[n] = key
                if key not in self._checks and key not in checks:
                    checks[key] = self._rule_check(key, rule, r)
        await self._settle(checks.values())
        passed = [
            self._checks[key] if key is not None else await self._rule(rule, r)
            for key, r in zip(keys, requests, strict=True)
        ]
        filters: dict[tuple[Any, ...], _Check] = {}
        for r, ok in zip(requests, passed, strict=True):
            text = str(r.query.get("filter") or "") if ok else ""
            if not text:
                continue
            filter_key = _filter_key(text, r)
            if filter_key not in self._checks and filter_key not in filters:
                check = self._filter_check(filter_key, text, r)
                if check is not None:
                    filters[filter_key] = check
        await self._settle(filters.values())
        return [ok and await self._filter(r) for r, ok in zip(requests, passed, strict=True)]

    def _rule_check(self, key: tuple[Any, ...], rule: str, request: RequestInfo) -> _Check:
        """The SQL check `_rule` runs for `request` (memo key `key`), to be settled with others."""
        reads_auth = "@request.auth." in rule
        lasting = None if _has_macro(rule) else self._lasting(key, request, reads_auth=reads_auth)
        return _Check(key, lasting, False, rule, request)

    def _filter_check(self, key: tuple[Any, ...], text: str, request: RequestInfo) -> _Check | None:
        """The SQL check `_filter` runs for `request` (memo key `key`), or None when it denies without."""
        if _superuser_only_fields_used(request):
            self._checks[key] = False
            return None
        timeless = not _has_macro(text) and self._probes().filters_timeless(self.app.collections)
        lasting = self._lasting(key, request, reads_auth=True) if timeless else None
        return _Check(key, lasting, True, text, request)

    def _probe(self, check: _Check, source: ir.Source) -> ir.Select:
        """The probe `passes_filter` or `passes_on_values` would run, on `source` instead of the values."""
        collection = self.record.collection
        if check.is_filter:
            return filter_probe(self.app, collection, check.text, check.request, source)
        return rule_probe(collection, check.text, check.request, self.app.collections.get, source)

    async def _single(self, check: _Check) -> bool:
        """The check on its own: the reference answer (and the fallback of a failed batch)."""
        if check.is_filter:
            return await passes_filter(self.app, self.record, check.request, self._values())
        return await passes_on_values(self.app, self.record, check.text, check.request, self._values())

    def _lasting(self, key: tuple[Any, ...], request: RequestInfo, *, reads_auth: bool) -> tuple[Any, ...] | None:
        """The `ProbeCache` key of a check: its memo key, plus the auth values a probe may bind.

        Those are the `ids.PLAIN_AUTH_FIELDS` read from the auth record itself (id, collection,
        email, emailVisibility, verified); any other `@request.auth.*` path joins the auth table
        on the auth id, so SQL reads it fresh at every event.

        None (compile for this event only) when the request is not a subscriber's plain GET or
        its auth record carries a former version of its collection.
        """
        if request.body:
            return None
        auth = request.auth
        plain: tuple[Any, ...] = ()
        if auth is not None and reads_auth:
            if self.app.collections.get(auth.collection_id) is not auth.collection:
                return None
            data = auth.data
            plain = (data.get("email"), data.get("emailVisibility"), data.get("verified"))
        return (*key, request.method, request.context, plain)

    def _probes(self) -> ProbeCache:
        if self._cache is None:
            self._cache = probe_cache(self.app, self.record.collection)
        return self._cache

    async def _settle(self, checks: Iterable[_Check]) -> None:
        """Answer `checks` (distinct memo keys) into the memo: cached or compiled probes, one
        statement per shape."""
        cache = self._probes()
        groups: dict[int, list[tuple[_Check, tuple[Any, ...]]]] = {}
        for check in checks:
            outcome = cache.entries.get(check.lasting) if check.lasting is not None else None
            if outcome is None:
                denies = _FILTER_DENIES if check.is_filter else _RULE_DENIES
                outcome = cache.prepare(functools.partial(self._probe, check), denies)
                if check.lasting is not None:
                    cache.store(check.lasting, outcome)
            if isinstance(outcome, bool):
                self._checks[check.key] = outcome
            else:
                groups.setdefault(outcome[0], []).append((check, outcome[1]))
        for number, group in groups.items():
            await self._run(cache, number, group)

    async def _run(self, cache: ProbeCache, number: int, group: list[tuple[_Check, tuple[Any, ...]]]) -> None:
        query = self._queries.get(number)
        if query is None:
            values, stand_in = self._values(), cache.stand_in
            template = cache.templates[number]
            query = self._queries[number] = batch.rewrite(template, lambda n: values if n is stand_in else None)
        passed: set[int] = set()
        try:
            executor = self.app.db.executor()
            for statement in batch.exists_each(query, [values for _, values in group]):
                passed.update(int(row[batch.INDEX]) for row in await executor.fetch_all(statement))
        except Exception:  # any failure of the batch: the single probes give the reference answers
            log.warning("batched realtime check failed, checking one by one", exc_info=True)
            for check, _ in group:
                self._checks[check.key] = await self._single(check)
            return
        for n, (check, _) in enumerate(group):
            self._checks[check.key] = n in passed

    async def allowed(self, request: RequestInfo, rule: str | None) -> bool:
        """The API rule, then the subscription's own filter (PocketBase's `realtimeCanAccessRecord`)."""
        return await self._rule(rule, request) and await self._filter(request)

    async def message(self, topic: str, request: RequestInfo, rule: str | None) -> Message | None:
        """The message for one subscription, or None when its subscriber may not see the event.

        Subscribers whose payloads are identical get the same `Message` object.
        """
        if not await self.allowed(request, rule):
            return None
        return await self._message(topic, request)

    async def _message(self, topic: str, request: RequestInfo) -> Message:
        """The message for a subscription known to be allowed."""
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
        return self._owner(request) or await self.allowed(request, collection.auth.get("manageRule"))

    def _owner(self, request: RequestInfo) -> bool:
        """Whether the subscriber is the auth record the event is about."""
        auth, record = request.auth, self.record
        return auth is not None and auth.collection_id == record.collection.id and auth.id == record.id

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
        return apply_fields(out, parse_fields(fields, strict=False)) if fields else out
