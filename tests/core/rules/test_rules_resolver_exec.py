"""Filters executed on a real SQLite database: which records each one selects.

Every expectation in CASES was obtained by running the same filter against the real PocketBase
0.40.6 binary (same schema and rows, see rules_fixtures) and is kept verbatim, so these tests pin
PocketBase's semantics: null-tolerant equality, `~` as "contains", multi-valued columns compared
as JSON text unless `:each` expands them, plain operators on multi-valued paths requiring every
item to match (and `?` forms any item), shared joins per path, back-relations, `@collection`.
"""

from __future__ import annotations

import sqlite3

import pytest
import rules_fixtures as fx

from satchel.core.rules.resolver import FilterError


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    return fx.make_db()


CASES: list[tuple[str, str, list[str]]] = [
    ('posts', 'title = "Hello World"', ['p1']),
    ('posts', 'title = "hello world"', []),
    ('posts', 'title != "Hello World"', ['p2', 'p3', 'p4']),
    ('posts', 'title = null', ['p3']),
    ('posts', 'title = ""', ['p3']),
    ('posts', 'title != null', ['p1', 'p2', 'p4']),
    ('posts', 'title != ""', ['p1', 'p2', 'p4']),
    ('posts', 'null = title', ['p3']),
    ('posts', '"" != title', ['p1', 'p2', 'p4']),
    ('posts', 'title ~ "hello"', ['p1', 'p2']),
    ('posts', 'title ~ "100%"', []),
    ('posts', 'title ~ "o_t"', ['p2']),
    ('posts', 'title ~ "%World"', ['p1']),
    ('posts', 'title ~ "Hello%"', ['p1', 'p2']),
    ('posts', 'title !~ "hello"', ['p3', 'p4']),
    ('posts', 'title ~ ""', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'title ~ null', []),
    ('posts', 'title !~ null', []),
    ('posts', 'title ~ status', ['p3']),
    ('posts', 'views > 5', ['p1', 'p4']),
    ('posts', 'views >= 5', ['p1', 'p2', 'p4']),
    ('posts', 'views < "6"', ['p2', 'p3']),
    ('posts', 'views = 10', ['p1']),
    ('posts', 'views = "10"', ['p1']),
    ('posts', 'views != 0', ['p1', 'p2', 'p4']),
    ('posts', 'views = null', []),
    ('posts', 'views = ""', []),
    ('posts', 'views ~ 1', ['p1']),
    ('posts', 'title > 5', ['p1', 'p2', 'p4']),
    ('posts', 'published = true', ['p1', 'p4']),
    ('posts', 'published = false', ['p2', 'p3']),
    ('posts', 'published != true', ['p2', 'p3']),
    ('posts', 'published = 1', ['p1', 'p4']),
    ('posts', 'published = null', []),
    ('posts', 'author = "u1"', ['p1']),
    ('posts', 'author = ""', ['p3']),
    ('posts', 'author != ""', ['p1', 'p2', 'p4']),
    ('posts', 'author = null', ['p3']),
    ('posts', 'author.id = "u1"', ['p1']),
    ('posts', 'author.name = "Alice"', ['p1']),
    ('posts', 'author.name != "Alice"', ['p2', 'p3', 'p4']),
    ('posts', 'author.name = ""', ['p3', 'p4']),
    ('posts', 'author.name = null', ['p3', 'p4']),
    ('posts', 'author.name != ""', ['p1', 'p2']),
    ('posts', 'author.email ~ "x.com"', ['p1', 'p2', 'p4']),
    ('posts', 'author.verified = true', ['p1', 'p4']),
    ('posts', 'author.tags.name ?= "red"', ['p1']),
    ('posts', 'author.tags.name = "red"', []),
    ('posts', 'author.tags.name != "red"', ['p2', 'p3', 'p4']),
    ('posts', 'tags = "t1"', []),
    ('posts', 'tags ~ "t1"', ['p1', 'p2']),
    ('posts', 'tags !~ "t1"', ['p3', 'p4']),
    ('posts', 'tags.id = "t1"', ['p2']),
    ('posts', 'tags.id ?= "t1"', ['p1', 'p2']),
    ('posts', 'tags.name = "red"', ['p2']),
    ('posts', 'tags.name ?= "red"', ['p1', 'p2']),
    ('posts', 'tags.name != "red"', ['p3', 'p4']),
    ('posts', 'tags.name ?!= "red"', ['p1', 'p3', 'p4']),
    ('posts', 'tags.name ~ "e"', ['p1', 'p2']),
    ('posts', 'tags.name ?~ "bl"', ['p4']),
    ('posts', 'tags.name !~ "e"', []),
    ('posts', 'tags.name = ""', ['p3']),
    ('posts', 'tags.name ?= ""', ['p3', 'p4']),
    ('posts', 'tags.name != ""', ['p1', 'p2']),
    ('posts', 'tags.name = null', ['p3']),
    ('posts', 'tags.name ?= "red" && tags.name ?= "green"', []),
    ('posts', 'tags.name ?= "red" || tags.name ?= "blue"', ['p1', 'p2', 'p4']),
    ('posts', 'tags.name = tags.color', ['p3']),
    ('posts', 'tags.name ?= tags.color', ['p3']),
    ('posts', 'tags.name != tags.color', ['p1', 'p2']),
    ('posts', 'tags.color = "r" && tags.name = "red"', ['p2']),
    ('posts', 'tags:length = 2', ['p1', 'p4']),
    ('posts', 'tags:length > 0', ['p1', 'p2', 'p4']),
    ('posts', 'tags:length = 0', ['p3']),
    ('posts', 'tags:each = "t1"', ['p2']),
    ('posts', 'tags:each ?= "t1"', ['p1', 'p2']),
    ('posts', 'tags:each != "t1"', ['p3', 'p4']),
    ('posts', 'tags:each ~ "t"', ['p1', 'p2', 'p4']),
    ('posts', 'cats = "a"', []),
    ('posts', 'cats ~ "a"', ['p1', 'p2']),
    ('posts', 'cats !~ "a"', ['p3', 'p4']),
    ('posts', 'cats:each = "a"', ['p2']),
    ('posts', 'cats:each ?= "a"', ['p1', 'p2']),
    ('posts', 'cats:each != "a"', ['p3', 'p4']),
    ('posts', 'cats:each ?!= "a"', ['p1', 'p3', 'p4']),
    ('posts', 'cats:each ~ "a"', ['p2']),
    ('posts', 'cats:length = 2', ['p1']),
    ('posts', 'cats:length < 1', ['p3']),
    ('posts', 'cats = "[]"', ['p3']),
    ('posts', 'cats = ""', []),
    ('posts', 'cats:each = ""', ['p3']),
    ('posts', 'status = "live"', ['p1', 'p4']),
    ('posts', 'status:each = "live"', ['p1', 'p4']),
    ('posts', 'status:length = 0', ['p3']),
    ('posts', 'status:length = 1', ['p1', 'p2', 'p4']),
    ('posts', 'status ~ "i"', ['p1', 'p4']),
    ('posts', 'meta.a.b = 1', ['p1']),
    ('posts', 'meta.a.b > 1', ['p2']),
    ('posts', 'meta.a.b != 1', ['p2', 'p3', 'p4']),
    ('posts', 'meta.a.b = null', ['p3', 'p4']),
    ('posts', 'meta.s = "x"', ['p1']),
    ('posts', 'meta.items.0 = 1', ['p1']),
    ('posts', 'meta.items.1 = 2', ['p1']),
    ('posts', 'meta.items ~ "2"', ['p1']),
    ('posts', 'meta = null', ['p3']),
    ('posts', 'meta != null', ['p1', 'p2', 'p4']),
    ('posts', 'meta = "plain"', ['p4']),
    ('posts', 'meta ~ "plain"', ['p4']),
    ('posts', 'meta ~ "items"', ['p1', 'p2']),
    ('posts', 'meta = ""', []),
    ('posts', 'meta.missing = null', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'meta.a = null', ['p3', 'p4']),
    ('posts', 'loc.lon > 20', ['p1', 'p4']),
    ('posts', 'loc.lat = 0', ['p3']),
    ('posts', 'geoDistance(loc.lon, loc.lat, 23.32, 42.69) < 5', ['p1', 'p4']),
    ('posts', 'geoDistance(loc.lon, loc.lat, 23.32, 42.69) > 100', ['p2', 'p3']),
    ('posts', 'geoDistance(loc.lon, loc.lat, loc.lon, loc.lat) < 1', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'geoDistance(0, 0, 0, 1) > 111', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'strftime("%Y", created) = "2024"', ['p1']),
    ('posts', 'strftime("%Y", created) = ""', ['p3']),
    ('posts', 'strftime("%Y", created) != "2024"', ['p2', 'p3', 'p4']),
    ('posts', 'strftime("%Y-%m", created, "+1 month") = "2024-02"', ['p1']),
    ('posts', 'strftime("%Y", created) > "2023"', ['p1', 'p4']),
    ('posts', 'created > @now', []),
    ('posts', 'created < @now', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'created < @todayStart', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'created ~ "2024"', ['p1']),
    ('posts', 'comments_via_post.text = "nice"', ['p2']),
    ('posts', 'comments_via_post.text ?= "nice"', ['p1', 'p2']),
    ('posts', 'comments_via_post.text != "nice"', ['p3', 'p4']),
    ('posts', 'comments_via_post.likes > 0', ['p2']),
    ('posts', 'comments_via_post.likes ?> 4', ['p2']),
    ('posts', 'comments_via_post.id = null', ['p3', 'p4']),
    ('posts', 'comments_via_post.id != ""', ['p1', 'p2']),
    ('posts', 'comments_via_posts.text ?= "meh"', ['p1']),
    ('posts', 'comments_via_posts.text = "nice"', ['p2']),
    ('posts', 'comments_via_posts.likes ?> 2', ['p1', 'p2']),
    ('posts', '@collection.tags.name ?= "red"', ['p1', 'p2', 'p3', 'p4']),
    ('posts', '@collection.tags.name = "red"', []),
    ('posts', '@collection.tags.name ?= title', ['p3']),
    ('posts', '@collection.comments.post ?= id', ['p1', 'p2']),
    ('posts', '@collection.comments.post ?= id && @collection.comments.text ?= "meh"', ['p1']),
    ('posts', '@collection.comments:c.post ?= id && @collection.comments:c.text = "nice"', []),
    ('posts', '@collection.comments:a.post ?= id && @collection.comments:b.likes ?> 4', ['p1', 'p2']),
    ('posts', 'true = true', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'true = false', []),
    ('posts', 'null = null', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'null != null', []),
    ('posts', '1 = 1', ['p1', 'p2', 'p3', 'p4']),
    ('posts', '"a" = "a"', ['p1', 'p2', 'p3', 'p4']),
    ('posts', '"" = null', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'TRUE = true', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'id = "p1" || id = "p2" && views > 5', ['p1']),
    ('posts', '(id = "p1" || id = "p2") && views > 5', ['p1']),
    ('posts', 'title = title', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'views > views', []),
    ('posts', '@now != ""', ['p1', 'p2', 'p3', 'p4']),
    ('posts', 'author.tags:length = 2', ['p1']),
    ('posts', 'author.tags:each = "t1"', []),
    ('posts', 'author.tags:each ?= "t3"', ['p4']),
    ('posts', 'tags.name:lower = "red"', ['p2']),
    ('posts', 'title:lower = "hello world"', ['p1']),
    ('posts', 'title:lower ~ "HELLO"', ['p1', 'p2']),
    ('posts', 'author.name:lower = "alice"', ['p1']),
    ('posts', 'tags.name:lower ?= "RED"', []),
    ('posts', 'title:each = "Other"', ['p4']),
    ('posts', 'title:length = "Other"', ['p4']),
    ('posts', 'author.secret = "s1"', ['p1']),
    ('posts', 'tags.name ~ "%e%"', ['p1', 'p2']),
    ('posts', 'tags.name ~ "r_d"', []),
    ('posts', 'title ~ "o\\_t"', ['p2']),
    ('posts', 'title ~ "\\%"', ['p2']),
    ('users', 'email = "b@x.com"', ['u2']),
    ('users', 'email ~ "x.com"', ['u1', 'u2', 'u3']),
    ('users', 'name = ""', ['u3']),
    ('users', 'tags.name ?= "blue"', ['u3']),
    ('users', 'posts_via_author.title ~ "hello"', ['u1', 'u2']),
    ('users', 'posts_via_author.views > 6', ['u1', 'u3']),
    ('users', 'posts_via_author.id = null', []),
    ('users', 'verified = true', ['u1', 'u3']),
    ('users', 'emailVisibility = false', ['u2']),
]


@pytest.mark.parametrize(("collection", "text", "expected"), CASES, ids=[f"{c}:{t}" for c, t, _ in CASES])
def test_filter_selects_what_pocketbase_selects(
    db: sqlite3.Connection, collection: str, text: str, expected: list[str]
) -> None:
    coll = fx.find(collection)
    assert coll is not None
    assert fx.matching(db, text, coll) == expected


INVALID = [
    "unknown = 1", "password = ''", "title:foo = 1", "author.unknown = 1", "title.x = 1", "posts_via_x.y = 1",
    "geoDistance(1,2,3) > 1", "strftime(created) = 1", "nope(1) = 1", "collectionName = 'posts'", "@foo = 1",
    "@request.foo = 1", "@request.method:lower = 'get'", "@collection.nope.x = 1", "@request.body.title:each = 1",
    "@request.query.x:length = 1", "cats:each:lower = 'a'", "geoDistance('a', 1, 2, 3) > 1",
    "a.b.c.d.e.f.g.h = 1", "author.author.author = 1",
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_filters_raise_filter_error(db: sqlite3.Connection, text: str) -> None:
    with pytest.raises(FilterError) as info:
        fx.matching(db, text)
    assert info.value.data == {}
    assert info.value.message


def test_relation_depth_limit_is_six_hops() -> None:
    # comments -> post -> author -> tags: allowed; a seventh hop is rejected like PocketBase
    fx.where_sql("post.author.tags.name = 'x'", fx.COMMENTS)
    six = ".".join(["author", "posts_via_author"] * 3) + ".title = 'x'"
    fx.where_sql(six)
    deep = ".".join(["author"] + ["posts_via_author", "author"] * 3) + ".name = 'x'"
    with pytest.raises(FilterError):
        fx.where_sql(deep)
