"""GraphQL-safe names: what PocketBase allows in names but GraphQL does not, and clashes."""

from __future__ import annotations

import httpx2

from satchel.plugins.graphql.names import Names, capitalized, is_enum_value, safe
from tests.apis.helpers import create_collection
from tests.plugins.graphql.conftest import gql


def test_safe_names() -> None:
    assert safe("posts") == "posts"
    assert safe("2fa") == "_2fa"
    assert safe("__secret") == "x__secret"
    assert safe("café") == "caf_"
    assert capitalized("posts") == "Posts"
    assert capitalized("_superusers") == "_Superusers"
    assert [is_enum_value(v) for v in ("draft", "in progress", "true", "null", "__x", "1st")] == [
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    names = Names({"Query"})
    assert [names.take("Query"), names.take("Posts"), names.take("Posts")] == ["Query_2", "Posts", "Posts_2"]


async def test_clashes_with_built_in_and_generated_names(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    for name in ("string", "things", "thingsList"):
        await create_collection(client, su, {"name": name, "listRule": "", "fields": [{"name": "x", "type": "text"}]})
    body = await gql(
        client,
        """{ stringList { items { x } } thingsList { items { x } } thingsListList { items { x } }
             s: __type(name: "String_2") { name } t: __type(name: "ThingsList_2") { name } }""",
    )
    assert "errors" not in body, body
    assert body["data"]["s"] == {"name": "String_2"}  # the collection's type, the built-in String intact
    assert body["data"]["t"] == {"name": "ThingsList_2"}  # `things`' page type, after collection `thingsList`


async def test_a_collection_with_nothing_to_update_has_no_update_mutation(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await create_collection(
        client, su, {"name": "uploads", "createRule": "", "fields": [{"name": "f", "type": "file"}]}
    )
    names = {
        f["name"]
        for f in (await gql(client, '{ __type(name: "Mutation") { fields { name } } }'))["data"]["__type"]["fields"]
    }
    assert {"createUploads", "deleteUploads"} <= names
    assert "updateUploads" not in names
    created = await gql(client, "mutation { createUploads(data: {}) { id f { name } } }")
    assert created["data"]["createUploads"]["f"] is None
