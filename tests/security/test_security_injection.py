"""Hostile filter, sort, expand, fields and JSON-path strings never change the SQL's structure.

Two levels. The compiler: a client value inside a filter compiles to exactly the SQL text a harmless
value gives (it is only ever a bound parameter), and the compiled query runs. The HTTP layer: a fixed
corpus of hostile strings over every endpoint that takes a filter or sort never answers 5xx and never
reaches the statements SQLite executes. (The records list and record writes are also driven by
Hypothesis in tests/apis/test_api_hostile_input.py; this file adds the compiler-level assertion and
the other endpoints.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satchel.adapters.db import sqlite as sqlite_adapter
from satchel.core.app import App
from satchel.core.rules.request_info import RequestInfo
from satchel.core.rules.resolver import FilterError, Resolver
from satchel.testing import client_for, running_app, superuser_token
from satchel.tools.filter import FilterSyntaxError, parse
from satchel.tools.sql import ir
from satchel.tools.sql.sqlite import compile_expr, compile_statement
from tests.apis.helpers import POSTS, create_user, login
from tests.core.rules import rules_fixtures as fx

CORPUS = [
    "' OR 1=1 --",
    '" OR ""="',
    "'; DROP TABLE posts; --",
    '"; DROP TABLE posts; --',
    "*/ UNION SELECT password FROM _superusers /*",
    "1) OR (1=1",
    "\\' OR 1=1 --",
    "\x00",
    "a\x00' OR 1=1",
    "\u2019 OR 1=1 --",  # a typographic quote
    "\uff07 OR 1=1",  # a fullwidth apostrophe
    "é💥\u202e",
    "%_\\%",
    "$.a[0]",
    '$."a"',
    "\n\r\t",
    "ZQXMARK" * 50,
]
MARK_CHARS = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30)  # "" means null in filters
# filter templates with one client-controlled string literal; {} is the escaped value
TEMPLATES = [
    'title = "{}"',
    'title != "{}"',
    'title ~ "{}"',
    'title !~ "{}"',
    'author.name = "{}"',
    'cats:each ?= "{}"',
    'meta.a.b = "{}"',
    'tags.name ?~ "{}"',
    '"{}" = title',
    'title:lower = "{}"',
]


def _quoted(value: str) -> str:
    """`value` as the body of a double-quoted filter string (the lexer's own escaping)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _compile(text: str) -> tuple[str, list[Any]] | None:
    try:
        node = parse(text)
        return compile_expr(Resolver(fx.POSTS, fx.find, RequestInfo(), allow_hidden=True).where(node))
    except (FilterSyntaxError, FilterError):
        return None


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    return fx.make_db()


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("value", CORPUS)
def test_a_hostile_value_is_only_a_parameter(db: sqlite3.Connection, template: str, value: str) -> None:
    reference = _compile(template.format("x"))
    assert reference is not None
    compiled = _compile(template.format(_quoted(value)))
    if compiled is None:  # refused as a 400 (e.g. a NUL): fine, nothing ran
        return
    sql, params = compiled
    assert sql == reference[0]  # same SQL text: the value changed nothing in the statement
    assert len(params) == len(reference[1])
    db.execute(f'SELECT id FROM "posts" WHERE {sql}', params).fetchall()  # and it runs


@settings(max_examples=300, deadline=None)
@given(value=MARK_CHARS, template=st.sampled_from(TEMPLATES))
def test_any_string_value_is_only_a_parameter(template: str, value: str) -> None:
    reference = _compile(template.format("x"))
    assert reference is not None
    compiled = _compile(template.format(_quoted(value)))
    if compiled is not None:
        assert compiled[0] == reference[0]


IDENT_PIECES = st.sampled_from(["a", "b", "_", "0", "9", "items", "__proto__", "length", "1e3", "x" * 40])
json_keys = st.lists(IDENT_PIECES, min_size=1, max_size=6).map("".join)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(json_keys, min_size=1, max_size=5))
def test_json_paths_are_bound_not_spliced(keys: list[str]) -> None:
    path = ".".join(keys)
    compiled = _compile(f"meta.{path} = 1")
    reference = _compile("meta.a = 1")
    assert reference is not None
    if compiled is None:
        return
    sql, params = compiled
    for key in keys:
        if not key.isdigit():
            assert f'"{key}"' not in sql.replace('"posts"', "").replace('"meta"', "")
    assert sql.count("?") == len(params)
    # the sort side: `-meta.<path>` orders by a bound JSON path as well
    resolver = Resolver(fx.POSTS, fx.find, RequestInfo(), allow_hidden=True)
    try:
        order = resolver.order_by(f"-meta.{path}")
    except FilterError:
        return
    ssql, sparams = compile_statement(ir.Select((ir.col("posts", "id"),), ir.Table("posts"), order_by=order))
    assert ssql.count("?") == len(sparams)
    assert not any(k in ssql for k in keys if len(k) > 3 and not k.isdigit())


@pytest.mark.parametrize("value", CORPUS)
def test_hostile_identifiers_and_sorts_are_refused_before_sql(value: str) -> None:
    resolver = Resolver(fx.POSTS, fx.find, RequestInfo(), allow_hidden=True)
    for text in (f"{value} = 1", f"title = 1 {value}", f"meta.{value} = 1"):
        try:
            sql, _ = compile_expr(resolver.where(parse(text)))
        except (FilterSyntaxError, FilterError):
            continue
        assert value.strip() not in sql
    for sort in (value, f"-{value}", f"title,{value}", f"@random{value}"):
        try:
            order = resolver.order_by(sort)
        except FilterError:
            continue
        sql, _ = compile_statement(ir.Select((ir.col("posts", "id"),), ir.Table("posts"), order_by=order))
        _absent(value, sql)


def _absent(value: str, sql: str) -> None:
    """No distinctive part of `value` (its words of 3+ characters) made it into the SQL text."""
    for word in value.replace("\x00", " ").split():
        if len(word) >= 3 and word not in ("OR", "1=1"):
            assert word not in sql, (value, sql)


def test_deep_nesting_is_refused_by_the_parser() -> None:
    for text in ("(" * 10_000 + "1=1" + ")" * 10_000, "!(" * 5000 + "1=1" + ")" * 5000, "a.b" * 20_000):
        with pytest.raises(FilterSyntaxError):
            parse(text)


# ---------------------------------------------------------------- over HTTP


class World:
    def __init__(self, app: App, client: httpx2.AsyncClient, su: dict[str, str], user: dict[str, str]) -> None:
        self.app, self.client, self.su, self.user = app, client, su, user
        self.statements: list[str] = []


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    async with running_app(tmp_path / "pb") as app, client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        r = await client.post("/api/collections", json=POSTS, headers=su)
        assert r.status_code == 200
        await create_user(client, "alice@example.com")
        user = await login(client, "alice@example.com")
        r = await client.post("/api/collections/posts/records", json={"title": "t", "meta": {"a": 1}}, headers=su)
        assert r.status_code == 200
        w = World(app, client, su, user)
        # every statement the SQLite adapter compiles, as SQL text (client values must never be in it)
        original = sqlite_adapter.compile_statement

        def recording(st: ir.Statement) -> tuple[str, list[Any]]:
            sql, params = original(st)
            w.statements.append(sql)
            return sql, params

        monkeypatch.setattr(sqlite_adapter, "compile_statement", recording)
        yield w


ENDPOINTS = [
    ("/api/collections/posts/records", "user"),
    ("/api/collections/posts/records", "guest"),
    ("/api/collections", "su"),
    ("/api/logs", "su"),
    ("/api/keys", "user"),
    ("/api/collections/users/records", "su"),
]


async def test_hostile_strings_over_http_never_500_nor_reach_sql(world: World) -> None:
    r = await world.client.get("/api/collections/posts/records", params={"filter": 'title = "t"'}, headers=world.su)
    assert r.json()["totalItems"] == 1
    assert any('FROM "posts"' in s for s in world.statements)  # the recorder sees the list queries
    for value in CORPUS:
        q = _quoted(value)
        params_list = [
            {"filter": f'title = "{q}"'},
            {"filter": value},
            {"filter": f"meta.{value} = 1"},
            {"sort": value},
            {"sort": f"-meta.{value}"},
            {"expand": value},
            {"fields": value},
            {"fields": f"*,title:excerpt({value})"},
            {"page": value, "perPage": value},
        ]
        for path, who in ENDPOINTS:
            headers = {"su": world.su, "user": world.user, "guest": {}}[who]
            for params in params_list:
                world.statements.clear()
                r = await world.client.get(path, params=params, headers=headers)
                assert r.status_code < 500, (path, params, r.status_code, r.text)
                assert r.json()["status" if r.status_code >= 400 else "items"] is not None
                leaked = [s for s in world.statements if "DROP TABLE" in s or "ZQXMARK" in s or "\x00" in s]
                assert not leaked, (path, params, leaked)


async def test_hostile_realtime_subscription_options_never_500(world: World) -> None:
    for value in CORPUS:
        options = '{"query": {"filter": "' + _quoted(_quoted(value)) + '"}}'
        r = await world.client.post(
            "/api/realtime",
            json={"clientId": "nope", "subscriptions": [f"posts/*?options={options}", value]},
        )
        assert r.status_code < 500, (value, r.text)
