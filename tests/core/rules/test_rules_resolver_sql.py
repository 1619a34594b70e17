"""The SQL the resolver produces for representative filters (compiled by the SQLite dialect).

These pin the shapes PocketBase generates: null-tolerant `=`/`!=`, `%`-wrapped LIKE with
escapes, JSON extraction that tolerates non-JSON text, and relation paths as one correlated
EXISTS (never joins on the main query). Client values appear only in the parameter list.
"""

from __future__ import annotations

from typing import Any

import pytest
import rules_fixtures as fx

from satchel.core.collections.model import Collection

J = 'CASE WHEN JSON_VALID("posts"."meta") THEN JSON_EXTRACT("posts"."meta", ?) ' \
    'ELSE JSON_EXTRACT(JSON_OBJECT(?, "posts"."meta"), ?) END'
ARR = '(CASE WHEN (JSON_VALID("posts"."{c}") AND (JSON_TYPE("posts"."{c}") = ?)) THEN "posts"."{c}" ELSE ' \
      'JSON_ARRAY("posts"."{c}") END)'

CASES: list[tuple[str, Collection, str, list[Any]]] = [
    ('title = "x"', fx.POSTS, '("posts"."title" = ?)', ["x"]),
    ("title = null", fx.POSTS, '(("posts"."title" = ?) OR ("posts"."title" IS NULL))', [""]),
    ('title != ""', fx.POSTS, '(("posts"."title" IS NOT ?) AND ("posts"."title" IS NOT NULL))', [""]),
    ('"" = title', fx.POSTS, '((? = "posts"."title") OR ("posts"."title" IS NULL))', [""]),
    ("title = views", fx.POSTS, '(COALESCE("posts"."title", ?) = COALESCE("posts"."views", ?))', ["", ""]),
    ('title != "x"', fx.POSTS, '("posts"."title" IS NOT ?)', ["x"]),
    ("views > 5", fx.POSTS, '("posts"."views" > ?)', [5.0]),
    ("published = true", fx.POSTS, '("posts"."published" = 1)', []),
    ("null = null", fx.POSTS, "(? = ?)", ["", ""]),
    ('title ~ "a_b"', fx.POSTS, "(\"posts\".\"title\" LIKE ? ESCAPE '\\')", ["%a\\_b%"]),
    ('title ~ "a%"', fx.POSTS, "(\"posts\".\"title\" LIKE ? ESCAPE '\\')", ["a%"]),
    ('title !~ "50\\%"', fx.POSTS, "(\"posts\".\"title\" NOT LIKE ? ESCAPE '\\')", ["%50\\%%"]),
    ('title ~ "a\\b"', fx.POSTS, "(\"posts\".\"title\" LIKE ? ESCAPE '\\')", ["%a\\\\b%"]),
    ("title ~ 5", fx.POSTS, "(\"posts\".\"title\" LIKE ? ESCAPE '\\')", ["%5%"]),
    ("title ~ views", fx.POSTS, "(\"posts\".\"title\" LIKE ((? || \"posts\".\"views\") || ?) ESCAPE '\\')", ["%", "%"]),
    ('title:lower = "x"', fx.POSTS, '(LOWER("posts"."title") = ?)', ["x"]),
    ("meta.a.b = 1", fx.POSTS, f"(({J}) IS ?)", ['$."a"."b"', "pb", '$."pb"."a"."b"', 1.0]),
    ("meta.items.0 != 1", fx.POSTS, f"(({J}) IS NOT ?)", ['$."items"[0]', "pb", '$."pb"."items"[0]', 1.0]),
    ('strftime("%Y", created) = "2024"', fx.POSTS, '(STRFTIME(?, "posts"."created") = ?)', ["%Y", "2024"]),
    ('email = "a"', fx.USERS, '(("users"."email" = ?) AND ("users"."emailVisibility" = 1))', ["a"]),
    ('author.name = "A"', fx.POSTS,
     '(EXISTS (SELECT 1 FROM (SELECT 1) "__d3" LEFT JOIN "users" "__r1" ON ("__r1"."id" = "posts"."author") '
     'WHERE ("__r1"."name" = ?)))', ["A"]),
    ('cats:each ?= "a"', fx.POSTS,
     f'(EXISTS (SELECT 1 FROM (SELECT 1) "__d3" LEFT JOIN JSON_EACH({ARR.format(c="cats")}) "__r1" '
     'WHERE ("__r1"."value" = ?)))', ["array", "a"]),
    ('author = "u1" && author.name = "A"', fx.POSTS,
     '(("posts"."author" = ?) AND (EXISTS (SELECT 1 FROM (SELECT 1) "__d3" LEFT JOIN "users" "__r1" '
     'ON ("__r1"."id" = "posts"."author") WHERE ("__r1"."name" = ?))))', ["u1", "A"]),
]


@pytest.mark.parametrize(("text", "coll", "sql", "params"), CASES, ids=[c[0] for c in CASES])
def test_compiled_sql(text: str, coll: Collection, sql: str, params: list[Any]) -> None:
    allow_hidden = coll is fx.POSTS
    assert fx.where_sql(text, coll, allow_hidden=allow_hidden) == (sql, params)


def test_email_visibility_guard_is_skipped_for_superusers() -> None:
    assert fx.where_sql('email = "a"', fx.USERS, allow_hidden=True) == ('("users"."email" = ?)', ["a"])


def test_multi_valued_path_adds_every_item_guard() -> None:
    sql, params = fx.where_sql('tags.name = "red"')
    assert "NOT EXISTS (SELECT 1 FROM (SELECT" in sql
    assert 'WHERE (NOT ("__sm' in sql
    assert params.count("red") == 2
    any_sql, _ = fx.where_sql('tags.name ?= "red"')
    assert "NOT EXISTS" not in any_sql


def test_no_join_reaches_the_main_query() -> None:
    for text in ('tags.name = "x"', "comments_via_post.text ?= 'x'", "@collection.tags.name ?= title",
                 "author.tags:each = 't1'"):
        sql, _ = fx.where_sql(text)
        assert sql.startswith("(EXISTS (SELECT 1 FROM (SELECT 1)") or sql.startswith("((EXISTS"), text
        assert "DISTINCT" not in sql
