"""Full-text search (`"search": {"fields": [...]}` and the `search(...)` filter function)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satchel.core.app import App
from satchel.tools.sql import ir
from tests.apis.helpers import create_collection, create_user, login

ARTICLES: dict[str, Any] = {
    "name": "articles",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "updateRule": "",
    "deleteRule": "",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "body", "type": "editor"},
        {"name": "views", "type": "number"},
    ],
    "search": {"fields": ["title", "body"]},
}

DOCS = [
    ("Hello world", "A first post about gardening"),
    ("Café culture", "Coffee and croissants in Paris"),
    ("Gardening tips", "Water the tomatoes every morning"),
    ("Release notes", "The world changed; hello again"),
]


async def _seed(client: httpx2.AsyncClient, su: dict[str, str], spec: dict[str, Any] = ARTICLES) -> dict[str, str]:
    await create_collection(client, su, spec)
    ids: dict[str, str] = {}
    for title, body in DOCS:
        r = await client.post(f"/api/collections/{spec['name']}/records", json={"title": title, "body": body})
        assert r.status_code == 200, r.text
        ids[title] = r.json()["id"]
    return ids


async def _titles(
    client: httpx2.AsyncClient, flt: str, coll: str = "articles", headers: dict[str, str] | None = None, **params: str
) -> list[str]:
    r = await client.get(
        f"/api/collections/{coll}/records",
        params={"filter": flt, "sort": "title", "perPage": "100", **params},
        headers=headers or {},
    )
    assert r.status_code == 200, r.text
    return [item["title"] for item in r.json()["items"]]


async def _status(client: httpx2.AsyncClient, flt: str, coll: str = "articles", **kw: Any) -> httpx2.Response:
    return await client.get(f"/api/collections/{coll}/records", params={"filter": flt}, **kw)


async def _search_objects(app: App) -> set[str]:
    """Names of the search indexes in the database (FTS5 tables on SQLite, GIN indexes on PostgreSQL)."""
    if app.db.dialect == "postgres":
        table, column, kind = "pg_indexes", "indexname", None
    else:
        table, column, kind = "sqlite_master", "name", "table"
    where = ir.Like(ir.col(column), ir.Param("\\_fts\\_%"))
    if kind is not None:
        where = ir.Binary("AND", where, ir.eq(ir.col("type"), ir.Param(kind)))
    rows = await app.db.executor().fetch_all(ir.Select((ir.Alias(ir.col(column), "n"),), ir.Table(table), where=where))
    return {str(r["n"]) for r in rows if not str(r["n"]).endswith(("_data", "_idx", "_docsize", "_config"))}


# ------------------------------------------------------------------------------------- filters
async def test_search_filter_whole_index_and_per_field(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App
) -> None:
    await _seed(client, su_headers)
    assert await _titles(client, "search('hello') = true") == ["Hello world", "Release notes"]
    assert await _titles(client, "search('HELLO World') = true") == ["Hello world", "Release notes"]
    assert await _titles(client, "search(title, 'hello') = true") == ["Hello world"]
    assert await _titles(client, "search(body, 'hello') = true") == ["Release notes"]
    assert await _titles(client, "search('gardening') = true") == ["Gardening tips", "Hello world"]
    assert await _titles(client, "search('café') = true") == ["Café culture"]
    # SQLite's tokenizer folds diacritics; PostgreSQL's `simple` configuration keeps them (documented)
    folded = ["Café culture"] if app.db.dialect == "sqlite" else []
    assert await _titles(client, "search('cafe') = true") == folded
    assert await _titles(client, "search('\"hello again\"') = true") == ["Release notes"]  # phrase
    assert await _titles(client, "search('\"again hello\"') = true") == []
    assert await _titles(client, "search('hello -gardening') = true") == ["Release notes"]
    assert await _titles(client, "search('paris or tomatoes') = true") == ["Café culture", "Gardening tips"]
    assert await _titles(client, "search('hello') = false") == ["Café culture", "Gardening tips"]
    assert await _titles(client, "search('hello') != true") == ["Café culture", "Gardening tips"]
    assert await _titles(client, "search('hello') = true && title ~ 'notes'") == ["Release notes"]
    assert await _titles(client, "search('paris') = true || title = 'Hello world'") == ["Café culture", "Hello world"]
    assert await _titles(client, "true = search('paris')") == ["Café culture"]
    assert await _titles(client, "search('') = true") == []
    assert await _titles(client, "search('nothing-like-this') = true") == []


async def test_search_follows_record_writes(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    ids = await _seed(client, su_headers)
    r = await client.patch(f"/api/collections/articles/records/{ids['Hello world']}", json={"body": "sunflowers"})
    assert r.status_code == 200, r.text
    assert await _titles(client, "search('gardening') = true") == ["Gardening tips"]
    assert await _titles(client, "search('sunflowers') = true") == ["Hello world"]
    r = await client.patch(f"/api/collections/articles/records/{ids['Hello world']}", json={"views": 3})
    assert r.status_code == 200, r.text
    assert await _titles(client, "search('sunflowers') = true") == ["Hello world"]
    r = await client.delete(f"/api/collections/articles/records/{ids['Hello world']}")
    assert r.status_code == 204
    assert await _titles(client, "search('sunflowers') = true") == []
    assert await _titles(client, "search('hello') = true") == ["Release notes"]


@pytest.mark.parametrize(
    "flt",
    [
        "search('hello') > true",
        "search('hello') = 'yes'",
        "search('hello') = 1",
        "search(views, 'hello') = true",
        "search(nope, 'hello') = true",
        "search() = true",
        "search(title, 'a', 'b') = true",
        "search(title) = true",
        "search('a') = search('b')",
        "strftime('%Y', search('a')) = '2024'",
    ],
)
async def test_search_misuse_is_a_400(client: httpx2.AsyncClient, su_headers: dict[str, str], flt: str) -> None:
    await _seed(client, su_headers)
    r = await _status(client, flt)
    assert r.status_code == 400, r.text
    assert r.json() == {"status": 400, "message": "Something went wrong while processing your request.", "data": {}}


HOSTILE = [
    '"',
    '""',
    "'",
    "*",
    "hello*",
    "NEAR(hello world)",
    "hello AND OR NOT",
    "{title}: hello",
    "title:hello",
    "-",
    "--",
    "- -hello",
    "or",
    "hello or",
    "or hello",
    "^hello",
    "(((",
    ")",
    "\\",
    "\x00hello",
    "hello\x00world",
    "'; DROP TABLE articles; --",
    "a" * 3000,
    "é" * 50,
    "🙂 hello",
    "\ud800",
    "!hello & world | foo <-> bar",
    ":*",
]


async def test_search_hostile_text_never_fails(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App
) -> None:
    await _seed(client, su_headers)
    for text in HOSTILE:
        r = await client.get(
            "/api/collections/articles/records",
            params={"filter": "search(@request.query.q) = true", "q": text.replace("\ud800", "\\ud800")},
            headers=su_headers,
        )
        assert r.status_code == 200, (text, r.text)
    # and the table is still there and searchable
    assert await _titles(client, "search('hello') = true") == ["Hello world", "Release notes"]
    hits = await _titles(client, "search(@request.query.q) = true", q="🙂 hello", headers=su_headers)
    assert hits == ["Hello world", "Release notes"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60))
async def test_search_any_text_gives_results_or_400(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App, text: str
) -> None:
    if app.collections.get("articles") is None:
        await _seed(client, su_headers)
    # through a request value (any string reaches the search verbatim)...
    r = await client.get(
        "/api/collections/articles/records",
        params={"filter": "search(@request.query.q) = true", "q": text},
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    # ...and as a literal inside the filter (the filter parser may reject the quoting: a 400)
    literal = "search('" + text.replace("\\", "\\\\").replace("'", "\\'") + "') = true"
    r = await _status(client, literal)
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert set(r.json()) == {"status", "message", "data"}


# --------------------------------------------------------------------------- API rules
async def test_search_in_api_rules(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    spec = {
        **ARTICLES,
        "name": "notes",
        "listRule": "search('public') = true",
        "viewRule": "search('public') = true",
        "createRule": "search(title, 'draft') = false",
        "updateRule": "search(title, 'draft') = false",
    }
    await create_collection(client, su_headers, spec)
    created: dict[str, str] = {}
    for title in ("public one", "private two", "public three"):
        r = await client.post("/api/collections/notes/records", json={"title": title})
        assert r.status_code == 200, r.text
        created[title] = r.json()["id"]
    # the create rule is checked on values that are not stored yet
    r = await client.post("/api/collections/notes/records", json={"title": "a Draft note"})
    assert r.status_code == 400, r.text
    assert await _titles(client, "", coll="notes") == ["public one", "public three"]
    assert await _titles(client, "search('three') = true", coll="notes") == ["public three"]
    r = await client.get(f"/api/collections/notes/records/{created['private two']}")
    assert r.status_code == 404
    r = await client.get(f"/api/collections/notes/records/{created['public one']}")
    assert r.status_code == 200
    # the update rule reads the stored record (as PocketBase's does): allowed once, then refused
    r = await client.patch(f"/api/collections/notes/records/{created['public one']}", json={"title": "public draft"})
    assert r.status_code == 200, r.text
    r = await client.patch(f"/api/collections/notes/records/{created['public one']}", json={"title": "public again"})
    assert r.status_code == 404, r.text
    # the list rule reads the index, which follows updates
    r = await client.patch(
        f"/api/collections/notes/records/{created['private two']}", json={"title": "public two"}, headers=su_headers
    )
    assert r.status_code == 200, r.text
    assert await _titles(client, "", coll="notes") == ["public draft", "public three", "public two"]
    # rules that search keep the option from being removed under them
    r = await client.patch("/api/collections/notes", json={"search": None}, headers=su_headers)
    assert r.status_code == 400
    assert set(r.json()["data"]) == {"listRule", "viewRule", "createRule", "updateRule"}


async def test_search_with_request_value_in_rule(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await _seed(client, su_headers, {**ARTICLES, "listRule": "search(@request.query.q) = true"})
    assert await _titles(client, "", q="paris") == ["Café culture"]
    assert await _titles(client, "") == []  # no words: nothing matches


async def test_search_hides_auth_emails_from_clients(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.patch(
        "/api/collections/users",
        json={"search": {"fields": ["name", "email"]}, "listRule": ""},
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    await create_user(client, "secret@example.com", name="Alice")
    await create_user(client, "shown@example.com", name="Bob", emailVisibility=True)
    await create_user(client, "other@example.com", name="secret agent")
    viewer = await login(client, "other@example.com")

    async def names(q: str, headers: dict[str, str]) -> list[str]:
        r = await client.get(
            "/api/collections/users/records",
            params={"filter": f"search('{q}') = true", "sort": "name"},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        return [i["name"] for i in r.json()["items"]]

    assert await names("secret", su_headers) == ["Alice", "secret agent"]
    assert await names("secret", viewer) == ["secret agent"]  # Alice matches only by her hidden email
    assert await names("shown", viewer) == ["Bob"]
    assert await names("example", viewer) == ["Bob"]
    assert await names("shown@example.com", viewer) == ["Bob"]
    assert await names("alice secret@example.com", su_headers) == ["Alice"]


# ---------------------------------------------------------------------- collection option
async def test_collection_json_carries_the_option_only_when_set(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    with_search = await create_collection(client, su_headers, ARTICLES)
    assert with_search["search"] == {"fields": ["title", "body"]}
    plain = await create_collection(client, su_headers, {**ARTICLES, "name": "plain", "search": None})
    assert "search" not in plain
    r = await client.get("/api/collections/plain", headers=su_headers)
    assert "search" not in r.json()
    r = await _status(client, "search('x') = true", coll="plain")
    assert r.status_code == 400
    r = await client.get("/api/collections/articles", headers=su_headers)
    assert r.json()["search"] == {"fields": ["title", "body"]}

    # export -> import of the whole configuration keeps it (and turning it off round-trips too)
    r = await client.get("/api/collections", params={"perPage": "500"}, headers=su_headers)
    exported = r.json()["items"]
    for item in exported:
        if item["name"] == "articles":
            item["search"] = {"fields": ["body"]}
        if item["name"] == "plain":
            item["search"] = {"fields": ["title"]}
    r = await client.put("/api/collections/import", json={"collections": exported}, headers=su_headers)
    assert r.status_code == 204, r.text
    r = await client.get("/api/collections/articles", headers=su_headers)
    assert r.json()["search"] == {"fields": ["body"]}
    r = await client.get("/api/collections/plain", headers=su_headers)
    assert r.json()["search"] == {"fields": ["title"]}
    r = await client.post("/api/collections/plain/records", json={"title": "imported index works"})
    assert r.status_code == 200
    assert await _titles(client, "search('imported') = true", coll="plain") == ["imported index works"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ({"fields": ["nope"]}, {"fields": {"0": "validation_unknown_search_field"}}),
        ({"fields": ["title", "views"]}, {"fields": {"1": "validation_invalid_search_field_type"}}),
        ({"fields": ["title", "title"]}, {"fields": {"1": "validation_duplicated_search_field"}}),
        ({"fields": [1]}, {"fields": {"0": "validation_invalid_search_field"}}),
        ({"fields": "title"}, {"fields": "validation_invalid_search_fields"}),
        ({"fields": ["title"], "rank": True}, "validation_invalid_search"),
        ("title", "validation_invalid_search"),
    ],
)
async def test_search_option_validation(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App, search: Any, expected: Any
) -> None:
    r = await client.post("/api/collections", json={**ARTICLES, "search": search}, headers=su_headers)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["message"] == "Failed to create collection."

    def codes(tree: Any) -> Any:
        return tree["code"] if "code" in tree else {k: codes(v) for k, v in tree.items()}

    assert codes(body["data"]["search"]) == expected
    assert app.collections.get("articles") is None
    assert await _search_objects(app) == set()  # nothing half-created


async def test_view_collections_refuse_search(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, ARTICLES)
    r = await client.post(
        "/api/collections",
        json={
            "name": "v",
            "type": "view",
            "viewQuery": "SELECT id, title FROM articles",
            "search": {"fields": ["title"]},
        },
        headers=su_headers,
    )
    assert r.status_code == 400
    assert r.json()["data"]["search"]["code"] == "validation_search_not_supported"


# ------------------------------------------------------------------------- schema changes
async def test_schema_changes_keep_the_index_right(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App
) -> None:
    await _seed(client, su_headers)
    coll = app.collections.get("articles")
    assert coll is not None
    index = "_fts_" + coll.id
    assert await _search_objects(app) == {index}

    # rename an indexed field: the option follows, the index is rebuilt under the new name
    fields = [f.to_json() for f in coll.fields]
    for f in fields:
        if f["name"] == "title":
            f["name"] = "headline"
    r = await client.patch("/api/collections/articles", json={"fields": fields}, headers=su_headers)
    assert r.status_code == 200, r.text
    assert r.json()["search"] == {"fields": ["headline", "body"]}
    r = await client.get("/api/collections/articles/records", params={"filter": "search(headline, 'hello') = true"})
    assert r.status_code == 200 and [i["headline"] for i in r.json()["items"]] == ["Hello world"]

    # rename the collection: still indexed, and writes still reach the index
    r = await client.patch("/api/collections/articles", json={"name": "stories"}, headers=su_headers)
    assert r.status_code == 200, r.text
    r = await client.post("/api/collections/stories/records", json={"headline": "Zebra", "body": "stripes"})
    assert r.status_code == 200
    r = await client.get("/api/collections/stories/records", params={"filter": "search('stripes') = true"})
    assert [i["headline"] for i in r.json()["items"]] == ["Zebra"]
    assert await _search_objects(app) == {index}

    # change the indexed fields: backfilled for the new set
    r = await client.patch("/api/collections/stories", json={"search": {"fields": ["body"]}}, headers=su_headers)
    assert r.status_code == 200, r.text
    r = await client.get("/api/collections/stories/records", params={"filter": "search('zebra') = true"})
    assert r.json()["items"] == []
    r = await client.get("/api/collections/stories/records", params={"filter": "search('stripes') = true"})
    assert [i["headline"] for i in r.json()["items"]] == ["Zebra"]

    # remove the last indexed field: search is off, the index gone, the filter a 400
    stories = app.collections.get("stories")
    assert stories is not None
    r = await client.patch(
        "/api/collections/stories",
        json={"fields": [f.to_json() for f in stories.fields if f.name != "body"]},
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    assert "search" not in r.json()
    assert await _search_objects(app) == set()
    r = await client.get("/api/collections/stories/records", params={"filter": "search('stripes') = true"})
    assert r.status_code == 400

    # enable again on existing rows (backfill), then delete the collection: the index goes with it
    r = await client.patch("/api/collections/stories", json={"search": {"fields": ["headline"]}}, headers=su_headers)
    assert r.status_code == 200, r.text
    r = await client.get("/api/collections/stories/records", params={"filter": "search('gardening') = true"})
    assert [i["headline"] for i in r.json()["items"]] == ["Gardening tips"]
    r = await client.delete("/api/collections/stories", headers=su_headers)
    assert r.status_code == 204
    assert await _search_objects(app) == set()


async def test_failed_schema_change_keeps_the_old_index(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App
) -> None:
    await _seed(client, su_headers)
    r = await client.patch(
        "/api/collections/articles",
        json={"search": {"fields": ["title"]}, "indexes": ["CREATE INDEX broken ON articles (nope)"]},
        headers=su_headers,
    )
    assert r.status_code == 400
    assert await _titles(client, "search(body, 'paris') = true") == ["Café culture"]


# ----------------------------------------------------------------------- expand and batch
async def test_search_rule_on_expanded_records(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, {**ARTICLES, "viewRule": "search('public') = true"})
    article_ids = []
    for title in ("public one", "private two"):
        r = await client.post("/api/collections/articles/records", json={"title": title})
        article_ids.append(r.json()["id"])
    articles = await client.get("/api/collections/articles", headers=su_headers)
    comments = {
        "name": "comments",
        "type": "base",
        "listRule": "",
        "viewRule": "",
        "fields": [
            {"name": "text", "type": "text"},
            {"name": "article", "type": "relation", "collectionId": articles.json()["id"], "maxSelect": 1},
        ],
    }
    await create_collection(client, su_headers, comments)
    for i, article in enumerate(article_ids):
        r = await client.post(
            "/api/collections/comments/records", json={"text": f"c{i}", "article": article}, headers=su_headers
        )
        assert r.status_code == 200, r.text
    r = await client.get("/api/collections/comments/records", params={"expand": "article", "sort": "text"})
    assert r.status_code == 200, r.text
    expanded = [item.get("expand", {}).get("article", {}).get("title") for item in r.json()["items"]]
    assert expanded == ["public one", None]


async def test_search_rules_in_a_batch_see_the_batch_writes(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    spec = {**ARTICLES, "name": "notes", "createRule": "search(title, 'draft') = false"}
    spec["updateRule"] = "search('locked') = false"
    await create_collection(client, su_headers, spec)
    r = await client.patch("/api/settings", json={"batch": {"enabled": True}}, headers=su_headers)
    assert r.status_code == 200
    url = "/api/collections/notes/records"
    upsert = {"method": "PUT", "url": url, "body": {"id": "abcdefghijklmno", "title": "second locked"}}
    refused = {
        "requests": [
            {"method": "POST", "url": url, "body": {"title": "first"}},
            upsert,
            # the update rule reads the index, which already holds the upsert of this transaction
            {"method": "PATCH", "url": f"{url}/abcdefghijklmno", "body": {"title": "third"}},
        ]
    }
    r = await client.post("/api/batch", json=refused)
    assert r.status_code == 400, r.text
    assert r.json()["data"]["requests"]["2"]["response"]["status"] == 404
    assert await _titles(client, "", coll="notes") == []  # nothing of the batch stayed
    r = await client.post(
        "/api/batch", json={"requests": [{"method": "POST", "url": url, "body": {"title": "a draft"}}]}
    )
    assert r.status_code == 400
    assert r.json()["data"]["requests"]["0"]["response"]["status"] == 400
    r = await client.post("/api/batch", json={"requests": refused["requests"][:2]})
    assert r.status_code == 200, r.text
    assert await _titles(client, "search('locked') = true", coll="notes") == ["second locked"]
    assert await _titles(client, "search('first') = true", coll="notes") == ["first"]


@pytest.mark.sqlite_only("backups copy the SQLite file; on PostgreSQL they are pg_dump's job (not supported yet)")
async def test_backup_restore_brings_back_option_and_index(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App
) -> None:
    await _seed(client, su_headers)
    await app.backups.create("search.zip")
    r = await client.post("/api/collections/articles/records", json={"title": "Later", "body": "zeppelin"})
    assert r.status_code == 200
    r = await client.patch("/api/collections/articles", json={"search": {"fields": ["body"]}}, headers=su_headers)
    assert r.status_code == 200
    r = await client.post("/api/backups/search.zip/restore", headers=su_headers)
    assert r.status_code == 204, r.text
    r = await client.get("/api/collections/articles", headers=su_headers)
    assert r.json()["search"] == {"fields": ["title", "body"]}
    assert await _titles(client, "search(title, 'hello') = true") == ["Hello world"]
    assert await _titles(client, "search('zeppelin') = true") == []
    r = await client.post("/api/collections/articles/records", json={"title": "After restore", "body": "kiwi"})
    assert r.status_code == 200
    assert await _titles(client, "search('kiwi') = true") == ["After restore"]


async def test_hidden_indexed_field_is_searchable_by_superusers_only(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    spec = {
        **ARTICLES,
        "fields": [*ARTICLES["fields"], {"name": "notes", "type": "text", "hidden": True}],
        "search": {"fields": ["title", "notes"]},
    }
    await create_collection(client, su_headers, spec)
    r = await client.post(
        "/api/collections/articles/records", json={"title": "Visible", "notes": "confidential"}, headers=su_headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == "confidential"
    r = await _status(client, "search('confidential') = true")
    assert r.status_code == 400  # a hidden field is not filterable by clients, indexed or not
    r = await _status(client, "search(title, 'visible') = true")
    assert r.status_code == 200 and [i["title"] for i in r.json()["items"]] == ["Visible"]
    assert await _titles(client, "search('confidential') = true", headers=su_headers) == ["Visible"]
