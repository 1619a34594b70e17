"""A real `satchel serve --grpc` subprocess with two users and two collections, and a generated client.

`posts` lets anyone read public posts and owners read, change and delete their own; `secrets` has
every rule null (superusers only). Users and records are made over REST, as an app would.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx2

from satchel.plugins.grpc.errors import ERROR_METADATA
from satchel.plugins.grpc.gen import records_pb2_grpc
from tests.apis.test_api_realtime import EMAIL, PASSWORD, free_port
from tests.apis.test_api_realtime_scaleout import Serve, serve

OWNER_RULE = "public = true || owner = @request.auth.id"
POSTS = {
    "name": "posts",
    "type": "base",
    "listRule": OWNER_RULE,
    "viewRule": OWNER_RULE,
    "createRule": '@request.auth.id != "" && owner = @request.auth.id',
    "updateRule": "owner = @request.auth.id",
    "deleteRule": "owner = @request.auth.id",
    "fields": [
        {"name": "title", "type": "text", "required": True, "max": 40},
        {"name": "public", "type": "bool"},
        {"name": "views", "type": "number"},
        {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
    ],
}
SECRETS = {"name": "secrets", "type": "base", "fields": [{"name": "title", "type": "text"}]}
USER_PASSWORD = "user-password-1"


@dataclass
class GrpcServe:
    serve: Serve
    target: str
    """host:port of the gRPC API."""
    tokens: dict[str, str] = field(default_factory=dict)
    """`superuser`, `alice`, `bob` -> auth token."""
    ids: dict[str, str] = field(default_factory=dict)
    """`alice`, `bob` -> user record id."""

    @property
    def url(self) -> str:
        return self.serve.url

    def auth(self, who: str) -> tuple[tuple[str, str], ...]:
        """Call metadata authenticating as `who` (`guest`: none)."""
        return () if who == "guest" else (("authorization", self.tokens[who]),)

    def headers(self, who: str) -> dict[str, str]:
        return {} if who == "guest" else {"Authorization": self.tokens[who]}

    def rest(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.url, timeout=10)

    @contextlib.asynccontextmanager
    async def stub(self) -> AsyncIterator[records_pb2_grpc.RecordsStub]:
        async with grpc.aio.insecure_channel(self.target) as channel:
            yield records_pb2_grpc.RecordsStub(channel)


def start(data: Path, *args: str) -> GrpcServe:
    """`satchel serve --grpc` on free ports; returns once both APIs answer."""
    target = f"127.0.0.1:{free_port()}"
    server = serve(data, "--grpc", target, *args)
    if "--grpc-cert" not in args and "--https" not in args:  # TLS: the caller waits with its credentials
        wait_ready(grpc.insecure_channel(target), server)
    return GrpcServe(server, target)


def wait_ready(channel: grpc.Channel, server: Serve) -> None:
    with channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=30)
        except grpc.FutureTimeoutError:
            server.stop()
            raise RuntimeError("the gRPC port never answered") from None


def populate(server: GrpcServe) -> None:
    """The superuser, alice and bob, and the two collections."""
    with server.rest() as http:
        r = http.post("/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD})
        server.tokens["superuser"] = r.json()["token"]
        for body in (POSTS, SECRETS):
            r = http.post("/api/collections", headers=server.headers("superuser"), json=body)
            assert r.status_code == 200, r.text
        for name in ("alice", "bob"):
            email = f"{name}@example.com"
            r = http.post(
                "/api/collections/users/records",
                json={"email": email, "password": USER_PASSWORD, "passwordConfirm": USER_PASSWORD, "name": name},
            )
            assert r.status_code == 200, r.text
            server.ids[name] = r.json()["id"]
            r = http.post(
                "/api/collections/users/auth-with-password", json={"identity": email, "password": USER_PASSWORD}
            )
            server.tokens[name] = r.json()["token"]


@contextlib.contextmanager
def running(data: Path, *args: str) -> Iterator[GrpcServe]:
    server = start(data, *args)
    try:
        populate(server)
        yield server
    finally:
        server.serve.stop()


def error_body(error: grpc.aio.AioRpcError) -> dict[str, Any]:
    """The PocketBase error body sent in the trailing metadata."""
    values = [v for k, v in (error.trailing_metadata() or ()) if k == ERROR_METADATA]
    assert len(values) == 1, error.trailing_metadata()
    body: dict[str, Any] = json.loads(values[0])
    return body


def wait_for(predicate: Any, timeout: float = 20) -> None:
    """Poll `predicate` until true (for state reached asynchronously, never as a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.1)
