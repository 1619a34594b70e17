"""`GET /api/openapi.json`: an OpenAPI 3.1 document built from the live collections and routes.

Checked against the OpenAPI 3.1 meta-schema (openapi-spec-validator), against real answers of the
server (jsonschema), and for who sees what.
"""

from __future__ import annotations

from typing import Any

import httpx2
import jsonschema
import pytest
from openapi_spec_validator import validate as validate_spec
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from satchel.apis.openapi import DocumentCache, build_document
from satchel.apis.server import all_routes
from satchel.core.app import App
from tests.apis.helpers import POSTS, create_collection

ARTICLES: dict[str, Any] = {
    "name": "articles",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": '@request.auth.id != ""',
    "updateRule": None,
    "deleteRule": None,
    "fields": [
        {"name": "title", "type": "text", "required": True, "max": 80},
        {"name": "slug", "type": "text", "autogeneratePattern": "[a-z]{8}", "required": True},
        {"name": "rating", "type": "number", "min": 0, "max": 5, "onlyInt": True},
        {"name": "draft", "type": "bool"},
        {"name": "kind", "type": "select", "values": ["news", "blog"], "maxSelect": 1, "required": True},
        {"name": "labels", "type": "select", "values": ["x", "y", "z"], "maxSelect": 2},
        {"name": "cover", "type": "file", "maxSelect": 1},
        {"name": "gallery", "type": "file", "maxSelect": 4},
        {"name": "spot", "type": "geoPoint"},
        {"name": "extra", "type": "json"},
        {"name": "internal", "type": "text", "hidden": True},
        {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
    ],
}


async def _doc(client: httpx2.AsyncClient, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await client.get("/api/openapi.json", headers=headers or {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    doc: dict[str, Any] = r.json()
    return doc


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for a schema of the document, its `$ref`s resolved against the document."""
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]})


def _ops(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, p) for p, ops in doc["paths"].items() for m in ops}


async def test_the_document_is_valid_openapi_31_for_superusers_and_everyone(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await create_collection(client, su_headers, ARTICLES)
    for headers in (su_headers, {}):
        doc = await _doc(client, headers)
        assert doc["openapi"] == "3.1.0"
        validate_spec(doc)
        ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
        assert len(ids) == len(set(ids))


async def test_a_new_collection_appears_and_a_deleted_one_goes(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    before = await _doc(client, su_headers)
    assert "/api/collections/articles/records" not in before["paths"]
    created = await create_collection(client, su_headers, ARTICLES)
    during = await _doc(client, su_headers)
    assert set(during["paths"]["/api/collections/articles/records"]) == {"get", "post"}
    assert set(during["paths"]["/api/collections/articles/records/{id}"]) == {"get", "patch", "delete"}
    assert "articlesRecord" in during["components"]["schemas"]
    assert (await client.delete(f"/api/collections/{created['id']}", headers=su_headers)).status_code == 204
    after = await _doc(client, su_headers)
    assert not [p for p in after["paths"] if "/articles/" in p]
    assert not [name for name in after["components"]["schemas"] if name.startswith("articles")]
    assert after == before


async def test_record_shape_follows_the_field_types(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, ARTICLES)
    doc = await _doc(client, su_headers)
    props = doc["components"]["schemas"]["articlesRecord"]["properties"]
    assert props["title"] == {"type": "string"}
    assert props["rating"] == {"type": "number"}
    assert props["draft"] == {"type": "boolean"}
    assert props["kind"]["type"] == "string"
    assert props["labels"]["type"] == "array"
    assert props["gallery"] == {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 4}
    assert props["spot"]["properties"] == {"lon": {"type": "number"}, "lat": {"type": "number"}}
    assert props["extra"] == {}
    assert props["collectionName"] == {"type": "string", "const": "articles"}
    assert props["internal"] == {"type": "string", "description": "Hidden field: returned to superusers only."}
    assert "description" not in props["title"]


async def test_create_and_update_bodies(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, ARTICLES)
    doc = await _doc(client, su_headers)
    schemas = doc["components"]["schemas"]
    create = schemas["articlesCreate"]
    # required, minus autodate and autogenerated text; a select's values are an enum
    assert sorted(create["required"]) == ["kind", "title"]
    assert create["properties"]["kind"]["enum"] == ["news", "blog"]
    assert create["properties"]["labels"]["items"]["enum"] == ["x", "y", "z"]
    assert create["properties"]["labels"]["maxItems"] == 2
    assert create["properties"]["rating"] == {"type": "integer", "minimum": 0, "maximum": 5}
    assert create["properties"]["title"]["maxLength"] == 80
    assert "created" not in create["properties"]
    assert create["properties"]["spot"]["properties"]["lat"] == {"type": "number", "minimum": -90, "maximum": 90}
    multipart = schemas["articlesCreateMultipart"]["properties"]
    assert multipart["cover"] == {"type": "string", "format": "binary"}
    assert multipart["gallery"]["items"] == {"type": "string", "format": "binary"}
    update = schemas["articlesUpdate"]
    assert "required" not in update and "id" not in update["properties"]
    assert {"labels+", "+labels", "labels-", "rating+", "rating-"} <= set(update["properties"])
    body = doc["paths"]["/api/collections/articles/records"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}


async def test_list_parameters_and_view_collections_are_read_only(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await create_collection(client, su_headers, ARTICLES)
    await create_collection(
        client,
        su_headers,
        {"name": "titles", "type": "view", "listRule": "", "viewQuery": "SELECT id, title FROM articles"},
    )
    doc = await _doc(client, su_headers)
    listing = doc["paths"]["/api/collections/articles/records"]["get"]
    names = {_resolve(doc, p)["name"] for p in listing["parameters"]}
    assert names == {"page", "perPage", "sort", "filter", "skipTotal", "expand", "fields"}
    assert set(doc["paths"]["/api/collections/titles/records"]) == {"get"}
    assert set(doc["paths"]["/api/collections/titles/records/{id}"]) == {"get"}
    assert "titlesCreate" not in doc["components"]["schemas"]


async def test_auth_collections_list_their_flows(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    doc = await _doc(client, su_headers)
    flows = {p.removeprefix("/api/collections/users/") for p in doc["paths"] if p.startswith("/api/collections/users/")}
    assert {
        "auth-with-password",
        "auth-refresh",
        "auth-methods",
        "request-otp",
        "auth-with-otp",
        "auth-with-oauth2",
        "request-verification",
        "confirm-verification",
        "request-password-reset",
        "confirm-password-reset",
        "request-email-change",
        "confirm-email-change",
        "impersonate/{id}",
        "records",
        "records/{id}",
    } <= flows
    password = doc["paths"]["/api/collections/users/auth-with-password"]["post"]
    body = password["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["identity", "password"]
    assert "`email`" in body["properties"]["identity"]["description"]
    ok = _resolve(doc, password["responses"]["200"]["content"]["application/json"]["schema"])
    assert ok["properties"]["record"] == {"$ref": "#/components/schemas/usersRecord"}
    create = doc["components"]["schemas"]["usersCreate"]
    assert {"password", "passwordConfirm"} <= set(create["required"])
    assert "tokenKey" not in create["properties"]
    assert create["properties"]["password"]["minLength"] == 8  # the users collection's password `min`
    assert not {"password", "tokenKey"} & set(doc["components"]["schemas"]["usersRecord"]["properties"])


async def test_every_operation_has_the_shared_error_shape_and_security(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    doc = await _doc(client, su_headers)
    for ops in doc["paths"].values():
        for op in ops.values():
            assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }
            assert "security" in op
    assert doc["paths"]["/api/settings"]["get"]["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


async def test_real_answers_match_the_document(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    """A record, a list and an error as the server sends them, validated against the document."""
    await create_collection(client, su_headers, POSTS)
    doc = await _doc(client, su_headers)
    r = await client.post(
        "/api/collections/posts/records",
        json={"title": "t", "tags": ["a"], "meta": {"x": 1}, "views": 2, "published": True},
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    _validator(doc, doc["components"]["schemas"]["postsRecord"]).validate(r.json())
    listing = doc["paths"]["/api/collections/posts/records"]["get"]["responses"]["200"]["content"]
    r = await client.get("/api/collections/posts/records", headers=su_headers)
    _validator(doc, listing["application/json"]["schema"]).validate(r.json())
    bad = await client.post("/api/collections/posts/records", json={"title": "x" * 101}, headers=su_headers)
    assert bad.status_code == 400
    _validator(doc, doc["components"]["schemas"]["Error"]).validate(bad.json())
    # and the validator does bite: a record of another shape is refused
    with pytest.raises(jsonschema.ValidationError):
        _validator(doc, doc["components"]["schemas"]["postsRecord"]).validate({**r.json()["items"][0], "views": "2"})


async def test_everyone_else_sees_only_what_they_may_call(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await create_collection(client, su_headers, ARTICLES)
    await create_collection(client, su_headers, {"name": "locked", "type": "base"})  # every rule null
    public = await _doc(client)
    su = await _doc(client, su_headers)
    assert "/api/collections/locked/records" in su["paths"]
    assert not [p for p in public["paths"] if p.startswith("/api/collections/locked/")]
    assert not [p for p in public["paths"] if p.startswith("/api/collections/_superusers/")]
    # articles: list, view and create are open; update and delete are locked
    assert set(public["paths"]["/api/collections/articles/records"]) == {"get", "post"}
    assert set(public["paths"]["/api/collections/articles/records/{id}"]) == {"get"}
    assert "internal" not in public["components"]["schemas"]["articlesRecord"]["properties"]
    for body in ("articlesCreate", "articlesUpdate", "articlesCreateMultipart"):  # ignored in their bodies
        assert "internal" not in public["components"]["schemas"][body]["properties"], body
        described = su["components"]["schemas"][body]["properties"]["internal"]["description"]
        assert described == "Hidden field: set by superusers only (ignored in anyone else's body).", body
    for path in ("/api/settings", "/api/logs", "/api/collections", "/api/backups", "/api/crons"):
        assert path in su["paths"] and path not in public["paths"]
    assert "/api/collections/users/impersonate/{id}" not in public["paths"]
    for path in ("/api/health", "/api/batch", "/api/files/token", "/api/collections/users/auth-with-password"):
        assert path in public["paths"]
    validate_spec(public)


async def test_cached_per_schema_version_and_revalidated_by_etag(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    first = await client.get("/api/openapi.json", headers=su_headers)
    etag = first.headers["etag"]
    again = await client.get("/api/openapi.json", headers={**su_headers, "If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    assert (await client.get("/api/openapi.json")).headers["etag"] != etag  # another audience, another document
    await create_collection(client, su_headers, ARTICLES)
    changed = await client.get("/api/openapi.json", headers={**su_headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    cache = DocumentCache()
    routes = all_routes()
    one = cache.get(app, routes, superuser=True)
    assert cache.get(app, routes, superuser=True) is one  # built once per version
    await create_collection(client, su_headers, {"name": "more", "type": "base"})
    assert cache.get(app, routes, superuser=True) is not one


async def test_routes_nobody_described_still_appear(app: App, su_headers: dict[str, str]) -> None:
    """Built-in routes are all described; a hook's route shows up as `custom` with its parameters."""

    async def hello(_: Any) -> PlainTextResponse:
        return PlainTextResponse("hi")

    builtin = build_document(app, all_routes(), superuser=True)
    assert [p for p, ops in builtin["paths"].items() for op in ops.values() if op["tags"] == ["custom"]] == []
    doc = build_document(app, [*all_routes(), Route("/api/hello/{name}", hello, methods=["GET"])], superuser=True)
    op = doc["paths"]["/api/hello/{name}"]["get"]
    assert op["tags"] == ["custom"]
    assert op["parameters"] == [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    assert "/api/webhooks" not in doc["paths"]  # the events plugin is not registered on this app


async def test_plugin_routes_are_described_when_served(app: App) -> None:
    from satchel.plugins import events, graphql

    events.register(app, events.EventsConfig())
    graphql.register(app)
    doc = build_document(app, [*all_routes(), *app.routes], superuser=True)
    assert {"/api/webhooks", "/api/webhooks/{id}/dead-letters/{letter}/replay"} <= set(doc["paths"])
    assert set(doc["paths"]["/api/graphql"]) == {"get", "post"}
    assert [p for p, ops in doc["paths"].items() for op in ops.values() if op["tags"] == ["custom"]] == []
    validate_spec(doc)
