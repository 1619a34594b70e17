"""An app with the GraphQL plugin registered, an in-process client, and a few helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.core.app import App
from satchel.plugins import graphql
from satchel.plugins.graphql.plugin import GraphQL
from satchel.testing import client_for, running_app, superuser_token


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    async with running_app(tmp_path / "pb_data") as a:
        yield a


@pytest.fixture
def plugin(app: App) -> GraphQL:
    return graphql.register(app)


@pytest.fixture
async def client(app: App, plugin: GraphQL) -> AsyncIterator[httpx2.AsyncClient]:
    async with client_for(app) as c:
        yield c


@pytest.fixture
async def su(app: App, client: httpx2.AsyncClient) -> dict[str, str]:
    return {"Authorization": await superuser_token(app, client)}


async def gql(
    client: httpx2.AsyncClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    """POST one operation; the HTTP status is 200 for anything GraphQL could answer."""
    r = await client.post("/api/graphql", json={"query": query, "variables": variables}, headers=headers or {})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
