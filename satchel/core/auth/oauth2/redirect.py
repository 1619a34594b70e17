"""`/api/oauth2-redirect`: hand a provider's redirect to the realtime client that started the sign-in.

The JS SDK's popup flow subscribes to `@oauth2` over SSE and sends its client id as the OAuth2
`state`; the provider redirects the popup here with `state` and `code`, and the code goes to
that one client only (never to every `@oauth2` subscriber: the code is as good as a password
until spent), which is then unsubscribed from `@oauth2`, as PocketBase does. Clients live in
the process that holds their stream, so with several workers the redirect must reach the
worker of the stream (sticky sessions); otherwise the sign-in fails as for an unknown state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from satchel.core.app import App

TOPIC = "@oauth2"
MAX_VALUE = 4096
"""Longer state, code or error values are refused rather than relayed."""


def forward(app: App, state: str, code: str, error: str) -> bool:
    """True when the redirect succeeded: delivered to its client, with a code and no error."""
    if not state or max(len(state), len(code), len(error)) > MAX_VALUE:
        return False
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
