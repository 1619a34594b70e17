"""docs/graphql.md states what the code does: its examples run, its limits and codes are the code's."""

from __future__ import annotations

import re
from pathlib import Path

import httpx2

from satchel.core.app import App
from satchel.core.fields.registry import FIELD_TYPES
from satchel.core.realtime import broker
from satchel.core.realtime.subscriptions import CLIENT_QUEUE
from satchel.plugins import graphql
from satchel.plugins.graphql import execution, limits, ws
from satchel.testing import client_for, superuser_token
from tests.apis.helpers import POSTS, create_collection, create_user
from tests.plugins.graphql.conftest import gql

DOC = (Path(__file__).resolve().parents[2] / "docs" / "graphql.md").read_text()
FLAT = " ".join(DOC.split())
BLOCK = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)


def operations() -> list[str]:
    return [block for block in BLOCK.findall(DOC) if not block.lstrip().startswith("type ")]


async def test_the_documented_operations_run(app: App) -> None:
    graphql.register(app)
    async with client_for(app) as client:
        await run_examples(client, {"Authorization": await superuser_token(app, client)})


async def run_examples(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    posts = await create_collection(client, su, POSTS)
    await create_collection(
        client,
        su,
        {
            "name": "comments",
            "listRule": "",
            "viewRule": "",
            "fields": [
                {"name": "text", "type": "text"},
                {"name": "post", "type": "relation", "collectionId": posts["id"]},
                {"name": "likedBy", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 9},
            ],
        },
    )
    user = await create_user(client, "doc@example.com", name="Doc")
    found = operations()
    assert len(found) == 2
    for operation in found:
        body = await gql(client, operation.replace("RECORD_ID", user["id"]), su)
        assert "errors" not in body, (operation, body)


async def test_the_documented_complexity_example(app: App) -> None:
    async with client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        posts = await create_collection(client, su, POSTS)
        comments = {"name": "comments", "fields": [{"name": "text", "type": "text"}]}
        comments["fields"].append({"name": "post", "type": "relation", "collectionId": posts["id"]})  # type: ignore[attr-defined]
        await create_collection(client, su, comments)
    example = re.search(r"For example `(.*?)` weighs .*? = (\d+)\.", FLAT)
    assert example is not None
    prepared = execution.GraphQLService(app, execution.Options(max_complexity=int(example[2]) - 1)).prepare(
        example[1], {}, None
    )
    assert prepared.errors[0]["message"].startswith(f"The query's complexity is at least {example[2]};")


async def test_the_documented_alias_example(app: App) -> None:
    async with client_for(app) as client:
        await create_collection(client, {"Authorization": await superuser_token(app, client)}, POSTS)
    example = re.search(r"An alias `(.*?)` weighs (\d+), so (\d+) of them are refused: `(.*?) \.\.\.`", FLAT)
    assert example is not None
    alias, weight, refused, message = example[1], int(example[2]), int(example[3]), example[4]
    service = execution.GraphQLService(app)
    operation = lambda n: "{ " + " ".join(f"a{i}: {alias}" for i in range(n)) + " }"  # noqa: E731
    assert service.prepare(operation(refused - 1), {}, None).errors == []
    [error] = service.prepare(operation(refused), {}, None).errors
    assert error["message"].startswith(message)
    assert message.startswith(f"The query's complexity is at least {refused * weight};")


def test_the_documented_limits_and_codes_are_the_codes() -> None:
    assert f"at most {limits.DEFAULT_MAX_DEPTH} nested selection levels" in FLAT
    assert f"at most {limits.DEFAULT_MAX_COMPLEXITY}," in FLAT
    assert f"{limits.LIST_ESTIMATE} times" in FLAT
    assert f"at most {limits.MAX_ROOT_FIELDS} per query or mutation" in FLAT
    assert f"every database query adds {limits.QUERY_COST}:" in FLAT
    assert f"a count adds {limits.COUNT_COST}:" in FLAT
    assert f"every mutation adds {limits.WRITE_COST}." in FLAT
    assert f"at most {execution.MAX_TOKENS} tokens" in FLAT
    assert f"({execution.MAX_CACHED_DOCUMENTS} of them, up to {execution.MAX_CACHED_LENGTH >> 10} KB each)" in FLAT
    assert f"({CLIENT_QUEUE} pending events)" in FLAT
    assert f"within {ws.INIT_TIMEOUT:g} s" in FLAT
    assert f"`{ws.PROTOCOL}`" in FLAT
    assert f"for **{ws.PING_INTERVAL:g} seconds** gets a protocol" in FLAT
    assert (broker.IDLE_TIMEOUT, broker.MAX_LIFETIME) == (5 * 60, 30 * 60)
    assert "**5 minutes** is closed with **{}** `{}`".format(*ws.CLOSE_IDLE) in FLAT
    assert "after **30 minutes** whatever its activity with **{}** `{}`".format(*ws.CLOSE_LIFETIME) in FLAT


def test_every_field_type_has_a_row() -> None:
    table = DOC[DOC.index("### Fields") : DOC.index("### Names")]
    documented = set(
        re.findall(r"`(\w+)`", " ".join(line.split("|")[1] for line in table.splitlines() if line.startswith("| `")))
    )
    assert documented == set(FIELD_TYPES)
