"""Authenticating a request by API key (`Authorization: [Bearer ]sk_...`), for `FrontMiddleware`.

A valid key makes its owner the request's auth record, with the key's scopes carried along (in
`scope["state"]["api_key"]`) for the records service to enforce. It does so only on the record
endpoints a scope can describe (record CRUD, `/api/batch`, and GraphQL over HTTP, whose resolvers
are the same record calls): everywhere else the request stays
a guest, so a key can never mint a token (auth-refresh, impersonate), manage keys, read realtime
events or change collections and settings, whatever its owner could do. Endpoints added later are
closed to keys until they are listed here.
"""

from __future__ import annotations

import re

from starlette.types import Scope

from satchel.core.app import App
from satchel.core.auth.api_keys import KEY_PREFIX, ApiKey

__all__ = ["KEY_PREFIX", "ApiKey", "authenticate_api_key"]

_KEY_ROUTES = re.compile(r"/api/collections/[^/]+/records(?:/[^/]+)?|/api/batch|/api/graphql")


async def authenticate_api_key(app: App, scope: Scope, key: str) -> ApiKey | None:
    """The key if it authenticated this request (its use is then to be recorded), else None."""
    if _KEY_ROUTES.fullmatch(scope["path"]) is None:
        return None
    found = await app.api_keys.authenticate(key)
    if found is None:  # malformed, unknown, revoked, expired or orphaned: a guest, like a bad token
        return None
    state = scope["state"]
    state["api_key"], state["auth"] = found
    return found[0]
