"""Hypothesis against the whole ASGI app in-process: random methods, paths, headers and bodies, a fixed
example budget, and not one 5xx (every error in PocketBase's JSON shape)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satchel.core.app import App
from satchel.testing import client_for, superuser_token
from satchel.wiring import open_app
from tests.apis.helpers import POSTS, create_user, login

TEMPLATES = [
    "/api/health",
    "/api/collections",
    "/api/collections/{c}",
    "/api/collections/{c}/records",
    "/api/collections/{c}/records/{id}",
    "/api/collections/{c}/auth-with-password",
    "/api/collections/{c}/auth-refresh",
    "/api/collections/{c}/auth-methods",
    "/api/collections/{c}/request-otp",
    "/api/collections/{c}/auth-with-otp",
    "/api/collections/{c}/request-password-reset",
    "/api/collections/{c}/confirm-password-reset",
    "/api/collections/{c}/request-verification",
    "/api/collections/{c}/confirm-verification",
    "/api/collections/{c}/request-email-change",
    "/api/collections/{c}/auth-with-oauth2",
    "/api/collections/{c}/impersonate/{id}",
    "/api/collections/import",
    "/api/collections/meta/scaffolds",
    "/api/files/token",
    "/api/files/{c}/{id}/{id}",
    "/api/batch",
    "/api/settings",
    "/api/logs",
    "/api/logs/stats",
    "/api/logs/{id}",
    "/api/keys",
    "/api/keys/{id}",
    "/api/crons",
    "/api/backups",
    "/api/realtime",
    "/api/oauth2-redirect",
    "/_/",
    "/_/{id}",
    "/{id}",
]
SEGMENTS = st.sampled_from(
    ["posts", "users", "_superusers", "nope", "", "..", "%00", "%2e%2e", "a" * 300, "é"]
) | st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/?#%"), max_size=20)
METHODS = st.sampled_from(["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "TRACE", "FOO"])
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "text/plain",
        "application/json; charset=latin-1",
        "",
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)
BODIES = (
    json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=200)
    | st.just(b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--xyz--\r\n')
    | st.just(b"a=1&a=2&%zz=&" * 3)
)
HEADER_NAMES = st.sampled_from(
    [
        "authorization",
        "range",
        "if-none-match",
        "if-modified-since",
        "origin",
        "x-request-id",
        "accept-encoding",
        "access-control-request-headers",
        "x-forwarded-for",
        "cookie",
        "content-encoding",
        "transfer-encoding-x",
    ]
)
HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


class World(tuple):  # type: ignore[type-arg]
    def __repr__(self) -> str:
        return "<fuzz world>"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    loop = asyncio.new_event_loop()
    data_dir: Path = tmp_path_factory.mktemp("fuzz")

    async def setup() -> tuple[App, httpx2.AsyncClient, dict[str, dict[str, str]], list[str]]:
        app = await open_app(data_dir)
        client = client_for(app)
        su = {"Authorization": await superuser_token(app, client)}
        r = await client.post("/api/collections", json=POSTS, headers=su)
        assert r.status_code == 200
        user = await create_user(client, "fuzz@example.com")
        h = await login(client, "fuzz@example.com")
        r = await client.post("/api/collections/posts/records", json={"title": "t", "author": user["id"]}, headers=h)
        return app, client, {"guest": {}, "user": h, "superuser": su}, [user["id"], r.json()["id"]]

    app, client, actors, ids = loop.run_until_complete(setup())
    yield World((loop, app, client, actors, ids))
    loop.run_until_complete(client.aclose())
    loop.run_until_complete(app.close())
    loop.close()


def _is_sse(method: str, path: str) -> bool:
    """The realtime stream never ends: an in-process client would wait for it forever."""
    return method in ("GET", "HEAD") and path.rstrip("/") == "/api/realtime"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    method=METHODS,
    template=st.sampled_from(TEMPLATES),
    actor=st.sampled_from(["guest", "user", "superuser"]),
    ctype=CONTENT_TYPES,
    body=BODIES,
    headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4),
    query=st.dictionaries(
        st.sampled_from(
            ["filter", "sort", "expand", "fields", "page", "perPage", "skipTotal", "token", "thumb", "download"]
        ),
        st.text(max_size=30),
        max_size=3,
    ),
)
def test_no_request_gets_a_5xx(
    world: Any,
    data: st.DataObject,
    method: str,
    template: str,
    actor: str,
    ctype: str,
    body: bytes,
    headers: dict[str, str],
    query: dict[str, str],
) -> None:
    loop, _app, client, actors, ids = world
    if actor == "superuser" and method not in ("GET", "HEAD", "OPTIONS"):
        actor = "user"  # a fuzzing superuser would delete the world (or restore a backup) under the test
    path = template
    while "{c}" in path or "{id}" in path:
        seg = data.draw(SEGMENTS | st.sampled_from(ids), label="segment")
        path = path.replace("{c}" if "{c}" in path else "{id}", httpx2.URL(seg).raw_path.decode() or "x", 1)
    if _is_sse(method, path):
        method = "POST"
    sent = {**headers, **actors[actor]}
    if ctype:
        sent["content-type"] = ctype
    content = body if method not in ("GET", "HEAD") else None
    r = loop.run_until_complete(client.request(method, path, params=query, headers=sent, content=content))
    assert r.status_code < 500, (method, path, query, sent, body[:100], r.status_code, r.text[:500])
    if r.status_code >= 400 and method != "HEAD" and r.headers.get("content-type", "").startswith("application/json"):
        payload = r.json()
        if "status" in payload:
            assert payload["status"] == r.status_code and isinstance(payload["message"], str)
