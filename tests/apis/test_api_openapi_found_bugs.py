"""Server bugs schemathesis found through /api/openapi.json (tests/contracts), one test each."""

from __future__ import annotations

import httpx2
import pytest

from tests.apis.helpers import error

NAME_INVALID = {"name": {"code": "validation_match_invalid", "message": "Must be in a valid format."}}


@pytest.mark.parametrize("name", ["Ü", "名前", "1abc", "2024"])
async def test_collection_names_sql_cannot_take_are_a_400_not_a_500(
    client: httpx2.AsyncClient, su_headers: dict[str, str], name: str
) -> None:
    """`\\w` took any Unicode letter (Go's is ASCII), and a leading digit passed the pattern; both then
    failed in the SQL compiler's identifier check: a 500."""
    r = await client.post("/api/collections", json={"name": name, "type": "base"}, headers=su_headers)
    assert r.json() == error(400, "Failed to create collection.", NAME_INVALID)


async def test_field_names_outside_ascii_are_a_field_error(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/collections",
        json={"name": "notes", "type": "base", "fields": [{"name": "Ü", "type": "text"}]},
        headers=su_headers,
    )
    assert r.status_code == 400
    assert r.json()["data"]["fields"]["1"]["name"]["code"] == "validation_match_invalid"  # after the system id field
