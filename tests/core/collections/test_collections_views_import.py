"""View collections (fields derived from the query) and PUT /api/collections/import semantics."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.app import App
from satchel.core.collections.schema_sync import parse_view_identifiers
from satchel.core.errors import BadRequestError, ValidationError
from satchel.tools.sql import ir

ID1 = "a" * 15


def shape(c: Any) -> list[tuple[str, str, str]]:
    return [(f.name, f.type, f.id if not f.id.startswith("_clone_") else "_clone_") for f in c.fields]


async def test_view_fields_are_inferred_from_the_query(app: App) -> None:
    svc = app.collections_service
    posts = await svc.create({"name": "posts", "fields": [{"name": "title", "type": "text", "max": 10}]})
    await app.db.writer().execute(ir.Insert("posts", {"id": ir.Param(ID1), "title": ir.Param("hi")}))
    view = await svc.create(
        {
            "name": "v1",
            "type": "view",
            "listRule": "",
            "viewQuery": "select p.id, p.title as t, count(p.id) as c, cast(1 as real) as r, u.id as uid, u.email,"
            " 5 as five from posts p left join users u on u.id = p.id group by p.id",
        }
    )
    assert shape(view) == [
        ("id", "text", "text3208210256"),
        ("t", "text", "_clone_"),
        ("c", "number", "number112844655"),
        ("r", "number", "number1812594589"),
        ("uid", "relation", "relation1402668550"),
        ("email", "email", "_clone_"),
        ("five", "json", "json1018350795"),
    ]
    assert view.fields[1].to_json()["max"] == 10 and view.fields[5].to_json()["system"] is True
    assert view.to_json()["viewQuery"].startswith("select p.id") and view.indexes == []
    got = await app.db.executor().fetch_all(ir.Select((ir.Star("v1"),), ir.Table("v1")))
    assert got == [{"id": ID1, "t": "hi", "c": 1, "r": 1.0, "uid": None, "email": None, "five": 5}]
    # a change of the source collection re-derives the view's fields
    fields = [f.to_json() for f in posts.fields]
    fields[1]["max"] = 99
    await svc.update("posts", {"fields": fields})
    assert (await svc.get("v1")).fields[1].to_json()["max"] == 99
    # a view reading a table blocks its deletion
    with pytest.raises(BadRequestError):
        await svc.delete("posts")
    # rename + new query
    view = await svc.update("v1", {"name": "v2", "viewQuery": "SELECT (ROW_NUMBER() OVER()) as id, title FROM posts"})
    assert shape(view) == [("id", "text", "text3208210256"), ("title", "text", "_clone_")]
    rows = await app.db.executor().fetch_all(ir.Select((ir.Star("v2"),), ir.Table("v2")))
    assert rows == [{"id": "1", "title": "hi"}]  # ids are exposed as text
    assert await app.db.table_columns("v1") == []
    await svc.delete("v2")
    await svc.delete("posts")


@pytest.mark.parametrize(
    ("query", "fields_error", "message"),
    [
        ("select id, nope from posts", "validation_required", "Invalid query - SQL logic error: no such column: nope (1)."),
        ("select title from posts", "validation_missing_primary_key",
         "Invalid query - missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you don't have one)."),
        ("select * from posts", "validation_required", "Invalid query - wildcard columns (*) are not supported - manually"
         " type the collection field names you want the view query to have."),
        ("select id from posts; select 1", "validation_required", "Invalid query - multiple statements are not supported."),
        ("select id, total(1) as s from posts", None, "Invalid query - the query could return records with empty or invalid ids."),
    ],
)  # fmt: skip
async def test_view_query_errors(app: App, query: str, fields_error: str | None, message: str) -> None:
    await app.collections_service.create({"name": "posts", "fields": [{"name": "title", "type": "text"}]})
    with pytest.raises(ValidationError) as exc:
        await app.collections_service.create({"name": "v", "type": "view", "viewQuery": query})
    data = exc.value.data
    assert data["viewQuery"] == {"code": "validation_invalid_view_query", "message": message}
    assert data.get("fields", {}).get("code") == fields_error
    assert app.collections.get("v") is None and await app.db.table_columns("v") == []


async def test_view_only_rules_and_indexes(app: App) -> None:
    with pytest.raises(ValidationError) as exc:
        await app.collections_service.create(
            {"name": "v", "type": "view", "createRule": "", "viewQuery": "select id from users", "indexes": ["x"]}
        )
    assert exc.value.data == {
        "createRule": {"code": "validation_nil", "message": "Must be blank."},
        "indexes": {"code": "validation_indexes_not_supported", "message": "View collections don't support indexes."},
    }


def test_view_identifier_parsing() -> None:
    columns, tables = parse_view_identifiers(
        "SELECT DISTINCT a.id, `b`.x AS y, lower(a.n) n, (select 1) as s FROM t1 a /* c */ LEFT JOIN t2 b ON b.id = a.id"
        " INNER JOIN t3 WHERE a.id != '' GROUP BY a.id"
    )
    assert [(c.original, c.alias) for c in columns] == [
        ("a.id", "id"), ("b.x", "y"), ("lower(a.n)", "n"), ("(select 1)", "s")
    ]  # fmt: skip
    assert [(t.original, t.alias) for t in tables] == [("t1", "a"), ("t2", "b"), ("t3", "t3")]


async def test_import_creates_updates_and_validates_afterwards(app: App) -> None:
    svc = app.collections_service
    await svc.create({"name": "posts", "fields": [{"name": "title", "type": "text"}]})
    await svc.import_(
        [
            {"name": "vv", "type": "view", "viewQuery": "select id, label from tags"},  # views are saved last
            {"name": "tags", "fields": [{"name": "label", "type": "text"}]},
            {"name": "posts", "fields": [{"name": "body", "type": "editor"}]},
            {"name": "x2", "fields": [{"name": "r", "type": "relation", "collectionId": "pbc_x3"}]},  # forward ref
            {"id": "pbc_x3", "name": "x3"},
        ],
        delete_missing=False,
    )
    # existing fields are kept, appended after the imported ones (as PocketBase)
    assert [f.name for f in (await svc.get("posts")).fields] == ["body", "id", "title"]
    assert [f.name for f in (await svc.get("vv")).fields] == ["id", "label"]
    assert (await svc.get("x3")).id == "pbc_x3"
    await svc.import_([{"name": "tags", "fields": [{"name": "label2", "type": "text"}]}], delete_missing=True)
    assert {c.name for c in svc.list_all() if not c.system} == {"tags"}  # even `users` is not a system one
    assert [f.name for f in (await svc.get("tags")).fields] == ["label2", "id"]  # system `id` kept, appended
    assert await app.db.table_columns("posts") == []


async def test_import_failures_roll_everything_back(app: App) -> None:
    svc = app.collections_service
    before = {c.id for c in svc.list_all()}
    with pytest.raises(ValidationError) as exc:
        await svc.import_(
            [{"name": "ok1"}, {"name": "x1", "listRule": "", "fields": [{"name": "a-b", "type": "text"}]}], False
        )
    assert exc.value.message == "Failed to import collections."
    err = exc.value.data["collections"]
    assert err["code"] == "validation_collections_import_failure"
    assert err["message"].startswith('Data validations failed for collection "x1" (pbc_3506611314):\n{\n  "fields": {')
    assert '"name": "must be in a valid format"' in err["message"] and err["message"].endswith("}.")
    assert {c.id for c in svc.list_all()} == before and await app.db.table_columns("ok1") == []
    with pytest.raises(ValidationError) as exc:
        await svc.import_([], False)
    assert exc.value.data == {"collections": {"code": "validation_required", "message": "Cannot be blank."}}
