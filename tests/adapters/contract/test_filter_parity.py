"""Differential property test: a filter and sort give the same records on SQLite and PostgreSQL.

Two servers hold the same records (every field type, edge values: '', 0, NULL JSON, mixed-type
JSON, relations single and multiple, back-relations); Hypothesis builds filters from fields,
modifiers, operators and values of every type, and sorts. Each list request must get the same
status and the same record ids, in the same order, from both. SQLite is the reference: its
answers are PocketBase's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from required_service import unavailable

from satchel.core.app import App
from satchel.testing import client_for, superuser_token
from satchel.testing import postgres as pg_testing
from satchel.wiring import open_app

ITEMS = {
    "name": "items",
    "type": "base",
    "listRule": "",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "n", "type": "number"},
        {"name": "b", "type": "bool"},
        {"name": "data", "type": "json"},
        {"name": "tags", "type": "select", "values": ["a", "b", "c", "5"], "maxSelect": 3},
        {"name": "one", "type": "select", "values": ["x", "y", "5"], "maxSelect": 1},
        {"name": "d", "type": "date"},
        {"name": "site", "type": "url"},
        {"name": "place", "type": "geoPoint"},
    ],
}
LINKS = {
    "name": "links",
    "type": "base",
    "listRule": "",
    "fields": [
        {"name": "label", "type": "text"},
        {"name": "item", "type": "relation", "collectionId": "", "maxSelect": 1},
        {"name": "items", "type": "relation", "collectionId": "", "maxSelect": 5},
        {"name": "w", "type": "number"},
    ],
}
ITEM_ROWS: list[dict[str, Any]] = [
    {"id": "item00000000001", "title": "Alpha", "n": 0, "b": False, "data": None, "tags": [], "one": ""},
    {"id": "item00000000002", "title": "beta", "n": 5, "b": True, "data": {"a": 1, "s": "x"}, "tags": ["a", "5"]},
    {"id": "item00000000003", "title": "", "n": -2.5, "b": False, "data": [1, "a", None], "tags": ["b"], "one": "5"},
    {"id": "item00000000004", "title": "5", "n": 10, "b": True, "data": "text", "tags": ["a", "b", "c"], "one": "x"},
    {
        "id": "item00000000005",
        "title": "a_b%c",
        "n": 5,
        "b": False,
        "data": {"a": "1"},
        "d": "2024-01-02 03:04:05.678Z",
    },
    {"id": "item00000000006", "title": "ÉCOLE", "n": 1e20, "b": True, "data": 5, "d": "2030-12-31 00:00:00.000Z"},
    {"id": "item00000000007", "title": "Zeta", "n": 3, "data": True, "site": "https://x.test", "one": "y"},
    {"id": "item00000000008", "title": "alpha", "n": 3, "data": {"a": {"b": [2, 3]}}, "place": {"lon": 1, "lat": 2}},
]
LINK_ROWS: list[dict[str, Any]] = [
    {
        "id": "link00000000001",
        "label": "one",
        "item": "item00000000002",
        "items": ["item00000000002", "item00000000004"],
        "w": 1,
    },
    {"id": "link00000000002", "label": "two", "item": "item00000000004", "items": ["item00000000006"], "w": 2},
    {"id": "link00000000003", "label": "", "item": "", "items": [], "w": 0},
    {"id": "link00000000004", "label": "dup", "item": "item00000000002", "items": ["item00000000001"], "w": 5},
]

FIELDS = [
    "id", "title", "title:lower", "n", "b", "data", "data.a", "data.a.b", "data.s", "data.0", "tags", "tags:each",
    "tags:length", "one", "one:each", "d", "site", "place.lon",
    "links_via_item.label", "links_via_item.w", "links_via_items.label", "links_via_items.w",
    "@collection.links.w", "@collection.links.label", "@request.auth.email", "@request.auth.collectionName",
]  # fmt: skip
# not `created` nor `@request.auth.id`: they differ between the two servers by construction
OPERATORS = ["=", "!=", "<", "<=", ">", ">=", "~", "!~", "?=", "?!=", "?<", "?>", "?~", "?!~"]
VALUES = [
    "''", "'a'", "'A'", "'5'", "'5.0'", "'abc'", "'alpha'", "'a_b%'", "'%a%'", "'x'", "'É'", "'é'", "'1'",
    "0", "5", "-2.5", "3", "1", "1e20", "true", "false", "null", "@todayStart",
    "'2024-01-02 03:04:05.678Z'", "'2025'", "title", "n", "one", "data.a", "tags:length",
    "strftime('%Y', d)", "strftime('%Y-%m', '2024-01-02 03:04:05.678Z', '+1 month')", "geoDistance(place.lon, place.lat, 1, 2)",
]  # fmt: skip
# no @now/@yesterday: the two servers read the clock at different instants
SORTS = ["", "title", "-title", "n", "-n", "data", "-data", "data.a", "b,-n", "links_via_item.w", "-tags", "one,title"]

comparison = st.builds(
    lambda f, o, v, swap: f"{v} {o.lstrip('?')} {f}" if swap else f"{f} {o} {v}",
    st.sampled_from(FIELDS),
    st.sampled_from(OPERATORS),
    st.sampled_from(VALUES),
    st.booleans(),
)
filters = st.recursive(
    comparison,
    lambda inner: st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(["&&", "||"]), inner),
    max_leaves=3,
)


async def _fill(app: App) -> tuple[httpx2.AsyncClient, dict[str, str]]:
    client = client_for(app)
    su = {"Authorization": await superuser_token(app, client)}
    r = await client.post("/api/collections", json=ITEMS, headers=su)
    assert r.status_code == 200, r.text
    items_id = r.json()["id"]
    links = {
        **LINKS,
        "fields": [dict(f, collectionId=items_id) if f["type"] == "relation" else f for f in LINKS["fields"]],
    }
    r = await client.post("/api/collections", json=links, headers=su)
    assert r.status_code == 200, r.text
    for collection, rows in (("items", ITEM_ROWS), ("links", LINK_ROWS)):
        for row in rows:
            r = await client.post(f"/api/collections/{collection}/records", json=row, headers=su)
            assert r.status_code == 200, r.text
    return client, su


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, ...]]:
    loop = asyncio.new_event_loop()
    base: Path = tmp_path_factory.mktemp("parity")

    async def setup() -> list[tuple[App, httpx2.AsyncClient, dict[str, str]]]:
        try:
            url = await pg_testing.database_url(base / "pg")
        except OSError as exc:
            unavailable(f"PostgreSQL is unreachable at {pg_testing.base_url()} ({exc})", f"set {pg_testing.URL_ENV}")
        out = []
        for data_dir, db_url in ((base / "sqlite", ""), (base / "pg", url)):
            app = await open_app(data_dir, db_url=db_url)
            client, su = await _fill(app)
            out.append((app, client, su))
        return out

    try:
        both = loop.run_until_complete(setup())
        yield _Servers((loop, both))
        for app, client, _su in both:
            loop.run_until_complete(client.aclose())
            loop.run_until_complete(app.close())
    finally:
        loop.run_until_complete(pg_testing.drop_schemas())
        loop.close()


class _Servers(tuple):  # type: ignore[type-arg]
    def __repr__(self) -> str:
        return "<sqlite and postgres servers>"


def _list(servers: Any, params: dict[str, str]) -> list[tuple[int, Any]]:
    loop, both = servers
    out = []
    for _app, client, su in both:
        r = loop.run_until_complete(client.get("/api/collections/items/records", params=params, headers=su))
        assert r.status_code in (200, 400), (params, r.status_code, r.text)
        out.append((r.status_code, [i["id"] for i in r.json()["items"]] if r.status_code == 200 else None))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filter_=filters, sort=st.sampled_from(SORTS))
def test_filters_and_sorts_match_sqlite(servers: Any, filter_: str, sort: str) -> None:
    sqlite, postgres = _list(servers, {"filter": filter_, "sort": sort, "perPage": "50"})
    assert postgres == sqlite, (filter_, sort)


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_matches_sqlite(servers: Any, sort: str) -> None:
    sqlite, postgres = _list(servers, {"sort": sort, "perPage": "50"})
    assert sqlite[0] == 200 and postgres == sqlite
