"""A small schema (tags, users, posts, comments) in an in-memory SQLite database for resolver tests.

Tables are created from the fields' own column definitions and rows stored through `to_db`, so
the resolver is exercised against the real storage layout.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from satchel.core.collections.model import Collection
from satchel.core.collections.system import auth_system_fields, id_field
from satchel.core.fields.base import Field
from satchel.core.fields.registry import field_from_json
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from satchel.core.rules.resolver import Resolver
from satchel.tools.filter.parser import parse
from satchel.tools.sql import ir
from satchel.tools.sql.sqlite import compile_ddl, compile_expr, compile_statement


def f(type_: str, name: str, **options: Any) -> Field:
    return field_from_json({"type": type_, "name": name, "id": f"f_{name}", **options})


TAGS = Collection(id="c_tags", name="tags", listRule="", fields=[id_field(), f("text", "name"), f("text", "color")])
USERS = Collection(
    id="c_users", name="users", type="auth", listRule="",
    fields=[
        id_field(), *auth_system_fields(), f("text", "name"), f("text", "secret", hidden=True),
        f("relation", "tags", collectionId="c_tags", maxSelect=5),
    ],
)
POSTS = Collection(
    id="c_posts", name="posts", listRule="",
    fields=[
        id_field(), f("text", "title"), f("number", "views"), f("bool", "published"),
        f("relation", "author", collectionId="c_users", maxSelect=1),
        f("relation", "tags", collectionId="c_tags", maxSelect=5),
        f("select", "cats", values=["a", "b", "c"], maxSelect=3),
        f("select", "status", values=["draft", "live"], maxSelect=1),
        f("json", "meta"), f("geoPoint", "loc"), f("text", "created"),
    ],
)
COMMENTS = Collection(
    id="c_comments", name="comments", listRule="",
    fields=[
        id_field(), f("relation", "post", collectionId="c_posts", maxSelect=1), f("text", "text"),
        f("number", "likes"), f("relation", "posts", collectionId="c_posts", maxSelect=9),
    ],
)
COLLECTIONS = [TAGS, USERS, POSTS, COMMENTS]

ROWS: dict[str, list[dict[str, Any]]] = {
    "tags": [
        {"id": "t1", "name": "red", "color": "r"},
        {"id": "t2", "name": "green", "color": "g"},
        {"id": "t3", "name": "blue", "color": ""},
        {"id": "t4", "name": "", "color": "x"},
    ],
    "users": [
        {"id": "u1", "name": "Alice", "email": "a@x.com", "emailVisibility": True, "verified": True,
         "secret": "s1", "tags": ["t1", "t2"], "password": "h", "tokenKey": "k1"},
        {"id": "u2", "name": "Bob", "email": "b@x.com", "emailVisibility": False, "verified": False,
         "secret": "s2", "tags": [], "password": "h", "tokenKey": "k2"},
        {"id": "u3", "name": "", "email": "c@x.com", "emailVisibility": True, "verified": True,
         "secret": "", "tags": ["t3"], "password": "h", "tokenKey": "k3"},
    ],
    "posts": [
        {"id": "p1", "title": "Hello World", "views": 10, "published": True, "author": "u1", "tags": ["t1", "t2"],
         "cats": ["a", "b"], "status": "live", "meta": {"a": {"b": 1}, "items": [1, 2], "s": "x"},
         "loc": {"lon": 23.32, "lat": 42.69}, "created": "2024-01-15 10:00:00.000Z"},
        {"id": "p2", "title": "hello_there 100%", "views": 5, "published": False, "author": "u2", "tags": ["t1"],
         "cats": ["a"], "status": "draft", "meta": {"a": {"b": 2}, "items": []},
         "loc": {"lon": 2.35, "lat": 48.85}, "created": "2023-06-01 08:30:00.000Z"},
        {"id": "p3", "title": "", "views": 0, "published": False, "author": "", "tags": [],
         "cats": [], "status": "", "meta": None, "loc": {"lon": 0, "lat": 0}, "created": ""},
        {"id": "p4", "title": "Other", "views": 20, "published": True, "author": "u3", "tags": ["t3", "t4"],
         "cats": ["c"], "status": "live", "meta": "plain",
         "loc": {"lon": 23.3, "lat": 42.7}, "created": "2025-03-01 00:00:00.000Z"},
    ],
    "comments": [
        {"id": "c1", "post": "p1", "text": "nice", "likes": 3, "posts": ["p1", "p2"]},
        {"id": "c2", "post": "p1", "text": "meh", "likes": 0, "posts": ["p1"]},
        {"id": "c3", "post": "p2", "text": "nice", "likes": 5, "posts": []},
    ],
}


def find(name_or_id: str) -> Collection | None:
    for c in COLLECTIONS:
        if name_or_id in (c.name, c.id):
            return c
    return None


def make_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    for c in COLLECTIONS:
        db.execute(compile_ddl(ir.CreateTable(c.name, tuple(fl.column() for fl in c.fields))))
        for row in ROWS[c.name]:
            values: dict[str, ir.Expr] = {fl.name: ir.Param(fl.to_db(row.get(fl.name, fl.zero()))) for fl in c.fields}
            sql, params = compile_statement(ir.Insert(c.name, values))
            db.execute(sql, params)
    return db


def user(uid: str) -> Record:
    row = next(r for r in ROWS["users"] if r["id"] == uid)
    return Record(USERS, dict(row))


def request(**kw: Any) -> RequestInfo:
    return RequestInfo(**kw)


def where_sql(text: str, coll: Collection = POSTS, req: RequestInfo | None = None, *,
              allow_hidden: bool = True) -> tuple[str, list[Any]]:
    resolver = Resolver(coll, find, req if req is not None else RequestInfo(), allow_hidden=allow_hidden)
    return compile_expr(resolver.where(parse(text)))


def matching(db: sqlite3.Connection, text: str, coll: Collection = POSTS, req: RequestInfo | None = None, *,
             allow_hidden: bool = True) -> list[str]:
    sql, params = where_sql(text, coll, req, allow_hidden=allow_hidden)
    rows = db.execute(f'SELECT id FROM "{coll.name}" WHERE {sql} ORDER BY id', params).fetchall()
    return [r[0] for r in rows]


def sorted_ids(db: sqlite3.Connection, sort: str, coll: Collection = POSTS, req: RequestInfo | None = None, *,
               allow_hidden: bool = True) -> list[str]:
    resolver = Resolver(coll, find, req if req is not None else RequestInfo(), allow_hidden=allow_hidden)
    order = (*resolver.order_by(sort), ir.OrderBy(ir.col(coll.name, "id")))
    sql, params = compile_statement(ir.Select((ir.col(coll.name, "id"),), ir.Table(coll.name), order_by=order))
    return [r[0] for r in db.execute(sql, params).fetchall()]
