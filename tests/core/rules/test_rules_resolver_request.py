"""`@request.*` in rules: body values and modifiers, the auth record, method and context.

Each rule is evaluated as an update rule: against stored post p1, with user u1 (Alice)
authenticated and the given body. Every expectation was obtained from the real PocketBase 0.40.6
(PATCH /records/p1 with the same rule, body and user: 200 = allowed, 404 = denied). `{x}` marks a
record id. Bodies are given as PocketBase's rule engine sees them (after modifier replacement).
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
import rules_fixtures as fx

from satchel.core.rules.resolver import FilterError, Resolver
from satchel.tools.filter.parser import parse
from satchel.tools.sql.sqlite import compile_expr

CASES: list[tuple[str, dict[str, Any], bool]] = [
    ('@request.body.title:changed = false', {'title': 'Hello World'}, True),
    ('@request.body.title:changed = false', {'title': 'x'}, False),
    ('@request.body.title:changed = false', {}, True),
    ('@request.body.title:changed = false', {'views': 3}, True),
    ('@request.body.title:changed = true', {'title': 'Hello World'}, False),
    ('@request.body.title:changed = true', {'title': 'x'}, True),
    ('@request.body.title:changed = true', {}, False),
    ('@request.body.cats:each ?= "a"', {'cats': ['b', 'c']}, False),
    ('@request.body.cats:each ?= "a"', {'cats': ['a', 'c']}, True),
    ('@request.body.cats:each ?= "a"', {}, False),
    ('@request.body.cats:each = "a"', {'cats': ['a']}, True),
    ('@request.body.cats:each = "a"', {'cats': ['a', 'b']}, False),
    ('@request.body.cats:each = "a"', {'cats': []}, False),
    ('@request.body.cats:each = "a"', {}, False),
    ('@request.body.cats:each != "a"', {'cats': ['b']}, True),
    ('@request.body.cats:each != "a"', {'cats': ['a', 'b']}, False),
    ('@request.body.cats:each != "a"', {'cats': []}, True),
    ('@request.body.cats:each != "a"', {}, True),
    ('@request.body.status:each = "live"', {'status': 'live'}, True),
    ('@request.body.status:each = "live"', {'status': 'draft'}, False),
    ('@request.body.status:each = "live"', {}, False),
    ('@request.body.cats:length < 2', {'cats': ['a']}, True),
    ('@request.body.cats:length < 2', {'cats': ['a', 'b']}, False),
    ('@request.body.cats:length < 2', {}, True),
    ('@request.body.cats:length = 0', {'cats': []}, True),
    ('@request.body.cats:length = 0', {}, True),
    ('@request.body.cats:length = 0', {'cats': ['a']}, False),
    ('@request.body.tags.name ?= "red"', {'tags': ['{t2}']}, False),
    ('@request.body.tags.name ?= "red"', {'tags': ['{t1}', '{t2}']}, True),
    ('@request.body.tags.name ?= "red"', {}, False),
    ('@request.body.tags.name = "red"', {'tags': ['{t1}', '{t2}']}, False),
    ('@request.body.tags.name = "red"', {'tags': ['{t1}']}, True),
    ('@request.body.tags.name = "red"', {}, False),
    ('@request.body.tags.name = null', {'tags': []}, True),
    ('@request.body.tags.name = null', {}, True),
    ('@request.body.tags.name = null', {'tags': ['{t4}']}, True),
    ('@request.body.tags.name = null', {'tags': ['{t1}']}, False),
    ('@request.body.author.name = "Alice"', {'author': '{u1}'}, True),
    ('@request.body.author.name = "Alice"', {'author': '{u2}'}, False),
    ('@request.body.author.name = "Alice"', {}, False),
    ('@request.body.views > 5', {'views': 7}, True),
    ('@request.body.views > 5', {'views': 3}, False),
    ('@request.body.views > 5', {}, False),
    ('@request.body.views > 5', {'views': '9'}, True),
    ('@request.body.views = 7', {'views': 7}, True),
    ('@request.body.views = 7', {'views': '7'}, True),
    ('@request.body.views = 7', {'views': 7.5}, False),
    ('@request.body.author = @request.auth.id', {'author': '{u1}'}, True),
    ('@request.body.author = @request.auth.id', {'author': '{u2}'}, False),
    ('@request.body.author = @request.auth.id', {}, False),
    ('@request.auth.tags.name ?= "green"', {}, True),
    ('@request.auth.tags.name = "green"', {}, False),
    ('@request.auth.tags:length = 2', {}, True),
    ('@request.auth.name = "Alice" && @request.auth.verified = true', {}, True),
    ('@request.auth.secret = "s1"', {}, True),
    ('@request.auth.nope = null', {}, True),
    ('@request.auth.collectionName = "users" && @request.auth.collectionId != ""', {}, True),
    ('@request.body.title:lower = "abc"', {'title': 'ABC'}, True),
    ('@request.body.title:lower = "abc"', {'title': 'abd'}, False),
    ('@request.body.title:lower = "abc"', {}, False),
    ('@request.body.title:lower = ""', {}, True),
    ('@request.body.title:lower = ""', {'title': ''}, True),
    ('@request.body.meta.a = 1', {'meta': {'a': 1}}, True),
    ('@request.body.meta.a = 1', {'meta': {'a': 2}}, False),
    ('@request.body.meta.a = 1', {}, False),
    ('@request.body.meta = null', {'meta': {'a': 1}}, False),
    ('@request.body.meta = null', {}, True),
    ('@request.body.cats ~ "a"', {'cats': ['a', 'b']}, True),
    ('@request.body.cats ~ "a"', {'cats': ['b']}, False),
    ('@request.body.cats = "a"', {'cats': ['a']}, False),
    ('@request.body.published = true', {'published': True}, True),
    ('@request.body.published = true', {'published': False}, False),
    ('@request.body.published = true', {}, False),
    ('@request.body.published = false', {'published': True}, False),
    ('@request.body.published = false', {'published': False}, True),
    ('@request.body.published = false', {}, False),
    ('@request.body.title = title', {'title': 'Hello World'}, True),
    ('@request.body.title = title', {'title': 'x'}, False),
    ('@request.body.title = title', {}, False),
    ('@request.body.nope:isset = false', {}, True),
    ('@request.body.nope:isset = false', {'nope': 1}, False),
    ('@request.body.tags:each ?= "{t1}" && @request.body.tags:length > 1', {'tags': ['{t1}', '{t2}']}, True),
    ('@request.body.tags:each ?= "{t1}" && @request.body.tags:length > 1', {'tags': ['{t1}']}, False),
    ('@request.method = "PATCH" && @request.context = "default"', {}, True),
    ('@request.body.title:changed = false && views > 5', {'title': 'Hello World'}, True),
    ('tags.name ?= @request.body.title', {'title': 'red'}, True),
    ('tags.name ?= @request.body.title', {'title': 'blue'}, False),
    ('tags.name = @request.body.title', {'title': 'red'}, False),
    ('@request.body.cats:each ~ "a"', {'cats': ['a', 'b']}, False),
]


def _ids(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", r"\1", value)
    if isinstance(value, list):
        return [_ids(v) for v in value]
    if isinstance(value, dict):
        return {k: _ids(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    return fx.make_db()


def allowed(db: sqlite3.Connection, rule: str, body: dict[str, Any], **kw: Any) -> bool:
    req = fx.request(**{"auth": fx.user("u1"), "body": _ids(body), "method": "PATCH", **kw})
    sql, params = compile_expr(Resolver(fx.POSTS, fx.find, req, allow_hidden=True).where(parse(_ids(rule))))
    return bool(db.execute(f"SELECT id FROM posts WHERE id = ? AND {sql}", ["p1", *params]).fetchall())


@pytest.mark.parametrize(("rule", "body", "expected"), CASES, ids=[f"{r} {b}" for r, b, _ in CASES])
def test_rule_allows_what_pocketbase_allows(
    db: sqlite3.Connection, rule: str, body: dict[str, Any], expected: bool
) -> None:
    assert allowed(db, rule, body) is expected


def test_guest_request_auth_fields_are_null(db: sqlite3.Connection) -> None:
    assert allowed(db, "@request.auth.id = ''", {}, auth=None)
    assert not allowed(db, "@request.auth.id != ''", {}, auth=None)
    assert allowed(db, "@request.auth.tags.name = null", {}, auth=None)
    assert allowed(db, "@request.auth.collectionName = null", {}, auth=None)


def test_query_headers_and_context(db: sqlite3.Connection) -> None:
    kw: dict[str, Any] = {"query": {"page": "2"}, "headers": {"x_token": "abc"}, "context": "realtime"}
    assert allowed(db, "@request.query.page = '2' && @request.headers.x_token = 'abc'", {}, **kw)
    assert allowed(db, "@request.context = 'realtime' && @request.query.page:isset = true", {}, **kw)
    assert not allowed(db, "@request.headers.x_token:lower = 'ABC'", {}, **kw)
    assert allowed(db, "@request.headers.x_token:lower = 'abc'", {}, **kw)


def test_without_request_info_everything_request_is_null(db: sqlite3.Connection) -> None:
    sql, params = compile_expr(Resolver(fx.POSTS, fx.find, None).where(parse("@request.auth.id = null")))
    assert sql == "('' = '')" or params == ["", ""]


def test_request_and_collection_mark_superuser_only() -> None:
    for text, expected in [("title = 'x'", False), ("@request.auth.id = ''", True),
                           ("@collection.tags.name ?= 'x'", True), ("author.secret = 'x'", True)]:
        r = Resolver(fx.POSTS, fx.find, fx.request(), allow_hidden=True)
        r.where(parse(text))
        assert r.uses_superuser_only is expected, text


def test_body_length_needs_a_multi_valued_field(db: sqlite3.Connection) -> None:
    with pytest.raises(FilterError):
        allowed(db, "@request.body.title:length = 1", {"title": "x"})
