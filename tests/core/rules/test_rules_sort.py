"""`sort` as PocketBase parses it; orders were checked against the real PocketBase 0.40.6."""

from __future__ import annotations

import sqlite3

import pytest
import rules_fixtures as fx

from satchel.core.collections.model import Collection
from satchel.core.rules.resolver import FilterError, Resolver
from satchel.core.rules.sort import parse_sort
from satchel.tools.sql import ir
from satchel.tools.sql.sqlite import compile_expr


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    return fx.make_db()


ORDERS = [
    ("-views", ["p4", "p1", "p2", "p3"]),
    ("views", ["p3", "p2", "p1", "p4"]),
    ("author.name", ["p3", "p4", "p1", "p2"]),
    ("-author.name", ["p2", "p1", "p4", "p3"]),
    ("tags.name", ["p3", "p4", "p1", "p2"]),
    ("-tags.name", ["p1", "p2", "p4", "p3"]),
    ("meta.a.b", ["p3", "p4", "p1", "p2"]),
    ("-meta.a.b", ["p2", "p1", "p3", "p4"]),
    ("@rowid", ["p1", "p2", "p3", "p4"]),
    ("-@rowid", ["p4", "p3", "p2", "p1"]),
    ("title:lower", ["p3", "p1", "p2", "p4"]),
    ("-cats:length", ["p1", "p2", "p4", "p3"]),
    ("author.tags:length", ["p2", "p3", "p4", "p1"]),
    ("-comments_via_post.likes", ["p2", "p1", "p3", "p4"]),
    ("comments_via_post.likes", ["p3", "p4", "p1", "p2"]),
    ("status,-views", ["p3", "p2", "p4", "p1"]),
    ("-published,+title", ["p1", "p4", "p3", "p2"]),
    ("created", ["p3", "p2", "p1", "p4"]),
    ("loc.lat", ["p3", "p1", "p4", "p2"]),
]


@pytest.mark.parametrize(("sort", "expected"), ORDERS, ids=[s for s, _ in ORDERS])
def test_sort_orders_like_pocketbase(db: sqlite3.Connection, sort: str, expected: list[str]) -> None:
    assert fx.sorted_ids(db, sort) == expected


@pytest.mark.parametrize("sort", [
    "unknown", "password", "@request.auth.id", "@now", "true", "null", "a,", "title:nope", "tokenKey",
    ",".join(["title"] * 9), "x" * 256,
])
def test_invalid_sorts(sort: str) -> None:
    with pytest.raises(FilterError):
        Resolver(fx.USERS if sort == "tokenKey" else fx.POSTS, fx.find, fx.request()).order_by(sort)


def test_hidden_fields_sort_only_when_allowed(db: sqlite3.Connection) -> None:
    with pytest.raises(FilterError):
        fx.sorted_ids(db, "author.secret", allow_hidden=False)
    assert fx.sorted_ids(db, "-author.secret", allow_hidden=True) == ["p2", "p1", "p4", "p3"]


def test_random_and_shapes() -> None:
    order = Resolver(fx.POSTS, fx.find, fx.request()).order_by("@random,-title, +views")
    assert order[0] == ir.OrderBy(ir.Raw("RANDOM()"))
    assert order[1] == ir.OrderBy(ir.col("posts", "title"), True)
    assert order[2] == ir.OrderBy(ir.col("posts", "views"), False)
    assert Resolver(fx.POSTS, fx.find, fx.request()).order_by("  ") == ()


def test_relation_sort_is_a_scalar_subquery() -> None:
    (key,) = Resolver(fx.POSTS, fx.find, fx.request()).order_by("author.name")
    assert isinstance(key.expr, ir.Subquery)
    sql, _ = compile_expr(key.expr)
    assert sql.endswith("LIMIT 1)")
    (multi,) = Resolver(fx.POSTS, fx.find, fx.request()).order_by("-tags.name")
    sql, _ = compile_expr(multi.expr)
    assert sql.startswith("(SELECT MAX(")


def test_sort_applies_related_list_rule_inside_the_subquery(db: sqlite3.Connection) -> None:
    """A non-superuser cannot learn invisible related values through the order."""
    users = fx.USERS.clone()
    users.listRule = "verified = true"
    posts = fx.POSTS.clone()

    def find(name: str) -> Collection | None:
        return users if name in ("users", "c_users") else fx.find(name)

    (key,) = Resolver(posts, find, fx.request(), allow_hidden=False).order_by("-author.name")
    sql, params = compile_expr(key.expr)
    rows = db.execute(f'SELECT id FROM posts ORDER BY {sql} DESC, id', params).fetchall()
    # Bob (u2, unverified) is hidden: his post sorts as if it had no author
    assert [r[0] for r in rows] == ["p1", "p4", "p2", "p3"]


def test_parse_sort() -> None:
    assert parse_sort("-a, +b,c") == [("a", True), ("b", False), ("c", False)]
    assert parse_sort("") == []
    assert parse_sort("a,") == [("a", False), ("", False)]
