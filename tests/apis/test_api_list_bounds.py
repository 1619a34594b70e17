"""Values a client may send that reach the database's limits: never a server error, on either backend."""

from __future__ import annotations

import httpx2
import pytest

from satchel.core.app import App
from satchel.testing import postgres as pg_testing
from tests.apis.helpers import POSTS, create_collection


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"page": "99999999999999999999"}, 400),  # past Go's Atoi, as PocketBase
        ({"perPage": "-99999999999999999999"}, 400),
        ({"page": "9223372036854775807"}, 200),  # fits: an empty page far past the end
        ({"page": "-5"}, 200),
        ({"filter": "views = 99999999999999999999999"}, 200),
    ],
)
async def test_huge_pages_and_numbers(
    client: httpx2.AsyncClient, su_headers: dict[str, str], params: dict[str, str], status: int
) -> None:
    await create_collection(client, su_headers, POSTS)
    r = await client.get("/api/collections/posts/records", params=params, headers=su_headers)
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json()["items"] == []


async def test_a_nul_character_is_stored_or_refused_never_a_500(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await create_collection(client, su_headers, POSTS)
    body = {"title": "a\x00b", "meta": {"k": "\x00"}}
    r = await client.post("/api/collections/posts/records", json=body, headers=su_headers)
    listed = await client.get("/api/collections/posts/records", headers=su_headers)
    if pg_testing.enabled():  # PostgreSQL's text and jsonb cannot hold NUL: refused like a constraint
        assert r.status_code == 400 and r.json()["message"] == "Failed to create record."
        assert listed.json()["items"] == []
    else:  # SQLite keeps it, as PocketBase does
        assert r.status_code == 200 and r.json()["title"] == "a\x00b"
        assert [i["title"] for i in listed.json()["items"]] == ["a\x00b"]
