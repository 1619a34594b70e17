"""A deleted user is told about her own deletion, as PocketBase does.

PocketBase checks a delete event before the row goes (its "dry cache"), with the auth every client
is bound to at that moment, and only then unbinds the deleted user's clients. So a user subscribed to
her own record (`users/<id>`, viewRule `id = @request.auth.id`) receives its delete event.

Found by the JS SDK differential scenario tests/conformance/js/scenarios/realtime.mjs.
"""

from __future__ import annotations

from typing import Any

import httpx2
import orjson

from satchel.core.app import App
from satchel.core.realtime.broker import LocalTransport
from satchel.core.realtime.subscriptions import Client
from tests.apis.helpers import create_user


def events(client: Client) -> list[tuple[str, str, Any]]:
    out = []
    while not client.queue.empty():
        item = client.queue.get_nowait()
        assert item is not None
        data = orjson.loads(item.data)
        out.append((item.topic, data["action"], data["record"]["id"]))
    return out


async def settle(app: App) -> None:
    transport = app.realtime.transport
    assert isinstance(transport, LocalTransport)
    await transport.drain()


async def test_deleted_user_receives_her_own_delete_event(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    carol = await create_user(client, "carol@example.com", name="carol")
    users = app.collections.get("users")
    assert users is not None
    auth = await app.records.get_by_id(users, carol["id"])
    assert auth is not None
    rt = app.realtime.connect("127.0.0.1")
    app.realtime.subscribe(rt, [f"users/{carol['id']}", "users/*"], auth)
    r = await client.delete(f"/api/collections/users/records/{carol['id']}", headers=su_headers)
    assert r.status_code == 204, r.text
    await settle(app)
    assert rt.auth is None  # unbound afterwards all the same
    assert sorted(events(rt)) == [("users/*", "delete", carol["id"]), (f"users/{carol['id']}", "delete", carol["id"])]
