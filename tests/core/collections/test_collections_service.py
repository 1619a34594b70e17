"""CollectionsService against a real SQLite database: create, get, update (schema sync), delete, truncate."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.app import App
from satchel.core.errors import BadRequestError, NotFoundError, ValidationError
from satchel.ports.database import DatabaseError
from satchel.tools.ids import collection_id
from satchel.tools.sql import ir

ID1, ID2 = "a" * 15, "b" * 15


async def insert(app: App, table: str, **values: Any) -> None:
    await app.db.writer().execute(ir.Insert(table, {k: ir.Param(v) for k, v in values.items()}))


async def rows(app: App, table: str) -> list[dict[str, Any]]:
    return await app.db.executor().fetch_all(
        ir.Select((ir.Star(table),), ir.Table(table), order_by=(ir.OrderBy(ir.col("id")),))
    )


def names(c: Any) -> list[str]:
    return [f["name"] for f in c.to_json()["fields"]]


async def test_create_base_collection_gets_derived_ids_and_only_an_id_field(app: App) -> None:
    svc = app.collections_service
    c = await svc.create({"name": "posts", "fields": [{"name": "title", "type": "text", "max": 10}], "unknown": 1})
    data = c.to_json()
    assert data["id"] == "pbc_1125843985"
    assert [(f["name"], f["id"]) for f in data["fields"]] == [("id", "text3208210256"), ("title", "text724990059")]
    assert data["fields"][1]["max"] == 10 and data["indexes"] == [] and data["created"] and data["system"] is False
    assert await app.db.table_columns("posts") == ["id", "title"]
    assert (await svc.get("posts")).id == (await svc.get("POSTS")).id == (await svc.get("pbc_1125843985")).id
    with pytest.raises(NotFoundError):
        await svc.get("nope")


async def test_create_auth_collection_appends_system_fields_after_given_ones(app: App) -> None:
    c = await app.collections_service.create(
        {"name": "members", "type": "auth", "fields": [{"name": "nick", "type": "text"}], "authToken": {"duration": 60}}
    )
    assert c.id == "pbc_2620428958"
    assert names(c) == ["id", "nick", "password", "tokenKey", "email", "emailVisibility", "verified"]
    assert c.indexes == [
        "CREATE UNIQUE INDEX `idx_tokenKey_pbc_2620428958` ON `members` (`tokenKey`)",
        "CREATE UNIQUE INDEX `idx_email_pbc_2620428958` ON `members` (`email`) WHERE `email` != ''",
    ]
    assert c.auth["authToken"] == {"duration": 60}
    assert c.auth["passwordAuth"] == {"enabled": True, "identityFields": ["email"]}
    assert "authRule" in c.to_json() and "viewQuery" not in c.to_json()


async def test_load_errors(app: App) -> None:
    svc = app.collections_service
    with pytest.raises(BadRequestError) as exc:
        await svc.create({"type": 5})
    assert exc.value.message == "Failed to load the collection type data due to invalid formatting."
    for bad in ({"name": "x", "listRule": 5}, {"name": "x", "fields": {}}, {"name": "x", "fields": [{"type": "nope"}]},
                {"name": "x", "authToken": {"duration": "long"}}, {"name": "x", "indexes": [1]}):  # fmt: skip
        with pytest.raises(BadRequestError) as exc:
            await svc.create(bad)
        assert exc.value.message == "Failed to load the submitted data due to invalid formatting.", bad
        assert not isinstance(exc.value, ValidationError)


async def test_update_renames_keep_data_and_drops_remove_columns(app: App) -> None:
    svc = app.collections_service
    c = await svc.create(
        {"name": "posts", "fields": [{"name": "title", "type": "text"}, {"name": "views", "type": "number"}]}
    )
    await insert(app, "posts", id=ID1, title="hello", views=3)
    fields = [f.to_json() for f in c.fields]
    fields[1]["name"] = "headline"
    del fields[2]
    fields.append({"name": "extra", "type": "bool"})
    updated = await svc.update("posts", {"name": "articles", "fields": fields})
    assert updated.id == c.id and names(updated) == ["id", "headline", "extra"]
    assert await rows(app, "articles") == [{"id": ID1, "headline": "hello", "extra": 0}]
    assert svc.list_all()[-1].name == "articles" and app.collections.get("posts") is None


async def test_swapped_field_names_keep_their_values(app: App) -> None:
    svc = app.collections_service
    c = await svc.create({"name": "t", "fields": [{"name": "a", "type": "text"}, {"name": "b", "type": "text"}]})
    await insert(app, "t", id=ID1, a="A", b="B")
    fields = [f.to_json() for f in c.fields]
    fields[1]["name"], fields[2]["name"] = "b", "a"
    await svc.update("t", {"fields": fields})
    assert (await rows(app, "t"))[0] == {"id": ID1, "b": "A", "a": "B"}


async def test_fields_are_replaced_wholesale_as_in_pocketbase(app: App) -> None:
    svc = app.collections_service
    await svc.create({"name": "posts", "fields": [{"name": "title", "type": "text", "max": 10}]})
    await insert(app, "posts", id=ID1, title="keep")
    # no id field submitted: the default one comes back; same name+type without id -> same derived id
    c = await svc.update("posts", {"fields": [{"name": "title", "type": "text"}]})
    assert names(c) == ["id", "title"] and c.fields[1].to_json()["max"] == 0
    assert (await rows(app, "posts"))[0]["title"] == "keep"
    # a new type under the same name (no id) is a new field: the column is recreated empty
    c = await svc.update("posts", {"fields": [{"name": "title", "type": "number"}]})
    assert c.fields[1].id == "number724990059"
    assert (await rows(app, "posts"))[0]["title"] == 0
    # the same id with another type is refused
    with pytest.raises(ValidationError) as exc:
        await svc.update("posts", {"fields": [{"id": "number724990059", "name": "title", "type": "bool"}]})
    assert exc.value.message == "Failed to update collection."
    assert exc.value.data == {
        "fields": {"1": {"code": "validation_field_type_change", "message": "Field type cannot be changed."}}
    }


async def test_single_to_multiple_and_back_converts_values(app: App) -> None:
    svc = app.collections_service
    c = await svc.create({"name": "s", "fields": [{"name": "tag", "type": "select", "values": ["a", "b"]}]})
    await insert(app, "s", id=ID1, tag="a")
    await insert(app, "s", id=ID2, tag="")
    fields = [f.to_json() for f in c.fields]
    fields[1]["maxSelect"] = 2
    c = await svc.update("s", {"fields": fields})
    assert [r["tag"] for r in await rows(app, "s")] == ['["a"]', "[]"]
    await app.db.writer().execute(ir.Update("s", {"tag": ir.Param('["a","b"]')}, ir.eq(ir.col("id"), ir.Param(ID1))))
    fields[1]["maxSelect"] = 1
    await svc.update("s", {"fields": fields})
    assert [r["tag"] for r in await rows(app, "s")] == ["b", ""]


async def test_unique_index_enforced_and_indexed_column_can_be_dropped(app: App) -> None:
    svc = app.collections_service
    c = await svc.create(
        {
            "name": "tags",
            "fields": [{"name": "label", "type": "text"}, {"name": "n", "type": "number"}],
            "indexes": [
                "CREATE UNIQUE INDEX idx_label ON tags (label COLLATE NOCASE)",
                "create index idx_n on tags (n)",
            ],
        }
    )
    await insert(app, "tags", id=ID1, label="x", n=1)
    with pytest.raises(DatabaseError):
        await insert(app, "tags", id=ID2, label="X", n=2)
    # drop the indexed `n` column together with its index
    fields = [f.to_json() for f in c.fields if f.name != "n"]
    c = await svc.update("tags", {"fields": fields, "indexes": c.indexes[:1]})
    assert await app.db.table_columns("tags") == ["id", "label"]
    assert c.indexes == ["CREATE UNIQUE INDEX idx_label ON tags (label COLLATE NOCASE)"]
    # dropping a column while keeping an index on it fails and rolls everything back
    with pytest.raises(ValidationError) as exc:
        await svc.update("tags", {"fields": [f.to_json() for f in c.fields if f.name != "label"]})
    assert exc.value.data["indexes"]["0"]["message"] == (
        "Failed to create index idx_label - SQL logic error: no such column: label (1)."
    )
    assert await app.db.table_columns("tags") == ["id", "label"]
    assert [f.name for f in (await svc.get("tags")).fields] == ["id", "label"]


async def test_index_on_missing_column_is_a_validation_error_and_rolls_back(app: App) -> None:
    svc = app.collections_service
    c = await svc.create({"name": "tags", "fields": [{"name": "label", "type": "text"}]})
    with pytest.raises(ValidationError) as exc:
        await svc.update("tags", {"name": "labels", "indexes": ["create index idx_x on tags (nope)"]})
    assert exc.value.message == "Failed to update collection."
    assert exc.value.data["indexes"]["0"]["code"] == "validation_invalid_index_expression"
    assert exc.value.data["indexes"]["0"]["message"] == (
        "Failed to create index idx_x - SQL logic error: no such column: nope (1)."
    )
    assert app.collections.get("tags") is not None and app.collections.get("labels") is None
    assert await app.db.table_columns("tags") == ["id", "label"] and c.indexes == []


async def test_regenerated_id_when_the_derived_one_is_taken(app: App) -> None:
    svc = app.collections_service
    await svc.create({"name": "posts"})
    await svc.update("posts", {"name": "articles"})
    again = await svc.create({"name": "posts"})
    assert again.id == collection_id("base", "posts") + "2"
    await svc.update("posts", {"name": "news"})
    third = await svc.create({"name": "posts", "type": "auth"})
    assert third.id == collection_id("auth", "posts")  # another type: another derived id
    assert third.indexes[0] == f"CREATE UNIQUE INDEX `idx_tokenKey_{third.id}` ON `posts` (`tokenKey`)"
    explicit = await svc.create({"name": "given", "id": "my_id"})
    assert explicit.id == "my_id"


async def test_delete_guards_and_success(app: App) -> None:
    svc = app.collections_service
    with pytest.raises(BadRequestError) as exc:
        await svc.delete("_superusers")
    assert exc.value.message == "Failed to delete collection." and exc.value.data == {}
    authors = await svc.create({"name": "authors"})
    await svc.create({"name": "books", "fields": [{"name": "author", "type": "relation", "collectionId": authors.id}]})
    with pytest.raises(BadRequestError) as exc:
        await svc.delete("authors")
    assert exc.value.message == "Failed to delete collection probably due to existing reference in books."
    await svc.delete("books")
    assert app.collections.get("books") is None and await app.db.table_columns("books") == []
    await svc.delete("authors")
    with pytest.raises(NotFoundError):
        await svc.delete("authors")


async def test_truncate(app: App) -> None:
    svc = app.collections_service
    await svc.create({"name": "notes", "fields": [{"name": "body", "type": "text"}]})
    await insert(app, "notes", id=ID1, body="x")
    await insert(app, "notes", id=ID2, body="y")
    await svc.truncate("notes")
    assert await rows(app, "notes") == []
    await svc.create({"name": "v", "type": "view", "viewQuery": "select id from notes"})
    with pytest.raises(BadRequestError) as exc:
        await svc.truncate("v")
    assert exc.value.message == "View collections cannot be truncated since they don't store their own records."


async def test_list_paginates_and_sorts(app: App) -> None:
    svc = app.collections_service
    for n in ("b", "a", "c"):
        await svc.create({"name": n})
    page = svc.list(lambda c: not c.system, sort="-name", page=1, per_page=2)
    assert [i["name"] for i in page["items"]] == ["users", "c"]
    assert (page["totalItems"], page["totalPages"]) == (4, 2)
    page = svc.list(lambda c: not c.system, sort="name", page=2, per_page=2, skip_total=True)
    assert [i["name"] for i in page["items"]] == ["c", "users"] and page["totalItems"] == -1
    with pytest.raises(BadRequestError):
        svc.list(sort="fields")
