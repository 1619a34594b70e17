"""Realtime topic filters and rules with `search(...)`: answered on the event's values (no index)."""

from __future__ import annotations

import httpx2

from satchel.core.app import App
from satchel.core.realtime.visibility import passes_filter, passes_on_values
from satchel.core.records.storage import record_from_row
from satchel.core.rules.request_info import RequestInfo
from satchel.tools.sql import ir
from tests.apis.test_api_search import ARTICLES, _seed


async def test_topic_filter_and_rule_with_search(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App
) -> None:
    ids = await _seed(client, su_headers, ARTICLES)
    coll = app.collections.get("articles")
    assert coll is not None
    rows = await app.db.executor().fetch_all(ir.Select((ir.Star("articles"),), ir.Table("articles")))
    records = {r["title"]: record_from_row(coll, r) for r in rows}
    assert set(records) == set(ids)

    def topic(flt: str) -> RequestInfo:
        return RequestInfo(method="GET", context="realtime", query={"filter": flt})

    async def passing(flt: str) -> list[str]:
        return sorted([t for t, rec in records.items() if await passes_filter(app, rec, topic(flt))])

    assert await passing("search('hello') = true") == ["Hello world", "Release notes"]
    assert await passing("search(title, 'hello') = true") == ["Hello world"]
    assert await passing("search('\"hello again\"') = true") == ["Release notes"]
    assert await passing("search('hello -gardening') = true") == ["Release notes"]
    assert await passing("search('paris or tomatoes') = true") == ["Café culture", "Gardening tips"]
    assert await passing("search('hello') = false") == ["Café culture", "Gardening tips"]
    assert await passing("search(nope, 'x') = true") == []  # a bad topic filter denies, as others do

    # a deleted record is no longer in the index: its values still answer
    gone = records["Café culture"]
    r = await client.delete(f"/api/collections/articles/records/{gone.id}")
    assert r.status_code == 204
    assert await passes_on_values(app, gone, "search('croissants') = true", RequestInfo())
    assert not await passes_on_values(app, gone, "search('tomatoes') = true", RequestInfo())
