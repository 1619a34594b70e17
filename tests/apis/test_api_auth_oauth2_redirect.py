"""`/api/oauth2-redirect` over a real server and a real SSE stream: the JS SDK's popup flow.

The SDK subscribes to `@oauth2`, sends its realtime client id as the OAuth2 state, and waits for
the code on the stream; the provider (real, on loopback) redirects the popup to this endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from tests.apis.test_api_realtime import Server, Stream, open_stream, shared_server, su_headers
from tests.oauth2.oidc_server import REDIRECT_URI, OIDCProvider, authorize, oidc_provider

__all__ = ["oidc_provider"]

SUCCESS = "Auth completed. You can close this window and go back to the app."
FAILURE = "Failed to authenticate. You can close this window and go back to the app to try again."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with shared_server(tmp_path_factory.mktemp("oauth2-rt")) as s:
        yield s


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=server.url, timeout=10) as c:
        yield c


async def subscribed(http: httpx2.AsyncClient) -> tuple[Stream, asyncio.Task[None]]:
    stream, task = await open_stream(http)
    r = await http.post("/api/realtime", json={"clientId": stream.client_id, "subscriptions": ["@oauth2"]})
    assert r.status_code == 204, r.text
    return stream, task


async def redirect(http: httpx2.AsyncClient, **query: str) -> httpx2.Response:
    return await http.get("/api/oauth2-redirect", params=query)


async def test_the_code_reaches_the_subscribed_client_and_signs_in(
    http: httpx2.AsyncClient, oidc_provider: OIDCProvider
) -> None:
    su = await su_headers(http)
    # the popup lands on this test's registered redirect URI, which the entry allows explicitly
    entry = oidc_provider.entry(extra={"issuer": oidc_provider.issuer, "redirectURLs": [REDIRECT_URI]})
    r = await http.patch("/api/collections/users", json={"oauth2": {"enabled": True, "providers": [entry]}}, headers=su)
    assert r.status_code == 200, r.text
    stream, task = await subscribed(http)
    info: dict[str, Any] = (await http.get("/api/collections/users/auth-methods")).json()["oauth2"]["providers"][0]
    # as the SDK does: the realtime client id is the state
    auth_url = info["authURL"].replace(f"state={info['state']}", f"state={stream.client_id}")
    query = await authorize(auth_url, "popup-user")
    assert query["state"] == stream.client_id

    r = await redirect(http, **query)
    assert r.status_code == 200 and r.text == SUCCESS and r.headers["content-type"].startswith("text/html")
    frame = await stream.next()
    assert frame["event"] == "@oauth2" and frame["data"] == {"state": stream.client_id, "code": query["code"]}

    r = await http.post(
        "/api/collections/users/auth-with-oauth2",
        json={
            "provider": "oidc",
            "code": query["code"],
            "codeVerifier": info["codeVerifier"],
            "redirectURL": REDIRECT_URI,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["record"]["email"] == "popup-user@example.com"

    # the client was unsubscribed from @oauth2: a second redirect for it fails
    r = await redirect(http, **query)
    assert r.status_code == 200 and r.text == FAILURE and r.headers["content-type"].startswith("text/plain")
    task.cancel()


async def test_only_the_client_named_by_the_state_gets_the_code(http: httpx2.AsyncClient) -> None:
    a, task_a = await subscribed(http)
    b, task_b = await subscribed(http)
    r = await redirect(http, state=a.client_id, code="code-for-a")
    assert r.text == SUCCESS
    r = await redirect(http, state=b.client_id, code="code-for-b")
    assert r.text == SUCCESS
    # had a's code leaked to b, it would be b's first frame
    assert (await b.next())["data"] == {"state": b.client_id, "code": "code-for-b"}
    assert (await a.next())["data"] == {"state": a.client_id, "code": "code-for-a"}
    task_a.cancel()
    task_b.cancel()


async def test_provider_errors_and_form_posts_are_forwarded(http: httpx2.AsyncClient) -> None:
    stream, task = await subscribed(http)
    r = await http.post("/api/oauth2-redirect", data={"state": stream.client_id, "error": "access_denied"})
    assert r.status_code == 200 and r.text == FAILURE
    frame = await stream.next()
    assert frame["data"] == {"state": stream.client_id, "code": "", "error": "access_denied"}
    stream2, task2 = await subscribed(http)
    r = await http.post("/api/oauth2-redirect", data={"state": stream2.client_id, "code": "c", "user": "{}"})
    assert r.status_code == 200 and r.text == SUCCESS  # Apple's form_post
    assert (await stream2.next())["data"] == {"state": stream2.client_id, "code": "c"}
    task.cancel()
    task2.cancel()


@pytest.mark.parametrize("query", [{}, {"state": "unknown", "code": "c"}, {"state": "x" * 5000, "code": "c"}])
async def test_unknown_or_missing_state_fails(http: httpx2.AsyncClient, query: dict[str, str]) -> None:
    r = await redirect(http, **query)
    assert r.status_code == 200 and r.text == FAILURE


async def test_a_client_not_subscribed_to_oauth2_gets_nothing(http: httpx2.AsyncClient) -> None:
    stream, task = await open_stream(http)
    r = await redirect(http, state=stream.client_id, code="c")
    assert r.text == FAILURE
    task.cancel()
