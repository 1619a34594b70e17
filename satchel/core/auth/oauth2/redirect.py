"""`/api/oauth2-redirect`: hand a provider's redirect to the realtime client that started the sign-in.

The JS SDK's popup flow subscribes to `@oauth2` over SSE and sends its client id as the OAuth2
`state`; the provider redirects the popup here with `state` and `code`, and the code goes to
that one client only (never to every `@oauth2` subscriber: the code is as good as a password
until spent), which is then unsubscribed from `@oauth2`, as PocketBase does. Clients live in
the process that holds their stream: a redirect that reached another worker or node is handed
to that process through the realtime transport (`register` installs the handler there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from satchel.core.app import App

TOPIC = "@oauth2"
MAX_VALUE = 4096
"""Longer state, code or error values are refused rather than relayed."""


REQUEST = "oauth2-redirect"


def register(app: App) -> None:
    """Let other processes hand this one the redirects of the clients it holds."""

    async def handle(args: Any) -> bool:
        return _deliver(app, str(args["state"]), str(args["code"]), str(args["error"]))

    app.realtime.transport.on_request(REQUEST, handle)


async def forward(app: App, state: str, code: str, error: str) -> bool:
    """True when the redirect succeeded: delivered to its client, with a code and no error."""
    if not state or max(len(state), len(code), len(error)) > MAX_VALUE:
        return False
    if app.realtime.client(state) is None:
        answer = await app.realtime.ask_holder(state, REQUEST, {"state": state, "code": code, "error": error})
        return answer is True
    return _deliver(app, state, code, error)


def _deliver(app: App, state: str, code: str, error: str) -> bool:
    broker = app.realtime
    client = broker.client(state)
    if client is None or client.discarded or TOPIC not in client.subscriptions:
        return False
    data: dict[str, str] = {"state": state, "code": code}
    if error:
        data["error"] = error
    if not client.send(TOPIC, orjson.dumps(data)):
        broker.disconnect(client.id)
        return False
    broker.subscribe(client, [t for t in client.subscriptions if t != TOPIC], client.auth)
    return not error and bool(code)
