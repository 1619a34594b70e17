"""Client text never becomes SQL text: values become parameters, names must resolve.

Random payloads are placed wherever a client can write (literals, JSON path keys, request
values, identifiers, sort keys); the compiled SQL must never contain them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import rules_fixtures as fx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satchel.core.rules.resolver import FilterError, Resolver
from satchel.tools.filter import ast
from satchel.tools.sql.sqlite import compile_expr

# a marker no schema name contains, so its presence in SQL can only mean a leak
payload = st.text(min_size=1, max_size=30).map(lambda s: "zq" + s)
word = st.from_regex(r"[A-Za-z0-9_]{1,20}", fullmatch=True).map(lambda s: "zq" + s)
DB = fx.make_db()
OPS: list[ast.SignOp] = ["=", "!=", ">", "<=", "~", "!~", "?=", "?~"]


def _sql(node: ast.Node, **req: Any) -> tuple[str, list[Any]]:
    resolver = Resolver(fx.POSTS, fx.find, fx.request(**req), allow_hidden=False)
    return compile_expr(resolver.where(node))


def _runs(sql: str, params: list[Any]) -> None:
    DB.execute(f'SELECT id FROM posts WHERE {sql}', params).fetchall()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(value=payload, op=st.sampled_from(OPS),
       left=st.sampled_from(["title", "tags.name", "meta.a", "cats:each", "author.name", "comments_via_post.text"]))
def test_literals_only_in_params(value: str, op: ast.SignOp, left: str) -> None:
    node = ast.Comparison(ast.Identifier(left), op, ast.Text(value))
    sql, params = _sql(node)
    assert value not in sql
    _runs(sql, params)


@settings(max_examples=150, deadline=None)
@given(key=word, op=st.sampled_from(OPS))
def test_json_path_keys_only_in_params(key: str, op: ast.SignOp) -> None:
    sql, params = _sql(ast.Comparison(ast.Identifier(f"meta.{key}.x"), op, ast.Number(1.0, "1")))
    assert key not in sql
    _runs(sql, params)


@settings(max_examples=150, deadline=None)
@given(name=word, value=payload)
def test_request_values_only_in_params(name: str, value: str) -> None:
    node = ast.Comparison(ast.Identifier(f"@request.body.{name}"), "=", ast.Identifier(f"@request.query.{name}"))
    sql, params = _sql(node, body={name: value}, query={name: value + "x"}, headers={name: value})
    assert value not in sql and name not in sql
    _runs(sql, params)


@settings(max_examples=200, deadline=None)
@given(name=st.text(min_size=1, max_size=40).map(lambda s: "zq" + s), prefix=st.sampled_from(
    ["", "author.", "tags.", "@collection.", "@request.auth.", "meta.", "comments_via_post.", "@"]))
def test_unknown_identifiers_are_rejected_or_inert(name: str, prefix: str) -> None:
    node = ast.Comparison(ast.Identifier(prefix + name), "=", ast.Text("v"))
    try:
        sql, params = _sql(node, auth=fx.user("u1"))
    except FilterError:
        return
    assert name not in sql
    _runs(sql, params)


@settings(max_examples=100, deadline=None)
@given(name=st.text(min_size=1, max_size=40).map(lambda s: "zq" + s))
def test_sort_keys_are_rejected_or_inert(name: str) -> None:
    for key in (name, "-" + name, "meta." + name, "author." + name):
        try:
            order = Resolver(fx.POSTS, fx.find, fx.request()).order_by(key)
        except FilterError:
            continue
        for item in order:
            sql, _ = compile_expr(item.expr)
            assert name not in sql


def test_hostile_values_do_not_break_out() -> None:
    db = sqlite3.connect(":memory:")
    db.execute('CREATE TABLE "posts" ("id" TEXT, "title" TEXT)')
    db.execute("INSERT INTO posts VALUES ('a', 'x')")
    node = ast.Comparison(ast.Identifier("title"), "=", ast.Text("x' OR 1=1 --"))
    sql, params = _sql(node)
    assert db.execute(f"SELECT id FROM posts WHERE {sql}", params).fetchall() == []
