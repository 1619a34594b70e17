"""What a non-superuser client filter may reach: hidden fields, private emails and the list
rules of related collections (PocketBase applies them to every collection a filter joins).

Expectations were checked against the real PocketBase 0.40.6 as a guest.
"""

from __future__ import annotations

import sqlite3

import pytest
import rules_fixtures as fx

from satchel.core.collections.model import Collection
from satchel.core.rules.resolver import FilterError, Resolver, uses_request_or_collection
from satchel.tools.filter import ast
from satchel.tools.filter.parser import parse


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    return fx.make_db()


def guest(
    db: sqlite3.Connection, text: str, coll: Collection = fx.POSTS, rules: dict[str, str | None] | None = None
) -> list[str]:
    """Run a guest filter with some collections' list rules replaced."""
    rules = rules or {}
    changed = {name: fx.find(name).clone() for name in rules}  # type: ignore[union-attr]
    for name, rule in rules.items():
        changed[name].listRule = rule

    def find(name_or_id: str) -> Collection | None:
        for c in changed.values():
            if name_or_id in (c.name, c.id):
                return c
        return fx.find(name_or_id)

    sql, params = _compile(Resolver(coll, find, fx.request(), allow_hidden=False), text)
    return [r[0] for r in db.execute(f'SELECT id FROM "{coll.name}" WHERE {sql} ORDER BY id', params)]


def _compile(resolver: Resolver, text: str) -> tuple[str, list[object]]:
    from satchel.tools.sql.sqlite import compile_expr

    return compile_expr(resolver.where(parse(text)))


GUEST_CASES: list[tuple[str, dict[str, str | None], list[str]]] = [
    ('author.name != ""', {"users": "verified = true"}, ["p1"]),
    ('author.name = ""', {"users": "verified = true"}, ["p3", "p4"]),
    ('author.name = "Bob"', {"users": "verified = true"}, []),
    ('author.id = "u2"', {"users": "verified = true"}, ["p2"]),
    ('author = "u2"', {"users": "verified = true"}, ["p2"]),
    ('author.name != "x" || title = ""', {"users": "verified = true"}, ["p1", "p3", "p4"]),
    ('author = "u1"', {"users": None}, ["p1"]),
    ('tags.name ?= "red"', {"tags": "name != 'red'"}, []),
    ('tags.name ?= "green"', {"tags": "name != 'red'"}, ["p1"]),
    ('tags.name != "blue"', {"tags": "name != 'red'"}, ["p1", "p3"]),
    ('tags.name = "red"', {"tags": "name != 'red'"}, []),
    ('tags.color ?= "g"', {"tags": "name != 'red'"}, ["p1"]),
    ('comments_via_post.text ?= "meh"', {"comments": "likes > 0"}, []),
    ('comments_via_post.text ?= "nice"', {"comments": "likes > 0"}, ["p1", "p2"]),
    ("comments_via_post.id = null", {"comments": "likes > 0"}, ["p3", "p4"]),
    ('author.email ~ "@"', {}, ["p1", "p4"]),
    ('author.email = "b@x.com"', {}, []),
    ('tags.name ?= "red"', {}, ["p1", "p2"]),
]


@pytest.mark.parametrize(("text", "rules", "expected"), GUEST_CASES, ids=[f"{t} {r}" for t, r, _ in GUEST_CASES])
def test_guest_filters(db: sqlite3.Connection, text: str, rules: dict[str, str | None], expected: list[str]) -> None:
    assert guest(db, text, rules=rules) == expected


def test_private_emails_do_not_match_for_guests(db: sqlite3.Connection) -> None:
    assert guest(db, 'email = "b@x.com"', fx.USERS) == []
    assert guest(db, 'email ~ "x.com"', fx.USERS) == ["u1", "u3"]
    assert fx.matching(db, 'email = "b@x.com"', fx.USERS) == ["u2"]


@pytest.mark.parametrize("text", [
    'secret = "s1"', 'author.secret = "s1"', 'password = ""', 'tokenKey != ""', "author.password = ''",
])
def test_hidden_fields_rejected_for_clients(db: sqlite3.Connection, text: str) -> None:
    coll = fx.USERS if not text.startswith("author") else fx.POSTS
    with pytest.raises(FilterError):
        guest(db, text, coll)


def test_related_collection_without_list_rule_is_superuser_only(db: sqlite3.Connection) -> None:
    with pytest.raises(FilterError):
        guest(db, 'author.name != ""', rules={"users": None})
    assert fx.matching(db, 'author.name != ""') == ["p1", "p2"]


def test_hidden_fields_allowed_for_superusers(db: sqlite3.Connection) -> None:
    assert fx.matching(db, 'secret = "s1"', fx.USERS) == ["u1"]
    assert fx.matching(db, 'author.secret != ""') == ["p1", "p2"]


def test_uses_request_or_collection() -> None:
    assert uses_request_or_collection(parse("a = 1 && (b = 2 || @request.auth.id != '')"))
    assert uses_request_or_collection(parse("@collection.tags.name ?= 'x'"))
    assert uses_request_or_collection(
        ast.Comparison(ast.Call("geoDistance", (ast.Identifier("@request.query.x"),)), "<", ast.Number(1, "1"))
    )
    assert not uses_request_or_collection(parse("title = '@request.auth.id' && request.x = 1"))


def test_filter_error_shape() -> None:
    with pytest.raises(FilterError) as info:
        fx.where_sql("nope = 1")
    err = info.value
    assert err.data == {}
    assert err.message == "Something went wrong while processing your request."
    assert "nope" in str(err)
